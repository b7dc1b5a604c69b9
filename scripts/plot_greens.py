"""Snakemake adapter: the Green's function gallery and the stencil recovered from the linear
model trained on fem data, at the finest resolution.

Outside Snakemake:
    python scripts/plot_greens.py results/poisson1d/greens.nc results/poisson1d/greens/N64.nc \
        gallery.png stencil.png
"""

import logging
import sys

from greenbench.io import read_netcdf
from greenbench.logs import log_to
from greenbench.plots import plot_greens_gallery, plot_recovered_stencil, save_figure


def main(greens: str, fields: str, out_gallery: str, out_stencil: str, *, models=None,
         linear_models=("linear",), fem_mass: str = "consistent") -> None:
    # the operator comes from the fields' attributes (pde and its coefficients)
    errors, G = read_netcdf(greens), read_netcdf(fields)
    save_figure(plot_greens_gallery(G, errors, models=models), out_gallery)
    save_figure(plot_recovered_stencil(G, list(linear_models), mass=fem_mass), out_stencil)
    logging.info("wrote %s and %s", out_gallery, out_stencil)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    main(sm.input.greens, sm.input.fields, sm.output.gallery, sm.output.stencil,
         models=sm.params.models, linear_models=sm.params.linear_models,
         fem_mass=sm.params.fem_mass)
elif __name__ == "__main__":
    log_to()
    main(*sys.argv[1:5])
