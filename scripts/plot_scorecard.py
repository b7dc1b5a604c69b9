"""Snakemake adapter: the scorecard (computed by the analysis, stored in crossval.nc) as a table,
and, when the rule asks for a second output (studies with more than one noise level), the noise
floor (crossval.nc's noise_in_span_mse / noise_out_of_span_mse against the level): both read
crossval.nc, so one job draws both and a study with one noise level has no extra job.

Outside Snakemake: python scripts/plot_scorecard.py results/poisson1d/crossval.nc out.png \
    [noise_floor.png]
"""

import logging
import sys

from greenbench.io import read_netcdf
from greenbench.logs import log_to
from greenbench.plots import (
    noise_floor_frame,
    placeholder_figure,
    plot_noise_floor,
    plot_scorecard,
    save_figure,
    scorecard_frame,
)
from greenbench.plots.noise import has_noise_axis
from greenbench.report.verdicts import SEPARATION


def main(crossval: str, out: str, noise_out: str | None = None, *, models=None,
         resolution=None) -> None:
    cv = read_netcdf(crossval)
    if "scorecard" in cv:
        frame = scorecard_frame(cv, models=models)
        fig = plot_scorecard(frame)
        logging.info("scorecard: %d rows", len(frame))
    else:
        fig = placeholder_figure("Scorecard", f"{crossval} has no 'scorecard' variable")
        logging.warning("%s has no scorecard variable; drew a placeholder", crossval)
    save_figure(fig, out)
    if noise_out is None:
        return
    if has_noise_axis(cv):
        frame = noise_floor_frame(cv, resolution=resolution, models=models)
        fig = plot_noise_floor(frame, separation=SEPARATION)
        logging.info("noise floor: %d rows (model x level)", len(frame))
    else:
        fig = placeholder_figure("Noise floor", f"{crossval} has no noise medians over more "
                                 "than one noise level")
        logging.warning("%s has no noise axis of several levels; drew a placeholder", crossval)
    save_figure(fig, noise_out)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    main(sm.input.crossval, sm.output[0], sm.output[1] if len(sm.output) > 1 else None,
         models=sm.params.models, resolution=getattr(sm.params, "resolution", None))
elif __name__ == "__main__":
    log_to()
    main(*sys.argv[1:4])
