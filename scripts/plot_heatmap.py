"""Snakemake adapter: the cross-validation heatmaps of the operator models (one PNG per model,
three panels each).

Rule ``plot_heatmaps``: one job draws every model's heatmap (``params.models``, in the order of
the outputs). The shared panel's colour range is computed over every operator model of the
study, so all heatmaps are drawn on the same scale; the other two panels (log10 MSE and log10
rel_l2) use the model's own range. Outside Snakemake:
    python scripts/plot_heatmap.py results/poisson1d/crossval.nc MODEL out.png
"""

import logging
import sys

from greenbench.io import read_netcdf
from greenbench.logs import log_to
from greenbench.plots import heatmap_limits, plot_heatmap, save_figure
from greenbench.plots.heatmap import finest_resolution


def main(crossval: str, model: str, out: str, *, models=None, spaces=None,
         resolution=None) -> None:
    draw(crossval, [model], [out], models=models, spaces=spaces, resolution=resolution)


def draw(crossval: str, names: list, outs: list, *, models=None, spaces=None,
         resolution=None) -> None:
    """The heatmap of each model of ``names`` into the path of ``outs`` at the same place."""
    cv = read_netcdf(crossval)
    res = finest_resolution(cv) if resolution is None else int(resolution)
    models = list(models) if models is not None else [str(m) for m in cv["model"].values]
    limits = heatmap_limits(cv, res, models=models, spaces=spaces)
    for model, out in zip(names, outs, strict=True):
        fig = plot_heatmap(cv, model, resolution=res, limits=limits, spaces=spaces)
        save_figure(fig, out)
        own, rel = ((fig.axes[k].images[0].norm.vmin, fig.axes[k].images[0].norm.vmax)
                    for k in (1, 2))
        logging.info("wrote %s: model %s, N=%d, log10 MSE shared range %s, own range %s; "
                     "log10 rel_l2 own range %s", out, model, res, limits, own, rel)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    draw(sm.input.crossval, list(sm.params.models), list(sm.output), models=sm.params.models,
         spaces=sm.params.spaces, resolution=sm.params.resolution)
elif __name__ == "__main__":
    log_to()
    main(*sys.argv[1:4])
