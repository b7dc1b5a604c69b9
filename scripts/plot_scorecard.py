"""Snakemake adapter: the scorecard (computed by the analysis, stored in crossval.nc) as a table.

Outside Snakemake: python scripts/plot_scorecard.py results/poisson1d/crossval.nc out.png
"""

import logging
import sys

from greenbench.io import read_netcdf
from greenbench.logs import log_to
from greenbench.plots import placeholder_figure, plot_scorecard, save_figure, scorecard_frame


def main(crossval: str, out: str, *, models=None) -> None:
    cv = read_netcdf(crossval)
    if "scorecard" in cv:
        frame = scorecard_frame(cv, models=models)
        fig = plot_scorecard(frame)
        logging.info("scorecard: %d rows", len(frame))
    else:
        fig = placeholder_figure("Scorecard", f"{crossval} has no 'scorecard' variable")
        logging.warning("%s has no scorecard variable; drew a placeholder", crossval)
    save_figure(fig, out)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    main(sm.input.crossval, sm.output[0], models=sm.params.models)
elif __name__ == "__main__":
    log_to()
    main(*sys.argv[1:3])
