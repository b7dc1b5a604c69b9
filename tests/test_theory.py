"""Oracles for greenbench.theory: gradient-descent limits, Monte Carlo moments, Taylor terms."""

from __future__ import annotations

import numpy as np
import pytest

from greenbench import pde, theory
from greenbench.operators import get_operator
from greenbench.spaces import basis_matrix, coefficient_variance

P1 = get_operator("poisson1d")   # the FD weight does not depend on the bound k


def _data(space, N, n, rng, k=1.0):
    B, S = pde.data_operator(space, N, k)
    c = rng.uniform(-1, 1, (n, B.shape[1]))
    u = np.zeros((n, N + 1))
    u[:, 1:-1] = c @ S.T
    return c, c @ B.T, u


# ------------------------------------------------------------------------------ Thm 3.2
@pytest.mark.parametrize("space", ["poly3", "cos2", "sin4"])
def test_w_star_is_data_operator_on_span(space):
    """With more samples than coefficients, W* = S B^+ (the data operator on span B)."""
    rng = np.random.default_rng(0)
    N = 16
    _, F, u = _data(space, N, 40, rng)
    W = theory.w_star(F, u[:, 1:-1], 1e-10)
    B, S = pde.data_operator(space, N)
    np.testing.assert_allclose(W @ B, S, atol=1e-12 * np.abs(S).max())
    # minimum norm: nothing outside span(B)
    U = theory.training_span(F, 1e-10)
    assert U.shape[1] == B.shape[1]
    np.testing.assert_allclose(W - W @ U @ U.T, 0, atol=1e-13)


def test_w_star_is_the_gradient_descent_limit_from_w0():
    """Thm 3.2: GD on the MSE from W0 converges to A U U^T + W0 (I - U U^T)."""
    rng = np.random.default_rng(1)
    N = 8
    _, F, u = _data("sin2", N, 6, rng)
    Y = u[:, 1:-1]
    W0 = 0.3 * rng.standard_normal((N - 1, N + 1))
    W = W0.copy()
    H = F.T @ F / len(F)
    lr = 1.0 / np.linalg.eigvalsh(H).max()
    for _ in range(4000):
        W -= lr * (W @ F.T - Y.T) @ F / len(F)
    np.testing.assert_allclose(W, theory.w_star(F, Y, 1e-10, W0), atol=1e-10)
    A = pde.fem_operator(N)
    U = theory.training_span(F, 1e-10)
    # the part of W0 outside the span survives untouched
    np.testing.assert_allclose(W @ (np.eye(N + 1) - U @ U.T), W0 @ (np.eye(N + 1) - U @ U.T),
                               atol=1e-12)
    assert U.shape == (N + 1, 2) and np.linalg.matrix_rank(A) == N - 1


def test_training_span_rank_tolerance():
    rng = np.random.default_rng(2)
    F = rng.standard_normal((30, 3)) @ rng.standard_normal((3, 10))
    F[:, 0] += 1e-13 * rng.standard_normal(30)          # a direction at round-off level
    assert theory.training_span(F, 1e-10).shape == (10, 3)
    assert theory.training_span(F, 1e-16).shape == (10, 4)
    assert theory.training_span(np.zeros((5, 4)), 1e-10).shape == (4, 0)


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_expected_mse_and_std_match_monte_carlo(distribution):
    """E[MSE] and the per-sample std of a wrong operator on sin3 against 40,000 draws."""
    rng = np.random.default_rng(3)
    N, scale = 12, 0.7
    B, S = pde.data_operator("sin3", N)
    W = S @ np.linalg.pinv(B) + 0.05 * rng.standard_normal((N - 1, N + 1))
    var = coefficient_variance(distribution, scale)
    mu4 = theory.coefficient_fourth_moment(distribution, scale)
    n = 40_000
    c = (rng.uniform(-scale, scale, (n, 3)) if distribution == "uniform"
         else rng.normal(0, scale, (n, 3)))
    e = c @ (W @ B - S).T
    per_sample = np.sum(e**2, axis=1) / (N + 1)
    pred = theory.expected_mse(W, B, S, var)
    sd = theory.mse_std(W, B, S, var, mu4)
    assert abs(per_sample.mean() - pred) < 5 * sd / np.sqrt(n)
    assert per_sample.std() == pytest.approx(sd, rel=0.05)
    assert theory.expected_mse(W, B, S, var, noise=0.1) == pytest.approx(pred + 0.01)


def test_fourth_moments():
    assert theory.coefficient_fourth_moment("uniform", 2.0) == pytest.approx(
        np.mean(np.linspace(-2, 2, 2_000_001) ** 4), rel=1e-5)
    assert theory.coefficient_fourth_moment("normal", 2.0) == 48.0
    with pytest.raises(ValueError, match="laplace"):
        theory.coefficient_fourth_moment("laplace", 1.0)


def test_projection_bound_holds_and_is_tight_in_direction():
    """||(W* - A) f|| <= ||W0 - A|| ||(I - UU^T) f||, with equality for the top direction."""
    rng = np.random.default_rng(4)
    N = 10
    A = pde.fem_operator(N)
    U, _ = np.linalg.qr(rng.standard_normal((N + 1, 4)))
    W0 = 0.1 * rng.standard_normal((N - 1, N + 1))
    P = np.eye(N + 1) - U @ U.T
    Ws = A @ U @ U.T + W0 @ P
    D = W0 - A
    f = rng.standard_normal((N + 1, 200))
    lhs = np.linalg.norm((Ws - A) @ f, axis=0)
    rhs = np.linalg.norm(D, 2) * np.linalg.norm(P @ f, axis=0)
    assert np.all(lhs <= rhs * (1 + 1e-12))
    B = rng.standard_normal((N + 1, 3))
    mean_lhs = np.sum(((Ws - A) @ B) ** 2) / (N + 1)
    assert mean_lhs <= theory.projection_bound(A, U, B, 1.0, W0) * (1 + 1e-12)
    assert theory.projection_bound(A, U, U, 1.0) == pytest.approx(0.0, abs=1e-25)
    assert theory.out_of_span_fraction(U, U) == pytest.approx(0.0, abs=1e-25)
    assert theory.out_of_span_fraction(U, P @ B) == pytest.approx(1.0)


# ------------------------------------------------------------------------------ Thm 3.1
@pytest.mark.parametrize("space", ["poly5", "cos3", "sin2"])
@pytest.mark.parametrize("q", [1, 2, 3])
def test_basis_derivative_against_central_differences(space, q):
    x = np.linspace(0.1, 0.9, 9)
    h = 1e-3
    D = theory.basis_derivative(space, x, q)
    # q-th central difference of the basis (second-order accurate)
    w = {1: [-0.5, 0, 0.5], 2: [1, -2, 1], 3: [-0.5, 1, 0, -1, 0.5]}[q]
    r = len(w) // 2
    approx = sum(c * basis_matrix(space, x + (j - r) * h) for j, c in enumerate(w)) / h**q
    np.testing.assert_allclose(D, approx, rtol=1e-4, atol=1e-4 * np.abs(D).max())


def test_basis_derivative_refuses_fem():
    with pytest.raises(ValueError, match="fem"):
        theory.basis_derivative("fem", np.linspace(0, 1, 5), 2)


@pytest.mark.parametrize("q", [2, 4, 6])
def test_fd_exact_when_p_below_q(q):
    """Thm 3.1: a central stencil of order q is exact on poly{p} data with p < q."""
    rng = np.random.default_rng(5)
    N = 32
    for p in range(1, q):
        c, f, u = _data(f"poly{p}", N, 50, rng, k=2.5)
        assert abs(theory.fd_lstsq_weight(f, u, q, N, P1) - 2.5) / 2.5 < 1e-11
        assert theory.fd_leading_bias(f"poly{p}", c, N, q, P1) == 0.0
    c, f, u = _data(f"poly{q}", N, 50, rng, k=2.5)
    assert abs(theory.fd_lstsq_weight(f, u, q, N, P1) - 2.5) / 2.5 > 1e-11   # p = q: biased


@pytest.mark.parametrize("q,space", [(2, "poly4"), (2, "sin3"), (4, "poly8"), (4, "cos5"),
                                     (6, "poly8"), (6, "sin3")])
def test_fd_leading_term_matches_lstsq_bias(q, space):
    """The leading term -mu_q dx^q <f, f^(q)>/||f||^2 matches the exact optimum within 3%."""
    rng = np.random.default_rng(6)
    N = 64
    c, f, u = _data(space, N, 400, rng)
    bias = theory.fd_lstsq_weight(f, u, q, N, P1) - 1.0
    lead = theory.fd_leading_bias(space, c, N, q, P1)
    assert lead == pytest.approx(bias, rel=0.03)


def test_fd_leading_bias_is_nan_for_fem():
    assert np.isnan(theory.fd_leading_bias("fem", np.zeros((2, 9)), 8, 2, P1))


def test_rel_frobenius():
    assert theory.rel_frobenius(np.array([[3.0, 4.0]]), np.array([[0.0, 5.0]])) == pytest.approx(
        np.sqrt(10) / 5)
