"""Closed-form solutions of the constant-coefficient operators beyond Poisson (private helpers of
``biharmonic1d``, ``screened_poisson1d`` and ``advection_diffusion1d``; derivation in
docs/operators.md).

Every solution is ``u = u_p + sum_j alpha_j h_j``: a particular solution ``u_p`` of ``L u_p = phi``
for one basis function ``phi`` of a smooth space, plus homogeneous solutions ``h_j`` whose
coefficients make ``u`` satisfy the operator's boundary conditions. Particular solutions:

* trigonometric ``phi = Re/Im e^{i w x}`` (cos / sin, ``w = i pi``): ``u_p = Re/Im e^{i w x}/P(w)``
  with the symbol ``P(w) = sum_t sign_t coef_t (i w)^{m_t}``; its n-th derivative multiplies by
  ``(i w)^n``. At the boundary ``e^{i w} = (-1)^i`` exactly, so the lift uses exact values.
* monomial ``phi = x^i``: a polynomial ``u_p`` found by back substitution
  (:func:`second_order_poly_particular`, :func:`biharmonic_poly_particular`).

Only numpy float64; ``n`` is the derivative order of every function here. :class:`SecondOrder1d`
holds the solution routes (closed form or Green's quadrature) of the two second-order operators.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.polynomial import polynomial as P

from greenbench.operators import quadrature
from greenbench.operators.base import Operator, _space
from greenbench.operators.quadrature import gauss_legendre
from greenbench.spaces import Space, basis_matrix

__all__ = ["poly_eval", "second_order_poly_particular", "biharmonic_poly_particular",
           "second_order_solution", "biharmonic_solution",
           "trig_particular", "trig_boundary", "exp_lift", "sinh_lift", "three_point_residual",
           "POLY_CLOSED_FORM_MIN_RATE", "second_order_poly_by_recursion", "SecondOrder1d"]


def poly_eval(a: np.ndarray, x: np.ndarray, n: int) -> np.ndarray:
    """``d^n/dx^n sum_j a_j x^j`` at ``x``."""
    d = P.polyder(a, n) if n else a
    return P.polyval(x, d) if len(d) else np.zeros_like(x)


def second_order_poly_particular(i: int, k: float, b: float, c: float) -> np.ndarray:
    """Monomial coefficients of a polynomial ``p`` with ``-k p'' + b p' + c p = x^i``.

    ``c != 0``: degree ``i``, ``a_d = ([d == i] - b (d+1) a_{d+1} + k (d+2)(d+1) a_{d+2}) / c``
    from ``d = i`` down; ``c == 0 != b``: degree ``i + 1`` with ``a_0 = 0``; both zero: Poisson's
    ``-x^{i+2} / (k (i+1)(i+2))``."""
    a = np.zeros(i + 4)
    if c != 0.0:
        for d in range(i, -1, -1):
            a[d] = (float(d == i) - b * (d + 1) * a[d + 1] + k * (d + 2) * (d + 1) * a[d + 2]) / c
    elif b != 0.0:
        for d in range(i, -1, -1):
            a[d + 1] = (float(d == i) + k * (d + 2) * (d + 1) * a[d + 2]) / (b * (d + 1))
    else:
        a[i + 2] = -1.0 / (k * (i + 1) * (i + 2))
    return a


def biharmonic_poly_particular(i: int, k: float) -> np.ndarray:
    """Monomial coefficients of ``x^{i+4} i! / ((i+4)! k)``: ``k p'''' = x^i``."""
    a = np.zeros(i + 5)
    a[i + 4] = 1.0 / (k * (i + 1) * (i + 2) * (i + 3) * (i + 4))
    return a


def _trig_parts(space: Space) -> tuple[np.ndarray, bool]:
    """Frequencies ``w = i pi`` of the basis functions and whether the family takes ``Im``."""
    if space.family == "sin":
        return np.arange(1, space.p + 1) * np.pi, True
    return np.arange(space.p + 1) * np.pi, False


def trig_particular(space: Space, symbol: np.ndarray, x: np.ndarray, n: int) -> np.ndarray:
    """n-th derivative of ``Re/Im(e^{i w x} / symbol)`` for every frequency of a cos / sin
    space: ``(len(x), m)``. ``symbol`` holds ``P(w)`` per basis function (complex)."""
    w, imag = _trig_parts(space)
    z = (1j * w) ** n / symbol * np.exp(1j * np.outer(x, w))
    return z.imag if imag else z.real


def trig_boundary(space: Space, symbol: np.ndarray, n: int, at: float) -> np.ndarray:
    """Exact n-th derivative of the particular solution at ``x = 0`` or ``1`` (``e^{i w} =
    (-1)^i``), so that a sin particular solution that already vanishes needs no lift."""
    w, imag = _trig_parts(space)
    i = np.rint(w / np.pi).astype(int)
    e = np.ones(len(w)) if at == 0.0 else np.where(i % 2 == 0, 1.0, -1.0)
    z = e * ((1j * w) ** n / symbol)
    return z.imag if imag else z.real


def sinh_lift(a: float, x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n-th derivatives of ``h0 = sinh(a (1 - x)) / sinh(a)`` and ``h1 = sinh(a x) / sinh(a)``
    (``h0(0) = h1(1) = 1``, ``h0(1) = h1(0) = 0``), overflow-free:
    ``sinh(a x) / sinh(a) = (e^{a (x-1)} - e^{-a (x+1)}) / (1 - e^{-2a})`` (cosh with +)."""
    x = np.asarray(x, dtype=np.float64)

    def h1(t: np.ndarray) -> np.ndarray:
        if a == 0.0:
            return t if n == 0 else (np.ones_like(t) if n == 1 else np.zeros_like(t))
        sgn = -1.0 if n % 2 == 0 else 1.0  # even n: sinh, odd n: cosh
        return a**n * (np.exp(a * (t - 1.0)) + sgn * np.exp(-a * (t + 1.0))) / -np.expm1(-2 * a)

    return (-1.0) ** n * h1(1.0 - x), h1(x)


def exp_lift(pe: float, x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n-th derivatives of ``h1 = (e^{Pe x} - 1) / (e^{Pe} - 1)`` and ``h0 = 1 - h1``,
    overflow-free for either sign of ``Pe`` (for ``Pe > 0``:
    ``h1 = e^{Pe (x-1)} (1 - e^{-Pe x}) / (1 - e^{-Pe})``); ``Pe = 0``: ``h1 = x``."""
    x = np.asarray(x, dtype=np.float64)
    if pe == 0.0:
        h1 = x if n == 0 else (np.ones_like(x) if n == 1 else np.zeros_like(x))
    elif pe > 0.0:
        if n == 0:
            h1 = np.exp(pe * (x - 1.0)) * -np.expm1(-pe * x) / -np.expm1(-pe)
        else:
            h1 = pe**n * np.exp(pe * (x - 1.0)) / -np.expm1(-pe)
    else:
        h1 = np.expm1(pe * x) / np.expm1(pe) if n == 0 else pe**n * np.exp(pe * x) / np.expm1(pe)
    h0 = (1.0 - h1) if n == 0 else -h1
    return h0, h1


def second_order_solution(space: Space, x: np.ndarray, n: int, k: float, b: float,
                          c: float) -> np.ndarray:
    """n-th derivative of the exact solutions of ``-k u'' + b u' + c u = phi``,
    ``u(0) = u(1) = 0``, for each basis function ``phi`` of a smooth space: ``(len(x), m)``.

    ``u = u_p - u_p(0) h0 - u_p(1) h1`` with the homogeneous pair of :func:`sinh_lift`
    (``b = 0``, ``a = sqrt(c / k)``) or :func:`exp_lift` (``c = 0``, ``Pe = b / k``)."""
    if b != 0.0 and c != 0.0:
        raise ValueError("closed forms cover b = 0 or c = 0 only")
    x = np.asarray(x, dtype=np.float64).ravel()
    h0, h1 = sinh_lift(np.sqrt(c / k), x, n) if b == 0.0 else exp_lift(b / k, x, n)
    if space.family == "poly":
        cols = []
        for i in range(space.p + 1):
            a = second_order_poly_particular(i, k, b, c)
            u0, u1 = P.polyval(0.0, a), P.polyval(1.0, a)
            cols.append(poly_eval(a, x, n) - u0 * h0 - u1 * h1)
        return np.stack(cols, axis=1)
    if space.family not in ("cos", "sin"):
        raise ValueError(f"no closed-form solution for space {space.name!r}")
    w, _ = _trig_parts(space)
    symbol = k * w**2 + 1j * b * w + c
    zero = symbol == 0  # cos0 = x^0 when c = 0: the polynomial route
    safe = np.where(zero, 1.0, symbol)
    up = trig_particular(space, safe, x, n)
    u0, u1 = trig_boundary(space, safe, 0, 0.0), trig_boundary(space, safe, 0, 1.0)
    out = up - np.outer(h0, u0) - np.outer(h1, u1)
    if zero.any():
        a = second_order_poly_particular(0, k, b, c)
        out[:, zero] = (poly_eval(a, x, n) - P.polyval(0.0, a) * h0
                        - P.polyval(1.0, a) * h1)[:, None]
    return out


def biharmonic_solution(space: Space, x: np.ndarray, n: int, k: float) -> np.ndarray:
    """n-th derivative of the exact solutions of ``k u'''' = phi``, ``u = u'' = 0`` at 0 and 1
    (simply supported), for each basis function of a smooth space: ``(len(x), m)``.

    ``u = u_p + r`` with the cubic ``r = r_0 + r_1 x + r_2 x^2 + r_3 x^3`` fixed by
    ``r(0) = -u_p(0)``, ``r''(0) = -u_p''(0)``, ``r(1) = -u_p(1)``, ``r''(1) = -u_p''(1)``:
    ``r_0 = -u_p(0)``, ``r_2 = -u_p''(0) / 2``, ``r_3 = (-u_p''(1) - 2 r_2) / 6``,
    ``r_1 = -u_p(1) - r_0 - r_2 - r_3``. For sin every boundary value is exactly 0 and
    ``u = sin(i pi x) / (k (i pi)^4)``."""
    x = np.asarray(x, dtype=np.float64).ravel()

    def cubic(v0: np.ndarray, d0: np.ndarray, v1: np.ndarray, d1: np.ndarray) -> np.ndarray:
        r0, r2 = -v0, -d0 / 2.0
        r3 = (-d1 - 2.0 * r2) / 6.0
        r1 = -v1 - r0 - r2 - r3
        R = np.stack([r0, r1, r2, r3])  # (4, m)
        return np.stack([poly_eval(R[:, j], x, n) for j in range(R.shape[1])], axis=1)

    if space.family == "poly":
        A = [biharmonic_poly_particular(i, k) for i in range(space.p + 1)]
        up = np.stack([poly_eval(a, x, n) for a in A], axis=1)
        bv = [np.array([poly_eval(a, np.array([at]), d)[0] for a in A])
              for d, at in ((0, 0.0), (2, 0.0), (0, 1.0), (2, 1.0))]
        return up + cubic(*bv)
    if space.family not in ("cos", "sin"):
        raise ValueError(f"no closed-form solution for space {space.name!r}")
    w, _ = _trig_parts(space)
    zero = w == 0
    symbol = np.where(zero, 1.0, k * w**4).astype(complex)
    up = trig_particular(space, symbol, x, n)
    bv = [trig_boundary(space, symbol, d, at) for d, at in ((0, 0.0), (2, 0.0), (0, 1.0),
                                                            (2, 1.0))]
    out = up + cubic(*bv)
    if zero.any():  # cos0 = x^0
        out[:, zero] = biharmonic_solution(Space("poly", 0), x, n, k)
    return out


def three_point_residual(f: np.ndarray, u: np.ndarray, k: float,
                         stencil: tuple[float, float, float],
                         psi_left: Callable[[np.ndarray], np.ndarray],
                         psi_right: Callable[[np.ndarray], np.ndarray],
                         n_points: int = 64) -> tuple[np.ndarray, float]:
    """Residual of the exact three-point scheme of a second-order operator (docs/operators.md,
    "Exact three-point schemes"), ``(n, N-1)``, and the scale of its terms:

        (k / h) (s_- u_{i-1} + s_0 u_i + s_+ u_{i+1}) - int_{-h}^{h} psi(t) f(x_i + t) dt,

    ``psi`` the tent with ``L* psi = 0`` on each element (``psi_left`` on ``[-h, 0]``,
    ``psi_right`` on ``[0, h]``, both 1 at 0); the integral of piecewise-linear ``f`` against it
    is one set of four weights (translation invariance), by ``n_points`` Gauss-Legendre points
    per element (``psi`` is smooth there). Exact for every ``f``, so the fem data satisfy it
    to round-off; it uses no Green's function."""
    f, u = np.atleast_2d(np.asarray(f, dtype=np.float64)), np.atleast_2d(
        np.asarray(u, dtype=np.float64))
    N = u.shape[-1] - 1
    h = 1.0 / N
    t, w = gauss_legendre(n_points)
    pr, pl = psi_right(h * t) * h * w, psi_left(-h * t) * h * w
    near = float(np.sum(pr * (1.0 - t)) + np.sum(pl * (1.0 - t)))
    far_r, far_l = float(np.sum(pr * t)), float(np.sum(pl * t))
    sm, s0, sp = stencil
    lhs = (k / h) * (sm * u[:, :-2] + s0 * u[:, 1:-1] + sp * u[:, 2:])
    rhs = far_l * f[:, :-2] + near * f[:, 1:-1] + far_r * f[:, 2:]
    size = (k / h) * (abs(sm) + abs(s0) + abs(sp)) * np.abs(u).max(initial=0.0) \
        + h * np.abs(f).max(initial=0.0)
    return lhs - rhs, float(size)


# Below this decay rate (sqrt(c/k) or |b|/k) the polynomial particular solutions cancel digits
# against the lift (measured error ~ 4 eps kappa, kappa = sum |a_j| / max |u|: 1e-13 at rate
# 3.2, 2e-7 at rate 0.63, O(1) at rate 0.1), so poly derivatives come from the ODE instead.
POLY_CLOSED_FORM_MIN_RATE = 2.0


def second_order_poly_by_recursion(space: Space, x: np.ndarray, n: int, k: float, b: float,
                                   c: float, u: Callable[[np.ndarray], np.ndarray],
                                   du: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """n-th derivative of the poly solution basis of ``-k u'' + b u' + c u = x^i`` from ``u``
    and ``u'`` (callables of x giving ``(len(x), p + 1)``, e.g. Green's quadrature with G and
    ``d_x G``) and the ODE, ``k u^(m) = b u^(m-1) + c u^(m-2) - (x^i)^(m-2)``: stable for small
    rates, where the closed form cancels (:data:`POLY_CLOSED_FORM_MIN_RATE`)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    if n == 0:
        return u(x)
    d = [u(x), du(x)]
    eye = np.eye(space.p + 1)
    for m in range(2, n + 1):
        fm = np.stack([poly_eval(eye[i], x, m - 2) for i in range(space.p + 1)], axis=1)
        d.append((b * d[m - 1] + c * d[m - 2] - fm) / k)
    return d[n]


class SecondOrder1d(Operator):
    """The solution routes shared by ``screened_poisson1d`` and ``advection_diffusion1d``
    (``-k u'' + b u' + c u = f``, ``u(0) = u(1) = 0``, with ``b = 0`` or ``c = 0``), whose
    Green's functions decay like ``e^{-rate |x - s|}``. A subclass gives :meth:`_rate` and
    ``d_x G`` (:meth:`_dgreens`)."""

    def _rate(self) -> float:
        """Decay rate of the exponentials in G (per unit length)."""
        raise NotImplementedError

    def _dgreens(self, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        """``d_x G`` (used below :data:`POLY_CLOSED_FORM_MIN_RATE` only)."""
        raise NotImplementedError

    def solution_basis(self, space: Space | str, x: np.ndarray) -> np.ndarray:
        """Closed forms for sin and cos; poly by Green's-function quadrature, whose point count
        grows with the decay rate (the poly closed form cancels digits at small rates)."""
        space = _space(space)
        if space.family == "poly":
            n = self.QUADRATURE_POINTS
            if 2.0 * self._rate() > n / 2:  # resolve e^{-rate |x - s|} on each side
                n = int(np.ceil(2.0 * self._rate())) + n // 2
            return quadrature.greens_solve(self.greens_function,
                                           lambda s: basis_matrix(space, s), x, n)
        return self.solution_derivatives(space, x, 0)

    def fem_operator(self, N: int, mass: str = "consistent") -> np.ndarray:
        """Element-by-element Green's quadrature with enough points for the cell parameter
        ``z = rate dx`` (``ELEMENT_POINTS`` while ``2 z <= 1``, else ``ceil(2 z) + 16``): G's
        exponentials vary on the scale ``1 / rate``, and 8 points lose digits once ``z``
        reaches ~10 (measured: docs/operators.md)."""
        self.check_mass(mass)
        z = self._rate() / N
        n = self.ELEMENT_POINTS if 2.0 * z <= 1.0 else int(np.ceil(2.0 * z)) + 16
        return quadrature.fem_greens_operator(self.greens_function, N, n)

    def solution_derivatives(self, space: Space | str, x: np.ndarray, d: int) -> np.ndarray:
        """Closed forms; for poly at small rates (where they cancel digits) ``u`` and ``u'``
        by Green's quadrature (G and ``d_x G``) and higher derivatives from the ODE."""
        space = _space(space)
        if space.family == "fem":
            raise ValueError(f"no closed-form solution basis for space {space.name!r} "
                             f"(use fem_operator)")
        k = self.coefficients["k"]
        b, c = self.coefficients.get("b", 0.0), self.coefficients.get("c", 0.0)
        if space.family == "poly" and self._rate() < POLY_CLOSED_FORM_MIN_RATE:
            n = self.QUADRATURE_POINTS

            def by(kernel):
                return lambda t: quadrature.greens_solve(
                    kernel, lambda s: basis_matrix(space, s), t, n)
            return second_order_poly_by_recursion(space, x, d, k, b, c,
                                                  by(self.greens_function), by(self._dgreens))
        return second_order_solution(space, x, d, k, b, c)
