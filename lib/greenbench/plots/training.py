"""The training figure: loss curves per model, median and spread over the training spaces.

One panel per resolution N (finest last). For each iterative operator model, the training
objective (``training.nc`` ``loss_curve``; for a normalized model the MSE of the normalized
data, train.normalize) against the optimizer step, log-log: the median over its members
(training spaces and seeds) and the band between the 10th and 90th percentiles
(:data:`BAND`). A member that stopped holds its last value. Closed-form fits (``exact_fit``)
have no curve and are named in the title. The legend counts, per model at that N, the members
that did not converge (docs/decisions.md, "Converged members").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.figure import Figure

from greenbench.plots._common import new_figure, placeholder_figure

BAND = (10.0, 90.0)
"""Percentiles of the shaded band over the training spaces (and seeds)."""


def curve_quantiles(training: xr.Dataset, model: str, resolution: int,
                    q: Sequence[float] = (BAND[0], 50.0, BAND[1])) -> np.ndarray:
    """``(len(q), n_curve_step)``: percentiles ``q`` over the members (training spaces, seeds)
    of ``model``'s loss curve at ``resolution``, over the members with a finite value at that
    step (diverged members left out); NaN where none."""
    c = training["loss_curve"].sel(model=model, resolution=resolution)
    div = training["diverged"].sel(model=model, resolution=resolution)
    v = c.where(~div).transpose("train_space", "seed", "curve_step").values
    v = v.reshape(-1, v.shape[-1])
    out = np.full((len(q), v.shape[-1]), np.nan)
    for k in range(v.shape[-1]):
        col = v[:, k]
        col = col[np.isfinite(col)]
        if col.size:
            out[:, k] = np.percentile(col, q)
    return out


def plot_training(training: xr.Dataset | None, models: Sequence[str] | None = None,
                  resolutions: Sequence[int] | None = None) -> Figure:
    """Draw the training figure (module docstring) of ``models`` (default: every model of the
    file) at ``resolutions`` (default: every one, one panel each)."""
    title = "Training loss"
    if training is None or "loss_curve" not in training:
        return placeholder_figure(title, "no training.nc (training evidence) to draw")
    names = [str(m) for m in training["model"].values]
    models = [m for m in (names if models is None else models) if m in names]
    res = ([int(r) for r in training["resolution"].values] if resolutions is None
           else [int(r) for r in resolutions])
    exact = [m for m in models if bool(training["exact_fit"].sel(model=m))]
    curves = [m for m in models if m not in exact]
    if not curves:
        return placeholder_figure(title, "no iterative model in the study (closed-form fits "
                                         f"only: {', '.join(exact) or 'none'})")
    fig = new_figure(4.6 * len(res) + 0.6, 4.0)
    axes = np.atleast_1d(fig.subplots(1, len(res), sharey=True))
    colors = colormaps["tab10"]
    steps = training["curve_step"].values
    keep = steps > 0
    left = (training["trained"] & ~training["diverged"] & ~training["converged"])
    for ax, N in zip(axes, res, strict=True):
        for k, m in enumerate(curves):
            lo, med, hi = curve_quantiles(training, m, N)
            n_left = int(left.sel(model=m, resolution=N).sum())
            n_all = int(training["trained"].sel(model=m, resolution=N).sum())
            if not np.isfinite(med).any():
                continue
            color = colors(k % 10)
            ax.fill_between(steps[keep], lo[keep], hi[keep], color=color, alpha=0.2,
                            linewidth=0)
            ax.plot(steps[keep], med[keep], color=color, linewidth=1.5,
                    label=f"{m} ({n_left} of {n_all} not converged)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("optimizer step")
        ax.set_title(f"N = {N}", fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    axes[0].set_ylabel("training objective (normalized data)")
    note = f"; closed form (no curve): {', '.join(exact)}" if exact else ""
    fig.suptitle(f"{title}: median over training spaces and seeds, band "
                 f"{BAND[0]:g}-{BAND[1]:g}th percentile{note}", fontsize=10)
    return fig
