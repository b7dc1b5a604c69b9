"""Reductions the report's findings are judged on: geometric means, ratios, rank correlations.

The report stage only reads these numbers, compares them with its thresholds and renders them
(``greenbench.report.verdicts``); everything here runs in the analysis stage and is written to
``measures.nc`` (crossval-derived), ``convergence.nc`` (Spearman trends of the parameter
errors), ``greens.nc`` (stencil deviations) and ``quantity.nc`` (data-quantity summary).
Definitions: docs/results_format.md.

Masks over (train, test) follow the findings' definitions (:meth:`Space.contains`):
``nested`` is same non-fem family with test ``p' < p``; ``family_in`` / ``family_out`` same
non-fem family with ``p' <= p`` / ``p' > p``; ``cross_family`` different families, neither
fem; ``out_of_span`` not :meth:`Space.contains`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import xarray as xr

from greenbench.spaces import FAMILIES, parse_space, relation_masks

FLOOR = 1e-32
"""MSE below this (exact zeros) counts as this in geometric means (the heatmaps' floor)."""

CATEGORIES: tuple[str, ...] = (
    "diagonal", "nested", "family_in", "family_out", "cross_family", "out_of_span")
"""The ``category`` coordinate of ``measures.nc``."""


def gmean(values, mask: np.ndarray | None = None, floor: float = FLOOR) -> float:
    """Geometric mean of the finite values (where ``mask``), each clipped at ``floor``; NaN
    when none."""
    v = np.asarray(values, dtype=float)
    if mask is not None:
        v = v[np.broadcast_to(mask, v.shape)]
    v = v[np.isfinite(v)]
    return float(10.0 ** np.mean(np.log10(np.maximum(v, floor)))) if v.size else float("nan")


def gmean_axis(values: np.ndarray, axis: int | tuple[int, ...], floor: float = FLOOR
               ) -> np.ndarray:
    """:func:`gmean` along ``axis`` (non-finite values left out; NaN where nothing is left)."""
    v = np.asarray(values, dtype=float)
    logs = np.where(np.isfinite(v), np.log10(np.maximum(np.where(np.isfinite(v), v, 1.0),
                                                        floor)), np.nan)
    with warnings.catch_warnings():          # all-NaN slices give NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return 10.0 ** np.nanmean(logs, axis=axis)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation of the finite pairs (NaN for fewer than 3 or a constant)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    rx = np.argsort(np.argsort(x[ok])).astype(float)
    ry = np.argsort(np.argsort(y[ok])).astype(float)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def masks(spaces: Sequence[str]) -> dict[str, np.ndarray]:
    """Boolean ``(n, n)`` masks over (train, test) for every :data:`CATEGORIES` entry, plus
    ``in_span``."""
    # from the space definitions (spaces.relation_masks; 2D: componentwise nesting)
    rel = relation_masks(spaces, spaces)
    n = len(spaces)
    out = {k: np.zeros((n, n), dtype=bool) for k in (*CATEGORIES, "in_span")}
    smooth = np.array([not s.startswith("fem") for s in spaces])
    both = smooth[:, None] & smooth[None, :]
    same = both & ~rel["cross_family"]
    out["diagonal"] = np.eye(n, dtype=bool)
    out["in_span"] = rel["in_span"]
    out["nested"] = rel["nested"]
    out["family_in"] = same & rel["in_span"]
    out["family_out"] = same & ~rel["in_span"]
    out["cross_family"] = both & rel["cross_family"]
    out["out_of_span"] = ~out["in_span"]
    return out


def family_trend(spaces: Sequence[str], values: Sequence[float], family: str,
                 min_p: int = 0) -> float:
    """Spearman(p, value) over the spaces of ``family`` with ``p >= min_p`` (NaN for fewer
    than 3)."""
    idx = [i for i, s in enumerate(spaces) if parse_space(s).family == family
           and parse_space(s).p >= min_p]
    if len(idx) < 3:
        return float("nan")
    return spearman([parse_space(spaces[i]).p for i in idx], [values[i] for i in idx])


def spanning_size(sizes: Sequence[int], space: str) -> int:
    """The first sample size that can span ``space`` (``>=`` its dimension), from which the
    data-quantity finding compares; the smallest size for fem (its dimension depends on N) or
    when only the largest size is that large."""
    s = parse_space(space)
    sizes = [int(n) for n in sizes]
    if s.family == "fem":
        return sizes[0]
    big = [n for n in sizes if n >= s.n_coefficients(0)]
    return big[0] if big and big[0] != sizes[-1] else sizes[0]


MACHINE_PRECISION_MSE = 1e-12
"""A test cell counts as "at machine precision" below this MSE (``machine_precision_count``)."""


def cell_mse(cv: xr.Dataset, spaces: Sequence[str]) -> np.ndarray:
    """``(model, train_space, test_space, resolution)``: geometric mean over the usable seeds of
    ``cv.mse`` (diverged, missing and non-finite seeds left out; NaN where none is left) -- the
    cell of the heatmaps."""
    sp = list(spaces)
    mse = cv["mse"].sel(train_space=sp, test_space=sp).transpose(
        "model", "train_space", "test_space", "resolution", "seed").values
    order = ("model", "train_space", "resolution", "seed")
    bad = np.zeros(mse.shape[:1] + mse.shape[1:2] + mse.shape[3:], dtype=bool)
    for name in ("diverged", "missing"):
        if name in cv:
            bad |= cv[name].sel(train_space=sp).transpose(*order).values.astype(bool)
    mse = np.where(bad[:, :, None], np.nan, mse)
    return gmean_axis(np.where(np.isinf(mse), np.nan, mse), axis=-1)


def _finite_extreme(values: np.ndarray, fn) -> float:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(fn(v)) if v.size else float("nan")


def _spread(values: np.ndarray) -> float:
    """Decades between the largest and smallest finite positive value (NaN for fewer than 2)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.log10(v.max() / v.min())) if v.size >= 2 else float("nan")


def leave_out(cv: xr.Dataset, exclude: xr.DataArray) -> xr.Dataset:
    """``cv`` with the members of ``exclude`` (bool over some of ``model, train_space,
    resolution, seed``; absent members count False) marked ``missing`` and their ``train_mse``
    NaN: what the measures are computed on when the non-converged members are left out
    (``diverged`` is kept, so ``diverged_fraction`` still counts every member)."""
    ex = exclude.astype(bool).reindex_like(cv["missing"], fill_value=False)
    ex = ex.broadcast_like(cv["missing"]).transpose(*cv["missing"].dims)
    out = cv.copy()
    out["missing"] = cv["missing"] | ex
    out["train_mse"] = cv["train_mse"].where(~ex.transpose(*cv["train_mse"].dims))
    return out


def seed_scorecard(cv: xr.Dataset, factor: float, floor: float) -> xr.DataArray:
    """``(model, resolution, metric, seed)``: the scorecard of each seed alone
    (:func:`greenbench.analysis.scorecard.scorecard` of ``cv`` at that seed), whose range over
    seeds the report prints beside each scorecard entry."""
    from greenbench.analysis.scorecard import scorecard

    parts = [scorecard(cv.isel(seed=[j]), factor, floor)["scorecard"]
             for j in range(cv.sizes["seed"])]
    return xr.concat(parts, dim=xr.DataArray(cv["seed"].values, dims="seed", name="seed")
                     ).transpose("model", "resolution", "metric", "seed")


def measures_dataset(cv: xr.Dataset, spaces: Sequence[str],
                     exclude: xr.DataArray | None = None, *, scorecard_factor: float = 10.0,
                     scorecard_floor: float = 1e-6) -> xr.Dataset:
    """The variables of ``measures.nc`` from ``crossval.nc`` (docs/results_format.md).

    Returns ``cell_mse (model, train_space, test_space, resolution)``, ``category_mask
    (category, train_space, test_space)``, ``category_mse (model, resolution, category)``,
    ``nested_ratio (model, resolution, family)``, ``row_worst_mse (model, train_space,
    resolution)``, ``machine_precision_count (model, train_space, resolution)``,
    ``coverage_trend (model, resolution, family)``, ``train_mse_gmean (model, resolution)``,
    ``train_mse_gmean_all``, ``train_mse_max``, ``diverged_fraction (model)`` and, at the finest
    resolution, ``train_mse_spread`` and ``out_of_span_spread`` (decades across models).

    ``exclude`` (bool over ``model, train_space, resolution, seed``; the non-converged members
    of :func:`greenbench.analysis.training.unconverged`): those members are left out of every
    measure but ``diverged_fraction`` and counted in ``unconverged`` (model, resolution), out
    of ``usable_members`` (neither missing nor diverged). ``scorecard_seed`` (model,
    resolution, metric, seed) is the scorecard of each seed alone over every usable member
    (with ``scorecard_factor``, ``scorecard_floor``: crossval.nc's attributes).
    """
    sp = list(spaces)
    usable = ~(cv["missing"] | cv["diverged"]).sel(train_space=sp)
    n_usable = usable.sum(dim=("train_space", "seed")).transpose("model", "resolution")
    per_seed = seed_scorecard(cv, scorecard_factor, scorecard_floor)
    if exclude is not None:
        ex = exclude.astype(bool).reindex_like(cv["missing"], fill_value=False).sel(
            train_space=sp)
        n_out = (ex & usable).sum(dim=("train_space", "seed")).transpose("model", "resolution")
        cv = leave_out(cv, exclude)
    else:
        n_out = xr.zeros_like(n_usable)
    models = [str(m) for m in cv["model"].values]
    res = [int(r) for r in cv["resolution"].values]
    cells = cell_mse(cv, sp)                                  # (model, train, test, res)
    m = masks(sp)
    fam = {f: np.array([parse_space(s).family == f for s in sp]) for f in FAMILIES}
    nm, nr, nf, nc = len(models), len(res), len(FAMILIES), len(CATEGORIES)
    cat = np.full((nm, nr, nc), np.nan)
    ratio = np.full((nm, nr, nf), np.nan)
    trend = np.full((nm, nr, nf), np.nan)
    with np.errstate(invalid="ignore"):
        worst = np.where(np.isfinite(cells).any(axis=2),
                         np.nanmax(np.where(np.isfinite(cells), cells, -np.inf), axis=2),
                         np.nan)                              # (model, train, res)
    count = (np.where(np.isfinite(cells), cells, np.inf) < MACHINE_PRECISION_MSE).sum(axis=2)
    for i in range(nm):
        for r in range(nr):
            c = cells[i, :, :, r]
            for k, name in enumerate(CATEGORIES):
                cat[i, r, k] = gmean(c, m[name])
            for j, f in enumerate(FAMILIES):
                block = fam[f][:, None] & fam[f][None, :]
                ratio[i, r, j] = gmean(c, m["nested"] & block) / gmean(c, m["diagonal"] & block)
                trend[i, r, j] = (family_trend(sp, count[i, :, r].astype(float), f)
                                  if np.isfinite(c).any() else np.nan)
    tm = cv["train_mse"].sel(train_space=sp).transpose("model", "resolution", "train_space",
                                                        "seed").values
    tm_res = gmean_axis(tm, axis=(2, 3))
    tm_all = gmean_axis(tm.reshape(nm, int(np.prod(tm.shape[1:]))), axis=1)  # nm may be 0
    tm_max = np.array([_finite_extreme(tm[i], np.max) for i in range(nm)])
    dv = cv["diverged"].transpose("model", ...).values if "diverged" in cv else None
    div = (dv.reshape(nm, int(np.prod(dv.shape[1:]))).mean(axis=1) if dv is not None
           else np.zeros(nm))
    f = int(np.argmax(res)) if res else 0
    both = np.isfinite(tm_res[:, f]) & np.isfinite(cat[:, f, CATEGORIES.index("out_of_span")]) \
        if res else np.zeros(nm, dtype=bool)
    spread_t = _spread(tm_res[both, f]) if res else float("nan")
    spread_o = _spread(cat[both, f, CATEGORIES.index("out_of_span")]) if res else float("nan")
    dm, dmr = ("model",), ("model", "resolution")
    return xr.Dataset(
        dict(cell_mse=(("model", "train_space", "test_space", "resolution"), cells),
             category_mask=(("category", "train_space", "test_space"),
                            np.stack([m[c] for c in CATEGORIES])),
             category_mse=(dmr + ("category",), cat),
             nested_ratio=(dmr + ("family",), ratio),
             row_worst_mse=(("model", "train_space", "resolution"), worst),
             machine_precision_count=(("model", "train_space", "resolution"),
                                      count.astype(np.int64)),
             coverage_trend=(dmr + ("family",), trend),
             train_mse_gmean=(dmr, tm_res), train_mse_gmean_all=(dm, tm_all),
             train_mse_max=(dm, tm_max), diverged_fraction=(dm, np.asarray(div, float)),
             train_mse_spread=((), spread_t), out_of_span_spread=((), spread_o),
             unconverged=(dmr, n_out.sel(model=models, resolution=res).values.astype(np.int64)),
             usable_members=(dmr, n_usable.sel(model=models, resolution=res).values
                             .astype(np.int64)),
             scorecard_seed=(dmr + ("metric", "seed"),
                             per_seed.sel(model=models, resolution=res).values)),
        coords=dict(model=np.array(models, dtype=str), train_space=sp, test_space=sp,
                    resolution=res,
                    category=list(CATEGORIES), family=list(FAMILIES),
                    metric=[str(v) for v in per_seed["metric"].values],
                    seed=[int(v) for v in per_seed["seed"].values]),
        attrs=dict(machine_precision_mse=MACHINE_PRECISION_MSE, floor=FLOOR))


__all__ = ["CATEGORIES", "FAMILIES", "FLOOR", "MACHINE_PRECISION_MSE", "cell_mse",
           "family_trend", "gmean", "gmean_axis", "leave_out", "masks", "measures_dataset",
           "seed_scorecard", "spanning_size", "spearman"]
