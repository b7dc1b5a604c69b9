"""The simply supported beam ``k u'''' = f`` on (0, 1), ``u = u'' = 0`` at both ends
(docs/operators.md, "biharmonic1d"; the choice of supports: docs/decisions.md).

Green's function: with ``G2(x, s) = min (1 - max)`` (Poisson's for k = 1), ``v = u''`` solves
``k v'' = f, v(0) = v(1) = 0`` and ``u'' = v``, so ``G4(x, s) = int_0^1 G2(x, t) G2(t, s) dt / k``:

    G4(x, s) = m (1 - M) (2 M - M^2 - m^2) / (6 k),   m = min(x, s), M = max(x, s),

a piecewise cubic in each argument, symmetric, with ``G4, d_x G4, d_x^2 G4`` continuous at
``x = s`` and the jump ``[d_x^3 G4] = 1 / k``. The sines are eigenfunctions:
``sin(i pi x) -> sin(i pi x) / (k (i pi)^4)``; poly and cos have closed forms too
(:func:`greenbench.operators._closed_forms.biharmonic_solution`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from greenbench.operators._closed_forms import biharmonic_solution
from greenbench.operators.base import Operator, Term, _space
from greenbench.spaces import Space

__all__ = ["Biharmonic1d"]


class Biharmonic1d(Operator):
    """``k u'''' = f``, simply supported: ``u(0) = u(1) = u''(0) = u''(1) = 0``."""

    name: ClassVar[str] = "biharmonic1d"
    COEFFICIENTS: ClassVar[tuple[str, ...]] = ("k",)
    terms: ClassVar[tuple[Term, ...]] = (Term("k", 1.0, 4),)
    FD_ORDERS: ClassVar[tuple[int, ...]] = (2, 4)
    MASS_KINDS: ClassVar[tuple[str, ...]] = ("consistent",)
    symmetric: ClassVar[bool] = True
    boundary_conditions: ClassVar[tuple[tuple[int, float], ...]] = (
        (0, 0.0), (0, 1.0), (2, 0.0), (2, 1.0))

    def greens_function(self, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        x, s = np.asarray(x, dtype=np.float64), np.asarray(s, dtype=np.float64)
        m, M = np.minimum(x, s), np.maximum(x, s)
        return m * (1.0 - M) * (2.0 * M - M * M - m * m) / (6.0 * self.coefficients["k"])

    def solution_basis(self, space: Space | str, x: np.ndarray) -> np.ndarray:
        """Closed form: ``x^i -> x^{i+4} i!/(i+4)!/k`` + cubic, ``cos(i pi x) ->
        cos(i pi x)/(k (i pi)^4)`` + cubic, ``sin(i pi x) -> sin(i pi x)/(k (i pi)^4)``."""
        return self.solution_derivatives(space, x, 0)

    def solution_derivatives(self, space: Space | str, x: np.ndarray, d: int) -> np.ndarray:
        space = _space(space)
        if space.family == "fem":
            raise ValueError(f"no closed-form solution basis for space {space.name!r} "
                             f"(use fem_operator)")
        return biharmonic_solution(space, x, d, self.coefficients["k"])

    def discrete_residual(self, f: np.ndarray, u: np.ndarray,
                          mass: str = "consistent") -> tuple[np.ndarray, float]:
        """An exact pentadiagonal equation of nodal ``u`` and piecewise-linear nodal ``f``,
        derived without ``G4`` (docs/operators.md, "biharmonic1d: discrete check"):

            (k / dx^4) T^2 u - S (S' f) / 36 + T (R f) / 360 = 0   on the interior nodes,

        ``T = tridiag(1, -2, 1)``, ``S = tridiag(1, 4, 1)`` acting on interior vectors (zero
        outside), ``S' f = f_{i-1} + 4 f_i + f_{i+1}``, ``R f = 7 f_{i-1} + 16 f_i + 7 f_{i+1}``.
        Returns the residual ``(n, N-1)`` and the scale of its terms."""
        self.check_mass(mass)
        f, u = np.atleast_2d(np.asarray(f, dtype=np.float64)), np.atleast_2d(
            np.asarray(u, dtype=np.float64))
        N = u.shape[-1] - 1
        k = self.coefficients["k"]

        def band(y: np.ndarray, lo: float, mid: float, hi: float) -> np.ndarray:
            z = np.pad(y, [(0, 0), (1, 1)])
            return lo * z[:, :-2] + mid * z[:, 1:-1] + hi * z[:, 2:]

        Tu = band(u[:, 1:-1], 1.0, -2.0, 1.0)
        Sf = f[:, :-2] + 4.0 * f[:, 1:-1] + f[:, 2:]
        Rf = 7.0 * f[:, :-2] + 16.0 * f[:, 1:-1] + 7.0 * f[:, 2:]
        lhs = k * N**4 * band(Tu, 1.0, -2.0, 1.0)
        res = lhs - band(Sf, 1.0, 4.0, 1.0) / 36.0 + band(Rf, 1.0, -2.0, 1.0) / 360.0
        size = 16.0 * k * N**4 * np.abs(u).max(initial=0.0) + np.abs(f).max(initial=0.0)
        return res, float(size)

    def fd_exact(self, space: Space | str, q: int) -> bool:
        """``u`` of ``poly{p}`` has degree ``p + 4``; the order-q fourth-derivative stencil is
        exact up to degree ``q + 3``: exact iff ``p < q`` (as for Poisson). cos / sin / fem:
        never."""
        space = _space(space)
        return space.family == "poly" and space.p < q
