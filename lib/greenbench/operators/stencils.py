"""Exact central finite-difference stencils for the m-th derivative, order q.

``FD_q^m u(x_i) = dx^-m sum_{j=-r..r} c_j u(x_{i+j})`` with rational weights ``c_j`` solved
exactly (:class:`fractions.Fraction`) from the moment conditions
``sum_j c_j j^l / l! = delta_{l,m}``, ``l = 0..2r``, on the smallest symmetric window that gives
order ``q``: ``r = (m + q - 1) // 2``. Then

    FD_q^m u = u^(m) + sum_{j >= q, j even} mu_j dx^j u^(m+j)

(:func:`fd_truncation_coefficients`); the stencil is exact on polynomials of degree
``<= m + q - 1`` (``mu_j = 0`` for ``j < q``; odd ``j`` vanish by symmetry).

m = 2 reproduces the former ``greenbench.pde.fd_stencil`` bit for bit:
q=2 [1, -2, 1]; q=4 [-1/12, 4/3, -5/2, 4/3, -1/12]; m = 4, q = 2: [1, -4, 6, -4, 1].
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from math import factorial

import numpy as np

__all__ = ["stencil_radius", "fd_stencil_fractions", "fd_stencil", "fd_truncation_coefficients",
           "apply_fd", "fd_nodes"]


def _check(m: int, q: int) -> None:
    if not (isinstance(m, (int, np.integer)) and m >= 0):
        raise ValueError(f"derivative order m must be an integer >= 0, got {m!r}")
    if not (isinstance(q, (int, np.integer)) and q >= 2 and q % 2 == 0):
        raise ValueError(f"FD order q must be an even integer >= 2 (e.g. 2, 4, 6), got {q!r}")


def stencil_radius(m: int, q: int) -> int:
    """Half-width ``r`` of the central stencil of order ``q`` for the m-th derivative."""
    _check(m, q)
    return (m + q - 1) // 2


@cache
def fd_stencil_fractions(m: int, q: int) -> tuple[Fraction, ...]:
    """Exact weights ``c_{-r}..c_r`` (multiply by ``dx^-m``) of the order-q central stencil."""
    r = stencil_radius(m, q)
    offsets = range(-r, r + 1)
    n = 2 * r + 1
    # Solve the moment conditions sum_j c_j j^l / l! = delta_{l,m}, l = 0..2r, exactly.
    A = [[Fraction(j**l, factorial(l)) for j in offsets] for l in range(n)]  # noqa: E741
    b = [Fraction(int(l == m)) for l in range(n)]  # noqa: E741
    for col in range(n):  # Gauss-Jordan over the rationals
        piv = next(r_ for r_ in range(col, n) if A[r_][col] != 0)
        A[col], A[piv] = A[piv], A[col]
        b[col], b[piv] = b[piv], b[col]
        for r_ in range(n):
            if r_ != col and A[r_][col] != 0:
                fac = A[r_][col] / A[col][col]
                A[r_] = [a - fac * c for a, c in zip(A[r_], A[col], strict=True)]
                b[r_] -= fac * b[col]
    return tuple(b[i] / A[i][i] for i in range(n))


def fd_stencil(m: int, q: int) -> np.ndarray:
    """Central stencil of order ``q`` for ``u^(m)`` (multiply by ``1/dx^m``), length ``2r + 1``."""
    return np.array([float(c) for c in fd_stencil_fractions(m, q)])


def fd_truncation_coefficients(m: int, q: int, n_terms: int = 3) -> dict[int, float]:
    """Taylor coefficients ``mu_j`` of ``FD_q^m(u) = u^(m) + sum_j mu_j dx^j u^(m+j)`` for
    ``j = q, q+2, ..., q + 2 (n_terms - 1)``: ``mu_j = sum_i c_i i^(m+j) / (m+j)!``.

    m=2: q=2 mu_2 = 1/12; q=4 mu_4 = -1/90; q=6 mu_6 = 1/560. m=4, q=2: mu_2 = 1/6."""
    c = fd_stencil_fractions(m, q)
    r = stencil_radius(m, q)
    out = {}
    for j in range(q, q + 2 * n_terms, 2):
        out[j] = float(sum(ci * Fraction(i ** (m + j), factorial(m + j))
                           for ci, i in zip(c, range(-r, r + 1), strict=True)))
    return out


def apply_fd(u: np.ndarray, m: int, q: int, dx: float) -> np.ndarray:
    """``FD_q^m(u)`` at the nodes where the whole stencil fits: nodes ``r .. N - r``.

    ``u`` has shape ``(..., N + 1)``; the result has shape ``(..., N + 1 - 2r)``."""
    c = fd_stencil(m, q)
    r = stencil_radius(m, q)
    u = np.asarray(u, dtype=np.float64)
    n = u.shape[-1] - 2 * r
    if n < 1:
        raise ValueError(f"grid with {u.shape[-1]} nodes too small for an order-{q} stencil "
                         f"of derivative {m}")
    out = np.zeros(u.shape[:-1] + (n,))
    for j, cj in enumerate(c):
        out += cj * u[..., j : j + n]
    return out / dx**m


def fd_nodes(N: int, m: int, q: int) -> slice:
    """Slice of the nodes where :func:`apply_fd` returns values."""
    r = stencil_radius(m, q)
    return slice(r, N + 1 - r)
