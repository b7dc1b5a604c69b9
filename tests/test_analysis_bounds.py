"""Thm 3.2 against measurement: the linear model's cross-validation MSE equals the prediction."""

from __future__ import annotations

import numpy as np
import pytest

from greenbench.analysis import bounds, crossval, greens, quantity
from greenbench.data import DataSpec, generate
from greenbench.operators import get_operator
from synthetic import linear_predictor

P1 = get_operator("poisson1d")

SPACES = ["poly1", "poly3", "cos2", "sin1", "sin3", "fem"]


@pytest.fixture(scope="module")
def tiny():
    """Tiny in-memory datasets: 6 spaces at N = 12, 300 train / 300 test samples each."""
    N = 12
    ds = {s: generate(DataSpec(pde="poisson1d", space=s, N=N, n_samples=600, master_seed=7,
                               test_fraction=0.5)) for s in SPACES}
    return N, ds


def test_measured_linear_mse_equals_thm32_prediction(tiny):
    N, ds = tiny
    train = {s: ds[s].split("train") for s in SPACES}
    table, w_stars = bounds.bounds_table(train, SPACES, N, operator=P1, rank_tol=1e-10)
    bank = crossval.TestBank.from_splits({s: ds[s].split("test") for s in SPACES})
    preds = {(s, 0): linear_predictor(w_stars[s]) for s in SPACES}
    part = crossval.crossval_part("linear", "linear", N, SPACES, [0], bank, preds,
                                  np.zeros((len(SPACES), 1)), np.zeros((len(SPACES), 1), bool))
    out = bounds.measured_columns(table, part.mse.sel(model="linear"), n_test=300)
    z = out.measured_z.values
    pred = out.predicted_mse.values[..., None]
    meas = out.measured_mse.values
    machine = np.isnan(z)
    # statistical cells: within 5 standard errors of the exact expectation
    assert np.nanmax(np.abs(z)) < 5, np.nanmax(np.abs(z))
    assert (~machine).sum() >= 20
    # machine-precision cells (test space inside the training span) are tiny both ways
    u_ms = out.u_mean_square.values[None, :, :, None]
    assert np.all(np.broadcast_to(meas < 1e-20 * u_ms, meas.shape)[machine])
    assert np.all(np.broadcast_to(pred < 1e-20 * u_ms, meas.shape)[machine])
    # nested cells are at machine precision; fem-trained W* = K^-1 M is exact on fem data but
    # O(dx^2) off the exact smooth solutions (in span, yet a different data operator)
    i = SPACES.index
    assert machine[i("poly3"), i("poly1"), 0, 0] and machine[i("sin3"), i("sin1"), 0, 0]
    assert machine[i("fem"), i("fem"), 0, 0] and not machine[i("fem"), i("poly3"), 0, 0]
    assert not machine[i("poly1"), i("poly3"), 0, 0] and not machine[i("sin3"), i("fem"), 0, 0]
    assert bool(out.bound_holds.all())
    assert out.span_rank.sel(train_space="sin3").item() == 3
    assert out.span_rank.sel(train_space="fem").item() == N + 1
    assert out.out_of_span.sel(train_space="sin3", test_space="sin1").item() < 1e-25
    assert out.out_of_span.sel(train_space="sin1", test_space="sin3").item() > 0.1


def test_w_star_rel_error_of_an_extracted_model(tiny):
    N, ds = tiny
    train = {s: ds[s].split("train") for s in ("sin3", "fem")}
    _, w_stars = bounds.bounds_table(train, ["sin3"], N, operator=P1)
    for W in w_stars.values():
        R = greens.response_matrix(linear_predictor(W), N)
        assert bounds.w_star_rel_error(R, W) < 1e-13
        perturbed = R + 1e-3 * np.abs(W).max()
        assert bounds.w_star_rel_error(perturbed, W) > 1e-4


def test_no_linear_model_gives_nan_measurements(tiny):
    N, ds = tiny
    table, _ = bounds.bounds_table({"sin1": ds["sin1"].split("train")}, ["sin1", "sin3"], N,
                                    operator=P1)
    out = bounds.measured_columns(table, None, n_test=300)
    assert np.all(np.isnan(out.measured_mse)) and np.all(np.isnan(out.measured_z))
    assert np.all(np.isfinite(out.predicted_mse))


def test_data_quantity_does_not_fix_a_missing_span(tiny):
    """Linear model on sin3 data: in-span error collapses once n >= 3, out-of-span stays."""
    N, ds = tiny
    f, u = ds["sin3"].split("train")
    bank = crossval.TestBank.from_splits({s: ds[s].split("test") for s in ("sin3", "poly3")})
    q = quantity.quantity_errors({"linear": quantity.linear_trainer(1e-10)}, f, u,
                                 [1, 2, 3, 50, 300], bank)
    m = q.quantity_mse.sel(quantity_model="linear")
    ins, out = m.sel(test_space="sin3").values, m.sel(test_space="poly3").values
    assert ins[0] > 1e-8 and np.all(ins[2:] < 1e-28)
    assert np.all(out > 1e-8)
    assert out[-1] / out[2] > 0.5            # 100x more data: the out-of-span error stays
    with pytest.raises(ValueError, match="sample_sizes.*400.*300"):
        quantity.quantity_errors({"linear": quantity.linear_trainer(1e-10)}, f, u, [400], bank)
