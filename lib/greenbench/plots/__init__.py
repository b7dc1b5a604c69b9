"""Figures of the study (matplotlib, Agg backend, deterministic PNG).

Every ``plot_*`` function takes arrays / xarray objects of the results contract
(docs/results_format.md) and returns a :class:`matplotlib.figure.Figure`; :func:`save_figure`
writes it. Absent inputs give a :func:`placeholder_figure` that says what is missing.
"""

from greenbench.plots._common import DPI, FLOOR, placeholder_figure, save_figure, sort_spaces
from greenbench.plots.greens import (
    generating_stencil,
    inverse_middle_row,
    plot_greens_gallery,
    plot_recovered_stencil,
    plot_stencil,
)
from greenbench.plots.heatmap import heatmap_cells, heatmap_limits, plot_heatmap
from greenbench.plots.noise import formatted_noise_floor, noise_floor_frame, plot_noise_floor
from greenbench.plots.quantity import plot_quantity
from greenbench.plots.table import plot_scorecard, scorecard_frame
from greenbench.plots.theory import plot_bounds, plot_convergence, plot_parameter_error

__all__ = [
    "DPI", "FLOOR", "generating_stencil", "heatmap_cells", "heatmap_limits",
    "inverse_middle_row", "placeholder_figure", "plot_bounds", "plot_convergence",
    "plot_greens_gallery", "plot_heatmap", "plot_parameter_error", "plot_quantity",
    "plot_recovered_stencil", "formatted_noise_floor", "noise_floor_frame", "plot_noise_floor",
    "plot_scorecard", "plot_stencil", "save_figure", "scorecard_frame", "sort_spaces",
]
