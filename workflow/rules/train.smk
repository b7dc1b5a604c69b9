# Stage 2: training. One job per (model, resolution). It hands its tasks (chunks of
# (train_space, seed) members, each trained as one ensemble) to greenbench.hpc, which runs them
# as local subprocesses, in-process, or as ONE SLURM job array, waits, and gathers the results.
# The cluster settings file (config key `cluster`) reaches the script through the environment
# (GREENBENCH_CLUSTER, set in common.smk), not params:, so that switching machines never
# retrains; params: hold exactly what determines the trained models. docs/hpc.md.
from greenbench.train.task import PT_VERSION


# The job itself only submits and waits: with `--executor slurm` it stays on the submit host,
# and hpc submits the job array itself.
localrules:
    train,


rule train:
    input:
        datasets=train_datasets,
    output:
        metrics=paths.train_metrics(),
    log:
        "logs/{pde}/train/{model}/N{res}/noise{noise}/train.log",
    benchmark:
        "logs/{pde}/train/{model}/N{res}/noise{noise}/train.benchmark.tsv"
    wildcard_constraints:
        model=paths.alternatives(STUDY.models),
        noise=paths.alternatives(NOISE_LABELS),
    conda:
        "../envs/greenbench.yaml"
    threads: train_threads
    resources:
        mem_mb=4000,
    params:
        train=train_params,
        # a new trained-member format (e.g. normalization) retrains (lib/ is not a rerun trigger)
        pt_version=PT_VERSION,
    script:
        "../../scripts/train_model.py"


# The data-quantity study's model is trained here like every other model (helpers in
# common.smk): members (sample_size, seed) on the quantity space at the quantity resolution.
localrules:
    train_quantity,


rule train_quantity:
    input:
        datasets=quantity_train_datasets,
    output:
        metrics="results/{pde}/train_quantity/{model}/N{res}/metrics.nc",
    log:
        "logs/{pde}/train_quantity/{model}/N{res}/train.log",
    benchmark:
        "logs/{pde}/train_quantity/{model}/N{res}/train.benchmark.tsv"
    wildcard_constraints:
        model=re.escape(quantity_model() or "") or "(?!)",
        res=str(QUANTITY["quantity_resolution"]),
    conda:
        "../envs/greenbench.yaml"
    threads: quantity_train_threads
    resources:
        mem_mb=4000,
    params:
        train=quantity_train_params,
        pt_version=PT_VERSION,
    script:
        "../../scripts/train_model.py"
