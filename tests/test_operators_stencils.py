"""Exact central stencils of greenbench.operators.stencils and the Operator base class.

Oracles: the former pde stencils (m = 2, bit for bit), textbook stencils, the Taylor expansion
of the stencil applied to monomials (exact arithmetic with Fractions)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from greenbench.operators import stencils
from greenbench.operators.base import Operator, Term

# The former greenbench.pde second-derivative stencils, written out.
M2 = {2: [1, -2, 1],
      4: [Fraction(-1, 12), Fraction(4, 3), Fraction(-5, 2), Fraction(4, 3), Fraction(-1, 12)],
      6: [Fraction(1, 90), Fraction(-3, 20), Fraction(3, 2), Fraction(-49, 18), Fraction(3, 2),
          Fraction(-3, 20), Fraction(1, 90)]}


@pytest.mark.parametrize("q", [2, 4, 6])
def test_second_derivative_stencils_are_the_textbook_ones_bit_for_bit(q):
    np.testing.assert_array_equal(stencils.fd_stencil(2, q), [float(w) for w in M2[q]])
    assert stencils.fd_nodes(16, 2, q) == slice(q // 2, 17 - q // 2)


@pytest.mark.parametrize("m, q, weights", [
    (4, 2, [1, -4, 6, -4, 1]),
    (4, 4, [Fraction(-1, 6), 2, Fraction(-13, 2), Fraction(28, 3), Fraction(-13, 2), 2,
            Fraction(-1, 6)]),
    (1, 2, [Fraction(-1, 2), 0, Fraction(1, 2)]),
    (1, 4, [Fraction(1, 12), Fraction(-2, 3), 0, Fraction(2, 3), Fraction(-1, 12)]),
    (0, 2, [1]),
    (3, 2, [Fraction(-1, 2), 1, 0, -1, Fraction(1, 2)]),
])
def test_other_derivatives(m, q, weights):
    assert stencils.fd_stencil_fractions(m, q) == tuple(Fraction(w) for w in weights)


@pytest.mark.parametrize("m", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("q", [2, 4, 6])
def test_truncation_coefficients_against_taylor(m, q):
    """Apply the exact stencil to x^d at x = 0 with dx = 1 (Fractions): it returns
    d! [d == m] + mu_{d-m} d! -- so every mu_j equals (stencil . i^(m+j)) / (m+j)! and the
    low orders vanish: exact on degree <= m + q - 1, not on m + q."""
    c = stencils.fd_stencil_fractions(m, q)
    r = stencils.stencil_radius(m, q)
    mus = stencils.fd_truncation_coefficients(m, q, 3)
    assert list(mus) == [q, q + 2, q + 4]
    for d in range(m + q + 5):
        got = sum(ci * Fraction(i) ** d for ci, i in zip(c, range(-r, r + 1), strict=True))
        j = d - m
        expect = Fraction(math.factorial(d)) if d == m else Fraction(0)
        if j in mus:
            assert float(got / math.factorial(d)) == mus[j]
        elif j % 2 == 1 or d < m + q:
            assert got == expect, (m, q, d)
    assert (mus[q] != 0) == (m > 0)    # the identity (m = 0) is exact


def test_known_truncation_coefficients():
    assert stencils.fd_truncation_coefficients(2, 2)[2] == 1 / 12
    assert stencils.fd_truncation_coefficients(2, 4)[4] == -1 / 90
    assert stencils.fd_truncation_coefficients(2, 6)[6] == 1 / 560
    assert stencils.fd_truncation_coefficients(4, 2)[2] == 1 / 6
    assert stencils.fd_truncation_coefficients(1, 2)[2] == 1 / 6


@pytest.mark.parametrize("m, q", [(1, 2), (2, 4), (4, 2), (4, 4)])
def test_apply_fd_on_a_grid_matches_the_derivative_of_a_polynomial(m, q):
    N = 12
    x = np.arange(N + 1) / N
    deg = m + q - 1                                # exact up to here
    u = x**deg
    got = stencils.apply_fd(u, m, q, 1 / N)
    xi = x[stencils.fd_nodes(N, m, q)]
    exact = math.perm(deg, m) * xi ** (deg - m)
    np.testing.assert_allclose(got, exact, rtol=1e-8, atol=1e-8)
    assert got.shape == (N + 1 - 2 * stencils.stencil_radius(m, q),)


@pytest.mark.parametrize("m, q", [(-1, 2), (2, 3), (2, 0), (4, 1)])
def test_bad_orders_are_named(m, q):
    with pytest.raises(ValueError, match="order"):
        stencils.fd_stencil(m, q)


def test_small_grid_is_refused():
    with pytest.raises(ValueError, match="too small"):
        stencils.apply_fd(np.zeros(5), 4, 4, 0.25)


class _Toy(Operator):
    """-k u'' + b u' (only the term bookkeeping of the base class is exercised)."""

    name = "toy"
    COEFFICIENTS = ("k", "b")
    terms = (Term("k", -1.0, 2), Term("b", 1.0, 1))


def test_base_class_bookkeeping_and_generic_fd_features():
    op = _Toy(k=2.0, b=3.0)
    assert op.derivative_orders == (1, 2) and op.order == 2
    np.testing.assert_array_equal(op.coefficient_vector, [2.0, 3.0])
    with pytest.raises(ValueError, match=r"no coefficient 'c'.*\['k', 'b'\]"):
        _Toy(k=1.0, c=1.0)
    with pytest.raises(ValueError, match="k must be > 0"):
        _Toy(k=0.0, b=1.0)
    with pytest.raises(ValueError, match=r"FD order 6 .*allowed: \[2, 4\]"):
        op.check_fd_order(6)
    # u = x^3 (stencils of order 4 are exact on it): -k 6x + b 3x^2 = f
    N = 10
    x = op.grid(N)
    u = x**3
    f = -2.0 * 6 * x + 3.0 * 3 * x**2
    D, fn = op.fd_features(u, f, 4)
    assert D.shape == (2, N + 1 - 4) and fn.shape == (N + 1 - 4,)
    np.testing.assert_allclose(np.tensordot(op.coefficient_vector, D, 1), fn, atol=1e-10)
    np.testing.assert_allclose(op.residual({1: 3 * x**2, 2: 6 * x}, f, op.coefficients), 0,
                               atol=1e-12)
    assert op == _Toy(k=2.0, b=3.0) and op != op.with_coefficients(b=1.0)
