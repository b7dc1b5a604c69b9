"""Snakemake adapter: Thm 3.2 predicted vs measured test MSE of the linear model.

Outside Snakemake: python scripts/plot_bounds.py results/poisson1d/bounds.nc out.png
"""

import logging
import sys

from greenbench.io import read_netcdf
from greenbench.logs import log_to
from greenbench.plots import placeholder_figure, plot_bounds, save_figure


def main(bounds: str, out: str, *, models=("linear",)) -> None:
    if not models:
        fig = placeholder_figure("Thm 3.2: predicted vs measured",
                                 "no model of class linear in this study")
    else:
        ds = read_netcdf(bounds)
        fig = plot_bounds(ds, model=str(ds.attrs.get("linear_model") or ", ".join(models)))
    save_figure(fig, out)
    logging.info("wrote %s (linear models: %s)", out, list(models))


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    main(sm.input.bounds, sm.output[0], models=sm.params.models)
elif __name__ == "__main__":
    log_to()
    main(*sys.argv[1:3])
