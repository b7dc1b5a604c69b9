"""Snakemake adapter: generate the datasets of one resolution (greenbench.data.generate), check
each (the same check as ``python -m greenbench.check ...``) and write it atomically.

Rule ``generate_datasets``: one job per N writes every space at that N; ``params.specs`` are
the specs in the order of the outputs. Outside Snakemake:
    python scripts/generate_dataset.py poisson1d sin3 32 out.h5
"""

import logging
import sys
import time

from greenbench.data import DataSpec, generate
from greenbench.io import write_dataset
from greenbench.logs import log_to


def main(spec: DataSpec, out: str, config_hash: str = "") -> None:
    t0 = time.perf_counter()
    ds = generate(spec, config_hash=config_hash)
    write_dataset(out, ds)  # checked (physics, path, checksum) before it is renamed into place
    logging.info("wrote and checked %s: %d samples, N=%d, seed=%d in %.2fs",
                 out, spec.n_samples, spec.N, spec.seed, time.perf_counter() - t0)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    specs = [DataSpec(**s) for s in sm.params.specs]
    if len(specs) != len(sm.output):
        raise ValueError(f"{len(specs)} dataset specs for {len(sm.output)} outputs")
    for spec, out in zip(specs, sm.output, strict=True):
        main(spec, out, sm.params.config_hash)
elif __name__ == "__main__":
    log_to()
    pde_, space, res, out = sys.argv[1:5]
    main(DataSpec(pde=pde_, space=space, N=int(res), n_samples=250), out)
