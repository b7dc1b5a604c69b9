"""Snakemake adapter: generate one dataset (greenbench.data.generate), check it (the same
check as ``python -m greenbench.check``) and write it atomically.

Outside Snakemake: python scripts/generate_dataset.py poisson1d sin3 32 out.h5
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
    log_to(snakemake.log[0])  # noqa: F821
    main(DataSpec(**snakemake.params.spec), snakemake.output[0],  # noqa: F821
         snakemake.params.config_hash)  # noqa: F821
elif __name__ == "__main__":
    log_to()
    pde_, space, res, out = sys.argv[1:5]
    main(DataSpec(pde=pde_, space=space, N=int(res), n_samples=250), out)
