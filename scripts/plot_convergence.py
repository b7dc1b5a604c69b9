"""Snakemake adapter: Thm 3.1 FD convergence in dx and white-box parameter error against p
(from convergence.nc), and the data-quantity study (from quantity.nc).

Outside Snakemake: python scripts/plot_convergence.py results/poisson1d/convergence.nc \
    results/poisson1d/quantity.nc conv.png param.png quantity.png
"""

import logging
import sys

from greenbench.io import read_netcdf
from greenbench.logs import log_to
from greenbench.plots import plot_convergence, plot_parameter_error, plot_quantity, save_figure


def main(convergence: str, quantity: str, out_convergence: str, out_parameter: str,
         out_quantity: str, *, resolution=None) -> None:
    conv = read_netcdf(convergence)
    save_figure(plot_convergence(conv), out_convergence)
    save_figure(plot_parameter_error(conv, resolution=resolution), out_parameter)
    save_figure(plot_quantity(read_netcdf(quantity)), out_quantity)
    logging.info("wrote %s, %s and %s", out_convergence, out_parameter, out_quantity)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    main(sm.input.convergence, sm.input.quantity, sm.output.convergence,
         sm.output.parameter_error, sm.output.quantity, resolution=sm.params.resolution)
elif __name__ == "__main__":
    log_to()
    main(*sys.argv[1:6])
