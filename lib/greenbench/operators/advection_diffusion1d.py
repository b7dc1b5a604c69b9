"""Advection-diffusion ``-k u'' + b u' = f`` on (0, 1), ``u(0) = u(1) = 0`` (docs/operators.md,
"advection_diffusion1d"). Its Green's function is not symmetric.

With the Peclet number ``Pe = b / k``, ``m = min(x, s)``, ``M = max(x, s)`` and
``E(t) = (1 - e^{-|Pe| t}) / |Pe|`` (``= t`` for ``Pe = 0``):

    G(x, s) = E(m) E(1 - M) / (k E(1)) * e^{-max(0, Pe (s - x))},

i.e. for ``Pe > 0``: ``(e^{Pe x} - 1)(e^{Pe (1-s)} - 1) / (k Pe (e^{Pe} - 1))`` for ``x <= s``
and ``(1 - e^{-Pe s})(e^{Pe} - e^{Pe x}) / (k Pe (e^{Pe} - 1))`` for ``x >= s``, rewritten with
only non-positive exponents so that no term overflows for any ``b / k``; ``Pe < 0`` follows
from the reflection ``G_b(x, s) = G_{-b}(1 - x, 1 - s)``. Derivation: docs/operators.md.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from greenbench.operators._closed_forms import second_order_solution
from greenbench.operators.base import Operator, Term, _space
from greenbench.spaces import Space

__all__ = ["AdvectionDiffusion1d"]


class AdvectionDiffusion1d(Operator):
    """``-k u'' + b u' = f``, ``u(0) = u(1) = 0``."""

    name: ClassVar[str] = "advection_diffusion1d"
    COEFFICIENTS: ClassVar[tuple[str, ...]] = ("k", "b")
    terms: ClassVar[tuple[Term, ...]] = (Term("k", -1.0, 2), Term("b", 1.0, 1))
    FD_ORDERS: ClassVar[tuple[int, ...]] = (2, 4, 6)
    MASS_KINDS: ClassVar[tuple[str, ...]] = ("consistent",)
    symmetric: ClassVar[bool] = False

    def greens_function(self, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        x, s = np.asarray(x, dtype=np.float64), np.asarray(s, dtype=np.float64)
        k, pe = self.coefficients["k"], self.coefficients["b"] / self.coefficients["k"]
        m, M = np.minimum(x, s), np.maximum(x, s)
        if pe == 0.0:
            return m * (1.0 - M) / k
        ape = abs(pe)

        def E(t: np.ndarray) -> np.ndarray:
            return -np.expm1(-ape * t) / ape

        return E(m) * E(1.0 - M) / (k * E(1.0)) * np.exp(-np.maximum(0.0, pe * (s - x)))

    def solution_basis(self, space: Space | str, x: np.ndarray) -> np.ndarray:
        """Closed form for sin and cos (``Re/Im e^{i w x} / (k w^2 + i b w)`` + exponential
        lift); poly by Green's-function quadrature (its polynomial particular solution
        ``sum_j (k/b)^j ...`` cancels digits for small ``b / k``; tested against each other)."""
        space = _space(space)
        if space.family == "poly":
            return super().solution_basis(space, x)
        return self.solution_derivatives(space, x, 0)

    def solution_derivatives(self, space: Space | str, x: np.ndarray, d: int) -> np.ndarray:
        space = _space(space)
        if space.family == "fem":
            raise ValueError(f"no closed-form solution basis for space {space.name!r} "
                             f"(use fem_operator)")
        return second_order_solution(space, x, d, self.coefficients["k"],
                                     self.coefficients["b"], 0.0)

    def fd_exact(self, space: Space | str, q: int) -> bool:
        """For ``b != 0`` no solution of a smooth space is a polynomial (``e^{Pe x}`` lift):
        never. ``b = 0``: ``u`` of ``poly{p}`` has degree ``p + 2`` and the first-derivative
        stencil is exact up to degree ``q``: ``p <= q - 2``."""
        space = _space(space)
        return self.coefficients["b"] == 0.0 and space.family == "poly" and space.p <= q - 2
