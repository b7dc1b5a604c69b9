"""Convergence-rate fits: least-squares slope of ``log(error)`` against ``log(dx)``.

For points ``(log dx_i, log e_i)``, ``i = 1..n``, ordinary least squares gives the slope ``b``
and its standard error ``se = sqrt(s^2 / sum (log dx_i - mean)^2)`` with the residual variance
``s^2 = RSS / (n - 2)``. The ``level`` confidence interval is ``b -/+ t_{(1+level)/2, n-2} se``
(Student t with ``n - 2`` degrees of freedom). With 3 resolutions there is **1** degree of
freedom (``t_{0.975,1} = 12.71``: wide intervals); with 2 the slope is exact and the interval is
undefined (``nan``); with fewer than 2 usable points nothing is fitted.

Points at or below a round-off floor are not fitted; a cell whose every point is there (or that
theory says is exact) is reported as exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class SlopeFit:
    """A log-log fit ``log e = a + b log dx``; ``nan`` fields where undefined."""

    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    dof: int
    n: int


def fit_loglog(dx: np.ndarray, err: np.ndarray, level: float = 0.95) -> SlopeFit:
    """Fit ``log err = a + b log dx`` by least squares with a ``level`` t-interval for ``b``.

    Non-finite or non-positive errors are ignored (their count shows in ``n``).
    """
    dx, err = np.asarray(dx, dtype=np.float64), np.asarray(err, dtype=np.float64)
    ok = np.isfinite(err) & (err > 0) & np.isfinite(dx) & (dx > 0)
    X, Y = np.log(dx[ok]), np.log(err[ok])
    n = int(ok.sum())
    nan = float("nan")
    if n < 2 or np.ptp(X) == 0:
        return SlopeFit(nan, nan, nan, nan, max(n - 2, 0), n)
    xm = X.mean()
    sxx = np.sum((X - xm) ** 2)
    b = float(np.sum((X - xm) * (Y - Y.mean())) / sxx)
    a = float(Y.mean() - b * xm)
    dof = n - 2
    if dof < 1:
        return SlopeFit(b, a, nan, nan, 0, n)
    rss = float(np.sum((Y - a - b * X) ** 2))
    se = np.sqrt(rss / dof / sxx)
    t = float(stats.t.ppf(0.5 + level / 2, dof))
    return SlopeFit(b, a, b - t * se, b + t * se, dof, n)


def roundoff_floor(N: np.ndarray, exact_tol: float, factor: float = 10.0,
                   order: int = 2) -> np.ndarray:
    """Error level below which an FD parameter error is round-off, per resolution.

    ``max(exact_tol, factor * eps * N^order)``: a stencil of the ``order``-th derivative divides
    rounding errors of ``u`` by ``dx^order``, so the attainable floor of ``|w - k| / k`` grows
    like ``eps N^2`` for a second-order operator and ``eps N^4`` for the biharmonic
    (``Operator.order``; docs/operators.md, "Round-off floor of the FD fit")."""
    N = np.asarray(N, dtype=np.float64)
    return np.maximum(exact_tol, factor * EPS * N**int(order))


def measured_floor(err: np.ndarray, theory_exact: np.ndarray, factor: float = 10.0
                   ) -> np.ndarray:
    """Round-off floor measured on the data: ``factor`` times the largest error of the cells
    that are exact in theory (poly ``p < q``), per order and resolution.

    ``err (n_q, n_spaces, n_res)``, ``theory_exact (n_q, n_spaces)``; returns ``(n_q, n_res)``,
    ``nan`` where no exact cell measures it. An exact cell's error *is* the round-off of the
    same computation on data of the same scale, so this floor is the attainable accuracy of
    the fit, not a bound: for q = 6 it is about 0.03 eps N^2, some 300 times below
    :func:`roundoff_floor`."""
    err = np.asarray(err, dtype=np.float64)
    mask = np.asarray(theory_exact, dtype=bool)[..., None] & np.isfinite(err)
    vals = np.where(mask, err, -np.inf).max(axis=1)
    out = factor * np.maximum(vals, EPS)
    return np.where(mask.any(axis=1), out, np.nan)


def fit_rates(err: np.ndarray, resolutions: np.ndarray, exact_tol: float,
              theory_exact: np.ndarray | None = None, level: float = 0.95,
              floor: np.ndarray | None = None, order: int = 2) -> dict[str, np.ndarray]:
    """Fit a rate for every cell of ``err (..., n_res)`` against ``dx = 1 / N``.

    Points at or below the floor are excluded: ``floor`` (broadcastable to ``err``) where
    given and finite, else :func:`roundoff_floor` of the operator's ``order``. A cell is ``exact`` when theory says
    so (``theory_exact (...)``, e.g. poly ``p < q``) or when all its finite points are below the
    floor; exact cells are not fitted (``nan`` rate).

    Returns
    -------
    dict of arrays of shape ``err.shape[:-1]``: ``rate``, ``ci_low``, ``ci_high``, ``dof``
    (int), ``n_points`` (int, points used), ``exact`` (bool).
    """
    err = np.asarray(err, dtype=np.float64)
    N = np.asarray(resolutions, dtype=np.float64)
    default = np.broadcast_to(roundoff_floor(N, exact_tol, order=order), err.shape)
    floor = default if floor is None else np.where(
        np.isfinite(np.broadcast_to(floor, err.shape)), floor, default)
    lead = err.shape[:-1]
    out = {k: np.full(lead, np.nan) for k in ("rate", "ci_low", "ci_high")}
    out["dof"] = np.zeros(lead, dtype=np.int64)
    out["n_points"] = np.zeros(lead, dtype=np.int64)
    finite = np.isfinite(err)
    below = finite & (err <= floor)
    exact = np.all(below | ~finite, axis=-1) & np.any(finite, axis=-1)
    if theory_exact is not None:
        exact |= np.asarray(theory_exact, dtype=bool)
    out["exact"] = exact
    for idx in np.ndindex(*lead):
        if exact[idx]:
            continue
        e = np.where(below[idx], np.nan, err[idx])
        fit = fit_loglog(1.0 / N, e, level)
        out["rate"][idx], out["ci_low"][idx], out["ci_high"][idx] = (
            fit.slope, fit.ci_low, fit.ci_high)
        out["dof"][idx], out["n_points"][idx] = fit.dof, fit.n
    return out
