"""The Green's-function quadrature (greenbench.operators.quadrature) and the poisson1d operator.

Oracles: poisson1d's closed-form solutions (poly, cos, sin) and its nodally exact FEM solve
(the quadrature must reproduce both to round-off); the former greenbench.pde numbers (the
operator must be bit-identical); the FD model's normal equations; Thm 3.1's formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from greenbench import pde
from greenbench.operators import OPERATORS, get_operator, quadrature
from greenbench.operators.base import Operator
from greenbench.spaces import ALL_SPACES, basis_matrix

SMOOTH = [s for s in ALL_SPACES if s != "fem"]


@pytest.mark.parametrize("space", SMOOTH)
def test_quadrature_reproduces_the_closed_forms_to_roundoff(space):
    op = get_operator("poisson1d", k=1.7)
    x = np.concatenate([np.linspace(0, 1, 23), [1e-3, 0.5 + 1e-9, 1 - 1e-3]])
    exact = op.solution_basis(space, x)
    # the base class's general solver (Green's function + Gauss-Legendre on each side)
    quad = Operator.solution_basis(op, space, x)
    scale = np.abs(exact).max()
    assert np.abs(quad - exact).max() <= 1e-14 * max(scale, 1.0), np.abs(quad - exact).max()


@pytest.mark.parametrize("N", [2, 5, 16, 64])
@pytest.mark.parametrize("k", [1.0, 0.3])
def test_fem_quadrature_is_the_exact_fem_solve(N, k):
    op = get_operator("poisson1d", k=k)
    A = op.fem_operator(N)                       # K^-1 M (LAPACK)
    Aq = Operator.fem_operator(op, N)            # element-by-element quadrature of G
    assert Aq.shape == (N - 1, N + 1)
    assert np.abs(Aq - A).max() <= 1e-15 * np.abs(A).max() * N


def test_quadrature_converges_from_below_the_default_points():
    """With too few points the sin8 solution is visibly wrong: the default is not idle."""
    op = get_operator("poisson1d")
    x = np.linspace(0, 1, 9)
    f = lambda s: basis_matrix("sin8", s)  # noqa: E731
    exact = op.solution_basis("sin8", x)
    few = quadrature.greens_solve(op.greens_function, f, x, 6)
    full = quadrature.greens_solve(op.greens_function, f, x)
    assert np.abs(few - exact).max() > 1e-6
    assert np.abs(full - exact).max() < 2e-15   # round-off of int |G f| ~ 0.1


def test_registry_and_bad_names():
    assert "poisson1d" in OPERATORS
    with pytest.raises(ValueError, match=r"unknown operator \(pde\) 'heat'; allowed: \["):
        get_operator("heat")
    with pytest.raises(ValueError, match=r"poisson1d has no coefficient 'c'; allowed: \['k'\]"):
        get_operator("poisson1d", c=1.0)
    with pytest.raises(ValueError, match="k must be > 0"):
        get_operator("poisson1d", k=-1.0)
    assert get_operator("poisson1d").coefficients == {"k": 1.0}   # the schema default
    with pytest.raises(ValueError, match=r"FD order 10 .*allowed: \[2, 4, 6, 8\]"):
        get_operator("poisson1d").check_fd_order(10)
    with pytest.raises(ValueError, match=r"unknown FEM mass matrix 'x'.*lumped"):
        get_operator("poisson1d").fem_operator(4, "x")


@pytest.mark.parametrize("space", ["poly3", "cos5", "sin2", "fem"])
def test_operator_is_bit_identical_to_the_former_pde_functions(space):
    k, N = 1.3, 12
    op = get_operator("poisson1d", k=k)
    x = op.grid(N)
    rng = np.random.default_rng(0)
    B = basis_matrix(space, x)
    c = rng.uniform(-1, 1, (4, B.shape[1]))
    f = c @ B.T
    for mass in op.MASS_KINDS:
        np.testing.assert_array_equal(op.solve(space, c, f, x, mass),
                                      pde.solve(space, c, f, x, k=k, mass=mass))
        for a, b in zip(op.data_operator(space, N, mass), pde.data_operator(space, N, k, mass),
                        strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(op.greens_matrix(N), pde.greens_matrix(N, k))


def test_generic_fd_features_are_minus_the_stencil():
    op = get_operator("poisson1d", k=2.0)
    N = 16
    u = np.random.default_rng(1).normal(size=(3, N + 1))
    f = np.random.default_rng(2).normal(size=(3, N + 1))
    for q in op.FD_ORDERS:
        D, fn = op.fd_features(u, f, q)
        np.testing.assert_array_equal(D[0], -pde.apply_fd(u, q, 1 / N))
        np.testing.assert_array_equal(fn, f[:, pde.fd_nodes(N, q)])


@pytest.mark.parametrize("space", ["poly6", "cos3", "sin4"])
@pytest.mark.parametrize("q", [2, 4])
def test_base_fd_bias_reduces_to_thm_3_1(space, q):
    """The general perturbation formula of the base class equals Poisson's closed Thm 3.1."""
    op = get_operator("poisson1d", k=0.7)
    c = np.random.default_rng(3).uniform(-1, 1, (20, basis_matrix(space, [0.0]).shape[1]))
    N = 32
    general = Operator.fd_bias(op, space, c, N, q)
    closed = op.fd_bias(space, c, N, q)
    np.testing.assert_allclose(general, closed, rtol=1e-10)
    assert op.fd_bias("fem", c, N, q)[0] != op.fd_bias("fem", c, N, q)[0]   # nan
    assert op.fd_exact("poly3", 4) and not op.fd_exact("poly4", 4)
    assert not op.fd_exact("sin1", 6)


@pytest.mark.parametrize("space", ["poly4", "cos2", "sin3"])
def test_solution_derivatives_against_finite_differences(space):
    op = get_operator("poisson1d", k=1.5)
    x = np.linspace(0.1, 0.9, 7)
    h = 1e-5
    for d in range(3):
        num = (op.solution_derivatives(space, x + h, d)
               - op.solution_derivatives(space, x - h, d)) / (2 * h)
        np.testing.assert_allclose(num, op.solution_derivatives(space, x, d + 1),
                                   rtol=1e-6, atol=1e-7)


def test_discrete_residual_and_torch_residual():
    op = get_operator("poisson1d", k=2.0)
    f = np.random.default_rng(4).normal(size=(3, 11))
    for mass in op.MASS_KINDS:
        u = op.fem_solve(f, mass)
        r, size = op.discrete_residual(f, u, mass)
        assert np.abs(r).max() <= 1e-13 * size
    k = torch.tensor(2.0)
    d2 = torch.linspace(0, 1, 5)
    ft = torch.ones(5)
    assert torch.equal(op.residual({2: d2}, ft, {"k": k}), -k * d2 - ft)
    assert op.derivative_orders == (2,)
