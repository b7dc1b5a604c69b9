# Stage 4: figures and the HTML report (include after analyze.smk: inputs are its outputs).
# Models, seeds or resolutions missing inside the analysis files are drawn hatched or as
# placeholders and listed in the report's "Missing" section, so the report builds from whatever
# the analysis could gather. Figures: docs/report.md.
from greenbench.report.expected import Expected

REPORT = Expected.from_config(config)
OPERATOR_MODELS = REPORT.operator_models
LINEAR_MODELS = REPORT.models_of_class("linear")
FINEST = max(RESOLUTIONS)
FIGURES = f"results/{PDE}/figures"


# Every figure of the report, in report order.
REPORT_FIGURES = (
    [f"{FIGURES}/scorecard.png"]
    + [f"{FIGURES}/heatmap_{m}.png" for m in OPERATOR_MODELS]
    + [
        f"{FIGURES}/{name}.png"
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


rule plot_heatmap:
    input:
        crossval=rules.crossval.output[0],
    output:
        report(
            "results/{pde}/figures/heatmap_{model}.png",
            caption="../report/heatmap.rst",
            category="Cross-validation",
            labels={"model": "{model}", "figure": "heatmap"},
        ),
    log:
        "logs/{pde}/report/heatmap_{model}.log",
    wildcard_constraints:
        model="|".join(OPERATOR_MODELS) or "(?!)",
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        model="{model}",
        models=OPERATOR_MODELS,
        spaces=SPACES,
        resolution=FINEST,
    script:
        "../../scripts/plot_heatmap.py"


rule plot_scorecard:
    input:
        crossval=rules.crossval.output[0],
    output:
        report(
            "results/{pde}/figures/scorecard.png",
            caption="../report/scorecard.rst",
            category="Scorecard",
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
    script:
        "../../scripts/plot_scorecard.py"


rule plot_bounds:
    input:
        bounds=rules.bounds.output[0],
    output:
        report(
            "results/{pde}/figures/bounds.png",
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
    output:
        convergence=report(
            "results/{pde}/figures/convergence.png",
            caption="../report/convergence.rst",
            category="Theory",
        ),
        parameter_error=report(
            "results/{pde}/figures/parameter_error.png",
            caption="../report/parameter_error.rst",
            category="Theory",
        ),
        quantity=report(
            "results/{pde}/figures/quantity.png",
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
        fields=f"results/{{pde}}/greens/N{FINEST}.nc",
    output:
        gallery=report(
            "results/{pde}/figures/greens.png",
            caption="../report/greens.rst",
            category="Green's functions",
        ),
        stencil=report(
            "results/{pde}/figures/stencil.png",
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
        k=config["k"],
        fem_mass=config["fem_mass"],
    script:
        "../../scripts/plot_greens.py"


rule report:
    input:
        crossval=rules.crossval.output[0].format(pde=PDE),
        bounds=rules.bounds.output[0].format(pde=PDE),
        convergence=rules.convergence.output[0].format(pde=PDE),
        greens=rules.greens.output.greens.format(pde=PDE),
        greens_fields=f"results/{PDE}/greens/N{FINEST}.nc",
        figures=REPORT_FIGURES,
    output:
        "results/report.html",
    log:
        "logs/report.log",
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        config=config,
        config_hash=CONFIG_HASH,
    script:
        "../../scripts/make_report.py"
