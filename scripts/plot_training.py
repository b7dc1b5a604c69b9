"""Snakemake adapter: the training figure (loss curves per model, median and spread over the
training spaces, one panel per N) from results/{pde}/training.nc.

Outside Snakemake: python scripts/plot_training.py results/poisson1d/training.nc out.png
"""

import logging
import sys

from greenbench.io import read_netcdf
from greenbench.logs import log_to
from greenbench.plots import save_figure
from greenbench.plots.training import plot_training


def main(training: str, out: str, *, models=None) -> None:
    ds = read_netcdf(training)
    save_figure(plot_training(ds, models=models), out)
    logging.info("wrote %s: models %s", out, list(ds.model.values))


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    main(sm.input.training, sm.output[0], models=sm.params.models)
elif __name__ == "__main__":
    log_to()
    main(*sys.argv[1:3])
