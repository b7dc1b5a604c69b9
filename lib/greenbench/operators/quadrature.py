"""The general exact solver of a 1D operator with a known Green's function.

``u(x_i) = int_0^1 G(x_i, s) f(s) ds``. ``G(x_i, .)`` is smooth on ``[0, x_i]`` and on
``[x_i, 1]`` (its kink or jump sits at ``s = x_i``), so each side gets its own Gauss-Legendre
rule: exponentially convergent for smooth ``f`` (:func:`greens_solve`). Piecewise-linear nodal
``f`` (the fem space) is integrated element by element against the hat functions; the nodes
never lie inside an element, so ``G(x_i, .)`` is smooth on each one and the rule is exact for
polynomial ``G`` pieces of degree ``<= 2 n - 2`` and at round-off otherwise
(:func:`fem_greens_operator`). The numbers of points and the measured errors:
docs/decisions.md, "Green's-function quadrature".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

__all__ = ["SIDE_POINTS", "ELEMENT_POINTS", "gauss_legendre", "greens_solve",
           "fem_greens_operator"]

SIDE_POINTS = 48      # points on each side of x_i (smooth f up to sin(8 pi x))
ELEMENT_POINTS = 8    # points per element (fem)


@cache
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the ``n``-point Gauss-Legendre rule on [0, 1]."""
    if n < 1:
        raise ValueError(f"number of quadrature points must be >= 1, got {n}")
    t, w = np.polynomial.legendre.leggauss(n)
    return (t + 1.0) / 2.0, w / 2.0


def greens_solve(G: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                 n_points: int = SIDE_POINTS) -> np.ndarray:
    """``u(x) = int_0^1 G(x, s) f(s) ds`` for each column of ``f``: ``(len(x), m)``.

    ``G(x, s)`` broadcasts over arrays of ``x`` and ``s``; ``f(s)`` maps a 1D array of points to
    ``(len(s), m)`` (e.g. one basis function per column). ``[0, x_i]`` and ``[x_i, 1]`` get an
    ``n_points`` Gauss-Legendre rule each (an empty side contributes 0)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    t, w = gauss_legendre(n_points)
    # (len(x), 2 n) points and weights: left side then right side.
    s = np.concatenate([x[:, None] * t[None, :], x[:, None] + (1.0 - x)[:, None] * t[None, :]],
                       axis=1)
    ws = np.concatenate([x[:, None] * w[None, :], (1.0 - x)[:, None] * w[None, :]], axis=1)
    # G evaluated on the side of s (s == x_i only in a zero-width side)
    g = G(x[:, None], s) * ws
    fs = np.asarray(f(s.ravel()), dtype=np.float64)
    fs = fs.reshape(s.shape + (-1,))
    return np.einsum("ip,ipm->im", g, fs)


def fem_greens_operator(G: Callable[[np.ndarray, np.ndarray], np.ndarray], N: int,
                        n_points: int = ELEMENT_POINTS) -> np.ndarray:
    """``A (N-1, N+1)`` with ``A[i, j] = int_0^1 G(x_i, s) phi_j(s) ds`` for the hat functions
    ``phi_j`` of the grid ``x_j = j / N``: ``u_interior = A f`` for piecewise-linear nodal f.

    Element by element, ``n_points`` Gauss-Legendre points each (``G(x_i, .)`` is smooth on
    every element since ``x_i`` is a node)."""
    if N < 2:
        raise ValueError(f"resolution N must be >= 2, got {N}")
    t, w = gauss_legendre(n_points)
    dx = 1.0 / N
    xe = np.arange(N, dtype=np.float64) / N                # left end of each element
    s = xe[:, None] + dx * t[None, :]                      # (N, n)
    xi = np.arange(1, N, dtype=np.float64) / N
    A = np.zeros((N - 1, N + 1))
    # blocks of rows keep the (rows, N, n) kernel array small
    rows = max(1, (1 << 22) // (N * n_points))
    wl, wr = dx * w * (1.0 - t), dx * w * t                # weights times the two hats
    for start in range(0, N - 1, rows):
        blk = slice(start, start + rows)
        g = G(xi[blk, None, None], s[None, :, :])          # (rows, N, n)
        A[blk, :-1] += g @ wl
        A[blk, 1:] += g @ wr
    return A
