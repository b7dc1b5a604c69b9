# Stage 4: figures and the HTML report (include after analyze.smk: inputs are its outputs).
# Models, seeds or resolutions missing inside the analysis files are drawn hatched or as
# placeholders and listed in the report's "Missing" section, so the report builds from whatever
# the analysis could gather. Figures: docs/report.md.
OPERATOR_MODELS = STUDY.operator_models
LINEAR_MODELS = STUDY.models_of_class("linear")
FINEST = STUDY.finest
# The noise-floor figure exists only with more than one noise level (shared by all operators);
# rule plot_scorecard draws it (both read crossval.nc): no extra job, none at all with one level.
NOISE_FIGURE = len(STUDY.noise) > 1


# Every figure of the report of one operator's study, in report order.
def report_figures(s):
    return (
        [s.figure("scorecard"), s.figure("training")]
        + [s.figure(f"heatmap_{m}") for m in OPERATOR_MODELS]
        + ([s.figure("noise_floor")] if NOISE_FIGURE else [])
        + [
            s.figure(name)
            for name in (
                "bounds",
                "convergence",
                "parameter_error",
                "quantity",
                "greens",
                "stencil",
            )
        ]
    )


# What the report reads, one section per operator (config order): its results files, figures
# and study hash.
REPORT_SECTIONS = {
    p: dict(results=s.results(), figures=report_figures(s), config_hash=s.config_hash)
    for p, s in STUDIES.items()
}


# All heatmaps in one job (one PNG per operator model, each with its caption in the report):
# they share one colour range, and one job imports matplotlib once.
rule plot_heatmaps:
    input:
        crossval=rules.crossval.output[0],
    output:
        [
            report(
                paths.figure(name=f"heatmap_{m}"),
                caption="../report/heatmap.rst",
                category="Cross-validation",
                labels={"model": m, "figure": "heatmap"},
            )
            for m in OPERATOR_MODELS
        ],
    log:
        "logs/{pde}/report/heatmaps.log",
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        models=OPERATOR_MODELS,
        spaces=SPACES,
        resolution=FINEST,
    script:
        "../../scripts/plot_heatmap.py"


# The scorecard, and the noise floor (per model and level) when the study has several levels.
rule plot_scorecard:
    input:
        crossval=rules.crossval.output[0],
    output:
        [
            report(
                paths.figure(name="scorecard"),
                caption="../report/scorecard.rst",
                category="Scorecard",
            )
        ]
        + (
            [
                report(
                    paths.figure(name="noise_floor"),
                    caption="../report/noise_floor.rst",
                    category="Noise",
                )
            ]
            if NOISE_FIGURE
            else []
        ),
    log:
        "logs/{pde}/report/scorecard.log",
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        models=OPERATOR_MODELS,
        resolution=FINEST,
    script:
        "../../scripts/plot_scorecard.py"


# Loss curves per model (median and 10-90% band over the training spaces), one panel per N.
rule plot_training:
    input:
        training=paths.training(),
    output:
        report(
            paths.figure(name="training"),
            caption="../report/training.rst",
            category="Training",
        ),
    log:
        "logs/{pde}/report/training.log",
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        models=OPERATOR_MODELS,
    script:
        "../../scripts/plot_training.py"


rule plot_bounds:
    input:
        bounds=rules.bounds.output[0],
    output:
        report(
            paths.figure(name="bounds"),
            caption="../report/bounds.rst",
            category="Theory",
        ),
    log:
        "logs/{pde}/report/bounds.log",
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        models=LINEAR_MODELS,
    script:
        "../../scripts/plot_bounds.py"


rule plot_convergence:
    input:
        convergence=rules.convergence.output[0],
        quantity=rules.data_quantity.output[0],
    output:
        convergence=report(
            paths.figure(name="convergence"),
            caption="../report/convergence.rst",
            category="Theory",
        ),
        parameter_error=report(
            paths.figure(name="parameter_error"),
            caption="../report/parameter_error.rst",
            category="Theory",
        ),
        quantity=report(
            paths.figure(name="quantity"),
            caption="../report/quantity.rst",
            category="Theory",
        ),
    log:
        "logs/{pde}/report/convergence.log",
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        resolution=FINEST,
    script:
        "../../scripts/plot_convergence.py"


rule plot_greens:
    input:
        greens=rules.greens.output.greens,
        fields=paths.greens_fields(res=FINEST),
    output:
        gallery=report(
            paths.figure(name="greens"),
            caption="../report/greens.rst",
            category="Green's functions",
        ),
        stencil=report(
            paths.figure(name="stencil"),
            caption="../report/stencil.rst",
            category="Green's functions",
        ),
    log:
        "logs/{pde}/report/greens.log",
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        models=OPERATOR_MODELS,
        linear_models=LINEAR_MODELS,
        fem_mass=STUDY.fem_mass,
    script:
        "../../scripts/plot_greens.py"


rule report:
    input:
        results=[f for sec in REPORT_SECTIONS.values() for f in sec["results"].values()],
        figures=[f for sec in REPORT_SECTIONS.values() for f in sec["figures"]],
    output:
        paths.report(),
    log:
        "logs/report.log",
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        config=config,
        sections=REPORT_SECTIONS,
    script:
        "../../scripts/make_report.py"
