"""The FD bias of EVERY learned coefficient against dx (issue 10 item 4) and the round-off
floor of the operator's order: convergence.nc's fd_coef_* variables."""

from __future__ import annotations

import numpy as np
import pytest

from greenbench.analysis import convergence as cvg
from greenbench.analysis.rates import EPS, roundoff_floor
from greenbench.data import DataSpec, generate
from greenbench.operators import get_operator


def test_roundoff_floor_grows_like_n_to_the_operators_order():
    N = np.array([64.0, 1024.0])
    np.testing.assert_allclose(roundoff_floor(N, 0.0, order=4), 10 * EPS * N**4)
    np.testing.assert_allclose(roundoff_floor(N, 0.0), 10 * EPS * N**2)
    assert get_operator("biharmonic1d").order == 4 and get_operator("poisson1d").order == 2


@pytest.mark.parametrize("name", ["screened_poisson1d", "advection_diffusion1d"])
def test_every_coefficients_bias_is_the_leading_term_and_converges_at_rate_q(name):
    op = get_operator(name)
    spaces, resolutions, qs = ["sin4", "poly2"], [32, 64], [2, 4]
    nc = len(op.COEFFICIENTS)
    pred = np.full((nc, len(qs), len(spaces), len(resolutions)), np.nan)
    lead = np.full_like(pred, np.nan)
    for r, N in enumerate(resolutions):
        train = {}
        for s in spaces:
            ds = generate(DataSpec(pde=name, space=s, N=N, n_samples=64, master_seed=1,
                                   test_fraction=0.5))
            idx = ds.train_index
            train[s] = (ds.coefficients[idx], *ds.split("train"))
        pred[..., r], lead[..., r] = cvg.fd_theory_coefficients(train, N, qs, op)
    # the least-squares bias of each coefficient is the Thm 3.1 leading term (sin4: smooth)
    np.testing.assert_allclose(pred[:, :, 0], lead[:, :, 0], rtol=0.07)
    w = (1 + pred)[..., None] * np.array([op.coefficients[c] for c in op.COEFFICIENTS]
                                         )[:, None, None, None, None]
    out = cvg.coefficient_variables(op.COEFFICIENTS, [op.coefficients[c]
                                                      for c in op.COEFFICIENTS],
                                    resolutions, pred, lead, w)
    rate = out["fd_coef_rate"][1]
    # sin4: rate q for every coefficient; a wrong coefficient would not be at its own bias
    np.testing.assert_allclose(rate[:, :, 0], np.array([qs] * nc, dtype=float), atol=0.15)
    np.testing.assert_allclose(out["fd_coef_predicted_rate"][1][:, :, 0], rate[:, :, 0],
                               atol=1e-9)
    assert out["fd_coef_rel_error"][1].shape == (nc, len(qs), len(spaces), len(resolutions), 1)


def test_coefficients_not_identifiable_from_an_eigenfunction_space_are_nan():
    """sin1 for screened Poisson: -u'' = pi^2 u, so k and c cannot be told apart (the Gram
    matrix of the features is singular): the bias and the least-squares weights are nan, not
    an error; sin2 (two eigenvalues) is identifiable."""
    from greenbench import theory

    op = get_operator("screened_poisson1d")
    for space, finite in (("sin1", False), ("sin2", True)):
        ds = generate(DataSpec(pde="screened_poisson1d", space=space, N=16, n_samples=40))
        F, u = ds.split("train")
        bias = op.fd_bias(space, ds.coefficients[ds.train_index], 16, 2)
        w = theory.fd_lstsq_weights(op, F, u, 2)
        assert np.isfinite(bias).all() == finite and np.isfinite(w).all() == finite, space
