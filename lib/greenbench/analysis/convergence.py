"""Thm 3.1 beside the learned FD parameters, rate fits, and the PINN parameter error.

* ``fd_predicted_rel_error (q, train_space, resolution)``: ``|w* - k| / |k|`` of the exact
  least-squares optimum on the training data (:func:`greenbench.theory.fd_lstsq_weight`; the
  leading coefficient k of the study's operator);
* ``fd_leading_term``: the operator's leading-order bias (poisson1d:
  ``|mu_q dx^q <f, f^(q)> / ||f||^2|``) on the same data
  (:meth:`greenbench.operators.Operator.fd_bias`; ``nan`` for fem);
* ``fd_rel_error (q, train_space, resolution, seed)``: the learned ``|w - k| / |k|``;
* rates: slope of ``log error`` vs ``log dx`` (:func:`greenbench.analysis.rates.fit_rates`) of
  the learned error (geometric mean over seeds) and of the predicted one, with 95% t-intervals;
  cells that are exact in theory (poly ``p < q``) or at round-off are ``fd_exact`` and unfitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from greenbench import theory
from greenbench.analysis.rates import fit_rates, measured_floor, roundoff_floor
from greenbench.spaces import FAMILIES

if TYPE_CHECKING:
    from greenbench.operators import Operator


def fd_theory(train_data: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]], N: int,
              q_orders: Sequence[int], operator: Operator) -> tuple[np.ndarray, np.ndarray]:
    """Thm 3.1 at one resolution for every training space, for the operator's leading
    coefficient ``k`` (an order the operator has no stencil for is ``nan``).

    Parameters
    ----------
    train_data
        ``{space: (coefficients (n, m), f (n, N+1), u (n, N+1))}`` of the training split.

    Returns
    -------
    predicted, leading : (n_q, n_spaces) arrays
        ``|w* - k| / |k|`` of the least-squares optimum, and ``|leading term|``: the ``k`` row
        of :func:`fd_theory_coefficients` (``k`` is first in every operator's ``COEFFICIENTS``).
    """
    pred, lead = fd_theory_coefficients(train_data, N, q_orders, operator)
    return pred[0], lead[0]


def fd_theory_coefficients(train_data: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                           N: int, q_orders: Sequence[int], operator: Operator
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Thm 3.1 at one resolution for EVERY coefficient of the operator (``COEFFICIENTS``
    order; poisson1d and the biharmonic: ``k`` only, screened Poisson ``k, c``,
    advection-diffusion ``k, b``).

    Returns
    -------
    predicted, leading : (n_coef, n_q, n_spaces) arrays
        ``|w*_j - c_j| / |c_j|`` of the least-squares optimum (:func:`greenbench.theory.
        fd_lstsq_weights`) and ``|leading term|`` (:meth:`Operator.fd_bias`; 0 where the
        stencils are exact on the space, ``nan`` for fem); ``nan`` where the stencil does not
        fit or the operator has no such order."""
    names = list(operator.COEFFICIENTS)
    true = np.array([operator.coefficients[c] for c in names], dtype=np.float64)
    spaces = list(train_data)
    pred = np.full((len(names), len(q_orders), len(spaces)), np.nan)
    lead = np.full_like(pred, np.nan)
    for b, s in enumerate(spaces):
        c, f, u = train_data[s]
        for a, q in enumerate(q_orders):
            if N + 1 <= 2 * operator.fd_radius(q) or q not in operator.FD_ORDERS:
                continue
            if np.shape(u)[-1] != N + 1:
                raise ValueError(f"u has {np.shape(u)[-1]} nodes, N = {N} needs {N + 1}")
            w = theory.fd_lstsq_weights(operator, f, u, q)
            with np.errstate(divide="ignore", invalid="ignore"):
                pred[:, a, b] = np.abs(w - true) / np.abs(true)
            lead[:, a, b] = np.abs(np.asarray(operator.fd_bias(s, c, N, q), dtype=np.float64))
    return pred, lead


def coefficient_variables(names: Sequence[str], values: Sequence[float],
                          resolutions: Sequence[int], predicted: np.ndarray,
                          leading: np.ndarray, fd_w: np.ndarray | None, *,
                          exact_tol: float = 1e-12, level: float = 0.95, order: int = 2
                          ) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """The per-coefficient variables of ``convergence.nc`` (``fd_coef_*`` over
    ``coefficient``): the bias of every learned coefficient against dx and its fitted rate,
    with the same floors and fits as the leading coefficient's ``fd_rel_error`` / ``fd_rate``.

    ``predicted, leading (n_coef, n_q, n_spaces, n_res)`` from :func:`fd_theory_coefficients`;
    ``fd_w (n_coef, n_q, n_spaces, n_res, n_seeds)`` the learned weights (``None``: no fd
    model)."""
    true = np.asarray(values, dtype=np.float64)[:, None, None, None, None]
    shape = predicted.shape + ((1,) if fd_w is None else (fd_w.shape[-1],))
    w = np.full(shape, np.nan) if fd_w is None else np.asarray(fd_w, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(w - true) / np.abs(true)
    res = np.asarray(resolutions)
    rate, pred_rate = (np.full(predicted.shape[:-1], np.nan) for _ in range(2))
    exact = np.zeros(predicted.shape[:-1], dtype=bool)
    for j in range(len(names)):
        theory_exact = np.all(leading[j] == 0.0, axis=-1)
        floor = measured_floor(predicted[j], theory_exact)[:, None, :]
        fit = fit_rates(_geomean_seeds(rel[j]), res, exact_tol, theory_exact, level,
                        floor=floor, order=order)
        rate[j], exact[j] = fit["rate"], fit["exact"]
        pred_rate[j] = fit_rates(predicted[j], res, exact_tol, theory_exact, level,
                                 floor=floor, order=order)["rate"]
    c4 = ("coefficient", "q", "train_space", "resolution")
    c3 = c4[:-1]
    return {"fd_coef_value": (("coefficient",), np.asarray(values, dtype=np.float64)),
            "fd_coef_rel_error": (c4 + ("seed",), rel),
            "fd_coef_predicted_rel_error": (c4, predicted),
            "fd_coef_leading_term": (c4, leading),
            "fd_coef_rate": (c3, rate), "fd_coef_predicted_rate": (c3, pred_rate),
            "fd_coef_exact": (c3, exact)}


def _geomean_seeds(err: np.ndarray) -> np.ndarray:
    ok = np.isfinite(err) & (err > 0)
    n = ok.sum(axis=-1)
    logs = np.where(ok, np.log(np.where(ok, err, 1.0)), 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.exp(logs / np.maximum(n, 1)),
                        np.where(np.any(err == 0, axis=-1), 0.0, np.nan))


def convergence_dataset(
    spaces: Sequence[str], resolutions: Sequence[int], seeds: Sequence[int],
    q_orders: Sequence[int], predicted: np.ndarray, leading: np.ndarray,
    fd_w: np.ndarray | None, pinn_rel: np.ndarray | None, *, k: float = 1.0,
    exact_tol: float = 1e-12, level: float = 0.95, order: int = 2,
) -> xr.Dataset:
    """Assemble ``convergence.nc`` (the data-quantity study is ``quantity.nc``).

    Besides the errors and rate fits: ``fd_p_trend (q, family)`` and ``pinn_p_trend (family)``,
    the Spearman correlation of the training order p with the error (geometric mean over seeds)
    at the finest resolution, over the spaces of each family (poly: only ``p >= q``, the
    non-exact cells; NaN for fewer than 3 orders) -- the "grows with p" of Thm 3.1.

    Parameters
    ----------
    predicted, leading : (n_q, n_spaces, n_res) arrays
        From :func:`fd_theory` at each resolution.
    fd_w : (n_q, n_spaces, n_res, n_seeds) array or None
        Learned FD weights (``None``: no fd model, all ``nan``).
    pinn_rel : (n_spaces, n_res, n_seeds) array or None
        Learned PINN ``|k_hat - k| / |k|``.
    order : int
        The operator's highest derivative (``Operator.order``): the conservative round-off
        floor grows like ``N^order`` (:func:`~greenbench.analysis.rates.roundoff_floor`).
    """
    nq, ns, nr, nd = len(q_orders), len(spaces), len(resolutions), len(seeds)
    w = np.full((nq, ns, nr, nd), np.nan) if fd_w is None else np.asarray(fd_w, float)
    rel = np.abs(w - k) / abs(k)
    theory_exact = np.all(leading == 0.0, axis=-1)
    # Round-off measured on the exact cells of this very data where the study has them (poly
    # p < q); elsewhere the conservative roundoff_floor(N, exact_tol, order) (N^4 for the
    # biharmonic: its stencil divides the round-off of u by dx^4).
    floor = measured_floor(predicted, theory_exact)
    res = np.asarray(resolutions)
    used_floor = np.where(np.isfinite(floor), floor, roundoff_floor(res, exact_tol,
                                                                      order=order))
    learned = fit_rates(_geomean_seeds(rel), res, exact_tol, theory_exact, level,
                        floor=floor[:, None, :], order=order)
    pred_fit = fit_rates(predicted, res, exact_tol, theory_exact, level, floor=floor[:, None, :],
                         order=order)
    pinn = np.full((ns, nr, nd), np.nan) if pinn_rel is None else np.asarray(pinn_rel, float)
    d2, d3 = ("q", "train_space"), ("q", "train_space", "resolution")
    d4 = d3 + ("seed",)
    data = {
        "fd_w": (d4, w), "fd_rel_error": (d4, rel),
        "fd_predicted_rel_error": (d3, predicted), "fd_leading_term": (d3, leading),
        "fd_rate": (d2, learned["rate"]), "fd_rate_ci_low": (d2, learned["ci_low"]),
        "fd_rate_ci_high": (d2, learned["ci_high"]), "fd_rate_dof": (d2, learned["dof"]),
        "fd_rate_points": (d2, learned["n_points"]), "fd_exact": (d2, learned["exact"]),
        "fd_predicted_rate": (d2, pred_fit["rate"]),
        "fd_predicted_rate_ci_low": (d2, pred_fit["ci_low"]),
        "fd_predicted_rate_ci_high": (d2, pred_fit["ci_high"]),
        "fd_predicted_exact": (d2, pred_fit["exact"]),
        "pinn_rel_error": (("train_space", "resolution", "seed"), pinn),
        "dx": (("resolution",), 1.0 / np.asarray(resolutions, dtype=np.float64)),
        "fd_roundoff_floor": (("q", "resolution"), used_floor),
        **_p_trends(list(spaces), [int(q) for q in q_orders], rel, pinn),
    }
    return xr.Dataset(
        data, coords=dict(q=[int(q) for q in q_orders], train_space=list(spaces),
                          family=list(FAMILIES),
                          resolution=[int(r) for r in resolutions], seed=[int(s) for s in seeds]),
        attrs=dict(confidence_level=float(level), fd_exact_tol=float(exact_tol)),
    )


def _p_trends(spaces: list[str], q_orders: list[int], fd_rel: np.ndarray,
              pinn_rel: np.ndarray) -> dict[str, tuple]:
    """Spearman(p, error) per family at the finest resolution (last axis -2 = resolution)."""
    from greenbench.analysis.measures import family_trend, gmean_axis
    fd = gmean_axis(fd_rel[:, :, -1, :], axis=-1) if fd_rel.shape[2] else None
    pinn = gmean_axis(pinn_rel[:, -1, :], axis=-1) if pinn_rel.shape[1] else None
    fd_trend = np.full((len(q_orders), len(FAMILIES)), np.nan)
    pinn_trend = np.full(len(FAMILIES), np.nan)
    for j, fam in enumerate(FAMILIES):
        if pinn is not None:
            pinn_trend[j] = family_trend(spaces, pinn, fam)
        for i, q in enumerate(q_orders):
            if fd is not None:
                fd_trend[i, j] = family_trend(spaces, fd[i], fam, min_p=q if fam == "poly" else 0)
    return {"fd_p_trend": (("q", "family"), fd_trend),
            "pinn_p_trend": (("family",), pinn_trend)}
