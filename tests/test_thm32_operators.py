"""Thm 3.2 for every operator (issue 10): the linear model's measured test MSE matches the
prediction in every cell of a small 'heatmap', for every registered 1D operator and for exact
and noisy training targets, within the sampling error the bounds use (5 standard errors of a
mean over the test samples; machine-precision cells tiny both ways)."""

from __future__ import annotations

import numpy as np
import pytest

from greenbench import theory
from greenbench.analysis import bounds as bd
from greenbench.analysis import crossval as cv
from greenbench.data import DataSpec, generate, noisy_targets
from greenbench.operators import get_operator, operator_names
from synthetic import linear_predictor

N, LEVELS = 10, (0.0, 1e-3)
SPACES = ["poly1", "poly3", "cos2", "sin1", "sin3", "fem"]
OPERATORS = [n for n in operator_names() if get_operator(n).dim == 1]


def test_every_1d_operator_is_covered():
    assert {"poisson1d", "biharmonic1d", "screened_poisson1d",
            "advection_diffusion1d"} <= set(OPERATORS)


@pytest.mark.parametrize("name", OPERATORS)
def test_measured_linear_mse_matches_thm32_for_every_operator_and_noise_level(name):
    op = get_operator(name)
    ds = {s: generate(DataSpec(pde=name, space=s, N=N, n_samples=400, master_seed=3,
                               test_fraction=0.5)) for s in SPACES}
    train = {s: ds[s].split("train") for s in SPACES}
    seeds = {s: int(ds[s].attrs["noise_seed"]) for s in SPACES}
    table = bd.noise_table(train, seeds, SPACES, N, list(LEVELS), operator=op, rank_tol=1e-10)
    bank = cv.TestBank.from_splits({s: ds[s].split("test") for s in SPACES})
    n_test = int(ds[SPACES[0]].attrs["n_test"])
    u_ms = np.array([np.mean(ds[s].split("test")[1] ** 2) for s in SPACES])
    n_stat = 0
    for level in LEVELS:
        # W* of the noisy targets, made exactly as training makes them
        preds = {}
        for s in SPACES:
            F, u = train[s]
            y = noisy_targets(u, level, seeds[s]) if level else u
            preds[(s, 0)] = linear_predictor(theory.w_star(F, y[:, 1:-1], 1e-10))
        part = cv.crossval_part("linear", "linear", N, SPACES, [0], bank, preds,
                             np.zeros((len(SPACES), 1)), np.zeros((len(SPACES), 1), bool))
        meas = part.mse.sel(model="linear", resolution=N, seed=0).transpose(
            "train_space", "test_space").values
        sel = dict(noise=level, resolution=N)
        pred = table["noise_predicted_mse"].sel(**sel).transpose(
            "train_space", "test_space").values
        se = table["noise_predicted_mse_std"].sel(**sel).transpose(
            "train_space", "test_space").values / np.sqrt(n_test)
        machine = pred < 1e-20 * u_ms[None, :]
        # in-span cells with exact targets: round-off both ways
        assert np.all(meas[machine] < 1e-20 * np.broadcast_to(u_ms, meas.shape)[machine]), name
        z = (meas - pred) / se
        assert np.all(np.abs(z[~machine]) < 5), (name, level, np.nanmax(np.abs(z[~machine])))
        n_stat += int((~machine).sum())
        i = SPACES.index
        if level == 0:      # nested cells are in span, the reverse is not
            assert machine[i("poly3"), i("poly1")] and machine[i("sin3"), i("sin1")], name
            assert not machine[i("poly1"), i("poly3")] and not machine[i("sin1"), i("sin3")]
        else:               # noise lifts every in-span cell off round-off
            assert not machine.any(), name
    assert n_stat >= 40
