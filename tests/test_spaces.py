"""Function spaces (greenbench.spaces) against their definitions in DESIGN.md.

Oracles: the basis formulas written out independently, ``f = B c``, the moments of the
coefficient distributions (within sampling error), nested spans measured by least squares.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenbench.pde import grid
from greenbench.spaces import (
    ALL_SPACES,
    DISTRIBUTIONS,
    Space,
    basis_matrix,
    coefficient_variance,
    parse_space,
    sample,
    sample_coefficients,
    space_names,
)


def reference_basis(name: str, x: np.ndarray) -> np.ndarray:
    """DESIGN.md's definitions, one column per term, written as plain loops."""
    if name == "fem":
        return np.eye(x.size)
    fam, p = parse_space(name).family, parse_space(name).p
    if fam == "poly":
        cols = [x**i for i in range(p + 1)]
    elif fam == "cos":
        cols = [np.cos(i * np.pi * x) for i in range(p + 1)]
    else:
        cols = [np.sin(i * np.pi * x) for i in range(1, p + 1)]
    return np.stack(cols, axis=1)


def test_there_are_25_spaces_in_canonical_order():
    assert len(ALL_SPACES) == 25
    assert ALL_SPACES[:8] == tuple(f"poly{p}" for p in range(1, 9))
    assert ALL_SPACES[8:16] == tuple(f"cos{p}" for p in range(1, 9))
    assert ALL_SPACES[16:24] == tuple(f"sin{p}" for p in range(1, 9))
    assert ALL_SPACES[-1] == "fem"


@pytest.mark.parametrize("name", ALL_SPACES)
def test_parse_roundtrip_and_coefficient_count(name):
    space = parse_space(name)
    assert space.name == name
    N = 16
    expected = {"poly": (space.p or 0) + 1, "cos": (space.p or 0) + 1, "sin": space.p,
                "fem": N + 1}[space.family]
    assert space.n_coefficients(N + 1) == expected


@pytest.mark.parametrize("name", ALL_SPACES)
def test_basis_matches_design_definitions(name):
    x = grid(16)
    # Same formulas; only the rounding order of i * pi * x may differ.
    np.testing.assert_allclose(basis_matrix(name, x), reference_basis(name, x), rtol=0, atol=4e-15)


def test_cos_basis_starts_with_the_constant():
    x = grid(8)
    B = basis_matrix("cos3", x)
    np.testing.assert_array_equal(B[:, 0], np.ones_like(x))
    np.testing.assert_allclose(B[:, 1], np.cos(np.pi * x), rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", ALL_SPACES)
def test_sample_shapes_dtypes_and_f_equals_Bc(name):
    N, n = 16, 7
    x = grid(N)
    c, f = sample(name, x, n, rng=np.random.default_rng(1))
    m = parse_space(name).n_coefficients(N + 1)
    assert c.shape == (n, m) and f.shape == (n, N + 1)
    assert c.dtype == f.dtype == np.float64
    np.testing.assert_allclose(f, c @ reference_basis(name, x).T, rtol=0, atol=1e-14)


@given(name=st.sampled_from(ALL_SPACES), N=st.integers(2, 40), n=st.integers(0, 12),
       seed=st.integers(0, 2**32 - 1), dist=st.sampled_from(DISTRIBUTIONS),
       scale=st.floats(1e-3, 1e3))
@settings(max_examples=60, deadline=None)
def test_sample_is_f_equals_Bc_for_any_input(name, N, n, seed, dist, scale):
    x = grid(N)
    c, f = sample(name, x, n, rng=np.random.default_rng(seed), distribution=dist, scale=scale)
    assert c.shape == (n, parse_space(name).n_coefficients(N + 1))
    np.testing.assert_allclose(f, c @ basis_matrix(name, x).T, rtol=1e-13,
                               atol=1e-13 * scale)
    if dist == "uniform":
        assert np.all(np.abs(c) <= scale)


@pytest.mark.parametrize("dist", DISTRIBUTIONS)
def test_sampling_is_vectorized_row_by_row(dist):
    """One draw of shape (n, m): the first rows of a larger draw are a smaller draw, so the
    samples are a single vectorized stream and a dataset's prefix survives growing n."""
    x = grid(8)
    c_small, f_small = sample("sin4", x, 5, rng=np.random.default_rng(3), distribution=dist)
    c_big, f_big = sample("sin4", x, 50, rng=np.random.default_rng(3), distribution=dist)
    np.testing.assert_array_equal(c_big[:5], c_small)
    np.testing.assert_array_equal(f_big[:5], f_small)


@pytest.mark.parametrize("dist", DISTRIBUTIONS)
@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_coefficient_moments_within_sampling_error(dist, scale):
    n = 40_000
    c = sample_coefficients(n, 3, rng=np.random.default_rng(11), distribution=dist, scale=scale)
    var = coefficient_variance(dist, scale)
    assert var == pytest.approx(scale**2 / 3 if dist == "uniform" else scale**2)
    # Fourth moment of one coefficient: 9/5 var^2 (uniform), 3 var^2 (normal).
    m4 = (9 / 5 if dist == "uniform" else 3.0) * var**2
    z = 5.0  # five standard errors: a false alarm has probability ~1e-6 per check
    np.testing.assert_array_less(np.abs(c.mean(axis=0)), z * np.sqrt(var / n))
    np.testing.assert_array_less(np.abs((c**2).mean(axis=0) - var), z * np.sqrt((m4 - var**2) / n))
    if dist == "uniform":
        assert np.abs(c).max() <= scale and np.abs(c).max() > 0.99 * scale
    else:  # heavier tails than the uniform: values beyond sqrt(3) scale exist
        assert np.abs(c).max() > np.sqrt(3) * scale


def test_distributions_differ_and_bad_arguments_are_named():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="distribution 'cauchy'.*uniform.*normal"):
        sample_coefficients(3, 2, rng=rng, distribution="cauchy")
    with pytest.raises(ValueError, match="scale must be > 0"):
        sample_coefficients(3, 2, rng=rng, scale=0.0)
    with pytest.raises(ValueError, match="scale must be > 0"):
        sample("sin2", grid(8), 3, rng=rng, scale=-1.0)
    with pytest.raises(ValueError, match="distribution"):
        coefficient_variance("beta", 1.0)


@pytest.mark.parametrize("bad", ["sin9", "poly0", "cos9", "sin0", "poly12"])
def test_parse_space_rejects_out_of_range_orders_naming_allowed_values(bad):
    with pytest.raises(ValueError) as info:
        parse_space(bad)
    msg = str(info.value)
    assert bad in msg and "1..8" in msg and "not a function space" in msg


@pytest.mark.parametrize("bad", ["tan3", "poly08", "poly", "fem1", "", "Sin3", "sin-1", 3, None])
def test_parse_space_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match="allowed: poly1..poly8, cos1..cos8, sin1..sin8, fem"):
        parse_space(bad)


def test_space_names_expand_config_in_canonical_order():
    cfg = {"sin": [3, 1], "poly": [2], "fem": True}
    assert space_names(cfg) == ["poly2", "sin1", "sin3", "fem"]
    assert space_names({"cos": [1, 2, 3, 4, 5, 6, 7, 8], "poly": list(range(1, 9)),
                        "sin": list(range(1, 9)), "fem": True}) == list(ALL_SPACES)
    assert space_names({}) == []
    with pytest.raises(ValueError, match="sin9"):
        space_names({"sin": [9]})


def _span_residual(A: np.ndarray, B: np.ndarray) -> float:
    """Largest relative least-squares residual of the columns of B in span(A)."""
    coef, *_ = np.linalg.lstsq(A, B, rcond=None)
    return float(np.max(np.linalg.norm(A @ coef - B, axis=0) / np.linalg.norm(B, axis=0)))


@pytest.mark.parametrize("fam", ["poly", "cos", "sin"])
def test_spans_are_nested_within_a_family(fam):
    x = grid(32)
    for p in range(1, 8):
        small, big = basis_matrix(f"{fam}{p}", x), basis_matrix(f"{fam}{p + 1}", x)
        np.testing.assert_array_equal(big[:, : small.shape[1]], small)  # same leading terms
        assert _span_residual(big, small) < 1e-12
        assert _span_residual(small, big) > 1e-6  # strictly bigger (round-off is ~1e-15)
        assert parse_space(f"{fam}{p + 1}").contains(parse_space(f"{fam}{p}"))
        assert not parse_space(f"{fam}{p}").contains(parse_space(f"{fam}{p + 1}"))


def test_contains_agrees_with_the_discrete_spans():
    """``contains`` is exact inclusion of the continuous spaces; on a grid finer than the
    spaces, a space that is not contained leaves a residual far above round-off (~1e-15);
    the closest pair is sin1 in poly8 (Taylor remainder ~5e-8)."""
    x = grid(32)
    for a in ALL_SPACES:
        for b in ALL_SPACES:
            sa, sb = parse_space(a), parse_space(b)
            res = _span_residual(basis_matrix(a, x), basis_matrix(b, x))
            if sa.contains(sb):
                assert res < 1e-12, (a, b, res)
            else:
                assert res > 1e-9, (a, b, res)
    assert Space("fem").contains(Space("sin", 3)) and not Space("sin", 8).contains(Space("fem"))
