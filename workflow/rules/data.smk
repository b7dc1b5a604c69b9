# Stage 1: the HDF5 datasets, one file per (pde, space, resolution), made by ONE job per
# resolution (all spaces at that N: the training jobs of an N need them all). A dataset takes
# 0.01-0.1 s; a job per file was 75 Python start-ups for ~3 s of work (docs/performance.md).
from greenbench.io import FORMAT_VERSION


rule generate_datasets:
    output:
        [paths.dataset(space=s) for s in SPACES],
    log:
        "logs/{pde}/data/N{res}.log",
    benchmark:
        "logs/{pde}/data/N{res}.benchmark.tsv"
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        specs=data_specs,
        config_hash=per_study("data_hash"),
        # a new dataset format regenerates the files (the code of lib/ is not a rerun trigger)
        format_version=FORMAT_VERSION,
    script:
        "../../scripts/generate_dataset.py"
