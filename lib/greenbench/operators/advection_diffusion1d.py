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

from greenbench.operators._closed_forms import SecondOrder1d, three_point_residual
from greenbench.operators.base import Term, _space
from greenbench.spaces import Space

__all__ = ["AdvectionDiffusion1d"]


class AdvectionDiffusion1d(SecondOrder1d):
    """``-k u'' + b u' = f``, ``u(0) = u(1) = 0``.

    Solutions (:class:`~greenbench.operators._closed_forms.SecondOrder1d`): closed form for sin
    and cos (``Re/Im e^{i w x} / (k w^2 + i b w)`` + exponential lift); poly by Green's-function
    quadrature (its polynomial particular solution ``sum_j (k/b)^j ...`` cancels digits for
    small ``b / k``; tested against each other)."""

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

    def _rate(self) -> float:
        """Decay rate of the exponentials in G (per unit length)."""
        return abs(self.coefficients["b"]) / self.coefficients["k"]

    def _dgreens(self, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        """``d_x G`` (used for small ``|Pe|`` only): ``e^{Pe x} (e^{Pe (1-s)} - 1) /
        (k (e^{Pe} - 1))`` for x < s, ``e^{Pe x} (e^{-Pe s} - 1) / (k (e^{Pe} - 1))`` for
        x > s; ``Pe = 0``: ``(1 - s)/k`` and ``-s/k``."""
        x, s = np.asarray(x, dtype=np.float64), np.asarray(s, dtype=np.float64)
        k, pe = self.coefficients["k"], self.coefficients["b"] / self.coefficients["k"]
        if pe == 0.0:
            return np.where(x < s, 1.0 - s, -s) / k
        return np.exp(pe * x) * np.where(x < s, np.expm1(pe * (1.0 - s)),
                                         np.expm1(-pe * s)) / (k * np.expm1(pe))

    def discrete_residual(self, f: np.ndarray, u: np.ndarray,
                          mass: str = "consistent") -> tuple[np.ndarray, float]:
        """The exact three-point (Scharfetter-Gummel) scheme, no Green's function
        (docs/operators.md): ``(k / h) ((B(z) + B(-z)) u_i - B(-z) u_{i-1} - B(z) u_{i+1}) =
        int psi f`` with ``z = b h / k``, the Bernoulli function ``B(z) = z / (e^z - 1)`` and the
        tent ``psi`` solving ``-k psi'' - b psi' = 0`` on each element."""
        self.check_mass(mass)
        k = self.coefficients["k"]
        pe = self.coefficients["b"] / k
        N = np.shape(u)[-1] - 1
        h = 1.0 / N
        z = pe * h
        if pe == 0.0:
            stencil = (-1.0, 2.0, -1.0)

            def psi_l(t: np.ndarray) -> np.ndarray:
                return 1.0 - np.abs(t) / h
            psi_r = psi_l
        else:
            bz, bmz = z / np.expm1(z), -z / np.expm1(-z)
            stencil = (-bmz, bz + bmz, -bz)

            def psi_r(t: np.ndarray) -> np.ndarray:  # [0, h]: psi(0) = 1, psi(h) = 0
                return np.exp(-pe * t) * np.expm1(-pe * (h - t)) / np.expm1(-z)

            def psi_l(t: np.ndarray) -> np.ndarray:  # [-h, 0]: psi(-h) = 0, psi(0) = 1
                return np.exp(-pe * t) * np.expm1(pe * (h + t)) / np.expm1(z)
        return three_point_residual(f, u, k, stencil, psi_l, psi_r)

    def fd_exact(self, space: Space | str, q: int) -> bool:
        """For ``b != 0`` no solution of a smooth space is a polynomial (``e^{Pe x}`` lift):
        never. ``b = 0``: ``u`` of ``poly{p}`` has degree ``p + 2`` and the first-derivative
        stencil is exact up to degree ``q``: ``p <= q - 2``."""
        space = _space(space)
        return self.coefficients["b"] == 0.0 and space.family == "poly" and space.p <= q - 2
