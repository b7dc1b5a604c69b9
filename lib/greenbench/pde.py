"""The PDE ``-k u'' = f`` on (0, 1), ``u(0) = u(1) = 0``: exact solutions, Green's function,
finite-difference stencils, and linear finite elements. All float64 and vectorized.

Grid: ``N`` intervals, nodes ``x_i = i / N``, ``dx = 1 / N`` (DESIGN.md).
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from math import factorial

import numpy as np
from scipy.linalg.lapack import dpttrf as pttrf
from scipy.linalg.lapack import dpttrs as pttrs

from greenbench.spaces import Space, parse_space

PDES: tuple[str, ...] = ("poisson1d",)
FD_ORDERS: tuple[int, ...] = (2, 4, 6)
MASS_KINDS: tuple[str, ...] = ("consistent", "lumped")


def grid(N: int) -> np.ndarray:
    """The ``N + 1`` nodes ``x_i = i / N``."""
    if N < 2:
        raise ValueError(f"resolution N must be >= 2, got {N}")
    return np.arange(N + 1, dtype=np.float64) / N


# ----------------------------------------------------------------------------- exact solutions
def solution_basis(space: Space | str, x: np.ndarray, k: float = 1.0) -> np.ndarray:
    """Exact solutions of ``-k u'' = b_j, u(0) = u(1) = 0`` for each basis function ``b_j`` of a
    smooth space, sampled at ``x``: shape ``(len(x), n_coefficients)``. Then ``u = c @ S.T``.

    * ``x^i``         -> ``(x - x^(i+2)) / (k (i+1)(i+2))``
    * ``cos(i pi x)`` -> ``(cos(i pi x) - 1 + (1 - (-1)^i) x) / (k (i pi)^2)`` for i >= 1,
      and ``x (1 - x) / (2k)`` for i = 0
    * ``sin(i pi x)`` -> ``sin(i pi x) / (k (i pi)^2)``
    """
    space = parse_space(space) if isinstance(space, str) else space
    x = np.asarray(x, dtype=np.float64)[:, None]
    if space.family == "poly":
        i = np.arange(space.p + 1)[None, :]
        return (x - x ** (i + 2)) / (k * (i + 1) * (i + 2))
    if space.family == "cos":
        i = np.arange(space.p + 1)[None, :]
        w = np.where(i == 0, 1.0, i * np.pi)
        sign = np.where(i % 2 == 0, 1.0, -1.0)
        u = (np.cos(i * np.pi * x) - 1.0 + (1.0 - sign) * x) / (k * w**2)
        return np.where(i == 0, x * (1.0 - x) / (2.0 * k), u)
    if space.family == "sin":
        i = np.arange(1, space.p + 1)[None, :]
        return np.sin(i * np.pi * x) / (k * (i * np.pi) ** 2)
    raise ValueError(f"no closed-form solution basis for space {space.name!r} (use fem_solve)")


def exact_solution(space: Space | str, coefficients: np.ndarray, x: np.ndarray,
                   k: float = 1.0) -> np.ndarray:
    """Closed-form ``u`` of shape ``(n, len(x))`` for coefficients ``(n, n_coef)``."""
    return np.asarray(coefficients, dtype=np.float64) @ solution_basis(space, x, k).T


def greens_function(x: np.ndarray, s: np.ndarray, k: float = 1.0) -> np.ndarray:
    """``G(x, s) = min(x, s) (1 - max(x, s)) / k``, broadcast over ``x`` and ``s``;
    ``u(x) = int_0^1 G(x, s) f(s) ds``."""
    x, s = np.asarray(x, dtype=np.float64), np.asarray(s, dtype=np.float64)
    return np.minimum(x, s) * (1.0 - np.maximum(x, s)) / k


def greens_matrix(N: int, k: float = 1.0) -> np.ndarray:
    """``G(x_i, x_j)`` on the interior nodes, shape ``(N - 1, N - 1)``."""
    xi = grid(N)[1:-1]
    return greens_function(xi[:, None], xi[None, :], k)


# ----------------------------------------------------------------------- finite differences
@cache
def _stencil_fractions(q: int) -> tuple[Fraction, ...]:
    """Exact central second-derivative weights of order q on offsets -q/2..q/2."""
    if q not in FD_ORDERS and (q < 2 or q % 2):
        raise ValueError(f"FD order q must be an even integer >= 2 (e.g. {FD_ORDERS}), got {q}")
    r = q // 2
    offsets = range(-r, r + 1)
    n = 2 * r + 1
    # Solve the moment conditions sum_j c_j j^m / m! = delta_{m,2}, m = 0..2r, exactly.
    A = [[Fraction(j**m, factorial(m)) for j in offsets] for m in range(n)]
    b = [Fraction(int(m == 2)) for m in range(n)]
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


def fd_stencil(q: int) -> np.ndarray:
    """Central stencil of order ``q`` for ``u''`` (multiply by ``1/dx^2``), length ``q + 1``.

    q=2: [1, -2, 1]; q=4: [-1/12, 4/3, -5/2, 4/3, -1/12];
    q=6: [1/90, -3/20, 3/2, -49/18, 3/2, -3/20, 1/90]. Exact for polynomials of degree <= q + 1.
    """
    return np.array([float(c) for c in _stencil_fractions(q)])


def fd_truncation_coefficients(q: int, n_terms: int = 3) -> dict[int, float]:
    """Taylor coefficients ``mu_m`` of ``FD_q(u) = u'' + sum_m mu_m dx^m u^(m+2)``, m = q, q+2, ...

    q=2: mu_2 = 1/12; q=4: mu_4 = -1/90; q=6: mu_6 = 1/560."""
    c = _stencil_fractions(q)
    r = q // 2
    out = {}
    for m in range(q, q + 2 * n_terms, 2):
        out[m] = float(sum(cj * Fraction(j ** (m + 2), factorial(m + 2))
                           for cj, j in zip(c, range(-r, r + 1), strict=True)))
    return out


def apply_fd(u: np.ndarray, q: int, dx: float) -> np.ndarray:
    """``FD_q(u)`` at the nodes where the whole stencil fits: nodes ``q/2 .. N - q/2``.

    ``u`` has shape ``(..., N + 1)``; the result has shape ``(..., N + 1 - q)``."""
    c = fd_stencil(q)
    u = np.asarray(u, dtype=np.float64)
    n = u.shape[-1] - q
    if n < 1:
        raise ValueError(f"grid with {u.shape[-1]} nodes too small for an order-{q} stencil")
    out = np.zeros(u.shape[:-1] + (n,))
    for j, cj in enumerate(c):
        out += cj * u[..., j : j + n]
    return out / dx**2


def fd_nodes(N: int, q: int) -> slice:
    """Slice of the nodes where ``apply_fd`` returns values."""
    return slice(q // 2, N + 1 - q // 2)


def laplacian_matrix(N: int, k: float = 1.0) -> np.ndarray:
    """``k T_2`` on interior nodes, ``T_2 = tridiag(-1, 2, -1) / dx^2``, shape ``(N-1, N-1)``.

    ``(k T_2)^{-1} = dx * G(x_i, x_j)`` exactly (see :func:`greens_matrix`)."""
    n = N - 1
    T = 2.0 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)
    return k * T * N**2


# --------------------------------------------------------------------------- finite elements
def stiffness_matrix(N: int, k: float = 1.0) -> np.ndarray:
    """Linear-FEM stiffness on interior nodes: ``(k / dx) tridiag(-1, 2, -1)``, ``(N-1, N-1)``."""
    return laplacian_matrix(N, k) / N


def mass_matrix(N: int, mass: str = "consistent") -> np.ndarray:
    """Interior rows of the load matrix acting on nodal f at all ``N + 1`` nodes, ``(N-1, N+1)``.

    consistent: ``(dx / 6) [1, 4, 1]`` (exact for piecewise-linear f); lumped: ``dx * I``."""
    dx = 1.0 / N
    M = np.zeros((N - 1, N + 1))
    rows = np.arange(N - 1)
    if mass == "consistent":
        M[rows, rows] = dx / 6
        M[rows, rows + 1] = 4 * dx / 6
        M[rows, rows + 2] = dx / 6
    elif mass == "lumped":
        M[rows, rows + 1] = dx
    else:
        raise ValueError(f"unknown FEM mass matrix {mass!r}; allowed: {MASS_KINDS}")
    return M


def fem_solve(f: np.ndarray, k: float = 1.0, mass: str = "consistent") -> np.ndarray:
    """Nodal FEM solution ``u`` (n, N+1) of ``K u = M f`` for nodal forcings ``f`` (n, N+1).

    With the consistent mass matrix this is the exact solution at the nodes for piecewise-linear
    f (1D linear FEM is nodally exact); ``lumped`` gives the 3-point FD solution. ``K`` is
    symmetric positive definite and tridiagonal: one ``L D L^T`` factorization (LAPACK pttrf)
    serves all samples (pttrs), O(n N) work and memory in all."""
    f = np.atleast_2d(np.asarray(f, dtype=np.float64))
    N = f.shape[-1] - 1
    if N < 2:
        raise ValueError(f"fem_solve needs N >= 2 intervals (N + 1 nodes), got {f.shape[-1]} nodes")
    if not k > 0:
        raise ValueError(f"material coefficient k must be > 0, got {k!r}")
    if mass not in MASS_KINDS:
        raise ValueError(f"unknown FEM mass matrix {mass!r}; allowed: {MASS_KINDS}")
    dx = 1.0 / N
    # The load scale goes into the matrix: consistent M f = (dx/6) [1, 4, 1] f, so solve
    # (6/dx) K u = [1, 4, 1] f; lumped M f = dx f, so solve K/dx u = f.
    scale = 6.0 / dx if mass == "consistent" else 1.0 / dx
    # (for N = 2 the single unknown has no off-diagonal; f2py still wants an array of size 1)
    d, e, info = pttrf(np.full(N - 1, 2.0 * k / dx * scale),
                       np.full(max(N - 2, 1), -k / dx * scale))
    if info != 0:  # cannot happen for k > 0; kept so that a LAPACK failure is never silent
        raise RuntimeError(f"LAPACK pttrf failed (info={info}) for N={N}, k={k}")
    u = np.zeros_like(f)
    # Blocks of samples small enough (~0.5 MB) that the stencil, the solve and the copy into u
    # work in cache; every sample is solved independently, so blocking changes no bit.
    rows = max(1, (1 << 19) // (8 * (N + 1)))
    for start in range(0, f.shape[0], rows):
        block = slice(start, start + rows)
        u[block, 1:-1] = _fem_block(f[block], d, e, mass).T
    return u


def _fem_block(f: np.ndarray, d: np.ndarray, e: np.ndarray, mass: str) -> np.ndarray:
    """Interior solution ``(N-1, m)`` for a block of forcings ``f`` (m, N+1), given the
    ``L D L^T`` factors ``(d, e)`` of the scaled stiffness matrix (see :func:`fem_solve`)."""
    # The load as a 3-point stencil (the rows of mass_matrix, O(m N) rather than a dense
    # O(m N^2) product). f.T is a Fortran-ordered (N+1, m) view, so rhs comes out
    # Fortran-ordered (N-1, m): one contiguous column per sample, LAPACK's layout.
    ft = f.T
    if mass == "consistent":
        rhs = ft[1:-1] * 4.0
        rhs += ft[:-2]
        rhs += ft[2:]
    else:  # lumped
        rhs = np.array(ft[1:-1], order="F")
    sol, info = pttrs(d, e, rhs, overwrite_b=True)
    if info != 0:
        raise RuntimeError(f"LAPACK pttrs failed (info={info})")
    return sol


def fem_operator(N: int, k: float = 1.0, mass: str = "consistent") -> np.ndarray:
    """``A = K^{-1} M`` of shape ``(N-1, N+1)``: interior u from nodal f at all nodes."""
    return fem_solve(np.eye(N + 1), k, mass)[:, 1:-1].T


def solve(space: Space | str, coefficients: np.ndarray, f: np.ndarray, x: np.ndarray,
          k: float = 1.0, mass: str = "consistent") -> np.ndarray:
    """Nodal solution for samples of ``space``: closed form for poly/cos/sin, FEM for fem."""
    space = parse_space(space) if isinstance(space, str) else space
    if space.family == "fem":
        return fem_solve(f, k, mass)
    return exact_solution(space, coefficients, x, k)


def data_operator(space: Space | str, N: int, k: float = 1.0,
                  mass: str = "consistent") -> tuple[np.ndarray, np.ndarray]:
    """``(B, S)``: forcing basis ``(N+1, m)`` and solution basis on interior nodes ``(N-1, m)``,
    so that every sample of ``space`` is ``f = B c``, ``u_interior = S c``. The operator that
    generated the data acts on ``span(B)`` as ``S B^+``."""
    space = parse_space(space) if isinstance(space, str) else space
    x = grid(N)
    from greenbench.spaces import basis_matrix

    B = basis_matrix(space, x)
    if space.family == "fem":
        return B, fem_operator(N, k, mass)
    return B, solution_basis(space, x, k)[1:-1]
