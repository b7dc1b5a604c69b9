# Stage 3: the analysis. Every trained operator model is evaluated on every test split
# (one evaluation file per model and N), then aggregated into the benchmark (crossval.nc), the
# Green's functions (greens.nc, greens/N{res}.nc), Thm 3.2 (bounds.nc) and Thm 3.1 with the
# data-quantity study (convergence.nc). Layouts: docs/results_format.md.
from greenbench.analysis.config import AnalysisConfig, step_params

ANALYSIS = analysis_params(config, CONFIG_HASH)
AnalysisConfig.from_params(ANALYSIS)  # a bad analysis option fails before any job runs
# The expensive per-model jobs are stamped with the hash of what determines them (the analysis
# params), not of the whole config, so an unrelated config change does not rerun them; the
# aggregating rules recompute it (AnalysisConfig.step_hash) to check their inputs.
ANALYSIS_STEP = step_params(ANALYSIS)


def model_entry(wildcards):
    """The config entry of one model: the evaluation builds the modules from it and checks the
    training files against it (only this model's, so another model's change reruns nothing).
    """
    return config["models"][wildcards.model]


def parameter_entries():
    """Config entries of the fd and pinn models the convergence analysis reads."""
    names = [first_model_of_class(c) for c in ("fd", "pinn")]
    return {m: config["models"][m] for m in names if m is not None}


rule evaluate_model:
    input:
        metrics="results/{pde}/train/{model}/N{res}/metrics.nc",
        datasets=datasets_at_resolution,
    output:
        "results/{pde}/evaluate/{model}/N{res}.nc",
    log:
        "logs/{pde}/analysis/evaluate/{model}/N{res}.log",
    benchmark:
        "logs/{pde}/analysis/evaluate/{model}/N{res}.benchmark.tsv"
    wildcard_constraints:
        model="|".join(analysis_operator_models()) or "(?!)",
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        analysis=ANALYSIS_STEP,
        datasets=dataset_map(),
        entry=model_entry,
    script:
        "../../scripts/analyze_evaluate.py"


rule crossval:
    input:
        evaluations=evaluation_files(),
    output:
        "results/{pde}/crossval.nc",
    log:
        "logs/{pde}/analysis/crossval.log",
    benchmark:
        "logs/{pde}/analysis/crossval.benchmark.tsv"
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        analysis=ANALYSIS,
    script:
        "../../scripts/analyze_crossval.py"


rule greens:
    input:
        evaluations=evaluation_files(),
    output:
        greens="results/{pde}/greens.nc",
        fields=expand("results/{{pde}}/greens/N{res}.nc", res=RESOLUTIONS),
    log:
        "logs/{pde}/analysis/greens.log",
    benchmark:
        "logs/{pde}/analysis/greens.benchmark.tsv"
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        analysis=ANALYSIS,
        resolutions=RESOLUTIONS,
    script:
        "../../scripts/analyze_greens.py"


rule bounds:
    input:
        crossval="results/{pde}/crossval.nc",
        datasets=all_datasets(),
        linear=linear_evaluations(),
    output:
        "results/{pde}/bounds.nc",
    log:
        "logs/{pde}/analysis/bounds.log",
    benchmark:
        "logs/{pde}/analysis/bounds.benchmark.tsv"
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        analysis=ANALYSIS,
        datasets=dataset_map(),
        linear_model=first_model_of_class("linear"),
    script:
        "../../scripts/analyze_bounds.py"


rule data_quantity:
    input:
        datasets=quantity_datasets(),
    output:
        "results/{pde}/quantity.nc",
    log:
        "logs/{pde}/analysis/quantity.log",
    benchmark:
        "logs/{pde}/analysis/quantity.benchmark.tsv"
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        analysis=ANALYSIS_STEP,
        datasets=dataset_map()[quantity_resolution()],
    script:
        "../../scripts/analyze_quantity.py"


rule convergence:
    input:
        datasets=all_datasets(),
        fd=parameter_metrics("fd"),
        pinn=parameter_metrics("pinn"),
        quantity="results/{pde}/quantity.nc",
    output:
        "results/{pde}/convergence.nc",
    log:
        "logs/{pde}/analysis/convergence.log",
    benchmark:
        "logs/{pde}/analysis/convergence.benchmark.tsv"
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        analysis=ANALYSIS,
        datasets=dataset_map(),
        fd_model=first_model_of_class("fd"),
        pinn_model=first_model_of_class("pinn"),
        entries=parameter_entries(),
    script:
        "../../scripts/analyze_convergence.py"
