"""Ensemble optimizers and mini-batches: oracles are torch.optim and closed-form minimisers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from greenbench.models import TrainConfig
from greenbench.train.optim import GD, LBFGS, Adam
from greenbench.train.problems import Problem


def quadratic(A: torch.Tensor, b: torch.Tensor):
    """Members ``L_e(x) = 1/2 x^T A_e x - b_e^T x``; minimiser ``A_e^{-1} b_e``."""

    def loss(params):
        x = params["x"]
        return 0.5 * torch.einsum("ei,eij,ej->e", x, A, x) - torch.einsum("ei,ei->e", b, x)

    return loss


def step_all(opt, params, loss_fn, active):
    with torch.enable_grad():
        loss = loss_fn(params)
        grads = torch.autograd.grad(loss.sum(), list(params.values()))
    opt.step(params, loss.detach(), list(grads), active,
             lambda p: loss_fn(p).detach())


def test_adam_matches_torch_adam():
    torch.manual_seed(0)
    x0 = torch.randn(1, 5, dtype=torch.float64)
    A = torch.diag(torch.tensor([1.0, 2, 5, 10, 50], dtype=torch.float64))[None]
    b = torch.randn(1, 5, dtype=torch.float64)
    loss_fn = quadratic(A, b)
    params = {"x": x0.clone().requires_grad_(True)}
    ours = Adam(params, TrainConfig(lr=0.05))
    ref_x = x0.clone().requires_grad_(True)
    ref = torch.optim.Adam([ref_x], lr=0.05)
    for _ in range(50):
        step_all(ours, params, loss_fn, torch.ones(1, dtype=torch.bool))
        ref.zero_grad()
        loss_fn({"x": ref_x}).sum().backward()
        ref.step()
    torch.testing.assert_close(params["x"], ref_x, rtol=1e-13, atol=1e-14)


def test_gd_is_plain_gradient_descent_and_inactive_members_freeze():
    A = torch.eye(2, dtype=torch.float64).expand(2, 2, 2)
    b = torch.ones(2, 2, dtype=torch.float64)
    params = {"x": torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)}
    opt = GD(params, TrainConfig(lr=0.25, optimizer="gd"))
    step_all(opt, params, quadratic(A, b), torch.tensor([True, False]))
    np.testing.assert_array_equal(params["x"].detach().numpy(), [[0.25, 0.25], [0, 0]])


def test_lbfgs_solves_each_members_quadratic_independently():
    torch.manual_seed(1)
    E, n = 3, 6
    Q = torch.linalg.qr(torch.randn(E, n, n, dtype=torch.float64))[0]
    eig = torch.stack([torch.logspace(0, c, n, dtype=torch.float64) for c in (0.5, 2, 3)])
    A = Q @ torch.diag_embed(eig) @ Q.transpose(-1, -2)
    b = torch.randn(E, n, dtype=torch.float64)
    want = torch.linalg.solve(A, b)
    cfg = TrainConfig(optimizer="lbfgs", lr=1.0)

    def run(idx):
        params = {"x": torch.zeros(len(idx), n, dtype=torch.float64, requires_grad=True)}
        opt = LBFGS(params, cfg)
        for _ in range(60):
            step_all(opt, params, quadratic(A[idx], b[idx]), torch.ones(len(idx), dtype=bool))
        return params["x"].detach()

    together = run([0, 1, 2])
    torch.testing.assert_close(together, want, rtol=1e-9, atol=1e-10)
    for e in range(E):  # the same iterates alone: members share nothing
        torch.testing.assert_close(run([e])[0], together[e], rtol=1e-12, atol=1e-14)


class _Batches(Problem):
    def __init__(self, seeds, n_train, batch_size):
        super().__init__("m", "mlp", seeds, TrainConfig(batch_size=batch_size),
                         torch.device("cpu"), torch.float64)
        self.n_train = n_train


def test_batches_are_per_member_permutations_determined_by_seed_and_step():
    p = _Batches([11, 12], n_train=10, batch_size=4)  # 2 batches per epoch, 2 samples dropped
    epoch0 = torch.cat([p.batch_indices(0), p.batch_indices(1)], dim=1)
    for row in epoch0:
        assert len(set(row.tolist())) == 8  # no sample twice in an epoch
    assert not torch.equal(epoch0[0], epoch0[1])  # members draw their own permutations
    q = _Batches([12], n_train=10, batch_size=4)  # member 12 alone, asked out of order
    torch.testing.assert_close(q.batch_indices(3)[0], p.batch_indices(3)[1])
    torch.testing.assert_close(q.batch_indices(1)[0], epoch0[1, 4:])
    assert _Batches([1], 10, None).batch_indices(5) is None
    assert _Batches([1], 10, 50).batch_indices(5) is None  # batch larger than the data: full


@pytest.mark.parametrize("bad", [{"lr": 0}, {"steps": 1.5}, {"batch_size": 0}])
def test_train_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match=r"model 'x': train\."):
        TrainConfig.from_entry("x", {"class": "mlp", "train": bad})
