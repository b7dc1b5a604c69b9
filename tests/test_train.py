"""Training: theorem oracles (Thm 3.1, Thm 3.2), determinism, ensembles, divergence, resume.

Every test generates its own tiny datasets in a temporary folder.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from greenbench import io, pde
from greenbench.data import DataSpec, generate
from greenbench.models import FD, TrainConfig
from greenbench.operators import get_operator
from greenbench.train import (
    TrainTask,
    dataset_checksums,
    fit,
    load_task_result,
    load_trained,
    make_problem,
    metrics_dataset,
    predict,
    run_task,
    task_done,
)

P1 = get_operator("poisson1d")

pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated"),
    pytest.mark.usefixtures("torch_one_thread"),
]


PDE = "poisson1d"


def write(tmp, space, N, n_samples=30, **kw) -> str:
    path = tmp / "data" / f"{space}-{kw.get('scale', 1)}-{kw.get('k', 1)}" / f"N{N}.h5"
    io.write_dataset(path, generate(DataSpec(PDE, space, N, n_samples, **kw)))
    return str(path)


@pytest.fixture(scope="module")
def data16(tmp_path_factory):
    """N = 16, 24 training samples each."""
    tmp = tmp_path_factory.mktemp("data16")
    return {s: write(tmp, s, 16) for s in ("sin2", "cos2", "poly2", "fem")}


def task(model, entry, N, members, datasets, out, **kw) -> TrainTask:
    entry = {"params": {}, "train": {}, "enabled": True, **entry}
    spaces = {s for s, _ in members}
    checksums = dataset_checksums({s: p for s, p in datasets.items() if s in spaces})
    return TrainTask(model=model, entry=entry, pde=PDE, N=N, members=tuple(members),
                     datasets=datasets, out_dir=str(out), checksums=checksums, **kw)


def arrays(path):
    ds = io.read_dataset(path)
    f, u = ds.split("train")
    return f, u, ds.x


# ------------------------------------------------------------------ every model trains
SMALL = {
    "fd": {"class": "fd"},
    "pinn": {"class": "pinn", "params": {"n_nets": 2, "width": 8},
             "train": {"steps": 300, "lr": 1e-2}},
    "linear": {"class": "linear", "train": {"optimizer": "gd", "lr": 0.5, "steps": 100}},
    "deep_linear": {"class": "deep_linear", "train": {"steps": 100, "lr": 3e-3}},
    "mlp": {"class": "mlp", "params": {"width": 16}, "train": {"steps": 100, "lr": 3e-3}},
    "deeponet": {"class": "deeponet", "params": {"width": 16, "basis": 8},
                 "train": {"steps": 200, "lr": 3e-3}},  # normalized: starts at loss ~1
    "fno": {"class": "fno", "params": {"width": 8, "modes": 4, "layers": 2},
            "train": {"steps": 60, "lr": 3e-3}},
    "pideeponet": {"class": "pideeponet", "params": {"width": 16, "basis": 8},
                   "train": {"steps": 100, "lr": 3e-3}},
}


@pytest.mark.parametrize("name", list(SMALL))
def test_every_model_drives_its_loss_down(name, data16, tmp_path):
    members = [("sin2", 0), ("poly2", 0)]
    t = task(name, SMALL[name], 16, members, data16, tmp_path / name)
    result = run_task(t)
    ds = metrics_dataset(name, t.entry, 16, PDE, [result])
    loss = ds.loss.values.reshape(2, -1)
    assert not ds.diverged.values.any()
    assert np.all(loss[:, -1] < 0.2 * loss[:, 0]), loss[:, [0, -1]]
    assert np.all(np.isfinite(ds.train_mse.values))
    assert task_done(t)
    if name == "pinn":  # k_hat moved from k_init = 0.5 towards k = 1
        assert np.all(np.abs(ds.k_hat.values - 1.0) < 0.1)


# ------------------------------------------------------------------ Thm 3.2 (linear model)
def thm32_limit(space: str, N: int, w0: np.ndarray) -> np.ndarray:
    """``W* = A U U^T + W0 (I - U U^T)`` with ``A U U^T = S B^+`` and ``U U^T = B B^+``."""
    B, S = pde.data_operator(space, N)
    B_pinv = np.linalg.pinv(B)
    return S @ B_pinv + w0 @ (np.eye(N + 1) - B @ B_pinv)


def train_linear(path, optimizer, N, steps=0, lr=1.0, init_scale=1.0, seed=7):
    f, u, x = arrays(path)
    entry = {"class": "linear", "params": {"init_scale": init_scale},
             "train": {"optimizer": optimizer, "steps": steps, "lr": lr}}
    cfg = TrainConfig.from_entry("linear", entry)
    problem = make_problem("linear", entry, N, [seed], f[None], u[None], x, P1, cfg,
                           torch.device("cpu"))
    w0 = problem.params["model.weight"][0].detach().numpy().copy()
    result = fit(problem, cfg)
    return w0, problem.params["model.weight"][0].detach().numpy(), result


@pytest.mark.parametrize("space", ["sin2", "cos2"])
def test_gradient_descent_converges_to_thm32_closed_form(space, tmp_path):
    N = 8
    path = write(tmp_path, space, N, n_samples=40)
    w0, w, result = train_linear(path, "gd", N, steps=400, lr=2.0)
    want = thm32_limit(space, N, w0)
    assert np.abs(w0).max() > 0.1  # a genuinely random start: W0 (I - UU^T) is not zero
    np.testing.assert_allclose(w, want, rtol=0, atol=1e-12 * np.abs(want).max())
    assert result.train_mse[0] < 1e-26


@pytest.mark.parametrize("init_scale", [0.0, 1.0])
def test_exact_optimizer_equals_thm32_closed_form(init_scale, tmp_path):
    N = 12
    path = write(tmp_path, "poly3", N, n_samples=40)
    w0, w, result = train_linear(path, "exact", N, init_scale=init_scale)
    want = thm32_limit("poly3", N, w0)
    np.testing.assert_allclose(w, want, rtol=0, atol=1e-12 * np.abs(want).max())
    assert result.train_mse[0] < 1e-28
    assert list(result.step) == [0, 1]


def test_exact_on_fem_recovers_the_operator_and_predicts_test_data(tmp_path):
    """fem data span every nodal f (n_train >= N+1): W* = A_FEM, exact on unseen samples."""
    N = 8
    path = write(tmp_path, "fem", N, n_samples=30)
    t = task("linear", {"class": "linear"}, N, [("fem", 0)], {"fem": path}, tmp_path / "out")
    run_task(t)
    module = load_trained(t.member_path("fem", 0), t.entry)
    np.testing.assert_allclose(module.effective_weight().detach().numpy(),
                               pde.fem_operator(N), rtol=0, atol=1e-13)
    ds = io.read_dataset(path)
    f_test, u_test = ds.split("test")
    np.testing.assert_allclose(predict(module, f_test, ds.x), u_test, rtol=0, atol=1e-14)


# ------------------------------------------------------------------ Thm 3.1 (FD learning)
def test_fd_learns_k_exactly_for_degree_below_the_stencil_order(tmp_path):
    k = 2.5
    path = write(tmp_path, "poly3", 16, k=k)  # u has degree 5: FD_4, FD_6 exact, FD_2 not
    t = task("fd", {"class": "fd"}, 16, [("poly3", 0)], {"poly3": path}, tmp_path / "fd")
    ds = metrics_dataset("fd", t.entry, 16, PDE, [run_task(t)])
    rel = ds.rel_error.sel(train_space="poly3", seed=0)
    rel_lstsq = ds.rel_error_lstsq.sel(train_space="poly3", seed=0)
    assert list(ds.q.values) == [2, 4, 6]
    assert float(rel.sel(q=4)) < 1e-13 and float(rel.sel(q=6)) < 1e-13  # trained by L-BFGS
    assert float(rel_lstsq.sel(q=4)) < 1e-13 and float(rel_lstsq.sel(q=6)) < 1e-13
    assert float(rel.sel(q=2)) > 1e-5  # p >= q: a discretization bias remains
    np.testing.assert_allclose(ds.w.values, ds.w_lstsq.values, rtol=1e-12)


@pytest.mark.parametrize("q, N", [(2, 64), (4, 64), (6, 32)])
def test_fd_bias_is_of_order_dx_to_the_q(q, N):
    """Same forcings sampled at N and 2N (poly8, p >= q): the bias ratio tends to 2^q."""
    rng = np.random.default_rng(0)
    c = rng.uniform(-1, 1, (20, 9))
    errors = []
    for n in (N, 2 * N):
        x = pde.grid(n)
        f = c @ (x[:, None] ** np.arange(9)).T
        u = pde.exact_solution("poly8", c, x, 1.0)
        entry = {"class": "fd", "params": {"orders": [q]}}
        cfg = TrainConfig.from_entry("fd", entry)
        problem = make_problem("fd", entry, n, [0], f[None], u[None], x, P1, cfg,
                               torch.device("cpu"))
        fit(problem, cfg)
        errors.append(problem.member_extras(P1)[0]["rel_error"][0])
    rate = np.log2(errors[0] / errors[1])
    assert abs(rate - q) < 0.25, (errors, rate)


# ------------------------------------------------------------------ determinism, ensembles
def _state(path):
    return io.load_torch(path)["state_dict"]


def test_same_seed_gives_identical_parameters(data16, tmp_path):
    entry = SMALL["mlp"]
    members = [("sin2", 0), ("sin2", 1)]
    paths = []
    for run in ("a", "b"):
        t = task("mlp", entry, 16, members, data16, tmp_path / run)
        run_task(t)
        paths.append(t)
    a, b = paths
    for member in members:
        sa, sb = _state(a.member_path(*member)), _state(b.member_path(*member))
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    s0, s1 = _state(a.member_path("sin2", 0)), _state(a.member_path("sin2", 1))
    assert not torch.equal(s0["inner.net.layers.0.weight"], s1["inner.net.layers.0.weight"])


@pytest.mark.parametrize("name, entry", [
    ("mlp", {"class": "mlp", "params": {"width": 8}, "train": {"steps": 30, "dtype": "float64"}}),
    ("deep_linear", {"class": "deep_linear", "train": {"optimizer": "lbfgs", "steps": 10}}),
    ("fno", {"class": "fno", "params": {"width": 6, "modes": 3, "layers": 2},
             "train": {"steps": 12, "batch_size": 8, "dtype": "float64"}}),
])
def test_vectorized_ensemble_matches_members_trained_one_by_one(name, entry, data16, tmp_path):
    members = [("sin2", 0), ("cos2", 0), ("fem", 3)]
    together = run_task(task(name, entry, 16, members, data16, tmp_path / "together"))
    looped_entry = {**entry, "train": {**entry["train"], "vectorize": False}}
    looped = run_task(task(name, looped_entry, 16, members, data16, tmp_path / "looped"))
    for i, member in enumerate(members):
        alone = run_task(task(name, entry, 16, [member], data16, tmp_path / f"alone{i}"))
        for other in (together, looped):
            np.testing.assert_allclose(other["members"][i]["loss"], alone["members"][0]["loss"],
                                       rtol=1e-9)
        sa = _state(tmp_path / f"alone{i}" / member[0] / f"seed{member[1]}.pt")
        for out in ("together", "looped"):
            so = _state(tmp_path / out / member[0] / f"seed{member[1]}.pt")
            for key in sa:
                torch.testing.assert_close(so[key], sa[key], rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------------ user models, bad input
def test_user_model_trains_and_predicts_end_to_end(data16, tmp_path, monkeypatch, repo_root):
    monkeypatch.syspath_prepend(str(repo_root))
    entry = {"class": "examples.my_model:ConvNet", "params": {"channels": 6},
             "train": {"steps": 80, "lr": 1e-2}}
    members = [("sin2", 0), ("cos2", 0)]
    t = task("convnet", entry, 16, members, data16, tmp_path / "user")
    result = run_task(t)
    assert result["vectorized"] is False  # user models loop over members by default
    ds = metrics_dataset("convnet", t.entry, 16, PDE, [result])
    loss = ds.loss.values.reshape(2, -1)
    assert np.all(loss[:, -1] < 0.2 * loss[:, 0])
    module = load_trained(t.member_path("sin2", 0), t.entry)
    f, u, x = arrays(data16["sin2"])
    pred = predict(module, f, x)
    assert pred.dtype == np.float64 and pred.shape == u.shape
    np.testing.assert_allclose(np.mean((pred - u) ** 2), ds.train_mse.sel(train_space="sin2",
                                                                          seed=0), rtol=1e-4)
    vec = {**entry, "train": {**entry["train"], "vectorize": True}}
    result_vec = run_task(task("convnet", vec, 16, members, data16, tmp_path / "vec"))
    np.testing.assert_allclose(result_vec["members"][1]["loss"], result["members"][1]["loss"],
                               rtol=1e-4)


BAD_MODELS = '''
import torch
from torch import nn

class WrongShape(nn.Module):
    def __init__(self, N):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(N + 1, N))
    def forward(self, f, x):
        return f @ self.w

class Crashes(nn.Module):
    def __init__(self, N):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(3))
    def forward(self, f, x):
        raise RuntimeError("boom")
'''


@pytest.mark.parametrize("cls, message", [
    ("WrongShape", r"model 'bad': WrongShape.forward returned shape \(2, 16\), expected "
                   r"\(batch, N\+1\) = \(2, 17\)"),
    ("Crashes", r"model 'bad': Crashes.forward\(f, x\) failed on the first batch .*boom"),
])
def test_bad_user_model_fails_at_first_batch(cls, message, data16, tmp_path, monkeypatch):
    (tmp_path / "badmodels.py").write_text(BAD_MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    t = task("bad", {"class": f"badmodels:{cls}"}, 16, [("sin2", 0)], data16, tmp_path / "o")
    with pytest.raises(ValueError, match=message):
        run_task(t)
    assert not task_done(t)


def test_wrong_resolution_dataset_is_named(data16, tmp_path):
    t = task("linear", {"class": "linear"}, 32, [("sin2", 0)], data16, tmp_path / "o")
    with pytest.raises(io.DatasetError, match=r"sin2.*N=16; task linear/N32/sin2/seed0 needs"):
        run_task(t)


def test_nan_loss_marks_only_that_member_diverged(tmp_path):
    """Forcings 1000x larger make GD with lr = 0.5 unstable for one member only."""
    N = 8
    datasets = {"sin2": write(tmp_path, "sin2", N), "cos2": write(tmp_path, "cos2", N,
                                                                 scale=1000.0)}
    entry = {"class": "linear", "train": {"optimizer": "gd", "lr": 0.5, "steps": 300}}
    t = task("linear", entry, N, [("sin2", 0), ("cos2", 0)], datasets, tmp_path / "both")
    ds = metrics_dataset("linear", t.entry, N, PDE, [run_task(t)])
    good, bad = ds.sel(train_space="sin2", seed=0), ds.sel(train_space="cos2", seed=0)
    assert bool(bad.diverged) and not bool(good.diverged)
    assert 0 < int(bad.final_step) < 300 and int(good.final_step) == 300
    assert np.isnan(float(bad.train_mse)) and np.isnan(bad.loss.values[-1])
    assert float(good.train_mse) < 1e-20
    alone = task("linear", entry, N, [("sin2", 0)], datasets, tmp_path / "alone")
    ds_alone = metrics_dataset("linear", alone.entry, N, PDE, [run_task(alone)])
    np.testing.assert_array_equal(ds_alone.loss.values[0, 0], good.loss.values)


# ------------------------------------------------------------------ checkpoints and resume
class Preempted(Exception):
    pass


@pytest.mark.parametrize("entry", [
    {"class": "mlp", "params": {"width": 8}, "train": {"steps": 30, "batch_size": 10}},
    {"class": "deeponet", "params": {"width": 8, "basis": 4},
     "train": {"steps": 30, "lr": 1e-2, "schedule": "cosine", "warmup_steps": 5,
               "stop_patience": 2, "stop_rel_tol": 0.01}},
    {"class": "deep_linear", "train": {"optimizer": "lbfgs", "steps": 30}},
    {"class": "pinn", "params": {"n_nets": 2, "width": 4}, "train": {"steps": 30}},
    {"class": "fd", "train": {"optimizer": "gd", "lr": 0.1, "steps": 30}},
])
def test_resume_after_preemption_gives_the_same_result(entry, data16, tmp_path, monkeypatch,
                                                       caplog):
    entry = {**entry, "train": {**entry["train"], "checkpoint_every": 10}}
    members = [("sin2", 0), ("fem", 1)]
    name = entry["class"]
    straight = task(name, entry, 16, members, data16, tmp_path / "straight")
    expected = run_task(straight)

    resumed = task(name, entry, 16, members, data16, tmp_path / "resumed")
    ckpt = str(tmp_path / "ckpt" / "task.pt")
    original, calls = io.save_torch, []

    def save_then_die(obj, path):
        original(obj, path)
        if str(path) == ckpt:
            calls.append(obj["step"])
            if obj["step"] == 20:
                raise Preempted

    monkeypatch.setattr(io, "save_torch", save_then_die)
    with pytest.raises(Preempted):
        run_task(resumed, checkpoint_path=ckpt)
    monkeypatch.setattr(io, "save_torch", original)
    assert calls == [10, 20] and not task_done(resumed)
    with caplog.at_level(logging.INFO, logger="greenbench.train.loop"):
        result = run_task(resumed, checkpoint_path=ckpt)
    assert "resumed at step 20 of 30" in caplog.text
    for a, b in zip(expected["members"], result["members"], strict=True):
        np.testing.assert_array_equal(a["loss"], b["loss"])
        sa, sb = _state(a["path"]), _state(b["path"])
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not (tmp_path / "ckpt" / "task.pt").exists()  # removed once the task finished
    if entry["train"].get("stop_patience"):  # one member stops before the preemption, one after
        stops = sorted(m["final_step"] for m in result["members"])
        assert stops[0] < 20 < stops[1] < 30 and all(m["stopped"] for m in result["members"])


def test_foreign_checkpoint_is_ignored(data16, tmp_path, caplog):
    entry = SMALL["mlp"]
    t = task("mlp", entry, 16, [("sin2", 0)], data16, tmp_path / "o")
    ckpt = tmp_path / "c.pt"
    io.save_torch({"fingerprint": "someone else", "step": 5}, ckpt)
    with caplog.at_level(logging.WARNING):
        run_task(t, checkpoint_path=str(ckpt))
    assert "belongs to another task" in caplog.text


# ------------------------------------------------------------------ task bookkeeping
def test_task_done_load_result_and_metrics_layout(data16, tmp_path):
    entry = {"class": "pinn", "params": {"n_nets": 2, "width": 4}, "train": {"steps": 5}}
    members = [("sin2", 0), ("cos2", 0), ("sin2", 1)]
    tasks = [task("pinn", entry, 16, members[:2], data16, tmp_path),
             task("pinn", entry, 16, members[2:], data16, tmp_path)]
    assert not task_done(tasks[0])
    results = [run_task(t) for t in tasks]
    assert all(task_done(t) for t in tasks)
    again = load_task_result(tasks[0])
    for a, b in zip(results[0]["members"], again["members"], strict=True):
        assert a["k_hat"] == b["k_hat"] and a["train_mse"] == b["train_mse"]
        np.testing.assert_array_equal(a["loss"], b["loss"])
    ds = metrics_dataset("pinn", tasks[0].entry, 16, PDE, [again, results[1]])
    assert list(ds.train_space.values) == ["cos2", "sin2"] and list(ds.seed.values) == [0, 1]
    assert ds.k_hat.dims == ("train_space", "seed") and ds.loss.dims[-1] == "step"
    assert np.isnan(float(ds.k_hat.sel(train_space="cos2", seed=1)))  # not trained
    assert int(ds.final_step.sel(train_space="cos2", seed=1)) == -1
    assert ds.attrs["model"] == "pinn" and ds.attrs["N"] == 16 and "git_commit" in ds.attrs
    with pytest.raises(ValueError, match="appears twice"):
        metrics_dataset("pinn", tasks[0].entry, 16, PDE, [results[0], results[0]])
    other = task("pinn", {**entry, "params": {"n_nets": 3, "width": 4}}, 16, members[:2],
                 data16, tmp_path)
    assert not task_done(other)  # the files belong to another config
    tasks[0].member_path("sin2", 0).write_bytes(b"truncated")
    assert not task_done(tasks[0])


def test_task_names_are_compact_and_unique():
    spaces = [f"sin{p}" for p in range(1, 9)] + ["fem"]
    t = task("linear", {"class": "linear"}, 32, [(s, 0) for s in spaces], {}, "out")
    assert t.name == "linear/N32/sin1-sin8+fem/seed0"
    t = task("mlp", {"class": "mlp"}, 16, [("poly1", s) for s in (0, 1, 2)], {}, "out")
    assert t.name == "mlp/N16/poly1/seed0-2"
    t = task("mlp", {"class": "mlp"}, 16, [("poly1", 0), ("cos3", 1)], {}, "out")
    assert t.name == "mlp/N16/poly1:0+cos3:1"


def test_fd_features_match_pde_apply_fd():
    """poisson1d's one feature is -FD_q(u), bit for bit (the former -w FD_q(u) = f)."""
    x = pde.grid(12)
    u = np.sin(np.pi * x)[None, None]
    feats = FD(12, operator=P1).features(-np.ones_like(u), u)
    np.testing.assert_array_equal(feats[1][0], -pde.apply_fd(u, 4, 1 / 12)[None])
    assert feats[2][1].shape[-1] == 13 - 6
