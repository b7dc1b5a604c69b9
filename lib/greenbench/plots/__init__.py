"""Figures of the study (matplotlib, Agg, PNG)."""

from greenbench.plots._common import DPI, FLOOR, placeholder_figure, save_figure
from greenbench.plots.heatmap import heatmap_cells, heatmap_limits, plot_heatmap

__all__ = ["DPI", "FLOOR", "heatmap_cells", "heatmap_limits", "placeholder_figure",
           "plot_heatmap", "save_figure"]
