"""Thm 3.2 beside the measurement: the linear model's expected test MSE on every test space.

For each training space the theory limit ``W*`` (zero initialization) is computed from the
sampled training data (:func:`greenbench.theory.w_star`, rank tolerance ``rank_tol``); every test
space enters through its exact basis pair ``(B, S)``
(:meth:`greenbench.operators.Operator.data_operator`).

Bound check. With ``A`` the discrete solution operator of the fem data
(:meth:`greenbench.operators.Operator.fem_operator`), every test error splits as

    W* f - u = (W* - A) U U^T f  -  A (I - U U^T) f  +  (A f - u),

so by Minkowski's inequality in mean square,
``sqrt(E mse) <= sqrt(bound_mse) + sqrt(consistency_mse)``, where ``bound_mse`` is the mean
square of Thm 3.2's right-hand side ``||A||_2 ||(I - U U^T) f||`` (``W0 = 0``) and
``consistency_mse = (sqrt(c_train) + sqrt(c_test))^2`` collects how far ``A`` is from the data
operators (zero for fem data; ``O(dx^2)`` quadrature differences for smooth data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from greenbench import theory
from greenbench.data import noise_draw, noise_sigma
from greenbench.spaces import coefficient_variance

if TYPE_CHECKING:
    from greenbench.operators import Operator


def bounds_table(
    train_data: Mapping[str, tuple[np.ndarray, np.ndarray]], test_spaces: Sequence[str], N: int,
    *, operator: Operator, mass: str = "consistent", distribution: str = "uniform",
    scale: float = 1.0, rank_tol: float = 1e-10,
) -> tuple[xr.Dataset, dict[str, np.ndarray]]:
    """Theory side of ``bounds.nc`` at one resolution (exact training targets; noise:
    :func:`noise_table`).

    Parameters
    ----------
    train_data
        ``{train_space: (F (n, N+1), u (n, N+1))}``: the training split of each dataset.
    test_spaces
        Test space names.

    Returns
    -------
    dataset
        ``predicted_mse``, ``predicted_mse_std``, ``bound_mse``, ``consistency_mse``,
        ``bound_holds``, ``out_of_span`` over ``(train_space, test_space, resolution)``;
        ``span_rank`` over ``(train_space, resolution)``; ``u_mean_square`` over
        ``(test_space, resolution)``.
    w_stars
        ``{train_space: W* (N-1, N+1)}``.
    """
    var = coefficient_variance(distribution, scale)
    mu4 = theory.coefficient_fourth_moment(distribution, scale)
    A = operator.fem_operator(N, mass)
    normA = np.linalg.norm(A, 2)
    n_nodes = A.shape[1]  # N + 1, or (N + 1)^2 in 2D: the MSE is a mean over all nodes
    tests = {s: operator.data_operator(s, N, mass) for s in test_spaces}
    trains = list(train_data)
    shape = (len(trains), len(test_spaces))
    out = {name: np.full(shape, np.nan) for name in
           ("predicted_mse", "predicted_mse_std", "bound_mse", "consistency_mse", "out_of_span")}
    rank = np.zeros(len(trains), dtype=np.int64)
    w_stars = {}
    for a, tr in enumerate(trains):
        # flattened nodes and interior nodes (a no-op reshape in 1D; [i_x, i_y] in 2D)
        F, u = operator.flat_nodes(train_data[tr][0]), operator.flat_interior(train_data[tr][1])
        W = theory.w_star(F, u, rank_tol)
        U = theory.training_span(F, rank_tol)
        w_stars[tr], rank[a] = W, U.shape[1]
        for b, te in enumerate(test_spaces):
            B, S = tests[te]
            UB = U @ (U.T @ B)
            out["predicted_mse"][a, b] = theory.expected_mse(W, B, S, var)
            out["predicted_mse_std"][a, b] = theory.mse_std(W, B, S, var, mu4)
            R = B - UB
            out["bound_mse"][a, b] = normA**2 * var * np.sum(R * R) / n_nodes
            c_train = var * np.sum(((W - A) @ UB) ** 2) / n_nodes
            c_test = var * np.sum((A @ B - S) ** 2) / n_nodes
            out["consistency_mse"][a, b] = (np.sqrt(c_train) + np.sqrt(c_test)) ** 2
            out["out_of_span"][a, b] = theory.out_of_span_fraction(U, B)
    rms = np.sqrt(out["predicted_mse"])
    slack = np.sqrt(out["bound_mse"]) + np.sqrt(out["consistency_mse"])
    holds = rms <= slack * (1 + 1e-8) + 1e-150
    u_ms = np.array([var * np.sum(tests[te][1] ** 2) / n_nodes for te in test_spaces])
    d3 = ("train_space", "test_space", "resolution")
    ds = xr.Dataset(
        {**{name: (d3, v[:, :, None]) for name, v in out.items()},
         "bound_holds": (d3, holds[:, :, None]),
         "span_rank": (("train_space", "resolution"), rank[:, None]),
         "u_mean_square": (("test_space", "resolution"), u_ms[:, None])},
        coords=dict(train_space=trains, test_space=list(test_spaces), resolution=[int(N)]),
    )
    return ds, w_stars


def noise_table(
    train_data: Mapping[str, tuple[np.ndarray, np.ndarray]], noise_seeds: Mapping[str, int],
    test_spaces: Sequence[str], N: int, levels: Sequence[float], *, operator: Operator,
    mass: str = "consistent", distribution: str = "uniform", scale: float = 1.0,
    rank_tol: float = 1e-10,
) -> xr.Dataset:
    """Thm 3.2 with noisy training targets at one resolution, per noise level.

    For each training space the targets are made exactly as training makes them
    (:func:`greenbench.data.noisy_targets`: level times the RMS of the training ``u``, times
    the dataset's one standard-normal draw, seeded by ``noise_seeds[space]``), and

    * ``noise_predicted_mse``: the expected test MSE of ``W*`` fitted to THOSE targets (the
      noise draw fixed, like the training set; :func:`greenbench.theory.expected_mse`), what a
      measurement is compared with (its spread over test samples ``noise_predicted_mse_std``);
    * ``noise_expected_excess_mse``: the mean over noise draws of the extra MSE the noise
      adds, ``sigma^2 (N-1) var ||(F^T)^+_r B||_F^2 / (N+1)``
      (:func:`greenbench.theory.noise_excess_mse`);
    * ``noise_sigma``: the absolute noise standard deviation of each training space.

    Over ``(noise, train_space, test_space, resolution)``; level 0 repeats :func:`bounds_table`.
    """
    var = coefficient_variance(distribution, scale)
    mu4 = theory.coefficient_fourth_moment(distribution, scale)
    tests = {s: operator.data_operator(s, N, mass) for s in test_spaces}
    trains = list(train_data)
    shape = (len(levels), len(trains), len(test_spaces))
    pred, std, excess = (np.full(shape, np.nan) for _ in range(3))
    sigmas = np.full((len(levels), len(trains)), np.nan)
    for a, tr in enumerate(trains):
        F, u = (np.asarray(v, dtype=np.float64) for v in train_data[tr])
        Z = noise_draw(int(noise_seeds[tr]), u.shape)
        F = operator.flat_nodes(F)  # flattened nodes (a no-op in 1D)
        for i, level in enumerate(levels):
            sigma = noise_sigma(level, u)
            sigmas[i, a] = sigma
            Y = operator.flat_interior(u if level == 0 else u + sigma * Z)
            W = theory.w_star(F, Y, rank_tol)
            for b, te in enumerate(test_spaces):
                B, S = tests[te]
                pred[i, a, b] = theory.expected_mse(W, B, S, var)
                std[i, a, b] = theory.mse_std(W, B, S, var, mu4)
                excess[i, a, b] = theory.noise_excess_mse(F, B, sigma, var, rank_tol,
                                                          n_interior=S.shape[0])
    d4 = ("noise", "train_space", "test_space", "resolution")
    return xr.Dataset(
        {"noise_predicted_mse": (d4, pred[..., None]),
         "noise_predicted_mse_std": (d4, std[..., None]),
         "noise_expected_excess_mse": (d4, excess[..., None]),
         "noise_sigma": (("noise", "train_space", "resolution"), sigmas[..., None])},
        coords=dict(noise=np.asarray(levels, dtype=np.float64), train_space=trains,
                    test_space=list(test_spaces), resolution=[int(N)]))


def noise_measured_columns(table: xr.Dataset, noise_mse: xr.DataArray | None, n_test: int,
                           z_floor: float = 1e-20) -> xr.Dataset:
    """Add ``noise_measured_mse`` and ``noise_measured_z`` (noise, train_space, test_space,
    resolution, seed) to a :func:`noise_table` (with ``u_mean_square``): the linear model's
    ``crossval.noise_mse`` at each level against ``noise_predicted_mse``, in standard errors
    of a mean over ``n_test`` samples, exactly as :func:`measured_columns` does at one level."""
    zs, ms = [], []
    for level in table["noise"].values:
        one = xr.Dataset({
            "predicted_mse": table["noise_predicted_mse"].sel(noise=level, drop=True),
            "predicted_mse_std": table["noise_predicted_mse_std"].sel(noise=level, drop=True),
            "u_mean_square": table["u_mean_square"]})
        mse = None if noise_mse is None else noise_mse.sel(noise=level, drop=True)
        got = measured_columns(one, mse, n_test, z_floor)
        ms.append(got["measured_mse"])
        zs.append(got["measured_z"])
    out = table.copy()
    out["noise_measured_mse"] = xr.concat(ms, dim=table["noise"]).transpose(
        "noise", "train_space", "test_space", "resolution", "seed")
    out["noise_measured_z"] = xr.concat(zs, dim=table["noise"]).transpose(
        "noise", "train_space", "test_space", "resolution", "seed")
    return out


def measured_columns(bounds: xr.Dataset, mse: xr.DataArray | None, n_test: int,
                     z_floor: float = 1e-20) -> xr.Dataset:
    """Add ``measured_mse`` and ``measured_z`` (train_space, test_space, resolution, seed).

    ``measured_z = (measured - predicted) / (predicted_mse_std / sqrt(n_test))``, the
    measurement's deviation in standard errors of a mean over ``n_test`` samples; ``nan`` where
    the prediction is at machine precision (``predicted_mse < z_floor * u_mean_square``: the
    test space lies in the training span and only round-off remains) or nothing was measured.
    ``mse`` is the linear model's ``crossval.mse`` (``None``: no linear model, all ``nan``).
    """
    pred = bounds["predicted_mse"]
    if mse is None:
        seeds = [0]
        measured = xr.full_like(pred, np.nan).expand_dims(seed=seeds, axis=-1)
    else:
        measured = mse.sel(train_space=pred["train_space"], test_space=pred["test_space"],
                           resolution=pred["resolution"]).transpose(
            "train_space", "test_space", "resolution", "seed").drop_vars("model", errors="ignore")
    se = bounds["predicted_mse_std"] / np.sqrt(n_test)
    tiny = pred < z_floor * bounds["u_mean_square"]
    z = ((measured - pred) / se).where(~tiny & (se > 0))
    out = bounds.copy()
    out["measured_mse"] = measured
    out["measured_z"] = z.transpose("train_space", "test_space", "resolution", "seed")
    return out


def w_star_rel_error(W_hat: np.ndarray, W_star: np.ndarray) -> np.ndarray:
    """``||W_hat - W*||_F / ||W*||_F`` over the last two axes; ``W_hat (..., N-1, N+1)``."""
    W_hat = np.asarray(W_hat, dtype=np.float64)
    num = np.linalg.norm(W_hat - W_star, axis=(-2, -1))
    return num / np.linalg.norm(W_star)
