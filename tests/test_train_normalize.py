"""Normalization (train.normalize): scales from the training split, stored with the member,
raw f -> raw u after loading, invariance to the data's scale, the physics of pideeponet on the
raw output, and the models it must not touch (bit-identical with and without it)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from greenbench import io
from greenbench.data import DataSpec, generate
from greenbench.models import PIDeepONet, validate_model_entries
from greenbench.models.normalized import Normalized, rms_scales
from greenbench.operators import get_operator
from greenbench.provenance import config_hash
from greenbench.train import (
    CheckpointMismatch,
    TrainTask,
    dataset_checksums,
    load_trained,
    metrics_dataset,
    predict,
    run_task,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated"),
    pytest.mark.usefixtures("torch_one_thread"),
]

PDE = "poisson1d"
N = 16
MLP = {"class": "mlp", "params": {"width": 16}, "train": {"steps": 150, "lr": 3e-3}}


def write(tmp, space, scale=1.0) -> str:
    path = tmp / f"s{scale:g}" / "data" / PDE / space / f"N{N}.h5"
    io.write_dataset(path, generate(DataSpec(PDE, space, N, 30, scale=scale)))
    return str(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("norm")
    return {scale: {s: write(tmp, s, scale) for s in ("sin2", "poly2", "fem")}
            for scale in (1.0, 1000.0)}


def run(name, entry, members, datasets, out):
    entry = {"params": {}, "train": {}, "enabled": True, **entry}
    spaces = {s for s, _ in members}
    t = TrainTask(model=name, entry=entry, pde=PDE, N=N, members=tuple(members),
                  datasets=datasets,
                  checksums=dataset_checksums({s: p for s, p in datasets.items() if s in spaces}),
                  out_dir=str(out))
    return t, run_task(t)


def train_split(path):
    ds = io.read_dataset(path)
    f, u = ds.split("train")
    return f, u, ds.x


def with_train(entry, **train):
    return {**entry, "train": {**entry.get("train", {}), **train}}


def test_scales_are_the_training_split_rms_and_load_trained_maps_raw_to_raw(data, tmp_path):
    members = [("sin2", 0), ("fem", 0)]
    t, result = run("mlp", MLP, members, data[1.0], tmp_path)
    ds = metrics_dataset("mlp", t.entry, N, PDE, [result])
    for space, _ in members:
        f, u, x = train_split(data[1.0][space])
        fs, us = np.sqrt(np.mean(f**2)), np.sqrt(np.mean(u**2))
        np.testing.assert_allclose(float(ds.f_scale.sel(train_space=space, seed=0)), fs,
                                   rtol=1e-12)
        np.testing.assert_allclose(float(ds.u_scale.sel(train_space=space, seed=0)), us,
                                   rtol=1e-12)
        path = t.member_path(space, 0)
        state = io.load_torch(path)["state_dict"]
        np.testing.assert_allclose(float(state["f_scale"]), fs, rtol=1e-6)
        np.testing.assert_allclose(float(state["u_scale"]), us, rtol=1e-6)
        module = load_trained(path, t.entry)
        assert isinstance(module, Normalized)
        pred = predict(module, f, x)
        # raw to raw: its MSE on the raw training data is the recorded train_mse (raw units)
        mse = np.mean((pred - u) ** 2)
        np.testing.assert_allclose(mse, float(ds.train_mse.sel(train_space=space, seed=0)),
                                   rtol=1e-4)
        assert np.all(pred[:, [0, -1]] == 0)  # the mlp's zero boundary survives the scales
        # and it is the inner network between the scales
        with torch.no_grad():
            ft = torch.as_tensor(f[:3], dtype=torch.float32)
            inner = module.inner(ft / float(state["f_scale"]),
                                 torch.as_tensor(x, dtype=torch.float32))
        np.testing.assert_allclose(pred[:3], float(state["u_scale"]) * inner.numpy(),
                                   rtol=1e-5, atol=1e-9)


def test_rms_scales_use_every_sample_and_node_and_never_zero():
    f = np.arange(12.0).reshape(2, 2, 3)
    fs, us = rms_scales(f, np.zeros_like(f))
    np.testing.assert_allclose(fs, [np.sqrt(np.mean(np.arange(6.0) ** 2)),
                                    np.sqrt(np.mean(np.arange(6.0, 12.0) ** 2))])
    np.testing.assert_array_equal(us, [1.0, 1.0])


def relative_errors(t, result, datasets):
    out = []
    for m in result["members"]:
        _, u, _ = train_split(datasets[m["train_space"]])
        out.append(m["train_mse"] / np.mean(u**2))
    return np.array(out)


@pytest.mark.parametrize("name, entry", [
    ("mlp", MLP),
    ("deeponet", {"class": "deeponet", "params": {"width": 16, "basis": 8},
                  "train": {"steps": 100, "lr": 3e-3}}),
])
def test_data_scaled_by_1e3_gives_the_same_relative_error(name, entry, data, tmp_path):
    """The oracle of normalization: a member trained on f, u scaled by 1000 follows the
    trajectory of the unscaled one (up to float32 rounding), and predicts 1000 times its
    output. Without normalization the same training ends elsewhere (the test can fail)."""
    members = [("sin2", 0), ("poly2", 0), ("fem", 0)]
    rel = {}
    for scale in (1.0, 1000.0):
        t, result = run(name, entry, members, data[scale], tmp_path / f"n{scale:g}")
        rel[scale] = relative_errors(t, result, data[scale])
        if scale == 1000.0:
            big = load_trained(t.member_path("sin2", 0), t.entry)
        else:
            small = load_trained(t.member_path("sin2", 0), t.entry)
    np.testing.assert_allclose(rel[1000.0], rel[1.0], rtol=1e-2)
    f, _, x = train_split(data[1.0]["sin2"])
    np.testing.assert_allclose(predict(big, 1000.0 * f, x), 1000.0 * predict(small, f, x),
                               rtol=1e-2, atol=1e-3 * np.abs(1000.0 * predict(small, f, x)).max())
    raw = {}
    for scale in (1.0, 1000.0):
        off = with_train(entry, normalize=False)
        t, result = run(name, off, members, data[scale], tmp_path / f"raw{scale:g}")
        raw[scale] = relative_errors(t, result, data[scale])
    assert np.max(np.abs(np.log(raw[1000.0] / raw[1.0]))) > np.log(2), (raw, rel)


@pytest.mark.parametrize("entry", [
    {"class": "fd"},
    {"class": "pinn", "params": {"n_nets": 2, "width": 4}, "train": {"steps": 20}},
    {"class": "linear"},
    {"class": "linear", "train": {"optimizer": "gd", "lr": 0.5, "steps": 20}},
])
def test_fd_pinn_and_linear_are_bit_identical_with_and_without_normalize(entry, data,
                                                                        tmp_path):
    members = [("sin2", 0), ("fem", 1)]
    out = {}
    for flag in (True, False):
        t, result = run(entry["class"], with_train(entry, normalize=flag), members, data[1.0],
                        tmp_path / str(flag))
        out[flag] = (t, result)
    (ta, ra), (_, rb) = out[True], out[False]
    for a, b in zip(ra["members"], rb["members"], strict=True):
        np.testing.assert_array_equal(a["loss"], b["loss"])
        assert a["train_mse"] == b["train_mse"]
        assert np.isnan(a.get("f_scale", np.nan)) and np.isnan(a.get("u_scale", np.nan))
        sa, sb = io.load_torch(a["path"])["state_dict"], io.load_torch(b["path"])["state_dict"]
        assert sa.keys() == sb.keys() and "f_scale" not in sa
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    # an entry that does not name the option keeps its fingerprint (files are not retrained)
    plain = TrainTask(model=entry["class"], entry={"params": {}, "enabled": True, **entry},
                      pde=PDE, N=N, members=tuple(members), datasets=data[1.0],
                      checksums=ta.checksums, out_dir="x")
    before = config_hash({"model": plain.model, "entry": plain.entry, "pde": PDE, "N": N,
                          "members": [list(m) for m in members], "master_seed": 0,
                          "checksums": [plain.checksums[s] for s, _ in members]})
    assert plain.fingerprint() == before
    mlp = TrainTask(**{**plain.__dict__, "model": "mlp", "entry": {"class": "mlp"}})
    assert mlp.fingerprint() != config_hash({  # a normalized member's record says so
        "model": "mlp", "entry": mlp.entry, "pde": PDE, "N": N,
        "members": [list(m) for m in members], "master_seed": 0,
        "checksums": [plain.checksums[s] for s, _ in members]})


def test_pideeponet_physics_is_computed_on_the_raw_output():
    """Oracle: the residual of the wrapper's raw output ``u = u_s * net(f / f_s)``, its second
    x-derivative taken by reverse-mode autograd (an independent path from the forward-mode
    jvp of ``extra_loss``), against the raw f."""
    torch.manual_seed(0)
    net = PIDeepONet(N=8, width=8, basis=4, pde_weight=0.3, bc_weight=2.0).double()
    wrapped = Normalized(net, f_scale=7.0, u_scale=0.05)
    x = torch.linspace(0, 1, 9, dtype=torch.float64)
    f = torch.randn(1, 9, dtype=torch.float64) * 7.0
    k = 1.5
    xg = x.clone().requires_grad_(True)
    u = wrapped(f, xg)[0]
    (u_x,) = torch.autograd.grad(u.sum(), xg, create_graph=True)
    (u_xx,) = torch.autograd.grad(u_x.sum(), xg)
    res = (-k * u_xx - f[0])[1:-1]
    want = 0.3 * res.pow(2).mean() + 2.0 * u.detach()[[0, -1]].pow(2).mean()
    op = get_operator("poisson1d", k=k)
    got = wrapped.extra_loss(f, x, op)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=0)
    # without scales it is the unnormalized loss of the same network
    torch.testing.assert_close(Normalized(net).extra_loss(f, x, op), net.extra_loss(f, x, op),
                               rtol=0, atol=0)


def test_pideeponet_trains_normalized(data, tmp_path):
    entry = {"class": "pideeponet", "params": {"width": 16, "basis": 8},
             "train": {"steps": 60, "lr": 3e-3}}
    t, result = run("pideeponet", entry, [("sin2", 0)], data[1000.0], tmp_path)
    m = result["members"][0]
    assert not m["diverged"] and m["loss"][-1] < m["loss"][0]
    assert isinstance(load_trained(m["path"], t.entry), Normalized)


USER_EXTRA = '''
import torch
from torch import nn


class Physics(nn.Module):
    def __init__(self, N):
        super().__init__()
        self.lin = nn.Linear(N + 1, N + 1)

    def forward(self, f, x):
        return self.lin(f)

    def extra_loss(self, f, x, k):
        return self(f, x).pow(2).mean()
'''


def test_user_extra_loss_without_scales_is_refused_when_normalized(tmp_path, monkeypatch):
    (tmp_path / "physmod.py").write_text(USER_EXTRA)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match=r"model 'p': Physics.extra_loss\(f, x, operator\) has "
                                         r"no keywords f_scale, u_scale"):
        validate_model_entries({"p": {"class": "physmod:Physics"}})
    validate_model_entries({"p": {"class": "physmod:Physics", "train": {"normalize": False}}})


def test_loading_with_the_other_normalize_setting_is_refused(data, tmp_path):
    t, _ = run("mlp", with_train(MLP, steps=5), [("sin2", 0)], data[1.0], tmp_path)
    entry = with_train(t.entry, normalize=False)
    with pytest.raises(CheckpointMismatch, match="trained with normalization"):
        load_trained(t.member_path("sin2", 0), entry)
