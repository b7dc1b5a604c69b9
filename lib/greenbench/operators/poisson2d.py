"""poisson2d: ``-k (u_xx + u_yy) = f`` on (0, 1)^2, ``u = 0`` on the boundary (issue 11).

Grid: ``(N + 1) x (N + 1)`` nodes ``(x_i, y_j) = (i / N, j / N)``; one sample is an array
``[i_x, i_y]``; unknowns are the ``(N - 1)^2`` interior nodes. Spaces: the tensor products
``{family}{px}x{py}`` and the 2D ``fem`` space of :mod:`greenbench.spaces`.

Reference solutions (docs/decisions.md, "poisson2d reference solutions"; docs/operators.md):

* ``sin x sin``: ``sin(a pi x) sin(b pi y) / (k pi^2 (a^2 + b^2))``, closed form.
* ``poly x poly``, ``cos x cos`` (``f = phi_a(x) psi_b(y)``): ``u = P - C``. ``P`` is a closed-form
  particular solution that vanishes on ``y = 0, 1``:
  poly ``P = sum_j phi^(2j)(x) S_{2j+2}(y) / k`` with ``S_0 = psi``, ``-S_{r+2}'' = S_r``,
  ``S(0) = S(1) = 0`` (polynomials, exact); cos ``P = cos(a pi x) R(y) / k`` with
  ``-R'' + (a pi)^2 R = cos(b pi y)``, ``R(0) = R(1) = 0`` (closed form with a sinh lift).
  ``C`` is the harmonic lift of ``P``'s values on ``x = 0, 1``: the sine series
  ``C = sum_m sin(m pi y) b_m [g_0(m) L_m(1 - x) + g_1(m) L_m(x)]``,
  ``L_m(x) = sinh(m pi x) / sinh(m pi)``, with ``b_m`` the sine coefficients of ``psi`` (closed
  form) and ``g_0, g_1`` the values at ``x = 0, 1`` of the particular solution of the 1D
  screened problem ``-k v'' + k (m pi)^2 v = phi`` (closed form). Every term decays like
  ``m^-3 e^{-m pi dist(x, {0, 1})}``: at the grid nodes (``dist >= 1/N``) the series is summed
  until the bound of the remainder is below ``1e-17`` of the term scale (about ``13 N`` modes),
  so the corner singularities (``f != 0`` at a corner) cost nothing on the grid. This is the
  exact solution of the PDE to round-off (measured: tests/test_poisson2d.py).
* ``fem``: the exact discrete truth of bilinear (Q1) finite elements on the data grid with the
  consistent mass matrix, ``K u = M f`` (not the PDE solution of the bilinear ``f``, which has
  no finite form), solved by fast diagonalization (the 1D stiffness and mass matrices share the
  sine eigenvectors); :meth:`Poisson2d.discrete_residual` checks it with the 9-point stencils.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import factorial
from typing import Any, ClassVar

import numpy as np
from numpy.polynomial import polynomial as npoly

from greenbench.operators import stencils
from greenbench.operators.base import Operator, Term
from greenbench.spaces import Space, parse_space

__all__ = ["Poisson2d"]

# Relative size of the dropped remainder of the lift series (C above).
SERIES_TOL = 1e-17


# ------------------------------------------------------------------------ 1D building blocks
def _sinh_ratio(alpha: np.ndarray, t: np.ndarray, odd: bool) -> np.ndarray:
    """``sinh(alpha t) / sinh(alpha)`` (``odd = False``) or ``cosh(alpha t) / sinh(alpha)``
    (``odd = True``), ``t in [0, 1]``, overflow-free; ``alpha = 0``: ``t`` and ``inf``."""
    alpha, t = np.broadcast_arrays(np.asarray(alpha, dtype=np.float64),
                                   np.asarray(t, dtype=np.float64))
    out = np.empty(alpha.shape)
    z = alpha == 0
    a, tt = alpha[~z], t[~z]
    e = np.exp(-2.0 * a * tt)
    num = (-np.expm1(-2.0 * a * tt)) if not odd else (1.0 + e)
    out[~z] = np.exp(-a * (1.0 - tt)) * num / (-np.expm1(-2.0 * a))
    out[z] = t[z] if not odd else np.inf
    return out


def _lift_derivative(alpha: np.ndarray, x: np.ndarray, d: int, side: int) -> np.ndarray:
    """``d``-th derivative of ``L(x) = sinh(alpha x) / sinh(alpha)`` (``side = 1``) or of
    ``L(1 - x)`` (``side = 0``); ``alpha = 0``: ``x`` and ``1 - x``."""
    t = x if side == 1 else 1.0 - x
    sign = 1.0 if side == 1 else (-1.0) ** d
    if np.all(np.asarray(alpha) == 0):
        t = np.broadcast_to(t, np.broadcast_shapes(np.shape(alpha), np.shape(t)))
        if d == 0:
            return np.array(t, dtype=np.float64)
        return np.full(t.shape, sign * (1.0 if d == 1 else 0.0))
    return sign * np.asarray(alpha, dtype=np.float64) ** d * _sinh_ratio(alpha, t, odd=d % 2 == 1)


def _sine_coefficients(family: str, b: int, m: np.ndarray) -> np.ndarray:
    """``b_m = 2 int_0^1 psi(y) sin(m pi y) dy`` for ``psi = y^b`` (poly) or ``cos(b pi y)``."""
    m = np.asarray(m, dtype=np.float64)
    if family == "cos":
        with np.errstate(divide="ignore", invalid="ignore"):
            odd = (1.0 - (-1.0) ** (m + b))
            out = 2.0 / np.pi * m * odd / (m * m - b * b)
        return np.where(m == b, 0.0, out)
    # I_j = int y^j sin(w y), J_j = int y^j cos(w y), w = m pi: sin(w) = 0, cos(w) = (-1)^m
    w = m * np.pi
    cw = (-1.0) ** m
    I_prev, J_prev = (1.0 - cw) / w, np.zeros_like(w)
    for j in range(1, b + 1):
        I_j = -cw / w + j / w * J_prev
        J_j = -j / w * I_prev
        I_prev, J_prev = I_j, J_j
    return 2.0 * I_prev


def _poisson_poly(S: np.ndarray) -> np.ndarray:
    """Coefficients of ``T`` with ``-T'' = S``, ``T(0) = T(1) = 0`` (power basis)."""
    T = -npoly.polyint(S, 2)
    T = npoly.polysub(T, [npoly.polyval(0.0, T), npoly.polyval(1.0, T) - npoly.polyval(0.0, T)])
    return T


def _poly_derivative(a: int, x: np.ndarray, d: int) -> np.ndarray:
    """``d``-th derivative of ``x^a``."""
    if d > a:
        return np.zeros_like(x)
    return factorial(a) / factorial(a - d) * x ** (a - d)


def _family_boundary(family: str, a: int) -> tuple[Any, Any]:
    """``(g_0(m), g_1(m))`` callables: values at x = 0 and 1 of the particular solution of
    ``-k v'' + k (m pi)^2 v = phi_a`` times ``k`` (divide by ``k`` afterwards)."""
    if family == "cos":
        def g0(m):
            return 1.0 / (np.pi**2 * (m * m + a * a))

        def g1(m):
            return (-1.0) ** a / (np.pi**2 * (m * m + a * a))
        return g0, g1

    def g(m, at):  # poly: sum_j phi^(2j)(at) / (m pi)^(2j + 2)
        out = np.zeros_like(m, dtype=np.float64)
        for j in range(a // 2 + 1):
            out += float(_poly_derivative(a, np.array(at, dtype=np.float64), 2 * j)) \
                / (m * np.pi) ** (2 * j + 2)
        return out
    return (lambda m: g(m, 0.0)), (lambda m: g(m, 1.0))


def _n_modes(delta: float, d: int) -> int:
    """Modes of the lift series so that the remainder ``sum_{m > M} m^(d-3) e^{-m pi delta}``
    is below ``SERIES_TOL`` of its first term (``delta``: least distance of an evaluation point
    from ``x = 0, 1``)."""
    if delta <= 0:
        raise ValueError("the lift series is evaluated at points with 0 < x < 1 only")
    r = np.pi * delta
    M = 1
    while True:  # remainder <= M^(d-3) e^{-r M} / (1 - e^{-r}) (d <= 3), bounded generously
        bound = max(M, 1.0) ** max(d - 3, 0) * np.exp(-r * M) / -np.expm1(-r)
        if bound < SERIES_TOL:
            return M
        M = int(M * 1.25) + 1


def _pair_solution(family: str, a: int, b: int, x: np.ndarray, y: np.ndarray,
                   dx: int = 0, dy: int = 0, n_modes: int | None = None) -> np.ndarray:
    """``k d^{dx+dy} u / dx^dx dy^dy`` on the grid ``x x y`` (``(len(x), len(y))``) for
    ``-k Lap u = phi_a(x) psi_b(y)`` times ``k`` (i.e. for ``k = 1``). See the module docstring.
    ``x`` must lie in (0, 1) for ``poly``/``cos`` (the boundary values are 0 and set by the
    caller)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if family == "sin":
        fx = (a * np.pi) ** dx * np.sin(a * np.pi * x + dx * np.pi / 2)
        fy = (b * np.pi) ** dy * np.sin(b * np.pi * y + dy * np.pi / 2)
        return np.outer(fx, fy) / (np.pi**2 * (a * a + b * b))
    # particular solution P
    if family == "poly":
        S = np.zeros(b + 1)
        S[b] = 1.0
        P = np.zeros((x.size, y.size))
        for j in range(a // 2 + 1):
            S = _poisson_poly(S)
            P += np.outer(_poly_derivative(a, x, 2 * j + dx),
                          npoly.polyval(y, npoly.polyder(S, dy) if dy else S))
    else:  # cos: cos(a pi x) R(y), -R'' + (a pi)^2 R = cos(b pi y), R(0) = R(1) = 0
        alpha = a * np.pi
        fx = alpha**dx * np.cos(alpha * x + dx * np.pi / 2)
        if a == 0 and b == 0:  # R = y (1 - y) / 2
            R = [y * (1.0 - y) / 2.0, 0.5 - y, -np.ones_like(y)][dy] if dy <= 2 \
                else np.zeros_like(y)
        else:
            lam = np.pi**2 * (a * a + b * b)
            h0, h1 = 1.0 / lam, (-1.0) ** b / lam  # h = cos(b pi y) / lam at y = 0, 1
            hd = (b * np.pi) ** dy * np.cos(b * np.pi * y + dy * np.pi / 2) / lam
            if a == 0:  # the 1D Poisson lift of h
                hd = hd - (h0 * (1.0 - y) + h1 * y if dy == 0 else
                           (h1 - h0) * np.ones_like(y) if dy == 1 else 0.0)
            else:
                hd = hd - h0 * _lift_derivative(alpha, y, dy, 0) \
                    - h1 * _lift_derivative(alpha, y, dy, 1)
            R = hd
        P = np.outer(fx, R)
    # harmonic lift C of P's values on x = 0, 1
    delta = float(np.min(np.minimum(x, 1.0 - x)))
    M = n_modes or _n_modes(delta, dx + dy)
    m = np.arange(1, M + 1, dtype=np.float64)
    g0, g1 = _family_boundary(family, a)
    bm = _sine_coefficients(family, b, m)
    Sy = (m * np.pi) ** dy * np.sin(np.outer(y, m) * np.pi + dy * np.pi / 2)    # (ny, M)
    L0 = _lift_derivative((m * np.pi)[None, :], x[:, None], dx, 0)               # (nx, M)
    L1 = _lift_derivative((m * np.pi)[None, :], x[:, None], dx, 1)
    C = (L0 * (bm * g0(m)) + L1 * (bm * g1(m))) @ Sy.T
    return P - C


# ------------------------------------------------------------------------------ Q1 fem
def _q1_eigen(N: int, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sine eigenvectors ``Q`` (orthonormal, ``(N-1, N-1)``) and eigenvalues of the 1D interior
    stiffness ``(1/h) tridiag(-1, 2, -1)`` and mass ``(h/6) tridiag(1, 4, 1)``."""
    h = 1.0 / N
    j = np.arange(1, N)
    Q = np.sqrt(2.0 / N) * np.sin(np.pi * np.outer(j, j) / N)
    c = np.cos(np.pi * j / N)
    return Q, (2.0 - 2.0 * c) / h, h / 6.0 * (4.0 + 2.0 * c)


def _q1_load(f: np.ndarray) -> np.ndarray:
    """``M f`` on the interior nodes, ``M = M1 (x) M1`` the consistent bilinear mass, all
    ``(N+1)^2`` nodal values of ``f`` (the 9-point stencil ``h^2/36 [1 4 1; 4 16 4; 1 4 1]``)."""
    N = f.shape[-1] - 1
    h = 1.0 / N
    g = (f[..., :-2, :] + 4.0 * f[..., 1:-1, :] + f[..., 2:, :]) * (h / 6.0)
    return (g[..., :-2] + 4.0 * g[..., 1:-1] + g[..., 2:]) * (h / 6.0)


def _q1_stiffness(u: np.ndarray, k: float) -> np.ndarray:
    """``K u`` on the interior nodes: ``k/3 [-1 -1 -1; -1 8 -1; -1 -1 -1]``."""
    s = u[..., :-2, :] + u[..., 1:-1, :] + u[..., 2:, :]
    box = s[..., :-2] + s[..., 1:-1] + s[..., 2:]
    return k / 3.0 * (9.0 * u[..., 1:-1, 1:-1] - box)


class Poisson2d(Operator):
    """``-k Lap u = f`` on the unit square, ``u = 0`` on the boundary."""

    name: ClassVar[str] = "poisson2d"
    dim: ClassVar[int] = 2
    COEFFICIENTS: ClassVar[tuple[str, ...]] = ("k",)
    terms: ClassVar[tuple[Term, ...]] = (Term("k", -1.0, (2, 0)), Term("k", -1.0, (0, 2)))
    FD_ORDERS: ClassVar[tuple[int, ...]] = (2, 4)
    MASS_KINDS: ClassVar[tuple[str, ...]] = ("consistent",)
    symmetric: ClassVar[bool] = True
    # u = 0 on x = 0, x = 1 and likewise in y
    boundary_conditions: ClassVar[tuple[tuple[int, float], ...]] = ((0, 0.0), (0, 1.0))

    @property
    def k(self) -> float:
        return self.coefficients["k"]

    @property
    def order(self) -> int:
        return 2

    def _space(self, space: Space | str) -> Space:
        space = parse_space(space, dim=2) if isinstance(space, str) else space
        if space.dim != 2:
            raise ValueError(f"space {space.name!r} is {space.dim}D but operator {self.name} "
                             f"is 2D; allowed: {{poly|cos|sin}}{{px}}x{{py}} (e.g. sin2x3), fem")
        return space

    # ------------------------------------------------------------------ exact solutions
    def solution_tensor(self, space: Space | str, x: np.ndarray,
                        d: tuple[int, int] = (0, 0)) -> np.ndarray:
        """``d``-th partial derivative of the exact solution for each basis function
        ``phi_a(x) psi_b(y)`` on the grid ``x x x``: ``(len(x), len(x), px', py')``. Nodes on
        the boundary (x = 0 or 1) get the value 0 for ``d = (0, 0)`` (and are refused for
        derivatives of the lifted families)."""
        space = self._space(space)
        if space.family == "fem":
            raise ValueError(f"no closed-form solution basis for space {space.name!r} "
                             f"(use fem_operator)")
        x = np.asarray(x, dtype=np.float64)
        fam = space.family
        ia = range(1, space.p + 1) if fam == "sin" else range(space.p + 1)
        ib = range(1, space.py + 1) if fam == "sin" else range(space.py + 1)
        out = np.zeros((x.size, x.size, len(ia), len(ib)))
        inner = (x > 0) & (x < 1)
        if fam != "sin" and d != (0, 0) and not inner.all():
            raise ValueError("solution derivatives of poly/cos spaces are evaluated at "
                             "interior points 0 < x < 1 only")
        xi = x if fam == "sin" else x[inner]
        rows = slice(None) if fam == "sin" else inner
        for i, a in enumerate(ia):
            for j, b in enumerate(ib):
                out[rows, :, i, j] = _pair_solution(fam, a, b, xi, x, *d) / self.k
        if d == (0, 0):  # u = 0 on the boundary exactly (the formulas give round-off there)
            edge = (x <= 0) | (x >= 1)
            out[edge] = 0.0
            out[:, edge] = 0.0
        return out

    def solution_basis(self, space: Space | str, x: np.ndarray) -> np.ndarray:
        """Flattened ``(len(x)^2, px' py')`` (C order ``[i_x, i_y]`` and ``[a, b]``)."""
        T = self.solution_tensor(space, x)
        return T.reshape(x.size**2, -1)

    def exact_solution(self, space: Space | str, coefficients: np.ndarray,
                       x: np.ndarray) -> np.ndarray:
        """``u (n, len(x), len(x))`` for coefficients ``(n, px', py')``."""
        T = self.solution_tensor(space, x)
        return np.einsum("nab,ijab->nij", np.asarray(coefficients, dtype=np.float64), T,
                         optimize=True)

    def solution_derivatives(self, space: Space | str, x: np.ndarray, d) -> np.ndarray:
        """Flattened ``d = (d_x, d_y)`` derivative of :meth:`solution_basis`."""
        return self.solution_tensor(space, x, tuple(d)).reshape(np.size(x) ** 2, -1)

    # --------------------------------------------------------------------------- fem (Q1)
    def fem_solve(self, f: np.ndarray, mass: str = "consistent") -> np.ndarray:
        """Nodal bilinear-FEM solution ``u (n, N+1, N+1)`` of ``K u = M f`` (consistent mass)
        for nodal forcings ``f (n, N+1, N+1)``: fast diagonalization, ``O(n N^3)``."""
        self.check_mass(mass)
        f = np.asarray(f, dtype=np.float64)
        if f.ndim == 2:
            f = f[None]
        N = f.shape[-1] - 1
        if f.shape[-2] != N + 1 or N < 2:
            raise ValueError(f"fem_solve needs f of shape (n, N+1, N+1), N >= 2; got {f.shape}")
        Q, lam, mu = _q1_eigen(N, self.k)
        D = self.k * (lam[:, None] * mu[None, :] + mu[:, None] * lam[None, :])
        g = Q @ _q1_load(f) @ Q
        u = np.zeros_like(f)
        u[:, 1:-1, 1:-1] = Q @ (g / D) @ Q
        return u

    def fem_operator(self, N: int, mass: str = "consistent") -> np.ndarray:
        """``A ((N-1)^2, (N+1)^2)``: flattened interior ``u = A`` flattened nodal ``f``."""
        eye = np.eye((N + 1) ** 2).reshape(-1, N + 1, N + 1)
        return self.flat_interior(self.fem_solve(eye, mass)).T

    def discrete_residual(self, f, u, mass="consistent"):
        """``K u - M f`` on the interior nodes (9-point Q1 stencils, independent of the fast
        diagonalization), flattened ``(n, (N-1)^2)``, and the scale of its terms."""
        self.check_mass(mass)
        f, u = np.asarray(f, dtype=np.float64), np.asarray(u, dtype=np.float64)
        if u.ndim == 2:
            f, u = f[None], u[None]
        N = u.shape[-1] - 1
        r = _q1_stiffness(u, self.k) - _q1_load(f)
        size = self.k * np.abs(u).max(initial=0.0) + np.abs(f).max(initial=0.0) / N**2
        return r.reshape(r.shape[0], -1), size

    def solve(self, space, coefficients, f, x, mass="consistent"):
        space = self._space(space)
        if space.family == "fem":
            return self.fem_solve(f, mass)
        return self.exact_solution(space, coefficients, x)

    def data_operator(self, space, N, mass="consistent"):
        """``(B ((N+1)^2, m), S ((N-1)^2, m))`` over flattened nodes and coefficients."""
        from greenbench.spaces import basis_matrix

        space = self._space(space)
        x = self.grid(N)
        B = basis_matrix(space, x)
        if space.family == "fem":
            return B, self.fem_operator(N, mass)
        T = self.solution_tensor(space, x)[1:-1, 1:-1]
        return B, T.reshape((N - 1) ** 2, -1)

    # --------------------------------------------------------------------- Green's function
    def greens_function(self, X: np.ndarray, S: np.ndarray, tol: float = 1e-15) -> np.ndarray:
        """``G((x, y), (s, t))`` for points ``X (..., 2)``, ``S (..., 2)`` (broadcast), by the
        eigenfunction series ``sum_m 2 sin(m pi y) sin(m pi t) G_m(x, s)`` (``G_m`` the 1D
        screened Green's function with ``c = k (m pi)^2``), summed along the direction of the
        smaller separation so that the terms decay like ``e^{-m pi delta}``, ``delta`` the
        larger separation; the remainder is below ``tol`` relative. ``inf`` at coincident
        points (the logarithmic singularity)."""
        X, S = np.broadcast_arrays(np.asarray(X, dtype=np.float64),
                                   np.asarray(S, dtype=np.float64))
        shape = X.shape[:-1]
        X, S = X.reshape(-1, 2), S.reshape(-1, 2)
        out = np.full(X.shape[0], np.inf)
        dsep = np.abs(X - S)
        swap = dsep[:, 1] > dsep[:, 0]
        x = np.where(swap, X[:, 1], X[:, 0])
        s = np.where(swap, S[:, 1], S[:, 0])
        y = np.where(swap, X[:, 0], X[:, 1])
        t = np.where(swap, S[:, 0], S[:, 1])
        delta = np.abs(x - s)
        on_edge = (np.minimum(X, 1 - X).min(axis=1) <= 0) | (np.minimum(S, 1 - S).min(axis=1) <= 0)
        out[on_edge] = 0.0
        ok = (delta > 0) & ~on_edge
        if ok.any():
            M = _n_modes(float(delta[ok].min()), 0)
            M = max(M, int(np.ceil(np.log(1.0 / tol) / (np.pi * float(delta[ok].min())))) + 2)
            idx = np.flatnonzero(ok)
            lo, hi = np.minimum(x[idx], s[idx]), np.maximum(x[idx], s[idx])
            acc = np.zeros(idx.size)
            for start in range(1, M + 1, 256):
                m = np.arange(start, min(start + 256, M + 1), dtype=np.float64)[None, :]
                a = m * np.pi
                Gm = (np.exp(-a * (hi - lo)[:, None]) * -np.expm1(-2 * a * lo[:, None])
                      * -np.expm1(-2 * a * (1 - hi)[:, None]) / (2 * a * -np.expm1(-2 * a)))
                acc += np.sum(2 * np.sin(a * y[idx, None]) * np.sin(a * t[idx, None]) * Gm,
                              axis=1)
            out[idx] = acc / self.k
        return out.reshape(shape)

    def greens_matrix(self, N: int) -> np.ndarray:
        """The discrete Green's function of the reference discretization (Q1 FEM, consistent
        mass) on interior nodes, ``((N-1)^2, (N-1)^2)``: ``A[:, interior] / h^2``, what
        impulses at interior nodes give for a model that reproduces the fem data exactly
        (the continuous ``G`` is infinite on the diagonal; off the diagonal the two agree to
        ``O(h^2)``: :meth:`greens_function`)."""
        A = self.fem_operator(N)
        cols = self.flat_nodes(np.arange((N + 1) ** 2).reshape(N + 1, N + 1)[1:-1, 1:-1])
        return A[:, cols] * N**2

    def stencil_scale(self, N: int) -> float:
        """``k N^2``: a learned inverse divided by it reads as the 5-point stencil."""
        return self.coefficients["k"] * N**2

    def reference_stencil(self, halfwidth: int) -> np.ndarray:
        """The 5-point stencil of ``-Lap`` in units of :meth:`stencil_scale`, zero-padded to
        ``(2h + 1, 2h + 1)`` over the offsets ``[d_x, d_y]`` (centre 4, neighbours -1)."""
        if halfwidth < 1:
            raise ValueError(f"stencil half-width {halfwidth} < 1, the radius of the "
                             f"{self.name} stencil")
        out = np.zeros((2 * halfwidth + 1,) * 2)
        c = halfwidth
        out[c, c] = 4.0
        out[c - 1, c] = out[c + 1, c] = out[c, c - 1] = out[c, c + 1] = -1.0
        return out

    # ---------------------------------------------------------------- finite differences
    def fd_radius(self, q: int) -> int:
        return stencils.stencil_radius(2, q)

    def fd_nodes(self, N: int, q: int) -> tuple:
        """Index of the nodes where the order-``q`` stencils fit in both directions."""
        r = self.fd_radius(q)
        return (Ellipsis, slice(r, N + 1 - r), slice(r, N + 1 - r))

    def fd_features(self, u, f, q):
        """``(D (1, ..., m), f (..., m))``: ``D_0 = -(FD_q^xx + FD_q^yy) u`` (q = 2: the 5-point
        Laplacian; q = 4: the 9-point plus of the 4th-order 1D stencils) at the ``m`` nodes
        where it fits, flattened; ``k D_0 = f`` up to the truncation error. ``u``, ``f``:
        ``(..., N + 1, N + 1)``."""
        self.check_fd_order(q)
        u = np.asarray(u, dtype=np.float64)
        N = u.shape[-1] - 1
        r = self.fd_radius(q)
        h = 1.0 / N
        uxx = stencils.apply_fd(np.swapaxes(u, -1, -2), 2, q, h)        # (..., N+1, n) over x
        uxx = np.swapaxes(uxx, -1, -2)[..., r: N + 1 - r]              # (..., n, n)
        uyy = stencils.apply_fd(u, 2, q, h)[..., r: N + 1 - r, :]
        D = -(uxx + uyy)
        fi = np.asarray(f, dtype=np.float64)[self.fd_nodes(N, q)]
        return self.flat_nodes(D)[None], self.flat_nodes(fi)

    def fd_bias(self, space, coefficients, N, q):
        """Thm 3.1 analogue, leading order: ``(w* - k)/k ~ mu_q h^q k <f, d_x^(q+2) u +
        d_y^(q+2) u> / ||f||^2`` over the samples and :meth:`fd_nodes` (``mu_q`` of the 1D
        stencil, ``FD_q u'' = u'' + mu_q h^q u^(q+2) + ...``); ``nan`` for fem."""
        space = self._space(space)
        if space.family == "fem":
            return np.array([np.nan])
        from greenbench.spaces import evaluate

        x = self.grid(N)
        r = self.fd_radius(q)
        xn = x[r: N + 1 - r]
        c = np.asarray(coefficients, dtype=np.float64)
        f = evaluate(space, c, xn)
        R = np.einsum("nab,ijab->nij", c, self.solution_tensor(space, xn, (q + 2, 0))
                      + self.solution_tensor(space, xn, (0, q + 2)), optimize=True)
        mu = stencils.fd_truncation_coefficients(2, q, 1)[q]
        return np.array([mu * (1.0 / N) ** q * self.k * np.sum(f * R) / np.sum(f * f)])

    # ---------------------------------------------------------------- physics residual
    def residual(self, derivs: Mapping[Any, Any], f: Any, coef: Mapping[str, Any]) -> Any:
        """``-k (u_xx + u_yy) - f``; ``derivs`` keyed by the multi-indices ``(2, 0)`` and
        ``(0, 2)`` (:attr:`derivative_orders`)."""
        return super().residual(derivs, f, coef)
