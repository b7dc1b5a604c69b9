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

    def fd_exact(self, space: Space | str, q: int) -> bool:
        """``u`` of ``poly{p}`` has degree ``p + 4``; the order-q fourth-derivative stencil is
        exact up to degree ``q + 3``: exact iff ``p < q`` (as for Poisson). cos / sin / fem:
        never."""
        space = _space(space)
        return space.family == "poly" and space.p < q
