# Stage 1: one HDF5 dataset per (pde, space, resolution).


rule generate_dataset:
    output:
        "data/{pde}/{space}/N{res}.h5",
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
    script:
        "../../scripts/generate_dataset.py"
