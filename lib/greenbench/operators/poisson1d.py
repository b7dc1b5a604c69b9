"""poisson1d: ``-k u'' = f`` on (0, 1), ``u(0) = u(1) = 0`` -- the paper's operator.

Closed-form solutions, Green's function, the finite-difference form and linear finite elements
(moved here from ``greenbench.pde``, which remains a deprecated alias; every number is
bit-identical). All float64 and vectorized. Grid: ``N`` intervals, nodes ``x_i = i / N``.

The module functions take ``k``; :class:`Poisson1D` binds it and implements the
:class:`~greenbench.operators.base.Operator` interface with them.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import dpttrf as pttrf
from scipy.linalg.lapack import dpttrs as pttrs

from greenbench.operators import stencils
from greenbench.operators.base import Operator, Term
from greenbench.spaces import Space, basis_matrix, parse_space
from greenbench.theory import basis_derivative

FD_ORDERS: tuple[int, ...] = (2, 4, 6)
MASS_KINDS: tuple[str, ...] = ("consistent", "lumped")


def grid(N: int) -> np.ndarray:
    """The ``N + 1`` nodes ``x_i = i / N``."""
    return Operator.grid(N)


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
    B = basis_matrix(space, x)
    if space.family == "fem":
        return B, fem_operator(N, k, mass)
    return B, solution_basis(space, x, k)[1:-1]


def solution_derivative_basis(space: Space | str, x: np.ndarray, d: int,
                              k: float = 1.0) -> np.ndarray:
    """The ``d``-th derivative of :func:`solution_basis` at ``x``: ``(len(x), n_coef)``.
    ``d >= 2``: ``u^(d) = -f^(d-2) / k``; ``d = 1`` in closed form."""
    space = parse_space(space) if isinstance(space, str) else space
    if d == 0:
        return solution_basis(space, x, k)
    if d >= 2:
        return -basis_derivative(space, x, d - 2) / k
    xc = np.asarray(x, dtype=np.float64)[:, None]
    if space.family == "poly":
        i = np.arange(space.p + 1)[None, :]
        return (1.0 - (i + 2) * xc ** (i + 1)) / (k * (i + 1) * (i + 2))
    if space.family == "cos":
        i = np.arange(space.p + 1)[None, :]
        w = np.where(i == 0, 1.0, i * np.pi)
        sign = np.where(i % 2 == 0, 1.0, -1.0)
        du = (-w * np.sin(i * np.pi * xc) + (1.0 - sign)) / (k * w**2)
        return np.where(i == 0, (1.0 - 2.0 * xc) / (2.0 * k), du)
    if space.family == "sin":
        i = np.arange(1, space.p + 1)[None, :]
        return np.cos(i * np.pi * xc) / (k * i * np.pi)
    raise ValueError(f"no closed-form solution basis for space {space.name!r}")


class Poisson1D(Operator):
    """``-k u'' = f``, ``u(0) = u(1) = 0``; ``G(x, s) = min(x, s) (1 - max(x, s)) / k``."""

    name = "poisson1d"
    COEFFICIENTS = ("k",)
    terms = (Term("k", -1.0, 2),)
    FD_ORDERS = (2, 4, 6, 8)  # central stencils exist for every even order; these are offered
    MASS_KINDS = MASS_KINDS
    symmetric = True
    boundary_conditions = ((0, 0.0), (0, 1.0))

    @property
    def k(self) -> float:
        return self.coefficients["k"]

    def greens_function(self, x, s):
        return greens_function(x, s, self.k)

    def greens_matrix(self, N):
        return greens_matrix(N, self.k)

    def solution_basis(self, space, x):
        return solution_basis(space, x, self.k)

    def exact_solution(self, space, coefficients, x):
        return exact_solution(space, coefficients, x, self.k)

    def solution_derivatives(self, space, x, d):
        return solution_derivative_basis(space, x, d, self.k)

    def fem_operator(self, N, mass="consistent"):
        return fem_operator(N, self.k, mass)

    def fem_solve(self, f, mass="consistent"):
        return fem_solve(f, self.k, mass)

    def solve(self, space, coefficients, f, x, mass="consistent"):
        return solve(space, coefficients, f, x, self.k, mass)

    def data_operator(self, space, N, mass="consistent"):
        return data_operator(space, N, self.k, mass)

    def discrete_matrix(self, N: int) -> np.ndarray:
        """``k T_2`` on the interior nodes: ``(k T_2)^{-1} = dx G(x_i, x_j)``."""
        return laplacian_matrix(N, self.k)

    def discrete_residual(self, f, u, mass="consistent"):
        """``K u - M f`` on the interior nodes and the scale of its terms (``(n, N-1)``, float):
        the discrete equation the fem data satisfy to round-off."""
        f, u = np.atleast_2d(f), np.atleast_2d(u)
        N = u.shape[-1] - 1
        k, dx = self.k, 1.0 / N
        self.check_mass(mass)
        Ku = k / dx * (2.0 * u[:, 1:-1] - u[:, :-2] - u[:, 2:])
        Mf = (dx / 6 * (f[:, :-2] + 4.0 * f[:, 1:-1] + f[:, 2:]) if mass == "consistent"
              else dx * f[:, 1:-1])
        size = k / dx * np.abs(u).max(initial=0.0) + dx * np.abs(f).max(initial=0.0)
        return Ku - Mf, size

    def fd_exact(self, space, q):
        space = parse_space(space) if isinstance(space, str) else space
        return space.family == "poly" and space.p < q   # u has degree p + 2 <= q + 1

    def fd_bias(self, space, coefficients, N, q):
        """Thm 3.1: ``(w* - k)/k ~ -mu_q dx^q <f, f^(q)> / ||f||^2`` (the general formula of
        the base class reduces to it; computed as in the paper for bit-identical numbers)."""
        space = parse_space(space) if isinstance(space, str) else space
        if space.family == "fem":
            return np.array([np.nan])
        x = grid(N)
        nodes = self.fd_nodes(N, q)
        c = np.asarray(coefficients, dtype=np.float64)
        f = c @ basis_matrix(space, x[nodes]).T
        fq = c @ basis_derivative(space, x[nodes], q).T
        mu = stencils.fd_truncation_coefficients(2, q, 1)[q]
        return np.array([-mu * (1.0 / N) ** q * np.sum(f * fq) / np.sum(f * f)])

    def residual(self, derivs, f, coef):
        """``-k u'' - f`` (written as the PINN and PI-DeepONet always did)."""
        return -coef["k"] * derivs[2] - f
