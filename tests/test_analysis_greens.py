"""Green's function extraction: exact operators to round-off, linearity, recovered stencils."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenbench import pde
from greenbench.analysis import greens
from greenbench.operators import get_operator
from synthetic import linear_predictor

P1, P3 = get_operator("poisson1d"), get_operator("poisson1d", k=3.0)


@pytest.mark.parametrize("N", [8, 17, 32])
@pytest.mark.parametrize("amplitude", [1.0, 1e-3])
def test_lumped_operator_gives_exact_greens_function(N, amplitude):
    """Lumped-mass FEM = 3-point FD: A[:, interior] = dx G exactly, so G_hat = G."""
    A = pde.fem_operator(N, k=2.0, mass="lumped")
    G_hat = greens.extract_greens(linear_predictor(A), N, amplitude)
    np.testing.assert_allclose(G_hat, pde.greens_matrix(N, k=2.0), rtol=1e-10, atol=1e-14)
    assert greens.greens_rel_error(G_hat, N, get_operator("poisson1d", k=2.0)) < 1e-12


def test_response_matrix_is_w_and_ignores_bias():
    rng = np.random.default_rng(0)
    N = 9
    W = rng.standard_normal((N - 1, N + 1))
    R = greens.response_matrix(linear_predictor(W, bias=rng.standard_normal(N - 1)), N, 0.5)
    np.testing.assert_allclose(R, W, atol=1e-13)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), N=st.integers(3, 20),
       lam=st.floats(-3, 3, allow_nan=False), amplitude=st.floats(1e-3, 10))
def test_extraction_is_linear_in_the_operator(seed, N, lam, amplitude):
    rng = np.random.default_rng(seed)
    W1, W2 = rng.standard_normal((2, N - 1, N + 1))
    g = lambda W: greens.extract_greens(linear_predictor(W), N, amplitude)  # noqa: E731
    np.testing.assert_allclose(g(W1 + lam * W2), g(W1) + lam * g(W2), atol=1e-9 * N)


@pytest.mark.parametrize("N", [8, 16, 33])
def test_consistent_fem_differs_from_g_on_the_diagonal_only(N):
    """Consistent mass: A e_j = dx (G_{j-1} + 4 G_j + G_{j+1}) / 6 column-wise, whose second
    difference in s vanishes except at the kink s = x, where it is -dx/k: G_hat = G - dx/(6k) I."""
    k = 1.5
    G_hat = greens.extract_greens(linear_predictor(pde.fem_operator(N, k)), N)
    np.testing.assert_allclose(G_hat - pde.greens_matrix(N, k), -np.eye(N - 1) / (6 * k * N),
                               atol=1e-12)


def test_lumped_stencil_is_three_point():
    N = 24
    W_int = greens.reference_interior_operator(N, P3, mass="lumped")
    inv, stencil, cond = greens.inverse_and_stencil(W_int, P3, halfwidth=3)
    np.testing.assert_allclose(stencil, [0, 0, -1, 2, -1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(inv, pde.laplacian_matrix(N, 3.0), rtol=1e-9, atol=1e-6)
    assert 1 < cond < 1e4


def test_consistent_stencil_is_the_generating_operator():
    """Consistent mass: W_int^{-1} = M_int^{-1} K, so [1, 4, 1]/6 * stencil = [-1, 2, -1]."""
    N, h = 32, 5
    W_int = greens.reference_interior_operator(N, P1, mass="consistent")
    _, s, _ = greens.inverse_and_stencil(W_int, P1, halfwidth=h)
    conv = (s[:-2] + 4 * s[1:-1] + s[2:]) / 6          # offsets -h+1 .. h-1
    expect = np.zeros(2 * h - 1)
    expect[h - 2: h + 1] = [-1, 2, -1]
    np.testing.assert_allclose(conv, expect, atol=1e-6)
    assert s[h] > 2 and abs(s[h + 3]) > 1e-3           # banded-dominant, not tridiagonal


def test_rank_deficient_operator_has_no_inverse():
    N = 16
    B, S = pde.data_operator("sin2", N)
    W = S @ np.linalg.pinv(B)
    inv, stencil, cond = greens.inverse_and_stencil(W[:, 1:-1], P1)
    assert inv is None and np.all(np.isnan(stencil)) and cond > 1e10


def test_non_finite_model_is_flagged():
    N = 8
    bad = linear_predictor(np.full((N - 1, N + 1), np.nan))
    G_hat = greens.extract_greens(bad, N)
    assert np.isnan(greens.greens_rel_error(G_hat, N, P1))
    inv, stencil, cond = greens.inverse_and_stencil(G_hat / N, P1)
    assert inv is None and cond == np.inf


def test_bad_amplitude_and_shape():
    with pytest.raises(ValueError, match="amplitude"):
        greens.response_matrix(linear_predictor(np.zeros((3, 5))), 4, 0.0)
    with pytest.raises(ValueError, match="shape"):
        greens.response_matrix(lambda f: f[:, :-1], 4)
