# Stage 3: the analysis. Every trained operator model is evaluated on every test split (one
# evaluation file per model and N, one job per model), then aggregated into the benchmark
# (crossval.nc), the Green's functions (greens.nc, greens/N{res}.nc), Thm 3.2 (bounds.nc), Thm 3.1
# (convergence.nc), the data-quantity study (quantity.nc: evaluates the members trained by
# train_quantity), the training evidence (training.nc: convergence per member, loss curves)
# and the measures the report judges (measures.nc, on converged members). Nothing here trains.
# Layouts: docs/results_format.md.
from greenbench.analysis.config import step_params

# The analysis params of the job's operator (each operator's study has its own hashes and
# coefficients).
ANALYSIS = per_study("analysis_params")
for _s in STUDIES.values():
    _s.analysis  # a bad analysis option fails before any job runs


# The expensive per-model jobs are stamped with the hash of what determines them (the analysis
# params), not of the whole config, so an unrelated config change does not rerun them; the
# aggregating rules recompute it (AnalysisConfig.step_hash) to check their inputs.
def ANALYSIS_STEP(wildcards):
    return step_params(study(wildcards).analysis_params)



# One job per operator model evaluates it at every N (torch is imported and the test splits
# read once per model, not once per (model, N)); another model's change does not rerun it.
rule evaluate_model:
    input:
        metrics=model_metrics,
        datasets=per_study("datasets"),
    output:
        [paths.evaluation(res=n) for n in RESOLUTIONS],
    log:
        "logs/{pde}/analysis/evaluate/noise{noise}/{model}.log",
    benchmark:
        "logs/{pde}/analysis/evaluate/noise{noise}/{model}.benchmark.tsv"
    wildcard_constraints:
        model=paths.alternatives(STUDY.operator_models),
        noise=paths.alternatives(NOISE_LABELS),
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        analysis=ANALYSIS_STEP,
        datasets=dataset_map,
        entry=model_entry,
    script:
        "../../scripts/analyze_evaluate.py"


rule crossval:
    input:
        evaluations=per_study("evaluations"),
    output:
        paths.crossval(),
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
        evaluations=per_study("evaluations", noise=[STUDY.noise_min]),
    output:
        greens=paths.greens(),
        fields=[paths.greens_fields(res=n) for n in RESOLUTIONS],
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
        crossval=rules.crossval.output[0],
        datasets=per_study("datasets"),
        linear=linear_evaluations,
    output:
        paths.bounds(),
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
        datasets=dataset_map,
        linear_model=STUDY.first_of_class("linear"),
    script:
        "../../scripts/analyze_bounds.py"


rule data_quantity:
    input:
        datasets=quantity_datasets,
        trained=quantity_training,
    output:
        paths.quantity(),
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
        analysis=ANALYSIS,
        datasets=lambda w: dataset_map(w)[quantity_resolution()],
        quantity_model=quantity_model() or "",
    script:
        "../../scripts/analyze_quantity.py"


rule convergence:
    input:
        datasets=per_study("datasets"),
        fd=parameter_metrics("fd"),
        pinn=parameter_metrics("pinn"),
    output:
        paths.convergence(),
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
        datasets=dataset_map,
        fd_model=STUDY.first_of_class("fd"),
        pinn_model=STUDY.first_of_class("pinn"),
        entries=STUDY.parameter_entries(),
    script:
        "../../scripts/analyze_convergence.py"


rule training:
    input:
        metrics=lambda w: [
            f for m in STUDY.operator_models for f in study(w).model_metrics(m)
        ],
    output:
        paths.training(),
    log:
        "logs/{pde}/analysis/training.log",
    benchmark:
        "logs/{pde}/analysis/training.benchmark.tsv"
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        analysis=ANALYSIS,
        metrics=lambda w: [
            [m, n, study(w).train_metrics(m, n)]
            for m in STUDY.operator_models
            for n in RESOLUTIONS
        ],
    script:
        "../../scripts/analyze_training.py"


rule measures:
    input:
        crossval="results/{pde}/crossval.nc",
        training=paths.training(),
    output:
        "results/{pde}/measures.nc",
    log:
        "logs/{pde}/analysis/measures.log",
    benchmark:
        "logs/{pde}/analysis/measures.benchmark.tsv"
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        analysis=ANALYSIS,
    script:
        "../../scripts/analyze_measures.py"
