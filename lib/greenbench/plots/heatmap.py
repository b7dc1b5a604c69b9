"""The cross-validation heatmap: log10 test MSE, rows = training space, columns = test space.

One heatmap per model, all on the same colour scale (:func:`heatmap_limits` over every model),
so that the colours of two models can be compared directly. Spaces are grouped by family in the
canonical order poly, cos, sin, fem, with separator lines and family labels. A cell averages
``log10 MSE`` over the seeds whose training did not diverge (the log of the geometric mean); a
cell with no usable seed is drawn hatched grey (missing) or red-crossed (every seed diverged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from greenbench.plots._common import (
    FLOOR,
    family_groups,
    log10_floor,
    new_figure,
    sort_spaces,
)
from greenbench.spaces import parse_space

OK, MISSING, DIVERGED = 0, 1, 2
"""Cell status codes of :class:`HeatmapCells`."""


@dataclass(frozen=True)
class HeatmapCells:
    """The numbers behind one heatmap.

    Attributes
    ----------
    log10_mse : (n_train, n_test) float64
        Mean over usable seeds of ``log10(max(MSE, FLOOR))``; NaN where no seed is usable.
    status : (n_train, n_test) int
        :data:`OK`, :data:`MISSING` or :data:`DIVERGED`.
    train_spaces, test_spaces : list of str
        Row and column labels, in canonical order.
    n_diverged : (n_train,) int
        Seeds whose training diverged, per training space.
    n_seeds : int
        Seeds in the file.
    """

    log10_mse: np.ndarray
    status: np.ndarray
    train_spaces: list[str]
    test_spaces: list[str]
    n_diverged: np.ndarray
    n_seeds: int


def finest_resolution(ds: xr.Dataset) -> int:
    """The largest ``resolution`` coordinate of ``ds`` (the default resolution of figures)."""
    if "resolution" not in ds.coords or ds.sizes.get("resolution", 0) == 0:
        raise ValueError("results have no 'resolution' coordinate to choose a resolution from")
    return int(ds["resolution"].max())


def heatmap_cells(crossval: xr.Dataset, model: str, resolution: int,
                  spaces: Sequence[str] | None = None) -> HeatmapCells:
    """Reduce ``crossval.mse`` (model, train_space, test_space, resolution, seed) to one cell
    per (train_space, test_space) for ``model`` at ``resolution``.

    ``spaces`` fixes the axes (e.g. the study's 25 spaces): spaces absent from the file, or
    a model absent from the file, give MISSING cells. ``diverged`` and ``missing`` (model,
    train_space, resolution, seed), when present, exclude those seeds; an infinite MSE also
    counts as diverged, a NaN one as missing."""
    names = sort_spaces(spaces if spaces is not None else
                        sorted(set(map(str, crossval["train_space"].values))
                               | set(map(str, crossval["test_space"].values))))
    n = len(names)
    n_seeds = int(crossval.sizes.get("seed", 1))
    have_model = "mse" in crossval and model in set(map(str, crossval["model"].values))
    have_res = resolution in set(int(r) for r in crossval["resolution"].values)
    if not (have_model and have_res):
        return HeatmapCells(np.full((n, n), np.nan), np.full((n, n), MISSING), names, names,
                            np.zeros(n, dtype=int), n_seeds)
    sel = dict(model=model, resolution=resolution)
    mse = (crossval["mse"].sel(sel)
           .reindex(train_space=names, test_space=names)
           .transpose("train_space", "test_space", ...))
    mse = mse.values.reshape(n, n, -1)                       # (train, test, seed)
    if "diverged" in crossval:
        div = (crossval["diverged"].sel(sel).reindex(train_space=names, fill_value=False)
               .transpose("train_space", ...).values.reshape(n, -1).astype(bool))
    else:
        div = np.zeros((n, mse.shape[2]), dtype=bool)
    if "missing" in crossval:
        miss = (crossval["missing"].sel(sel).reindex(train_space=names, fill_value=True)
                .transpose("train_space", ...).values.reshape(n, -1).astype(bool))
    else:
        miss = np.zeros_like(div)
    bad = (div[:, None, :] | np.isinf(mse)) & ~miss[:, None, :]    # diverged seeds
    usable = ~bad & ~miss[:, None, :] & np.isfinite(mse)
    logs = np.where(usable, log10_floor(np.where(usable, mse, 1.0)), 0.0)
    count = usable.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, logs.sum(axis=2) / np.maximum(count, 1), np.nan)
    status = np.where(count > 0, OK, np.where(bad.any(axis=2), DIVERGED, MISSING))
    return HeatmapCells(mean, status, names, names, div.sum(axis=1), n_seeds)


def heatmap_limits(crossval: xr.Dataset, resolution: int, models: Sequence[str] | None = None,
                   spaces: Sequence[str] | None = None) -> tuple[float, float]:
    """The shared colour range ``(vmin, vmax)`` of log10 MSE over all ``models``.

    Integer decades: ``vmin = floor(min)``, ``vmax = ceil(max)`` over every usable cell of
    every model at ``resolution``, with ``vmin >= log10(FLOOR)``; ``(-16, 0)`` when no cell
    is usable. Passing the same limits to :func:`plot_heatmap` for each model gives identical
    colour scales."""
    models = list(map(str, crossval["model"].values)) if models is None else list(models)
    values = [heatmap_cells(crossval, m, resolution, spaces).log10_mse for m in models]
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    if finite.size == 0:
        return -16.0, 0.0
    vmin = max(float(np.floor(finite.min())), np.log10(FLOOR))
    vmax = float(np.ceil(finite.max()))
    if vmax <= vmin:
        vmax = vmin + 1.0
    return vmin, vmax


def plot_heatmap(crossval: xr.Dataset, model: str, *, resolution: int | None = None,
                 limits: tuple[float, float] | None = None,
                 spaces: Sequence[str] | None = None, cmap: str = "viridis") -> Figure:
    """Draw the log10-MSE heatmap of ``model``.

    Parameters
    ----------
    crossval : xarray.Dataset
        ``mse`` (model, train_space, test_space, resolution, seed) and optionally
        ``diverged`` (model, train_space, resolution, seed) (docs/results_format.md).
    model : str
        Model name (a ``model`` coordinate; a name absent from the file draws all cells missing).
    resolution : int, optional
        Grid resolution N; default the finest in the file.
    limits : (vmin, vmax), optional
        Colour range in log10 MSE; default :func:`heatmap_limits` over every model in the file,
        so separate calls share one colour scale.
    spaces : sequence of str, optional
        The axes (default: the spaces in the file), drawn in canonical order.

    Returns
    -------
    Figure with one image axis; ``fig.axes[0].images[0].norm`` carries ``(vmin, vmax)``.
    """
    res = finest_resolution(crossval) if resolution is None else int(resolution)
    vmin, vmax = heatmap_limits(crossval, res, spaces=spaces) if limits is None else limits
    cells = heatmap_cells(crossval, model, res, spaces)
    n = len(cells.train_spaces)

    fig = new_figure(6.6, 5.8)
    ax = fig.add_subplot()
    cm = colormaps[cmap].with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(cells.log10_mse), cmap=cm,
                      norm=Normalize(vmin=vmin, vmax=vmax), interpolation="nearest",
                      aspect="equal")
    for i, j in zip(*np.nonzero(cells.status != OK), strict=True):
        diverged = cells.status[i, j] == DIVERGED
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="0.85", linewidth=0,
                               edgecolor="tab:red" if diverged else "0.55",
                               hatch="xx" if diverged else "////"))

    groups = family_groups(cells.train_spaces)
    for _, start, _ in groups[1:]:
        ax.axhline(start - 0.5, color="white", linewidth=1.5)
        ax.axvline(start - 0.5, color="white", linewidth=1.5)
    ticks = np.arange(n)
    labels = [str(parse_space(s).p or s) for s in cells.train_spaces]
    ax.set_xticks(ticks, labels, fontsize=6)
    ax.set_yticks(ticks, [f"{lab}*" if d else lab for lab, d in
                          zip(labels, cells.n_diverged, strict=True)], fontsize=6)
    ax.tick_params(length=0, pad=1)
    for fam, start, stop in groups:
        centre = (start + stop - 1) / 2
        if fam != "fem":   # x in data, y in axes units (and vice versa): size-independent
            ax.text(centre, 1.01, fam, ha="center", va="bottom", fontsize=8, weight="bold",
                    transform=ax.get_xaxis_transform())
            ax.text(-0.05, centre, fam, ha="right", va="center", fontsize=8, weight="bold",
                    rotation=90, transform=ax.get_yaxis_transform())
    ax.set_xlabel("test space")
    ax.set_ylabel("training space", labelpad=22)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    seeds = f"{cells.n_seeds} seed{'s' if cells.n_seeds != 1 else ''}"
    note = "  (* = some seeds diverged)" if cells.n_diverged.any() else ""
    ax.set_title(f"{model}: log10 test MSE, N = {res}, {seeds}{note}", fontsize=10, pad=16)
    cbar = fig.colorbar(image, ax=ax, shrink=0.7, extend="both")
    cbar.set_label("log10 MSE (grey hatched: missing; red crossed: diverged)", fontsize=8)
    return fig
