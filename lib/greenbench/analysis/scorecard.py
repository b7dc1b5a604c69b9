"""Scorecard of a cross-validation: one row of numbers per (model, resolution).

Cells are ``(train_space, test_space, seed)``. Categories (a cell may be in several):

* ``in_distribution``: ``test == train`` (the diagonal);
* ``nested``: same family, test order ``p' < p`` (off-diagonal, inside the training span);
* ``out_of_span``: the test space is not contained in the training space
  (:meth:`greenbench.spaces.Space.contains`: nested within a family; ``fem`` contains all);
* ``cross_family``: different families (``fem`` is its own family).

For each, the geometric mean of ``mse`` over its finite, non-diverged cells (values below
machine precision are clipped to ``eps^2 * u_mean_square`` first, so an exact 0 does not sink the
mean). ``span_consistency`` is the fraction of non-missing cells where "small" agrees with
"in span", with the rule

    small  <=>  rel_l2 <= max(factor * g, floor),   g = geometric mean of the in-distribution
                                                        rel_l2 of that model and resolution,

``factor`` and ``floor`` from ``analysis.scorecard``. A diverged cell is never small. Missing
cells are excluded and counted (``scorecard_missing``), diverged ones are counted
(``scorecard_diverged``); nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from greenbench.spaces import relation_masks

METRICS: tuple[str, ...] = (
    "in_distribution", "nested", "out_of_span", "cross_family", "span_consistency",
)
EPS = float(np.finfo(np.float64).eps)


def cell_masks(train_spaces: Sequence[str], test_spaces: Sequence[str]) -> dict[str, np.ndarray]:
    """Boolean ``(n_train, n_test)`` masks: ``in_distribution``, ``nested``, ``out_of_span``,
    ``cross_family`` and ``in_span`` (the complement of ``out_of_span``)."""
    # from the space definitions (spaces.relation_masks): in 2D, nested is componentwise
    # (px', py') <= (px, py) within a family, and fem is the 2D fem
    rel = relation_masks(train_spaces, test_spaces)
    return dict(in_distribution=rel["diagonal"], nested=rel["nested"],
                out_of_span=~rel["in_span"], cross_family=rel["cross_family"],
                in_span=rel["in_span"])


def geometric_mean(values: np.ndarray, mask: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """Geometric mean of positive finite ``values`` where ``mask``; ``nan`` where none."""
    ok = mask & np.isfinite(values) & (values > 0)
    logs = np.where(ok, np.log(np.where(ok, values, 1.0)), 0.0)
    n = ok.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.exp(logs.sum(axis=axis) / np.maximum(n, 1)), np.nan)


def scorecard(cv: xr.Dataset, factor: float = 10.0, floor: float = 1e-6) -> xr.Dataset:
    """Scorecard of a cross-validation dataset (``crossval.nc`` layout).

    Needs ``mse``, ``rel_l2``, ``diverged``, ``missing`` and ``u_mean_square``.

    Returns
    -------
    Dataset with ``scorecard``, ``scorecard_cells``, ``scorecard_missing``,
    ``scorecard_diverged`` over ``(model, resolution, metric)``, ``small_threshold`` over
    ``(model, resolution)`` and the masks ``in_span``, ``nested``, ``cross_family`` over
    ``(train_space, test_space)``.
    """
    order5 = ("model", "resolution", "train_space", "test_space", "seed")
    mse = cv["mse"].transpose(*order5).values
    rel = cv["rel_l2"].transpose(*order5).values
    flags = ("model", "resolution", "train_space", "seed")
    div = cv["diverged"].transpose(*flags).values[:, :, :, None, :]
    miss = cv["missing"].transpose(*flags).values[:, :, :, None, :]
    ms = cv["u_mean_square"].transpose("resolution", "test_space").values
    masks = cell_masks(cv["train_space"].values.tolist(), cv["test_space"].values.tolist())
    shape = mse.shape
    div = np.broadcast_to(div | (~miss & ~np.isfinite(mse)), shape)
    miss = np.broadcast_to(miss, shape)
    usable = ~div & ~miss
    clip = (EPS**2 * ms)[None, :, None, :, None]
    mse_c = np.maximum(mse, clip)
    rel_c = np.maximum(rel, EPS)
    cell_axes = (2, 3, 4)

    nm, nr = shape[:2]
    score = np.full((nm, nr, len(METRICS)), np.nan)
    cells = np.zeros((nm, nr, len(METRICS)), dtype=np.int64)
    n_miss = np.zeros_like(cells)
    n_div = np.zeros_like(cells)
    for j, name in enumerate(METRICS[:-1]):
        m = np.broadcast_to(masks[name][None, None, :, :, None], shape)
        score[:, :, j] = geometric_mean(mse_c, m & usable, cell_axes)
        cells[:, :, j] = (m & usable).sum(axis=cell_axes)
        n_miss[:, :, j] = (m & miss).sum(axis=cell_axes)
        n_div[:, :, j] = (m & div).sum(axis=cell_axes)

    diag = np.broadcast_to(masks["in_distribution"][None, None, :, :, None], shape)
    g = geometric_mean(rel_c, diag & usable, cell_axes)
    # no usable diagonal (all missing/diverged): fall back to the floor alone
    threshold = np.where(np.isnan(g), floor, np.maximum(factor * g, floor))
    small = usable & (rel_c <= threshold[:, :, None, None, None])
    in_span = np.broadcast_to(masks["in_span"][None, None, :, :, None], shape)
    agree = (small == in_span) & ~miss
    counted = (~miss).sum(axis=cell_axes)
    with np.errstate(invalid="ignore", divide="ignore"):
        score[:, :, -1] = np.where(counted > 0, agree.sum(axis=cell_axes) / counted, np.nan)
    cells[:, :, -1] = counted
    n_miss[:, :, -1] = miss.sum(axis=cell_axes)
    n_div[:, :, -1] = div.sum(axis=cell_axes)

    d3 = ("model", "resolution", "metric")
    return xr.Dataset(
        dict(scorecard=(d3, score), scorecard_cells=(d3, cells),
             scorecard_missing=(d3, n_miss), scorecard_diverged=(d3, n_div),
             small_threshold=(("model", "resolution"), threshold),
             in_span=(("train_space", "test_space"), masks["in_span"]),
             nested=(("train_space", "test_space"), masks["nested"]),
             cross_family=(("train_space", "test_space"), masks["cross_family"])),
        coords=dict(model=cv["model"].values, resolution=cv["resolution"].values,
                    metric=list(METRICS), train_space=cv["train_space"].values,
                    test_space=cv["test_space"].values),
        attrs=dict(scorecard_factor=float(factor), scorecard_floor=float(floor)),
    )
