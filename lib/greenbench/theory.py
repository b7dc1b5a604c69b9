"""Theory of arXiv 2506.15199 beside the measurements: Thm 3.2 (linear model) and Thm 3.1 (FD).

Thm 3.2 (subspace projection). A linear model ``u_int = W f`` trained to zero loss by gradient
descent on data ``f^(n)`` whose span has the orthonormal basis ``U`` converges from ``W0`` to

    W* = A U U^T + W0 (I - U U^T),

with ``A`` any operator that reproduces the training data. From zero initialization that is the
minimum-norm least-squares fit ``W* = Y^T (F^T)^+`` of the data matrices ``F (n, N+1)``,
``Y (n, N-1)`` (:func:`w_star`). For a test space with ``f = B c``, ``u_int = S c`` and i.i.d.
zero-mean coefficients of variance ``var``, the error ``e = (W* B - S) c`` has the exact mean

    E[MSE] = var ||W* B - S||_F^2 / (N + 1)

(MSE over all ``N + 1`` nodes; the boundary error is zero), see :func:`expected_mse`, and the
bound ``||(W* - A) f|| <= ||W0 - A||_2 ||(I - U U^T) f||`` (:func:`projection_bound`).

Thm 3.1 (FD parameter learning). Fitting ``-w FD_q(u) = f`` by least squares gives
``w* = -<f, FD_q u> / ||FD_q u||^2`` (:func:`fd_lstsq_weight`). With ``FD_q u = u'' + e``,
``e = mu_q dx^q u^(q+2) + O(dx^(q+2))`` and ``f = -k u''``,

    (w* - k) / k = -<u'', e> / ||u''||^2 + O(||e||^2)
                 ~ -mu_q dx^q <f, f^(q)> / ||f||^2      (u^(q+2) = -f^(q) / k),

the leading term (:func:`fd_leading_bias`); it vanishes exactly when ``f^(q) = 0``, i.e. for
``poly{p}`` with ``p < q``, where the stencil is exact.

Everything here is float64 numpy, arrays in and arrays out.
"""

from __future__ import annotations

from math import perm
from typing import TYPE_CHECKING

import numpy as np

from greenbench.spaces import DISTRIBUTIONS, Space, parse_space

if TYPE_CHECKING:
    from greenbench.operators import Operator

__all__ = [
    "coefficient_fourth_moment", "training_span", "w_star", "expected_mse", "mse_std",
    "noise_excess_mse",
    "projection_bound", "out_of_span_fraction", "rel_frobenius", "basis_derivative",
    "fd_lstsq_weights", "fd_lstsq_weight", "fd_leading_bias",
]


# ------------------------------------------------------------------------------ Thm 3.2
def coefficient_fourth_moment(distribution: str, scale: float) -> float:
    """``E[c^4]`` of one coefficient: ``scale^4 / 5`` for U[-scale, scale], ``3 scale^4`` for
    N(0, scale^2). Needed for the sampling spread of a measured MSE (:func:`mse_std`)."""
    if distribution == "uniform":
        return scale**4 / 5.0
    if distribution == "normal":
        return 3.0 * scale**4
    raise ValueError(f"unknown coefficient distribution {distribution!r}; allowed: {DISTRIBUTIONS}")


def training_span(F: np.ndarray, rank_tol: float) -> np.ndarray:
    """Orthonormal basis ``U (N+1, r)`` of the span of the training forcings.

    Parameters
    ----------
    F : (n_train, N+1) array
        Training forcings, one sample per row.
    rank_tol : float
        Relative singular-value tolerance: directions with ``s_i <= rank_tol * s_max`` are
        treated as outside the span (the numerical rank ``r``).
    """
    F = np.atleast_2d(np.asarray(F, dtype=np.float64))
    _, s, vt = np.linalg.svd(F, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return np.zeros((F.shape[1], 0))
    r = int(np.sum(s > rank_tol * s[0]))
    return vt[:r].T


def w_star(F: np.ndarray, Y: np.ndarray, rank_tol: float,
           W0: np.ndarray | None = None) -> np.ndarray:
    """The gradient-descent limit of the linear model (Thm 3.2), shape ``(N-1, N+1)``.

    ``W* = Y^T (F^T)^+_r + W0 (I - U U^T)``: the minimum-norm least-squares fit on the rank-``r``
    span of the training data (truncated SVD with ``rank_tol``, see :func:`training_span`),
    plus the part of the initialization the gradient never touches.

    Parameters
    ----------
    F : (n_train, N+1) array
        Training forcings at all nodes.
    Y : (n_train, N-1) array
        Training solutions at the interior nodes.
    W0 : (N-1, N+1) array, optional
        Initial weights (default zero).
    """
    F = np.atleast_2d(np.asarray(F, dtype=np.float64))
    Y = np.atleast_2d(np.asarray(Y, dtype=np.float64))
    if F.shape[0] != Y.shape[0]:
        raise ValueError(f"F has {F.shape[0]} samples but Y has {Y.shape[0]}")
    P, s, vt = np.linalg.svd(F, full_matrices=False)
    r = int(np.sum(s > rank_tol * s[0])) if s.size and s[0] > 0 else 0
    # W* = Y^T P_r diag(1/s_r) V_r^T
    W = (Y.T @ P[:, :r] / s[:r]) @ vt[:r]
    if W0 is not None:
        U = vt[:r].T
        W = W + W0 - (W0 @ U) @ U.T
    return W


def expected_mse(W: np.ndarray, B: np.ndarray, S: np.ndarray, var: float,
                 noise: float = 0.0) -> float:
    """Exact expected test MSE of ``u_int = W f`` on the space ``f = B c``, ``u_int = S c``.

    ``E[MSE] = var ||W B - S||_F^2 / (N + 1) + noise^2``, the mean over all ``N + 1`` nodes of
    one sample (the boundary error is zero). ``noise`` is the standard deviation of Gaussian
    noise on every node of the test ``u``, independent of ``W``.

    Parameters
    ----------
    W : (N-1, N+1) array
    B : (N+1, m) array
    S : (N-1, m) array
    var : float
        Variance of each i.i.d. zero-mean coefficient.
    """
    E = np.asarray(W) @ np.asarray(B) - np.asarray(S)
    n_nodes = np.asarray(B).shape[0]
    return float(var * np.sum(E * E) / n_nodes + noise**2)


def noise_excess_mse(F: np.ndarray, B: np.ndarray, sigma: float, var: float,
                     rank_tol: float, n_interior: int | None = None) -> float:
    """Thm 3.2 with noisy targets: the expected extra test MSE of the linear model trained
    from ``W0 = 0`` on ``Y + E``, ``E`` i.i.d. ``N(0, sigma^2)`` on the ``N - 1`` interior
    nodes (docs/decisions.md, "Measurement noise").

    The fit is linear in the targets, ``W* = (Y + E)^T (F^T)^+_r``, so the noise adds
    ``E^T (F^T)^+_r`` to ``W*`` and ``E^T (F^T)^+_r f`` to each prediction. Its cross term
    with the noise-free error has mean zero over ``E``, and ``E_E ||E^T v||^2 =
    (N - 1) sigma^2 ||v||^2``; over test forcings ``f = B c`` (i.i.d. coefficients of
    variance ``var``), per node of the ``N + 1``:

        E[MSE] - E[MSE]_{sigma=0} = sigma^2 (N - 1) var ||(F^T)^+_r B||_F^2 / (N + 1).

    ``(F^T)^+_r = P_r diag(1/s_r) V_r^T`` from the SVD ``F = P diag(s) V^T`` truncated as in
    :func:`w_star`, so ``||(F^T)^+_r B||_F = ||diag(1/s_r) V_r^T B||_F``: small singular
    values of the training forcings amplify the noise, and a test space outside the span
    adds nothing beyond its noise-free error (``V_r^T B`` sees only its in-span part).

    Parameters
    ----------
    F : (n_train, N+1) array
        Training forcings.
    B : (N+1, m) array
        Basis of the test space.
    sigma : float
        Absolute standard deviation of the target noise.
    n_interior : int, optional
        Number of noisy target nodes (the rows of ``W``); default ``n_nodes - 2``, the 1D
        interior. 2D (flattened ``F``): ``(N - 1)^2`` of the ``(N + 1)^2`` nodes.
    """
    F = np.atleast_2d(np.asarray(F, dtype=np.float64))
    _, s, vt = np.linalg.svd(F, full_matrices=False)
    r = int(np.sum(s > rank_tol * s[0])) if s.size and s[0] > 0 else 0
    C = (vt[:r] @ np.asarray(B, dtype=np.float64)) / s[:r, None]
    n_nodes = F.shape[1]
    n_int = n_nodes - 2 if n_interior is None else int(n_interior)
    return float(sigma**2 * n_int * var * np.sum(C * C) / n_nodes)


def mse_std(W: np.ndarray, B: np.ndarray, S: np.ndarray, var: float, mu4: float) -> float:
    """Standard deviation of the MSE of ONE test sample (noise-free data).

    The per-sample MSE is the quadratic form ``c^T M c`` with ``M = E^T E / (N+1)``,
    ``E = W B - S``. For i.i.d. zero-mean ``c_i`` with variance ``var`` and fourth moment
    ``mu4``, ``Var(c^T M c) = (mu4 - 3 var^2) sum_i M_ii^2 + 2 var^2 tr(M^2)``. The standard
    error of a mean over ``n`` test samples is this divided by ``sqrt(n)``.
    """
    E = np.asarray(W) @ np.asarray(B) - np.asarray(S)
    M = E.T @ E / np.asarray(B).shape[0]
    v = (mu4 - 3.0 * var**2) * np.sum(np.diag(M) ** 2) + 2.0 * var**2 * np.sum(M * M)
    return float(np.sqrt(max(v, 0.0)))


def projection_bound(A: np.ndarray, U: np.ndarray, B: np.ndarray, var: float,
                     W0: np.ndarray | None = None) -> float:
    """Mean square of the right-hand side of Thm 3.2's bound over a test space, per node.

    ``||(W* - A) f|| <= ||W0 - A||_2 ||(I - U U^T) f||`` for every ``f``; squared and averaged
    over ``f = B c`` this gives ``||W0 - A||_2^2 var ||(I - U U^T) B||_F^2 / (N + 1)``, an upper
    bound of ``E||(W* - A) f||^2 / (N + 1)``.

    Parameters
    ----------
    A : (N-1, N+1) array
        The true operator (the bound is exact when ``A`` reproduces the training data).
    U : (N+1, r) array
        Orthonormal basis of the training span.
    B : (N+1, m) array
        Basis of the test space.
    W0 : (N-1, N+1) array, optional
        Initial weights (default zero).
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    R = B - U @ (U.T @ B)
    D = A if W0 is None else np.asarray(W0) - A
    opnorm = np.linalg.norm(D, 2)
    return float(opnorm**2 * var * np.sum(R * R) / B.shape[0])


def out_of_span_fraction(U: np.ndarray, B: np.ndarray) -> float:
    """``E||(I - U U^T) f||^2 / E||f||^2 = ||(I - U U^T) B||_F^2 / ||B||_F^2`` for ``f = B c``
    with i.i.d. coefficients: 0 when the test space lies in the training span, up to 1."""
    B = np.asarray(B, dtype=np.float64)
    R = B - U @ (U.T @ B)
    return float(np.sum(R * R) / np.sum(B * B))


def rel_frobenius(X: np.ndarray, ref: np.ndarray) -> float:
    """``||X - ref||_F / ||ref||_F``."""
    return float(np.linalg.norm(np.asarray(X) - ref) / np.linalg.norm(ref))


# ------------------------------------------------------------------------------ Thm 3.1
def basis_derivative(space: Space | str, x: np.ndarray, q: int) -> np.ndarray:
    """``q``-th derivative of the basis functions of a smooth space at ``x``: ``(len(x), m)``.

    poly: ``d^q x^i = i!/(i-q)! x^(i-q)``; cos/sin: ``d^q cos(w x) = w^q cos(w x + q pi / 2)``,
    ``d^q sin(w x) = w^q sin(w x + q pi / 2)`` with ``w = i pi``. Raises ``ValueError`` for
    ``fem`` (piecewise-linear f has no classical derivatives of order >= 2).
    """
    space = parse_space(space) if isinstance(space, str) else space
    x = np.asarray(x, dtype=np.float64)[:, None]
    if space.family == "poly":
        i = np.arange(space.p + 1)
        coef = np.array([perm(int(j), q) for j in i], dtype=np.float64)[None, :]
        return coef * x ** np.maximum(i - q, 0)[None, :]
    if space.family == "cos":
        w = np.arange(space.p + 1)[None, :] * np.pi
        return w**q * np.cos(w * x + q * np.pi / 2)
    if space.family == "sin":
        w = np.arange(1, space.p + 1)[None, :] * np.pi
        return w**q * np.sin(w * x + q * np.pi / 2)
    raise ValueError(f"space {space.name!r} has no smooth basis derivatives (Thm 3.1 leading "
                     f"term is defined for poly/cos/sin only)")


def fd_lstsq_weights(operator: Operator, f: np.ndarray, u: np.ndarray, q: int) -> np.ndarray:
    """Least-squares ``w*`` of ``sum_j w_j D_j = f`` with the operator's FD features
    (:meth:`greenbench.operators.Operator.fd_features`), one per coefficient: the normal
    equations ``<D_i, D_j> w_j = <D_i, f>`` over all samples and the nodes where every stencil
    fits. One coefficient: ``w* = <f, D> / ||D||^2`` (poisson1d: ``-<f, FD_q u> / ||FD_q u||^2``,
    bit for bit). ``f``, ``u``: ``(n, N+1)``."""
    D, fi = operator.fd_features(u, f, q)
    D = D.reshape(D.shape[0], -1)
    fi = fi.reshape(-1)
    if D.shape[0] == 1:
        return np.array([np.sum(fi * D[0]) / np.sum(D[0] * D[0])])
    from greenbench.operators.base import GRAM_COND_MAX

    gram = D @ D.T
    if not np.linalg.cond(gram) < GRAM_COND_MAX:   # coefficients not identifiable (sin1 ...)
        return np.full(D.shape[0], np.nan)
    return np.linalg.solve(gram, D @ fi)


def fd_lstsq_weight(f: np.ndarray, u: np.ndarray, q: int, N: int, operator: Operator) -> float:
    """The leading coefficient's (``k``) least-squares ``w*`` (:func:`fd_lstsq_weights`).

    The inner products run over all samples and the nodes where the whole central stencil fits.
    ``f``, ``u``: ``(n, N+1)``."""
    if np.shape(u)[-1] != N + 1:
        raise ValueError(f"u has {np.shape(u)[-1]} nodes, N = {N} needs {N + 1}")
    return float(fd_lstsq_weights(operator, f, u, q)[0])


def fd_leading_bias(space: Space | str, coefficients: np.ndarray, N: int, q: int,
                    operator: Operator) -> float:
    """Signed leading term of Thm 3.1 for the leading coefficient (``k``):
    ``(w* - k)/k ~ -mu_q dx^q <f, f^(q)> / ||f||^2`` for poisson1d; the operator's
    :meth:`~greenbench.operators.Operator.fd_bias` in general (every coefficient).

    The data moment runs over the given samples (``coefficients (n, m)``, ``f = c B^T``) and the
    FD nodes. Exactly 0 for ``poly{p}``, ``p < q`` (poisson1d); ``nan`` for ``fem``.
    """
    return float(operator.fd_bias(space, coefficients, N, q)[0])
