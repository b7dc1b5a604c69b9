# Stage 1: one HDF5 dataset per (pde, space, resolution).
from greenbench.io import FORMAT_VERSION


rule generate_dataset:
    output:
        paths.dataset(),
    log:
        "logs/{pde}/data/{space}/N{res}.log",
    conda:
        "../envs/greenbench.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        spec=data_spec,
        config_hash=DATA_HASH,
        # a new dataset format regenerates the files (the code of lib/ is not a rerun trigger)
        format_version=FORMAT_VERSION,
    script:
        "../../scripts/generate_dataset.py"
