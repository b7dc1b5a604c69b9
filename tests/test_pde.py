"""Exact solutions, Green's function, FD stencils and FEM (greenbench.pde).

Oracles: the ODE itself through an order-6 FD residual with a fitted convergence slope, the
Taylor coefficients of the stencils in exact rational arithmetic, Simpson quadrature of the
Green's function (exact for the piecewise-quadratic integrands of linear FEM), the identity
``(k T_2)^{-1} = dx G`` and closed-form integrals of ``G``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.integrate import quad

from greenbench import pde
from greenbench.spaces import ALL_SPACES, basis_matrix, parse_space, sample

SMOOTH = [s for s in ALL_SPACES if s != "fem"]
K = 2.5  # a k != 1 catches a missing or misplaced 1/k


def _g(x: np.ndarray, s: np.ndarray, k: float) -> np.ndarray:
    """Green's function written independently: s (1 - x) / k for s <= x, x (1 - s) / k else."""
    return np.where(s <= x, s * (1 - x), x * (1 - s)) / k


def _fd6_residual(name: str, N: int, k: float = K) -> np.ndarray:
    """``-k FD_6(u) - f`` at x = 1/4, 1/2, 3/4 for 4 random samples: shape (4, 3).

    Fixed points (nodes of every grid used, N divisible by 4) make the leading error term
    ``-k mu_6 dx^6 u^(8)(x)`` the same function at every N, so the slope is exactly 6."""
    x = pde.grid(N)
    c, f = sample(name, x, 4, rng=np.random.default_rng(0))
    u = pde.exact_solution(name, c, x, k)
    r = -k * pde.apply_fd(u, 6, 1.0 / N) - f[:, pde.fd_nodes(N, 6)]
    return r[:, [N // 4 - 3, N // 2 - 3, 3 * N // 4 - 3]]


def _resolutions(name: str) -> list[int]:
    """Grids with >= 12 points per half-wave of the highest mode, up to 6x finer."""
    space = parse_space(name)
    if space.family == "poly":
        return [12, 16, 24, 32, 48]
    return [4 * math.ceil(2 * space.p * m) for m in (1.5, 2, 3, 4, 6)]


# ------------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("name", SMOOTH)
def test_closed_form_satisfies_the_ode_at_rate_6(name):
    """u of degree <= 7 (poly1..poly5) is differentiated exactly by FD_6, so the residual is
    round-off; otherwise the residual is mu_6 dx^6 u^(8) and its log-log slope in N is -6."""
    Ns = _resolutions(name)
    errs = np.array([np.abs(_fd6_residual(name, N)).max() for N in Ns])
    space = parse_space(name)
    if space.family == "poly" and space.p + 2 <= 7:
        assert errs.max() < 1e-11, errs
        return
    assert errs.min() > 1e-11, errs  # far above round-off, so the slope is meaningful
    slope = np.polyfit(np.log(Ns), np.log(errs), 1)[0]
    assert slope == pytest.approx(-6.0, abs=0.1), (errs, slope)


@pytest.mark.parametrize("i", [1, 2, 3])
def test_fd6_residual_has_the_predicted_leading_term(i):
    """For f = sin(i pi x), -k FD_6(u) - f = -mu_6 dx^6 (i pi)^6 sin(i pi x) + O(dx^8).

    At N = 24 i the next term is ~0.3% of the first and round-off ~1e-4 of it."""
    N = 24 * i
    x = pde.grid(N)
    c = np.zeros((1, i))
    c[0, -1] = 1.0
    u = pde.exact_solution(f"sin{i}", c, x, K)
    r = -K * pde.apply_fd(u, 6, 1.0 / N) - np.sin(i * np.pi * x)[pde.fd_nodes(N, 6)]
    mu6 = pde.fd_truncation_coefficients(6)[6]
    predicted = -mu6 * (i * np.pi / N) ** 6 * np.sin(i * np.pi * x)[pde.fd_nodes(N, 6)]
    np.testing.assert_allclose(r[0], predicted, rtol=0, atol=1e-2 * np.abs(predicted).max())


@pytest.mark.parametrize("name", SMOOTH)
def test_closed_form_boundary_conditions(name):
    x = np.array([0.0, 1.0])
    c = np.random.default_rng(2).uniform(-1, 1, size=(5, parse_space(name).n_coefficients(2)))
    u = pde.exact_solution(name, c, x, K)
    np.testing.assert_allclose(u, 0.0, rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", ["sin4", "cos5", "poly3"])
def test_closed_form_basis_is_the_greens_integral(name):
    """u_j(x) = int_0^1 G(x, s) b_j(s) ds for every basis function, including the constant
    terms of cos and poly (adaptive quadrature)."""
    space = parse_space(name)
    xs = np.array([0.1, 0.37, 0.5, 0.9])
    S = pde.solution_basis(space, xs, K)
    for j in range(S.shape[1]):
        for a, xv in enumerate(xs):
            def integrand(s, xv=xv, j=j):
                return _g(xv, s, K) * basis_matrix(space, np.array([s]))[0, j]

            val, _ = quad(integrand, 0.0, 1.0, points=[xv], epsabs=1e-14, epsrel=1e-12)
            assert S[a, j] == pytest.approx(val, abs=1e-13), (name, j, xv)


def test_solution_basis_rejects_fem():
    with pytest.raises(ValueError, match="fem"):
        pde.solution_basis("fem", pde.grid(4))


# ------------------------------------------------------------------------ Green's function
def test_greens_function_properties():
    x = np.linspace(0, 1, 41)
    G = pde.greens_function(x[:, None], x[None, :], K)
    np.testing.assert_array_equal(G, G.T)
    np.testing.assert_array_equal(G, _g(x[:, None], x[None, :], K))
    np.testing.assert_array_equal(G[0], 0.0)
    np.testing.assert_array_equal(G[:, -1], 0.0)
    np.testing.assert_allclose(np.diag(G), x * (1 - x) / K, rtol=0, atol=1e-16)
    assert pde.greens_matrix(8, K).shape == (7, 7)


@pytest.mark.parametrize("N", [4, 16, 64, 200])
@pytest.mark.parametrize("k", [1.0, 0.3, 7.0])
def test_inverse_of_k_T2_is_dx_G(N, k):
    A = pde.laplacian_matrix(N, k)
    assert A.shape == (N - 1, N - 1)
    inv = np.linalg.inv(A)
    dxG = pde.greens_matrix(N, k) / N
    assert np.abs(inv - dxG).max() < 1e-12
    # and the other way round: k T_2 (dx G) = I
    assert np.abs(A @ dxG - np.eye(N - 1)).max() < 1e-12


# ------------------------------------------------------------------------ FD stencils
@pytest.mark.parametrize(
    "q, weights",
    [(2, [1, -2, 1]), (4, [Fraction(-1, 12), Fraction(4, 3), Fraction(-5, 2), Fraction(4, 3),
                          Fraction(-1, 12)]),
     (6, [Fraction(1, 90), Fraction(-3, 20), Fraction(3, 2), Fraction(-49, 18), Fraction(3, 2),
          Fraction(-3, 20), Fraction(1, 90)])],
)
def test_stencil_weights(q, weights):
    np.testing.assert_array_equal(pde.fd_stencil(q), [float(w) for w in weights])


@pytest.mark.parametrize("q, mu", [(2, Fraction(1, 12)), (4, Fraction(-1, 90)),
                                   (6, Fraction(1, 560))])
def test_truncation_coefficients(q, mu):
    coeffs = pde.fd_truncation_coefficients(q)
    assert list(coeffs) == [q, q + 2, q + 4]
    assert coeffs[q] == float(mu)
    if q == 2:  # the next terms of [1, -2, 1]/dx^2: 2/6!, 2/8!
        assert coeffs[4] == pytest.approx(1 / 360) and coeffs[6] == pytest.approx(1 / 20160)


@pytest.mark.parametrize("q", [2, 4, 6, 8])
def test_stencil_exact_up_to_degree_q_plus_1_and_not_beyond(q):
    """FD_q(x^d) = d (d-1) x^(d-2) for d <= q+1; for d = q+2 the error is exactly
    mu_q dx^q (q+2)! (the Taylor series of the error stops after one term)."""
    N = 10
    dx = 1.0 / N
    x = pde.grid(N)
    inner = x[pde.fd_nodes(N, q)]
    for d in range(q + 3):
        got = pde.apply_fd(x**d, q, dx)
        exact = d * (d - 1) * inner ** max(d - 2, 0) if d >= 2 else 0 * inner
        err = got - exact
        if d <= q + 1:
            assert np.abs(err).max() < 1e-9, (q, d, err)
        else:
            mu = pde.fd_truncation_coefficients(q, 1)[q]
            np.testing.assert_allclose(err, mu * dx**q * math.factorial(q + 2), rtol=1e-6)


def test_stencils_are_symmetric_and_annihilate_constants():
    for q in pde.FD_ORDERS:
        c = pde.fd_stencil(q)
        assert c.size == q + 1
        np.testing.assert_array_equal(c, c[::-1])
        assert abs(c.sum()) < 1e-14


@pytest.mark.parametrize("q", [0, 1, 3, -2])
def test_bad_stencil_order_is_named(q):
    with pytest.raises(ValueError, match=f"FD order q must be an even integer >= 2.*got {q}"):
        pde.fd_stencil(q)


def test_apply_fd_shapes_and_small_grids():
    u = np.zeros((3, 2, 17))
    assert pde.apply_fd(u, 6, 1 / 16).shape == (3, 2, 11)
    assert pde.fd_nodes(16, 6) == slice(3, 14)
    with pytest.raises(ValueError, match="too small for an order-6 stencil"):
        pde.apply_fd(np.zeros(6), 6, 0.2)


# ------------------------------------------------------------------------ finite elements
def _simpson_greens_solution(f: np.ndarray, k: float) -> np.ndarray:
    """u(x_i) = int G(x_i, s) f(s) ds for piecewise-linear f with nodal values f (n, N+1).

    On each element G(x_i, .) (kink at the node x_i) and f are linear, so the integrand is
    quadratic and Simpson's rule per element is exact."""
    n, N1 = f.shape
    N = N1 - 1
    x = np.arange(N1) / N
    xm = (x[:-1] + x[1:]) / 2
    fm = (f[:, :-1] + f[:, 1:]) / 2
    u = np.zeros_like(f)
    for i in range(1, N):
        gl, gm, gr = _g(x[i], x[:-1], k), _g(x[i], xm, k), _g(x[i], x[1:], k)
        u[:, i] = (f[:, :-1] * gl + 4 * fm * gm + f[:, 1:] * gr).sum(axis=1) / (6 * N)
    return u


@pytest.mark.parametrize("N", [2, 4, 9, 32])
def test_consistent_fem_is_nodally_exact_for_piecewise_linear_f(N):
    f = np.random.default_rng(N).uniform(-1, 1, size=(6, N + 1))
    u = pde.fem_solve(f, K, "consistent")
    np.testing.assert_allclose(u, _simpson_greens_solution(f, K), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(u[:, [0, -1]], 0.0)


@pytest.mark.parametrize("N", [2, 4, 17, 64])
def test_lumped_fem_equals_three_point_fd(N):
    f = np.random.default_rng(N).normal(size=(5, N + 1))
    u = pde.fem_solve(f, K, "lumped")
    T2 = (2 * np.eye(N - 1) - np.eye(N - 1, k=1) - np.eye(N - 1, k=-1)) * N**2
    u_fd = np.linalg.solve(K * T2, f[:, 1:-1].T).T
    np.testing.assert_allclose(u[:, 1:-1], u_fd, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(u[:, [0, -1]], 0.0)


def test_fem_solve_blocks_change_no_bit():
    """fem_solve works through blocks of ~1000 samples at N = 64; each sample must come out
    exactly as when solved alone (on either side of a block boundary)."""
    f = np.random.default_rng(5).uniform(-1, 1, size=(2100, 65))
    u = pde.fem_solve(f, K)
    for i in (0, 1007, 1008, 1009, 2015, 2016, 2099):
        np.testing.assert_array_equal(u[i], pde.fem_solve(f[i], K)[0])


def test_fem_matrices():
    N = 8
    dx = 1 / N
    K_ = pde.stiffness_matrix(N, K)
    np.testing.assert_allclose(np.diag(K_), 2 * K / dx)
    np.testing.assert_allclose(np.diag(K_, 1), -K / dx)
    M = pde.mass_matrix(N, "consistent")
    assert M.shape == (N - 1, N + 1)
    np.testing.assert_allclose(M.sum(axis=1), dx, rtol=1e-15)  # integral of a hat function
    for r in range(N - 1):
        np.testing.assert_allclose(M[r, r : r + 3], np.array([1, 4, 1]) * dx / 6, rtol=1e-15)
        assert np.count_nonzero(M[r]) == 3
    L = pde.mass_matrix(N, "lumped")
    np.testing.assert_array_equal(L[:, 1:-1], dx * np.eye(N - 1))
    np.testing.assert_array_equal(L[:, [0, -1]], 0.0)
    # the solver and the matrices agree: K u = M f
    f = np.random.default_rng(0).normal(size=(3, N + 1))
    for mass in pde.MASS_KINDS:
        u = pde.fem_solve(f, K, mass)
        np.testing.assert_allclose(K_ @ u[:, 1:-1].T, pde.mass_matrix(N, mass) @ f.T,
                                   atol=1e-13)
        A = pde.fem_operator(N, K, mass)
        assert A.shape == (N - 1, N + 1)
        np.testing.assert_allclose(A @ f.T, u[:, 1:-1].T, atol=1e-15)


def test_fem_operator_columns_approximate_dx_G():
    """Lumped: A[:, 1:-1] = (k T_2)^{-1} = dx G exactly on interior columns."""
    N = 16
    A = pde.fem_operator(N, K, "lumped")
    np.testing.assert_allclose(A[:, 1:-1], pde.greens_matrix(N, K) / N, atol=1e-15)


def test_fem_solve_accepts_one_sample_and_names_bad_input():
    f = np.ones(9)
    assert pde.fem_solve(f).shape == (1, 9)
    with pytest.raises(ValueError, match="mass matrix 'diagonal'.*consistent.*lumped"):
        pde.fem_solve(f, mass="diagonal")
    with pytest.raises(ValueError, match="mass matrix 'x'"):
        pde.mass_matrix(8, "x")
    with pytest.raises(ValueError, match="k must be > 0"):
        pde.fem_solve(f, k=0.0)
    with pytest.raises(ValueError, match="resolution N must be >= 2"):
        pde.grid(1)


# ------------------------------------------------------------------------ dispatch
@pytest.mark.parametrize("name", ["poly2", "cos3", "sin4", "fem"])
def test_data_operator_reproduces_solve(name):
    N = 12
    x = pde.grid(N)
    c, f = sample(name, x, 5, rng=np.random.default_rng(4))
    u = pde.solve(name, c, f, x, k=K)
    B, S = pde.data_operator(name, N, k=K)
    np.testing.assert_allclose(c @ B.T, f, atol=1e-14)
    np.testing.assert_allclose(c @ S.T, u[:, 1:-1], atol=1e-15)
    if name == "fem":
        np.testing.assert_allclose(u, _simpson_greens_solution(f, K), atol=1e-14)
