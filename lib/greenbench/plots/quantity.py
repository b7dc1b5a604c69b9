"""Data quantity: test error against the number of training samples.

Thm 3.2: the gradient-descent limit ``W* = A U U^T + W0 (I - U U^T)`` depends on the span of the
training data only, not on how many samples span it. So once the samples span the training
space, more data stops helping: in-span test errors drop to the floor, out-of-span errors stay.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from greenbench.plots._common import (
    FLOOR,
    geometric_mean,
    new_figure,
    placeholder_figure,
    sort_spaces,
)
from greenbench.spaces import parse_space


def plot_quantity(quantity: xr.Dataset, *, floor: float = FLOOR) -> Figure:
    """Test MSE vs training sample size, one panel per model of the data-quantity study.

    Parameters
    ----------
    quantity : xarray.Dataset
        ``quantity.nc``: ``quantity_mse`` (quantity_model, sample_size, test_space[, seed]; a
        point is the geometric mean over the seeds); attributes ``quantity_train_space`` (the
        one training space) and ``quantity_resolution``.
    floor : float
        MSE below it is drawn at it.

    Each test space is one line: blue when it lies in the span of the training space
    (:meth:`greenbench.spaces.Space.contains`), orange when not.
    """
    if "quantity_mse" not in quantity or not np.isfinite(quantity["quantity_mse"].values).any():
        return placeholder_figure("Data quantity", "no quantity_mse in quantity.nc")
    q = quantity["quantity_mse"]
    if "seed" in q.dims:
        q = q.reduce(geometric_mean, dim="seed")
    train = str(quantity.attrs.get("quantity_train_space", "?"))
    res = quantity.attrs.get("quantity_resolution", "?")
    models = [str(m) for m in q["quantity_model"].values]
    sizes = q["sample_size"].values.astype(float)
    tests = sort_spaces(q["test_space"].values)
    try:
        home = parse_space(train)
    except ValueError:
        home = None
    fig = new_figure(4.6 * len(models) + 0.4, 3.8)
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    for ax, model in zip(axes, models, strict=True):
        seen = set()
        for test in tests:
            inside = home is not None and home.contains(parse_space(test))
            y = q.sel(quantity_model=model, test_space=test).transpose("sample_size").values
            label = "test space in training span" if inside else "test space outside span"
            ax.plot(sizes, np.maximum(y, floor), "o-" if inside else "s--", markersize=3,
                    linewidth=1, color="tab:blue" if inside else "tab:orange", alpha=0.8,
                    label=None if label in seen else label)
            seen.add(label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("training samples")
        ax.set_ylabel("test MSE")
        ax.set_title(f"{model}, trained on {train} (N = {res})", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle("Data quantity: more samples of the same space do not fix a missing span",
                 fontsize=10)
    return fig
