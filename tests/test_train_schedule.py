"""Learning-rate schedules and plateau stopping: oracles are closed-form values and the exact
trajectories of gradient descent on per-member quadratics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from greenbench.models import TrainConfig
from greenbench.train import fit
from greenbench.train.optim import lr_factor
from greenbench.train.problems import Problem


def test_cosine_schedule_with_warmup_at_known_steps():
    cfg = TrainConfig(steps=110, warmup_steps=10, schedule="cosine")
    assert lr_factor(0, cfg) == pytest.approx(0.1)
    assert lr_factor(4, cfg) == pytest.approx(0.5)
    assert lr_factor(9, cfg) == 1.0
    assert lr_factor(10, cfg) == 1.0                  # the cosine starts at its top
    assert lr_factor(60, cfg) == pytest.approx(0.5)   # half-way through the decay
    assert lr_factor(35, cfg) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor(110, cfg) == pytest.approx(0.0, abs=1e-15)
    assert 0 < lr_factor(109, cfg) < 1e-3


def test_constant_schedule_warmup_and_the_default_is_exactly_one():
    cfg = TrainConfig(steps=50, warmup_steps=4)
    assert [lr_factor(s, cfg) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    default = TrainConfig(steps=50)
    assert default.schedule == "constant" and default.warmup_steps == 0
    assert default.stop_patience == 0 and default.normalize is True
    assert all(lr_factor(s, default) == 1.0 for s in range(50))


@pytest.mark.parametrize("bad, match", [
    ({"schedule": "linear"}, "train.schedule"),
    ({"warmup_steps": -1}, "train.warmup_steps"),
    ({"stop_patience": 1.5}, "train.stop_patience"),
    ({"stop_rel_tol": 1.0}, "train.stop_rel_tol"),
    ({"normalize": "yes"}, "train.normalize"),
])
def test_bad_schedule_and_stopping_options_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig.from_entry("x", {"class": "mlp", "train": bad})


class Quadratics(Problem):
    """Member ``e``: ``L_e(x) = a_e x^2 / 2``, ``x (E, 1)`` from ``x0``. Gradient descent with
    step ``h`` multiplies ``x`` by ``1 - h a_e``."""

    def __init__(self, a, x0, cfg):
        super().__init__("q", "quadratic", list(range(len(a))), cfg, torch.device("cpu"),
                         torch.float64)
        self.a = torch.tensor(a, dtype=torch.float64)
        self.n_train = 1
        self.params = {"x": torch.tensor(x0, dtype=torch.float64)[:, None].requires_grad_(True)}

    def objective(self, params, batch=None):
        return 0.5 * self.a * params["x"][:, 0] ** 2

    def data_mse(self, params):
        return self.objective(params).detach()


def test_the_loop_applies_the_schedule_at_every_step():
    cfg = TrainConfig(optimizer="gd", lr=0.5, steps=12, warmup_steps=3, schedule="cosine",
                      dtype="float64")
    problem = Quadratics([1.0, 0.3], [2.0, -1.0], cfg)
    fit(problem, cfg)
    factors = [lr_factor(s, cfg) for s in range(12)]
    want = [x0 * np.prod([1 - 0.5 * f * a for f in factors]) for a, x0 in ((1.0, 2.0),
                                                                           (0.3, -1.0))]
    np.testing.assert_allclose(problem.params["x"].detach()[:, 0].numpy(), want, rtol=1e-14)


def test_plateau_stops_one_member_keeps_its_best_parameters_while_the_other_goes_on():
    """Member 0 (a = 2.5, lr 1) oscillates with growing amplitude, |1 - 2.5| = 1.5: its loss
    never improves after step 0, so with patience 3 it stops at step 3 and ends with its start
    x0. Member 1 (a = 0.5) improves by the factor 0.25 every step and trains all 20 steps."""
    cfg = TrainConfig(optimizer="gd", lr=1.0, steps=20, dtype="float64", stop_patience=3,
                      stop_rel_tol=1e-3, log_every=1)
    problem = Quadratics([2.5, 0.5], [1.0, 1.0], cfg)
    result = fit(problem, cfg)
    x = problem.params["x"].detach()[:, 0].numpy()
    assert list(result.final_step) == [3, 20]
    assert list(result.stopped) == [True, False]
    assert x[0] == 1.0                                  # its best parameters: the start
    assert x[1] == 0.5 ** 20                            # the last are the best
    # it stopped changing at step 3: the parameters it ended with are x0 * (-1.5)^3
    assert result.final_loss[0] == pytest.approx(0.5 * 2.5 * 1.5 ** 6)
    assert result.best_loss[0] == 1.25 and result.loss[0, -1] == 1.25
    assert result.best_loss[1] == result.final_loss[1] == 0.25 * 0.5 ** 40
    assert np.all(np.isfinite(result.loss[0, :4])) and np.all(np.isnan(result.loss[0, 4:-1]))
    assert np.all(np.isfinite(result.loss[1]))


def test_without_stopping_the_last_parameters_are_kept():
    cfg = TrainConfig(optimizer="gd", lr=1.0, steps=5, dtype="float64")
    problem = Quadratics([2.5], [1.0], cfg)
    result = fit(problem, cfg)
    assert problem.params["x"].item() == (-1.5) ** 5
    assert list(result.final_step) == [5] and not result.stopped[0]
    assert result.best_loss[0] == 1.25 and result.final_loss[0] == 1.25 * 1.5 ** 10


def test_a_relative_tolerance_stops_a_slow_member():
    """a = 0.5, lr 0.002: the loss falls by the factor q = 0.999^2 = 0.998001 a step.
    stop_rel_tol 0.01 is beaten after 6 steps (q^6 = 0.98807 < 0.99 < q^5), so with patience 6
    the count resets just in time, every time; with stop_rel_tol 0.02 (q^k < 0.98 first at
    k = 11) both members stop at step 6, their last parameters being their best."""
    def run(tol):
        cfg = TrainConfig(optimizer="gd", lr=0.002, steps=50, dtype="float64", stop_patience=6,
                          stop_rel_tol=tol)
        problem = Quadratics([0.5, 0.5], [1.0, 2.0], cfg)
        return problem, fit(problem, cfg)

    _, result = run(0.01)
    assert list(result.final_step) == [50, 50] and not result.stopped.any()
    problem, result = run(0.02)
    assert list(result.final_step) == [6, 6] and result.stopped.all()
    np.testing.assert_allclose(problem.params["x"].detach()[:, 0].numpy(),
                               [0.999 ** 6, 2 * 0.999 ** 6], rtol=1e-14)
