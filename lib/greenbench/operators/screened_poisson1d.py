"""Screened Poisson (reaction-diffusion) ``-k u'' + c u = f`` on (0, 1), ``u(0) = u(1) = 0``,
``c >= 0`` (docs/operators.md, "screened_poisson1d").

Green's function, ``a = sqrt(c / k)``, ``m = min(x, s)``, ``M = max(x, s)``:

    G(x, s) = sinh(a m) sinh(a (1 - M)) / (k a sinh a)
            = e^{-a (M - m)} (1 - e^{-2 a m}) (1 - e^{-2 a (1 - M)}) / (2 k a (1 - e^{-2 a})),

the second form free of overflow and relatively accurate for every ``a > 0`` (``c = 0``:
Poisson's ``m (1 - M) / k``). Symmetric. The sines are eigenfunctions,
``sin(i pi x) -> sin(i pi x) / (k (i pi)^2 + c)``; cos and poly have closed forms with a sinh
lift (:func:`greenbench.operators._closed_forms.second_order_solution`), but a poly{p} solution
is not a polynomial, so the FD stencils are never exact on it (``c > 0``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from greenbench.operators._closed_forms import SecondOrder1d, three_point_residual
from greenbench.operators.base import Term, _space
from greenbench.spaces import Space

__all__ = ["ScreenedPoisson1d"]


class ScreenedPoisson1d(SecondOrder1d):
    """``-k u'' + c u = f``, ``u(0) = u(1) = 0``.

    Solutions (:class:`~greenbench.operators._closed_forms.SecondOrder1d`): closed form for sin
    (``sin(i pi x) / (k (i pi)^2 + c)``) and cos (with a sinh lift); poly by Green's-function
    quadrature: its closed form (polynomial particular solution ``sum_j (k/c)^j (x^i)^(2j) / c``
    + sinh lift) cancels digits when ``c / k`` is small, the quadrature does not (tested against
    each other)."""

    name: ClassVar[str] = "screened_poisson1d"
    COEFFICIENTS: ClassVar[tuple[str, ...]] = ("k", "c")
    terms: ClassVar[tuple[Term, ...]] = (Term("k", -1.0, 2), Term("c", 1.0, 0))
    FD_ORDERS: ClassVar[tuple[int, ...]] = (2, 4, 6)
    MASS_KINDS: ClassVar[tuple[str, ...]] = ("consistent",)
    symmetric: ClassVar[bool] = True

    def check_coefficients(self, values: Mapping[str, float]) -> None:
        super().check_coefficients(values)
        if not values["c"] >= 0:
            raise ValueError(f"operator {self.name}: coefficient c must be >= 0, "
                             f"got {values['c']!r}")

    def greens_function(self, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        x, s = np.asarray(x, dtype=np.float64), np.asarray(s, dtype=np.float64)
        k, c = self.coefficients["k"], self.coefficients["c"]
        m, M = np.minimum(x, s), np.maximum(x, s)
        if c == 0.0:
            return m * (1.0 - M) / k
        a = np.sqrt(c / k)
        return (np.exp(-a * (M - m)) * -np.expm1(-2.0 * a * m) * -np.expm1(-2.0 * a * (1.0 - M))
                / (2.0 * k * a * -np.expm1(-2.0 * a)))

    def _rate(self) -> float:
        """Decay rate of the exponentials in G (per unit length)."""
        return float(np.sqrt(self.coefficients["c"] / self.coefficients["k"]))

    def _dgreens(self, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        """``d_x G`` (used for small ``a`` only: the plain sinh form cannot overflow there):
        ``cosh(a x) sinh(a (1-s)) / (k sinh a)`` for x < s, ``-sinh(a s) cosh(a (1-x)) /
        (k sinh a)`` for x > s; ``c = 0``: ``(1 - s)/k`` and ``-s/k``."""
        x, s = np.asarray(x, dtype=np.float64), np.asarray(s, dtype=np.float64)
        k, a = self.coefficients["k"], self._rate()
        if a == 0.0:
            return np.where(x < s, 1.0 - s, -s) / k
        return np.where(x < s, np.cosh(a * x) * np.sinh(a * (1.0 - s)),
                        -np.sinh(a * s) * np.cosh(a * (1.0 - x))) / (k * np.sinh(a))

    def discrete_residual(self, f: np.ndarray, u: np.ndarray,
                          mass: str = "consistent") -> tuple[np.ndarray, float]:
        """The exact three-point scheme (no Green's function; docs/operators.md):
        ``(k / h) (z / sinh z) (2 cosh(z) u_i - u_{i-1} - u_{i+1}) = int psi f``, ``z = a h``,
        with the tent ``psi(t) = sinh(a (h - |t|)) / sinh(a h)``."""
        self.check_mass(mass)
        k, c = self.coefficients["k"], self.coefficients["c"]
        N = np.shape(u)[-1] - 1
        h = 1.0 / N
        a = float(np.sqrt(c / k))
        z = a * h
        if a == 0.0:
            stencil = (-1.0, 2.0, -1.0)

            def psi(t: np.ndarray) -> np.ndarray:
                return 1.0 - np.abs(t) / h
        else:
            r = z / np.sinh(z) if z < 700.0 else 0.0
            # 2 z cosh(z) / sinh(z) = 2 z / tanh(z)
            stencil = (-r, 2.0 * z / np.tanh(z), -r)

            def psi(t: np.ndarray) -> np.ndarray:  # overflow-free sinh(a (h-|t|)) / sinh(a h)
                s = np.abs(t)
                return np.exp(-a * s) * np.expm1(-2.0 * a * (h - s)) / np.expm1(-2.0 * z)
        return three_point_residual(f, u, k, stencil, psi, psi)

    def fd_exact(self, space: Space | str, q: int) -> bool:
        """For ``c > 0`` no solution of a smooth space is a polynomial (sinh lift): never.
        ``c = 0`` is Poisson: ``poly{p}`` with ``p < q``."""
        space = _space(space)
        return self.coefficients["c"] == 0.0 and space.family == "poly" and space.p < q
