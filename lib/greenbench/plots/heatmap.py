"""The cross-validation heatmap: log10 test error, rows = training space, columns = test space.

One figure per model with three panels (four when the study has several training seeds):

1. log10 MSE on the colour scale shared by every model (:func:`heatmap_limits`), so that the
   colours of two models can be compared directly;
2. the same cells on the model's own range (:func:`own_limits`: the 1st..99th percentile of its
   cells, at least one decade wide), so that the structure of a model whose errors span a few
   decades (the neural models, 1e-6..1e-1, against a shared scale down to 1e-32) is visible;
3. log10 relative L2 error (``rel_l2``), on its own range: the error relative to the size of
   the test solutions, which removes the differences of scale between test spaces;
4. with several seeds, the spread over the seeds of each cell: ``log10(max/min)`` of its MSE
   over the usable seeds (decades between the best and the worst seed).

Spaces are grouped by family in the canonical order poly, cos, sin, fem, with separator lines
and family labels. A cell averages ``log10`` of the error over the seeds whose training did not
diverge (the log of the geometric mean; with two seeds, also the median of the logs); a cell
with no usable seed is drawn hatched grey (missing) or red-crossed (every seed diverged).
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
        Mean over usable seeds of ``log10(max(value, FLOOR))`` of the variable (``mse`` unless
        :func:`heatmap_cells` was asked for another); NaN where no seed is usable.
    status : (n_train, n_test) int
        :data:`OK`, :data:`MISSING` or :data:`DIVERGED`.
    train_spaces, test_spaces : list of str
        Row and column labels, in canonical order.
    n_diverged : (n_train,) int
        Seeds whose training diverged, per training space.
    n_seeds : int
        Seeds in the file.
    log10_spread : (n_train, n_test) float64
        Spread over the usable seeds, ``max - min`` of their log10 values (decades; the
        factor between the best and the worst seed is ``10**log10_spread``); NaN where fewer
        than 2 seeds are usable.
    """

    log10_mse: np.ndarray
    status: np.ndarray
    train_spaces: list[str]
    test_spaces: list[str]
    n_diverged: np.ndarray
    n_seeds: int
    variable: str = "mse"
    log10_spread: np.ndarray | None = None


def finest_resolution(ds: xr.Dataset) -> int:
    """The largest ``resolution`` coordinate of ``ds`` (the default resolution of figures)."""
    if "resolution" not in ds.coords or ds.sizes.get("resolution", 0) == 0:
        raise ValueError("results have no 'resolution' coordinate to choose a resolution from")
    return int(ds["resolution"].max())


def heatmap_cells(crossval: xr.Dataset, model: str, resolution: int,
                  spaces: Sequence[str] | None = None, variable: str = "mse") -> HeatmapCells:
    """Reduce ``crossval[variable]`` (model, train_space, test_space, resolution, seed; ``mse``
    or ``rel_l2``) to one cell per (train_space, test_space) for ``model`` at ``resolution``.

    ``spaces`` fixes the axes (e.g. the study's 25 spaces): spaces absent from the file, or
    a model or variable absent from the file, give MISSING cells. ``diverged`` and ``missing``
    (model, train_space, resolution, seed), when present, exclude those seeds; an infinite
    value also counts as diverged, a NaN one as missing."""
    names = sort_spaces(spaces if spaces is not None else
                        sorted(set(map(str, crossval["train_space"].values))
                               | set(map(str, crossval["test_space"].values))))
    n = len(names)
    n_seeds = int(crossval.sizes.get("seed", 1))
    have_model = variable in crossval and model in set(map(str, crossval["model"].values))
    have_res = resolution in set(int(r) for r in crossval["resolution"].values)
    if not (have_model and have_res):
        return HeatmapCells(np.full((n, n), np.nan), np.full((n, n), MISSING), names, names,
                            np.zeros(n, dtype=int), n_seeds, variable, np.full((n, n), np.nan))
    sel = dict(model=model, resolution=resolution)
    mse = (crossval[variable].sel(sel)
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
    hi = np.where(usable, logs, -np.inf).max(axis=2)
    lo = np.where(usable, logs, np.inf).min(axis=2)
    spread = np.where(count >= 2, hi - lo, np.nan)
    return HeatmapCells(mean, status, names, names, div.sum(axis=1), n_seeds, variable, spread)


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


OWN_PERCENTILES = (1.0, 99.0)
"""Percentiles of a model's cells that bound its own colour range (:func:`own_limits`)."""

OWN_MIN_SPAN = 1.0
"""Narrowest own colour range, in decades: a near-uniform map is not stretched into noise."""


def own_limits(log10_values: np.ndarray, percentiles: tuple[float, float] = OWN_PERCENTILES,
               min_span: float = OWN_MIN_SPAN) -> tuple[float, float] | None:
    """A model's own colour range ``(vmin, vmax)`` in log10 units, robust to outliers.

    ``vmin``/``vmax`` are the ``percentiles`` (default 1st and 99th, linear interpolation) of
    the finite values, rounded outwards to 0.1 decade. A range narrower than ``min_span``
    decades is widened symmetrically about its centre to ``min_span`` (then rounded outwards).
    ``None`` when no value is finite (every cell missing or diverged)."""
    values = np.asarray(log10_values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    lo, hi = (float(v) for v in np.percentile(finite, percentiles))
    if hi - lo < min_span:
        centre = (lo + hi) / 2
        lo, hi = centre - min_span / 2, centre + min_span / 2
    # outwards to 0.1 decade; the 1e-9 keeps a limit already on the grid where it is
    return float(np.floor(lo * 10 + 1e-9) / 10), float(np.ceil(hi * 10 - 1e-9) / 10)


def _fmt_range(limits: tuple[float, float]) -> str:
    return f"[{limits[0]:g}, {limits[1]:g}]"


def _draw_panel(fig: Figure, ax, cells: HeatmapCells, limits: tuple[float, float], cmap: str,
                title: str, cbar_label: str, *, ylabel: bool) -> None:
    """One heatmap panel: cells, missing/diverged hatches, family separators and labels."""
    n = len(cells.train_spaces)
    cm = colormaps[cmap].with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(cells.log10_mse), cmap=cm,
                      norm=Normalize(vmin=limits[0], vmax=limits[1]), interpolation="nearest",
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
    labels = [_label(s) for s in cells.train_spaces]
    long = max(map(len, labels), default=0) > 3  # 2D names: vertical, family labels further out
    ax.set_xticks(ticks, labels, fontsize=5 if long else 6, rotation=90 if long else 0)
    ax.set_yticks(ticks, [f"{lab}*" if d else lab for lab, d in
                          zip(labels, cells.n_diverged, strict=True)], fontsize=5 if long else 6)
    ax.tick_params(length=0, pad=1)
    for fam, start, stop in groups:
        centre = (start + stop - 1) / 2
        if fam != "fem":   # x in data, y in axes units (and vice versa): size-independent
            ax.text(centre, 1.01, fam, ha="center", va="bottom", fontsize=8, weight="bold",
                    transform=ax.get_xaxis_transform())
            ax.text(-0.16 if long else -0.05, centre, fam, ha="right", va="center", fontsize=8,
                    weight="bold",
                    rotation=90, transform=ax.get_yaxis_transform())
    ax.set_xlabel("test space")
    if ylabel:
        ax.set_ylabel("training space", labelpad=44 if long else 22)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_title(title, fontsize=10, pad=16)
    cbar = fig.colorbar(image, ax=ax, shrink=0.7, extend="both")
    cbar.set_label(cbar_label, fontsize=8)
    cbar.ax.tick_params(labelsize=8)


def _label(name: str) -> str:
    """Tick label of a space: its order ``p`` in 1D (the family is written beside the block),
    the full name in 2D (``sin2x3``: both orders)."""
    sp = parse_space(name)
    return sp.name if sp.dim > 1 and sp.p is not None else str(sp.p or name)


def plot_heatmap(crossval: xr.Dataset, model: str, *, resolution: int | None = None,
                 limits: tuple[float, float] | None = None,
                 spaces: Sequence[str] | None = None, cmap: str = "viridis") -> Figure:
    """Draw the heatmaps of ``model``: shared-scale log10 MSE, own-range log10 MSE, own-range
    log10 rel_l2 (module docstring).

    Parameters
    ----------
    crossval : xarray.Dataset
        ``mse`` and ``rel_l2`` (model, train_space, test_space, resolution, seed) and optionally
        ``diverged`` and ``missing`` (model, train_space, resolution, seed)
        (docs/results_format.md). An absent variable draws its panel all missing.
    model : str
        Model name (a ``model`` coordinate; a name absent from the file draws all cells missing).
    resolution : int, optional
        Grid resolution N; default the finest in the file.
    limits : (vmin, vmax), optional
        Colour range of the shared panel in log10 MSE; default :func:`heatmap_limits` over every
        model in the file, so separate calls share one colour scale.
    spaces : sequence of str, optional
        The axes (default: the spaces in the file), drawn in canonical order.

    Returns
    -------
    Figure whose first three axes are the panels (shared MSE, own-range MSE, own-range rel_l2);
    ``fig.axes[k].images[0]`` holds each panel's cells (``get_array()``) and colour range
    (``norm.vmin``, ``norm.vmax``). A panel with no usable cell falls back to the shared range
    (MSE) or ``(-16, 0)`` (rel_l2) and says so.
    """
    res = finest_resolution(crossval) if resolution is None else int(resolution)
    shared = heatmap_limits(crossval, res, spaces=spaces) if limits is None else limits
    cells = heatmap_cells(crossval, model, res, spaces)
    rel = heatmap_cells(crossval, model, res, spaces, variable="rel_l2")
    own = own_limits(cells.log10_mse)
    own_rel = own_limits(rel.log10_mse)

    several = cells.n_seeds > 1
    fig = new_figure(20.5 if several else 15.5, 5.1)
    axes = fig.subplots(1, 4 if several else 3)
    lo, hi = (int(p) for p in OWN_PERCENTILES)
    rule = f"{lo}st..{hi}th percentile"
    _draw_panel(fig, axes[0], cells, shared, cmap,
                f"log10 MSE, shared scale {_fmt_range(shared)} (all models)",
                "log10 MSE (grey hatched: missing; red crossed: diverged)", ylabel=True)
    _draw_panel(fig, axes[1], cells, shared if own is None else own, cmap,
                f"log10 MSE, own range {_fmt_range(own)} ({rule})" if own is not None else
                "log10 MSE: no usable cell", "log10 MSE", ylabel=False)
    _draw_panel(fig, axes[2], rel, (-16.0, 0.0) if own_rel is None else own_rel, cmap,
                f"log10 rel_l2, own range {_fmt_range(own_rel)} ({rule})"
                if own_rel is not None else "log10 rel_l2: no usable cell",
                "log10 relative L2 error", ylabel=False)
    if several:
        spread = HeatmapCells(cells.log10_spread, np.where(np.isfinite(cells.log10_spread), OK,
                                                           cells.status),
                              cells.train_spaces, cells.test_spaces, cells.n_diverged,
                              cells.n_seeds, cells.variable, cells.log10_spread)
        top = own_limits(cells.log10_spread, min_span=1.0)
        _draw_panel(fig, axes[3], spread, (0.0, 1.0) if top is None else (0.0, max(top[1], 1.0)),
                    "magma", f"seed spread: log10(max/min) MSE over {cells.n_seeds} seeds",
                    "decades between best and worst seed", ylabel=False)
    seeds = f"{cells.n_seeds} seed{'s' if cells.n_seeds != 1 else ''}"
    note = "  (* = some seeds diverged)" if cells.n_diverged.any() else ""
    fig.suptitle(f"{model}: cross-validation, N = {res}, {seeds}{note}", fontsize=12)
    return fig
