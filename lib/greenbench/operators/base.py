"""The operator interface: ``Term`` and the ``Operator`` base class (docs/architecture.md,
"Operators").

An operator is ``L u = sum_t sign_t * coef[t.coefficient] * d^{m_t} u / dx^{m_t}`` on (0, 1),
grid ``x_i = i / N``, homogeneous boundary conditions (``u(0) = u(1) = 0`` and, for higher
order operators, the conditions in ``boundary_conditions``); unknowns are the interior nodes
``1 .. N - 1``. An instance has its coefficient values bound (``coefficients``). Everything is
float64 numpy except :meth:`Operator.residual` (torch, for the physics-informed models).

A subclass gives at least ``name``, ``COEFFICIENTS``, ``terms`` and :meth:`greens_function`;
everything else has a general implementation (Green's-function quadrature for the exact
solutions, generic least-squares features for the FD model) that a subclass may replace by a
closed form. Registering an operator is adding its module to ``greenbench.operators``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import numpy as np

from greenbench.operators import quadrature, stencils
from greenbench.spaces import Space, basis_matrix, parse_space

__all__ = ["Term", "Operator"]


GRAM_COND_MAX = 1e10
"""Largest condition number of the Gram matrix of several coefficients' features for which the
coefficients count as identifiable from a space (``fd_bias``, ``theory.fd_lstsq_weights``);
above it (e.g. an eigenfunction space such as sin1, where ``-u''`` and ``u`` are proportional)
the least-squares coefficients are ``nan``."""


@dataclass(frozen=True)
class Term:
    """One term ``sign * coef[coefficient] * d^derivative u / dx^derivative`` of an operator.

    In 2D (``Operator.dim == 2``) ``derivative`` is a multi-index ``(d_x, d_y)``: the term is
    ``sign * coef * d^{d_x + d_y} u / dx^{d_x} dy^{d_y}`` (poisson2d: ``(k, -1, (2, 0))`` and
    ``(k, -1, (0, 2))``)."""

    coefficient: str
    sign: float
    derivative: int | tuple[int, ...]


def _space(space: Space | str) -> Space:
    return parse_space(space) if isinstance(space, str) else space


class Operator:
    """A linear constant-coefficient 1D operator with homogeneous boundary conditions."""

    name: ClassVar[str]
    # spatial dimension: the grid has (N + 1,) * dim nodes, the same 1D nodes x_i = i / N in
    # every direction; arrays of one sample are indexed [i_x] or [i_x, i_y]
    dim: ClassVar[int] = 1
    COEFFICIENTS: ClassVar[tuple[str, ...]]
    terms: ClassVar[tuple[Term, ...]]
    FD_ORDERS: ClassVar[tuple[int, ...]] = (2, 4)
    MASS_KINDS: ClassVar[tuple[str, ...]] = ("consistent",)
    symmetric: ClassVar[bool] = False
    # (derivative order, at x): that derivative of u vanishes there.
    boundary_conditions: ClassVar[tuple[tuple[int, float], ...]] = ((0, 0.0), (0, 1.0))
    # Gauss-Legendre points per side of x_i (smooth spaces) and per element (fem):
    # docs/decisions.md, "Green's-function quadrature".
    QUADRATURE_POINTS: ClassVar[int] = quadrature.SIDE_POINTS
    ELEMENT_POINTS: ClassVar[int] = quadrature.ELEMENT_POINTS

    def __init__(self, **coefficients: float) -> None:
        unknown = sorted(set(coefficients) - set(self.COEFFICIENTS))
        if unknown:
            raise ValueError(f"operator {self.name} has no coefficient {unknown[0]!r}; "
                             f"allowed: {list(self.COEFFICIENTS)}")
        values = {}
        for c in self.COEFFICIENTS:
            v = coefficients[c] if c in coefficients else float(_schema_default(c))
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) \
                    or not math.isfinite(float(v)):
                raise ValueError(f"operator {self.name}: coefficient {c} must be a finite "
                                 f"number, got {v!r}")
            values[c] = float(v)
        self.check_coefficients(values)
        self.coefficients: dict[str, float] = values

    # ------------------------------------------------------------------- identity, coefficients
    def check_coefficients(self, values: Mapping[str, float]) -> None:
        """Refuse coefficient values the operator is not defined for (``ValueError`` naming the
        coefficient and the allowed range). Default: ``k > 0``, any finite other value."""
        if "k" in values and not values["k"] > 0:
            raise ValueError(f"operator {self.name}: coefficient k must be > 0, "
                             f"got {values['k']!r}")

    def __repr__(self) -> str:
        args = ", ".join(f"{c}={v!r}" for c, v in self.coefficients.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.coefficients == self.coefficients

    def __hash__(self) -> int:
        return hash((self.name, tuple(self.coefficients.items())))

    def with_coefficients(self, **coefficients: float) -> Operator:
        """The same operator with some coefficients replaced."""
        return type(self)(**{**self.coefficients, **coefficients})

    @property
    def coefficient_vector(self) -> np.ndarray:
        """The bound coefficients in ``COEFFICIENTS`` order (the FD model's true ``w``)."""
        return np.array([self.coefficients[c] for c in self.COEFFICIENTS], dtype=np.float64)

    @property
    def derivative_orders(self) -> tuple[int, ...]:
        """The derivative orders the operator's terms use, ascending."""
        return tuple(sorted({t.derivative for t in self.terms}))

    @property
    def order(self) -> int:
        """The highest derivative order."""
        return max(self.derivative_orders)

    # ------------------------------------------------------------------------------ grid
    @staticmethod
    def grid(N: int) -> np.ndarray:
        """The ``N + 1`` nodes ``x_i = i / N``."""
        if N < 2:
            raise ValueError(f"resolution N must be >= 2, got {N}")
        return np.arange(N + 1, dtype=np.float64) / N

    @staticmethod
    def interior(N: int) -> slice:
        """The unknowns: interior nodes ``1 .. N - 1``."""
        return slice(1, N)

    # -- dimension-generic helpers (docs/architecture.md, "Operators"): consumers that handle
    # -- 1D and 2D alike use these instead of slicing [1:-1] or reshaping themselves.
    @classmethod
    def grid_shape(cls, N: int) -> tuple[int, ...]:
        """Shape of one sample on the grid: ``(N + 1,) * dim``."""
        return (N + 1,) * cls.dim

    @classmethod
    def interior_index(cls, N: int) -> tuple:
        """Index of the interior nodes over the trailing ``dim`` axes: ``u[op.interior_index(N)]``
        is ``(..., N - 1)`` in 1D, ``(..., N - 1, N - 1)`` in 2D."""
        return (Ellipsis,) + (slice(1, N),) * cls.dim

    @classmethod
    def boundary_mask(cls, N: int) -> np.ndarray:
        """Boolean array of :meth:`grid_shape`, True on the boundary nodes."""
        mask = np.ones(cls.grid_shape(N), dtype=bool)
        mask[cls.interior_index(N)] = False
        return mask

    @classmethod
    def flat_nodes(cls, a: np.ndarray) -> np.ndarray:
        """``(..., n_nodes)``: the trailing ``dim`` grid axes flattened (C order, ``[i_x, i_y]``
        -> ``i_x (N + 1) + i_y``); a no-op in 1D."""
        a = np.asarray(a)
        return a.reshape(a.shape[: a.ndim - cls.dim] + (-1,))

    @classmethod
    def flat_interior(cls, u: np.ndarray) -> np.ndarray:
        """``(..., n_interior)``: the interior nodes, flattened (1D: ``u[..., 1:-1]``)."""
        u = np.asarray(u)
        N = u.shape[-1] - 1
        return cls.flat_nodes(u[cls.interior_index(N)])

    def space(self, name):
        """Parse a space name for this operator's dimension (``ValueError`` naming the allowed
        values for a space of the other dimension)."""
        return parse_space(name, dim=self.dim) if isinstance(name, str) else name

    # ------------------------------------------------------------------- Green's function
    def greens_function(self, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        """``G(x, s)`` broadcast over ``x`` and ``s``; ``u(x) = int_0^1 G(x, s) f(s) ds``."""
        raise NotImplementedError(f"operator {self.name} gives no Green's function")

    def greens_matrix(self, N: int) -> np.ndarray:
        """``G(x_i, x_j)`` on the interior nodes, shape ``(N - 1, N - 1)``."""
        xi = self.grid(N)[1:-1]
        return self.greens_function(xi[:, None], xi[None, :])

    def stencil_scale(self, N: int) -> float:
        """``coef * N^m`` of the highest-order term: a learned inverse ``W_int^{-1}`` divided by
        it reads as a stencil of ``d^m/dx^m`` (poisson1d: ``k N^2``, the stencil [-1, 2, -1])."""
        lead = max(self.terms, key=lambda t: t.derivative)
        return self.coefficients[lead.coefficient] * N**lead.derivative

    def reference_stencil(self, halfwidth: int) -> np.ndarray:
        """The 2nd-order central stencil of the highest-order term with its sign, in the units
        of :meth:`stencil_scale`, on offsets ``-h..h`` (zero-padded): the stencil a learned
        inverse approaches as ``dx -> 0`` (poisson1d: ``[-1, 2, -1]``)."""
        lead = max(self.terms, key=lambda t: t.derivative)
        c = lead.sign * stencils.fd_stencil(lead.derivative, 2)
        r = c.size // 2
        if r > halfwidth:
            raise ValueError(f"stencil half-width {halfwidth} < {r}, the radius of the "
                             f"{self.name} stencil")
        out = np.zeros(2 * halfwidth + 1)
        out[halfwidth - r: halfwidth + r + 1] = c
        return out

    # ---------------------------------------------------------------------- exact solutions
    def solution_basis(self, space: Space | str, x: np.ndarray) -> np.ndarray:
        """Exact solutions for each basis function of a smooth space at ``x``:
        ``(len(x), n_coefficients)``. General: Green's-function quadrature
        (:func:`greenbench.operators.quadrature.greens_solve`)."""
        space = _space(space)
        if space.family == "fem":
            raise ValueError(f"no closed-form solution basis for space {space.name!r} "
                             f"(use fem_operator)")
        return quadrature.greens_solve(self.greens_function,
                                       lambda s: basis_matrix(space, s), x,
                                       self.QUADRATURE_POINTS)

    def exact_solution(self, space: Space | str, coefficients: np.ndarray,
                       x: np.ndarray) -> np.ndarray:
        """``u`` of shape ``(n, len(x))`` for coefficients ``(n, n_coef)`` of a smooth space."""
        return np.asarray(coefficients, dtype=np.float64) @ self.solution_basis(space, x).T

    def solution_derivatives(self, space: Space | str, x: np.ndarray, d: int) -> np.ndarray:
        """The ``d``-th derivative of :meth:`solution_basis` at ``x``, ``(len(x), n_coef)``
        (used by the Thm 3.1 analogue, :meth:`fd_bias`)."""
        raise NotImplementedError(f"operator {self.name} gives no derivatives of its solutions")

    def fem_operator(self, N: int, mass: str = "consistent") -> np.ndarray:
        """``(N-1, N+1)`` operator ``A``: ``u_interior = A f`` exactly for piecewise-linear
        nodal ``f``. General: element-by-element quadrature of the Green's function."""
        self.check_mass(mass)
        return quadrature.fem_greens_operator(self.greens_function, N, self.ELEMENT_POINTS)

    def fem_solve(self, f: np.ndarray, mass: str = "consistent") -> np.ndarray:
        """Nodal ``u (n, N+1)`` for piecewise-linear nodal forcings ``f (n, N+1)``."""
        f = np.atleast_2d(np.asarray(f, dtype=np.float64))
        N = f.shape[-1] - 1
        u = np.zeros_like(f)
        u[:, 1:-1] = f @ self.fem_operator(N, mass).T
        return u

    def check_mass(self, mass: str) -> None:
        if mass not in self.MASS_KINDS:
            raise ValueError(f"unknown FEM mass matrix {mass!r} for operator {self.name}; "
                             f"allowed: {self.MASS_KINDS}")

    def solve(self, space: Space | str, coefficients: np.ndarray, f: np.ndarray, x: np.ndarray,
              mass: str = "consistent") -> np.ndarray:
        """Nodal solution ``(n, N+1)`` for samples of ``space``: exact for poly/cos/sin, the
        piecewise-linear solve for fem."""
        space = _space(space)
        if space.family == "fem":
            return self.fem_solve(f, mass)
        return self.exact_solution(space, coefficients, x)

    def data_operator(self, space: Space | str, N: int,
                      mass: str = "consistent") -> tuple[np.ndarray, np.ndarray]:
        """``(B, S)``: forcing basis ``(N+1, m)`` and solution basis on interior nodes
        ``(N-1, m)``, every sample of ``space`` being ``f = B c``, ``u_interior = S c``."""
        space = _space(space)
        x = self.grid(N)
        B = basis_matrix(space, x)
        if space.family == "fem":
            return B, self.fem_operator(N, mass)
        return B, self.solution_basis(space, x)[1:-1]

    def discrete_residual(self, f: np.ndarray, u: np.ndarray,
                          mass: str = "consistent") -> tuple[np.ndarray, float] | None:
        """An independent check of fem data (``io.check_dataset``): ``(residual (n, N-1),
        scale)`` of the discrete equation the nodal data satisfy, zero to round-off (relative
        to ``scale``) for a correct ``u``; ``None`` when the operator has none."""
        return None

    # ------------------------------------------------------------------ finite differences
    def check_fd_order(self, q: int) -> None:
        if q not in self.FD_ORDERS:
            raise ValueError(f"FD order {q!r} has no stencil for operator {self.name}; "
                             f"allowed: {list(self.FD_ORDERS)}")

    def fd_radius(self, q: int) -> int:
        """Half-width of the widest stencil of the operator's terms at order ``q``."""
        return max(stencils.stencil_radius(t.derivative, q) for t in self.terms)

    def fd_nodes(self, N: int, q: int) -> slice:
        """Nodes where every term's order-``q`` stencil fits."""
        r = self.fd_radius(q)
        return slice(r, N + 1 - r)

    def fd_term(self, u: np.ndarray, term: Term, q: int) -> np.ndarray:
        """``sign * FD_q^m(u)`` of one term (without its coefficient) on :meth:`fd_nodes`."""
        N = np.shape(u)[-1] - 1
        r, rt = self.fd_radius(q), stencils.stencil_radius(term.derivative, q)
        d = stencils.apply_fd(u, term.derivative, q, 1.0 / N)
        if rt < r:
            d = d[..., r - rt: d.shape[-1] - (r - rt)]
        return term.sign * d

    def fd_features(self, u: np.ndarray, f: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
        """``(D, f_nodes)``: ``D (n_coef, ..., m)`` and ``f`` at the same ``m`` nodes, with
        ``sum_j w_j D_j = f`` for ``w`` = the coefficient vector (``COEFFICIENTS`` order) up to
        the stencils' truncation error. ``u``, ``f``: ``(..., N + 1)``."""
        u = np.asarray(u, dtype=np.float64)
        N = u.shape[-1] - 1
        feats = []
        for c in self.COEFFICIENTS:
            parts = [self.fd_term(u, t, q) for t in self.terms if t.coefficient == c]
            D = parts[0]
            for p in parts[1:]:
                D = D + p
            feats.append(D)
        return np.stack(feats), np.asarray(f, dtype=np.float64)[..., self.fd_nodes(N, q)]

    def fd_exact(self, space: Space | str, q: int) -> bool:
        """Whether the order-``q`` stencils are exact on every solution of ``space`` (the
        Thm 3.1 condition). Default: False (a subclass states where it holds)."""
        return False

    def fd_bias(self, space: Space | str, coefficients: np.ndarray, N: int,
                q: int) -> np.ndarray:
        """Signed leading-order relative bias ``(w*_j - w_j) / w_j`` of the least-squares FD
        fit, one per coefficient (``COEFFICIENTS`` order), ~ ``dx^q`` (the Thm 3.1 analogue).

        With ``FD_q^m u = u^(m) + mu^m_q dx^q u^(m+q) + ...``, ``D = E + dx^q R`` where ``E_j``
        holds the exact derivatives and ``f = E w``; then ``w* = w - dx^q (E^T E)^{-1} E^T R w``
        to leading order. The moments run over the samples ``f = c B^T`` and :meth:`fd_nodes`.
        ``nan`` for ``fem``; exactly 0 where :meth:`fd_exact`."""
        space = _space(space)
        n_c = len(self.COEFFICIENTS)
        if space.family == "fem":
            return np.full(n_c, np.nan)
        if self.fd_exact(space, q):
            return np.zeros(n_c)
        x = self.grid(N)[self.fd_nodes(N, q)]
        c = np.asarray(coefficients, dtype=np.float64)
        E = np.zeros((n_c,) + (c.shape[0], x.size))
        R = np.zeros_like(E)
        for t in self.terms:
            j = self.COEFFICIENTS.index(t.coefficient)
            mu = stencils.fd_truncation_coefficients(t.derivative, q, 1)[q]
            E[j] += t.sign * (c @ self.solution_derivatives(space, x, t.derivative).T)
            R[j] += t.sign * mu * (c @ self.solution_derivatives(space, x, t.derivative + q).T)
        w = self.coefficient_vector
        Ef, Rf = E.reshape(n_c, -1), R.reshape(n_c, -1)
        gram = Ef @ Ef.T
        if n_c > 1 and not np.linalg.cond(gram) < GRAM_COND_MAX:
            # the coefficients are not identifiable from this space (e.g. sin1 for screened
            # Poisson: -u'' and u are proportional on an eigenfunction): no bias to predict
            return np.full(n_c, np.nan)
        delta = -(1.0 / N) ** q * np.linalg.solve(gram, Ef @ (Rf.T @ w))
        return delta / w

    # ------------------------------------------------------------------ physics residual
    def residual(self, derivs: Mapping[int, Any], f: Any, coef: Mapping[str, Any]) -> Any:
        """``sum_t sign_t coef[t] u^(m_t) - f`` (torch or numpy), ``derivs[m]`` = ``u^(m)``
        for every order in :attr:`derivative_orders`; ``coef`` maps each coefficient to a
        value (a learned tensor, or the bound float)."""
        out = -f
        for t in self.terms:
            out = out + t.sign * coef[t.coefficient] * derivs[t.derivative]
        return out


def _schema_default(key: str) -> Any:
    """The schema's default of the top-level config key ``key`` (``k``, ``c``, ``b``, ``pde``),
    read from the packaged schema itself (not through ``greenbench.config``, which imports the
    operators: no import cycle)."""
    return copy.deepcopy(_schema_properties()[key]["default"])


@cache
def _schema_properties() -> dict:
    from importlib.resources import files

    import yaml

    text = files("greenbench").joinpath("schemas/config.schema.yaml").read_text()
    return yaml.safe_load(text)["properties"]
