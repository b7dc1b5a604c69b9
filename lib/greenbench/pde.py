"""Deprecated alias of :mod:`greenbench.operators.poisson1d` (``-k u'' = f``) for old imports.

New code gets an operator object (``greenbench.operators.get_operator`` or
``Study.operator(pde)``) and calls its methods. The second-derivative FD helpers keep their old
signatures here (``q`` only) and forward to :mod:`greenbench.operators.stencils` with ``m = 2``.
"""

from __future__ import annotations

import numpy as np

from greenbench.operators import operator_names, stencils
from greenbench.operators.poisson1d import (  # noqa: F401
    FD_ORDERS,
    MASS_KINDS,
    data_operator,
    exact_solution,
    fem_operator,
    fem_solve,
    greens_function,
    greens_matrix,
    grid,
    laplacian_matrix,
    mass_matrix,
    solution_basis,
    solve,
    stiffness_matrix,
)

PDES: tuple[str, ...] = operator_names()


def fd_stencil(q: int) -> np.ndarray:
    """Central stencil of order ``q`` for ``u''`` (multiply by ``1/dx^2``), length ``q + 1``."""
    return stencils.fd_stencil(2, q)


def fd_truncation_coefficients(q: int, n_terms: int = 3) -> dict[int, float]:
    """``mu_m`` of ``FD_q(u) = u'' + sum_m mu_m dx^m u^(m+2)``, m = q, q+2, ..."""
    return stencils.fd_truncation_coefficients(2, q, n_terms)


def apply_fd(u: np.ndarray, q: int, dx: float) -> np.ndarray:
    """``FD_q(u)`` at the nodes ``q/2 .. N - q/2``."""
    return stencils.apply_fd(u, 2, q, dx)


def fd_nodes(N: int, q: int) -> slice:
    """Slice of the nodes where :func:`apply_fd` returns values."""
    return stencils.fd_nodes(N, 2, q)
