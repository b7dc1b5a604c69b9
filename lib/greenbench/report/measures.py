"""Numbers the findings are judged on, read off the results (no model is re-evaluated).

Cell matrices are at one resolution, geometric means over the usable seeds (as in the heatmap:
:func:`greenbench.plots.heatmap.heatmap_cells`). Masks follow the scorecard's definitions
(:meth:`greenbench.spaces.Space.contains`): ``nested`` is same family with test ``p' < p``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from greenbench.plots._common import geometric_mean
from greenbench.plots.heatmap import OK, heatmap_cells
from greenbench.spaces import parse_space


def cell_mse(cv: xr.Dataset, model: str, resolution: int,
             spaces: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """``(n, n)`` geometric-mean MSE (NaN where missing or diverged) and the space names."""
    cells = heatmap_cells(cv, model, resolution, spaces)
    return np.where(cells.status == OK, 10.0 ** cells.log10_mse, np.nan), cells.train_spaces


def masks(spaces: Sequence[str]) -> dict[str, np.ndarray]:
    """Boolean ``(n, n)`` masks over (train, test): ``diagonal``, ``nested`` (same family,
    ``p' < p``), ``family_in`` (same non-fem family, ``p' <= p``), ``family_out`` (same
    non-fem family, ``p' > p``), ``cross_family`` (different families, neither fem),
    ``in_span``, ``fem_row``."""
    sp = [parse_space(s) for s in spaces]
    n = len(sp)
    out = {k: np.zeros((n, n), dtype=bool) for k in
           ("diagonal", "nested", "family_in", "family_out", "cross_family", "in_span",
            "fem_row")}
    for i, a in enumerate(sp):
        for j, b in enumerate(sp):
            out["diagonal"][i, j] = i == j
            out["in_span"][i, j] = a.contains(b)
            out["fem_row"][i, j] = a.family == "fem"
            if "fem" in (a.family, b.family):
                continue
            same = a.family == b.family
            out["nested"][i, j] = same and b.p < a.p
            out["family_in"][i, j] = same and b.p <= a.p
            out["family_out"][i, j] = same and b.p > a.p
            out["cross_family"][i, j] = not same
    return out


def gmean(values: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Geometric mean of the finite values (where ``mask``), NaN when none."""
    v = np.asarray(values, dtype=float)
    if mask is not None:
        v = v[mask]
    v = v[np.isfinite(v)]
    return float(geometric_mean(v)) if v.size else float("nan")


def finite_min(values) -> float:
    """Smallest finite value, NaN when there is none (no warning)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.min()) if v.size else float("nan")


def finite_max(values) -> float:
    """Largest finite value, NaN when there is none (no warning)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else float("nan")


def fraction(condition: np.ndarray, mask: np.ndarray, values: np.ndarray) -> tuple[int, int]:
    """``(count where condition, count)`` over the finite ``values`` inside ``mask``."""
    ok = mask & np.isfinite(values)
    return int((condition & ok).sum()), int(ok.sum())


def nested_ratio(mse: np.ndarray, spaces: Sequence[str], family: str) -> float:
    """``gmean(nested cells) / gmean(diagonal cells)`` within one family: ~1 when a model
    generalizes to the subspaces of its training space, >> 1 when it only fits the diagonal."""
    fam = np.array([parse_space(s).family == family for s in spaces])
    block = fam[:, None] & fam[None, :]
    m = masks(spaces)
    return gmean(mse, m["nested"] & block) / gmean(mse, m["diagonal"] & block)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation of finite pairs (NaN for fewer than 3)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    rx = np.argsort(np.argsort(x[ok])).astype(float)
    ry = np.argsort(np.argsort(y[ok])).astype(float)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def models_present(cv: xr.Dataset | None, names: Sequence[str]) -> list[str]:
    """Those of ``names`` that have at least one finite MSE in ``cv``."""
    if cv is None or "mse" not in cv:
        return []
    have = set(map(str, cv["model"].values))
    return [m for m in names if m in have and np.isfinite(cv["mse"].sel(model=m).values).any()]


def decades(value: float) -> str:
    """``1e-05``-style order of magnitude for prose."""
    return "n/a" if not np.isfinite(value) or value <= 0 else f"{value:.0e}"
