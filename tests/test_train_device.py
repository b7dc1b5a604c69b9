"""Device and dtype paths of training (issue 9 item 7), on the CPU: no test needs a GPU.

* which device a task trains on: the cluster settings decide (``ClusterSettings.task_device``:
  ``cuda`` when a task is given a GPU, else ``cpu``), ``resolve_device`` turns it into a torch
  device (``torch.cuda.is_available`` monkeypatched for the CUDA branches) and refuses a GPU the
  process cannot use with an error naming the setting, before any data is read;
* ``train.dtype`` reaches every parameter, data tensor, buffer, optimizer state, the saved
  state dict and the reloaded module;
* a file written from CUDA tensors loads on a CPU-only machine: the files are made with their
  storages tagged ``cuda:0`` exactly as ``torch.save`` tags tensors that live on a GPU (a
  serialization tagger registered for the test), which a plain ``torch.load`` refuses here.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.serialization as ts

from greenbench import io
from greenbench.data import DataSpec, generate
from greenbench.hpc import ClusterSettings, load_cluster_settings
from greenbench.models import TrainConfig
from greenbench.operators import from_attrs
from greenbench.train import (
    TrainTask,
    dataset_checksums,
    fit,
    load_trained,
    make_problem,
    predict,
    resolve_device,
    run_task,
)

pytestmark = [pytest.mark.usefixtures("torch_one_thread"),
              pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")]

PDE, N = "poisson1d", 8
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data8(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("data8")
    out = {}
    for space in ("sin2", "fem"):
        out[space] = str(tmp / PDE / space / f"N{N}.h5")
        io.write_dataset(out[space], generate(DataSpec(PDE, space, N, 20)))
    return out


def make_task(entry, datasets, out, members=(("sin2", 0), ("fem", 0)), **kw) -> TrainTask:
    entry = {"params": {}, "train": {}, "enabled": True, **entry}
    spaces = {s for s, _ in members}
    return TrainTask(model=entry["class"], entry=entry, pde=PDE, N=N, members=tuple(members),
                     datasets=datasets, out_dir=str(out),
                     checksums=dataset_checksums({s: datasets[s] for s in spaces}), **kw)


# ------------------------------------------------------------------ which device
def test_auto_is_cuda_exactly_when_cuda_is_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_cuda_when_available_and_index_checked(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match=r"'cuda:2' requested, but this machine has 2 visible"):
        resolve_device("cuda:2")


def test_a_gpu_the_process_cannot_use_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"'cuda' requested \(cluster settings gpus_per_task > 0"
                                         r"\), but torch.cuda.is_available\(\) is False"):
        resolve_device("cuda")


@pytest.mark.parametrize("bad", ["gpu", "tpu:0", "mps", ""])
def test_unknown_device_names_the_allowed_values(bad):
    with pytest.raises(ValueError, match="allowed: auto, cpu, cuda, cuda:<i>"):
        resolve_device(bad)


@pytest.mark.parametrize("settings, device", [
    ({}, "cpu"),
    ({"gpus_per_task": 0}, "cpu"),
    ({"gpus_per_task": 1}, "cuda"),
    ({"gpus_per_task": 2, "executor": "slurm"}, "cuda"),
    ({"slurm_additional_parameters": {"gres": "gpu:1"}}, "cuda"),
    ({"slurm_additional_parameters": {"gpus-per-node": 1}}, "cuda"),
    ({"slurm_additional_parameters": {"constraint": "a100"}}, "cpu"),
])
def test_cluster_settings_choose_the_task_device(settings, device):
    assert ClusterSettings.from_mapping(settings).task_device() == device


def test_shipped_cluster_files_choose_their_devices():
    files = {p.stem: load_cluster_settings(p, check_cluster=False).task_device()
             for p in sorted((ROOT / "config" / "cluster").glob("*.yaml"))}
    assert files["slurm"] == "cuda"              # the GPU-cluster template
    assert {files[k] for k in ("local", "debug", "ci")} == {"cpu"}


def _train_model_script():
    spec = importlib.util.spec_from_file_location("gb_train_model_script",
                                                  ROOT / "scripts" / "train_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("gpus, device", [(0, "cpu"), (1, "cuda")])
def test_training_job_gives_its_tasks_the_settings_device(gpus, device, data8, tmp_path,
                                                          monkeypatch):
    """The Snakemake training job (scripts/train_model.py) plans its tasks on the device of
    its cluster file: with no GPU given, CPU even where CUDA is available."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    script = _train_model_script()
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(f"executor: debug\ngpus_per_task: {gpus}\n")
    seen = []

    class Stop(Exception):
        pass

    def run_tasks(fn, tasks, settings, *args, **kwargs):
        seen.extend(tasks)
        raise Stop

    monkeypatch.setattr(script.hpc, "run_tasks", run_tasks)
    p = {"model": "mlp", "entry": {"class": "mlp", "params": {"width": 4}, "train": {},
                                   "enabled": True},
         "pde": PDE, "N": N, "spaces": ["sin2", "fem"], "seeds": [0], "datasets": data8,
         "out_dir": str(tmp_path / "out"), "master_seed": 0}
    with pytest.raises(Stop):
        script.main(p, str(tmp_path / "metrics.nc"), str(tmp_path / "logs"), str(cluster))
    assert seen and {t.device for t in seen} == {device}
    assert len({t.fingerprint() for t in seen}) == 1      # the device is not in the fingerprint
    assert seen[0].fingerprint() == make_task(p["entry"], data8, tmp_path / "out").fingerprint()


def test_task_given_a_gpu_on_a_cpu_only_machine_fails_before_reading_data(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    missing = {"sin2": str(tmp_path / "nowhere.h5")}
    t = TrainTask(model="mlp", entry={"class": "mlp", "params": {}, "train": {},
                                      "enabled": True},
                  pde=PDE, N=N, members=(("sin2", 0),), datasets=missing,
                  out_dir=str(tmp_path), checksums={"sin2": "sha256:x"}, device="cuda")
    with pytest.raises(ValueError, match="gpus_per_task"):
        run_task(t)


def test_the_task_device_reaches_the_problem(data8, tmp_path, monkeypatch):
    """``TrainTask.device`` is what ``run_task`` builds the problem on (a CUDA request is
    redirected to the CPU here, to see it arrive)."""
    import greenbench.train.task as task_mod

    asked, built = [], []
    monkeypatch.setattr(task_mod, "resolve_device",
                        lambda d: asked.append(d) or torch.device("cpu"))
    original = task_mod.make_problem

    def spy(*args):
        built.append(args[-1])
        return original(*args)

    monkeypatch.setattr(task_mod, "make_problem", spy)
    entry = {"class": "mlp", "params": {"width": 4}, "train": {"steps": 2}}
    result = run_task(make_task(entry, data8, tmp_path, device="cuda:0"))
    assert asked == ["cuda:0"] and built == [torch.device("cpu")]
    assert result["device"] == "cpu"


# ------------------------------------------------------------------ dtype
ENTRIES = {
    "deep_linear": {"class": "deep_linear", "params": {"depth": 2}},
    "mlp": {"class": "mlp", "params": {"width": 8}},
    "deeponet": {"class": "deeponet", "params": {"width": 8, "basis": 4}},
    "fno": {"class": "fno", "params": {"width": 4, "modes": 3, "layers": 1}},
    "pideeponet": {"class": "pideeponet", "params": {"width": 8, "basis": 4}},
    "pinn": {"class": "pinn", "params": {"n_nets": 2, "width": 4}},
    "fd": {"class": "fd"},
    "linear": {"class": "linear"},
}


def _with(entry, dtype, **train):
    return {"params": {}, "enabled": True, **entry,
            "train": {"steps": 3, "dtype": dtype, "checkpoint_every": 0, **train}}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_dtype_reaches_parameters_data_buffers_optimizer_and_files(name, dtype, data8,
                                                                   tmp_path):
    want = getattr(torch, dtype)
    entry = _with(ENTRIES[name], dtype,
                  optimizer="lbfgs" if name in ("fd", "linear") else "adam")
    cfg = TrainConfig.from_entry(name, entry)
    ds = io.read_dataset(data8["sin2"])
    f, u = ds.split("train")
    problem = make_problem(name, entry, N, [1], f[None], u[None], ds.x, from_attrs(ds.attrs),
                           cfg, resolve_device("cpu"))
    assert {p.dtype for p in problem.params.values()} == {want}
    tensors = [getattr(problem, a) for a in ("f", "u", "x") if hasattr(problem, a)]
    tensors += [t for t in getattr(problem, "buffers", {}).values() if t.is_floating_point()]
    tensors += [t for pair in getattr(problem, "features", []) for t in pair]   # fd
    assert tensors and {t.dtype for t in tensors} == {want}
    assert {p.device.type for p in problem.params.values()} == {"cpu"}
    fit(problem, cfg)
    assert all(p.dtype == want for m in problem.member_modules() for p in m.parameters())

    result = run_task(make_task(entry, data8, tmp_path, members=(("sin2", 0),)))
    path = result["members"][0]["path"]
    content = io.load_torch(path)
    assert content["dtype"] == dtype
    floats = {v.dtype for v in content["state_dict"].values() if v.is_floating_point()}
    assert floats == {want}
    module = load_trained(path, entry, N=N)
    assert {p.dtype for p in module.parameters()} == {want}
    if name not in ("pinn", "fd"):   # operators map f to u, in float64 numpy at the end
        out = predict(module, ds.split("test")[0], ds.x)
        assert out.dtype == np.float64 and np.isfinite(out).all()


def test_adam_and_lbfgs_state_keep_the_parameters_dtype_and_device(data8):
    ds = io.read_dataset(data8["fem"])
    f, u = ds.split("train")
    for optimizer in ("adam", "lbfgs"):
        entry = _with(ENTRIES["mlp"], "float64", optimizer=optimizer, checkpoint_every=1)
        cfg = TrainConfig.from_entry("mlp", entry)
        problem = make_problem("mlp", entry, N, [1], f[None], u[None], ds.x,
                               from_attrs(ds.attrs), cfg, torch.device("cpu"))
        states = []
        fit(problem, cfg, save=states.append)
        leaves = [t for s in states for t in _tensors(s["optimizer"]) if t.is_floating_point()]
        assert leaves and {t.dtype for t in leaves} == {torch.float64}
        assert {t.device.type for s in states for t in _tensors(s)} == {"cpu"}


def _tensors(obj):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _tensors(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _tensors(v)


# ------------------------------------------------------------------ files from a GPU
@contextlib.contextmanager
def saved_from_cuda():
    """``torch.save`` inside tags every storage ``cuda:0``, as it tags tensors on a GPU."""
    def tagger(obj):
        return "cuda:0"

    def deserializer(obj, location):
        return None

    ts.register_package(0, tagger, deserializer)
    try:
        yield
    finally:
        ts._package_registry[:] = [e for e in ts._package_registry if e[1] is not tagger]


def _resave_from_cuda(path):
    content = torch.load(path, map_location="cpu", weights_only=True)
    with saved_from_cuda():
        torch.save(content, path)
    if not torch.cuda.is_available():  # the file really says cuda: a plain load refuses it
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)


@pytest.mark.parametrize("name", ["mlp", "fno", "pinn"])
def test_member_trained_on_cuda_loads_and_predicts_on_cpu(name, data8, tmp_path):
    entry = _with(ENTRIES[name], "float32")
    result = run_task(make_task(entry, data8, tmp_path, members=(("fem", 0),)))
    path = result["members"][0]["path"]
    before = load_trained(path, entry, N=N)
    _resave_from_cuda(path)
    after = load_trained(path, entry, N=N)      # io.load_torch maps to the CPU
    sa, sb = before.state_dict(), after.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) and sb[k].device.type == "cpu" for k in sa)
    if name != "pinn":
        ds = io.read_dataset(data8["fem"])
        f = ds.split("test")[0]
        np.testing.assert_array_equal(predict(before, f, ds.x), predict(after, f, ds.x))


def test_training_checkpoint_written_on_cuda_resumes_on_cpu(data8, tmp_path, monkeypatch):
    """A task preempted on a GPU node resumes on a CPU one and ends where an uninterrupted run
    ends (the optimizer state and best parameters are mapped to the training device)."""
    entry = _with(ENTRIES["mlp"], "float64", steps=12, checkpoint_every=4, stop_patience=50)
    expected = run_task(make_task(entry, data8, tmp_path / "straight"))
    ckpt = tmp_path / "ckpt.pt"
    resumed = make_task(entry, data8, tmp_path / "resumed")
    original = io.save_torch

    class Preempted(Exception):
        pass

    def save_then_die(obj, path):
        original(obj, path)
        if Path(path) == ckpt and obj["step"] == 8:
            raise Preempted

    monkeypatch.setattr(io, "save_torch", save_then_die)
    with pytest.raises(Preempted):
        run_task(resumed, checkpoint_path=str(ckpt))
    monkeypatch.setattr(io, "save_torch", original)
    _resave_from_cuda(ckpt)
    result = run_task(resumed, checkpoint_path=str(ckpt))
    for a, b in zip(expected["members"], result["members"], strict=True):
        np.testing.assert_array_equal(a["loss"], b["loss"])
        sa = io.load_torch(a["path"])["state_dict"]
        sb = io.load_torch(b["path"])["state_dict"]
        assert all(torch.equal(sa[k], sb[k]) for k in sa)



# ------------------------------------------------------------------ nothing left on the CPU
_FACTORIES = {torch.zeros, torch.ones, torch.full, torch.empty, torch.tensor, torch.arange,
              torch.linspace, torch.eye, torch.randn, torch.rand, torch.randint, torch.randperm,
              torch.as_tensor, torch.from_numpy}


class _DeviceFreeFactories(torch.overrides.TorchFunctionMode):
    """Records every tensor factory called without ``device=``: inside a training step such a
    tensor lands on the CPU while the parameters are on the GPU."""

    def __init__(self):
        super().__init__()
        self.calls: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _FACTORIES and "device" not in kwargs:
            self.calls.append(getattr(func, "__name__", str(func)))
        return func(*args, **kwargs)


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_a_training_step_creates_no_tensor_without_a_device(name, data8, monkeypatch):
    """The objective and the optimizer step (what runs on the GPU every step) create tensors
    only on the parameters' device (``*_like``, ``device=``); on a GPU a device-free factory
    would put a CPU tensor into a CUDA computation. Checked on the CPU with a torch function
    mode that records such calls."""
    import greenbench.train.loop as loop_mod

    optimizer = {"fd": "lbfgs", "linear": "gd"}.get(name, "adam")
    extra = {"batch_size": 4} if name == "fno" else {}
    entry = _with(ENTRIES[name], "float64", optimizer=optimizer, steps=4, stop_patience=2,
                  **extra)
    cfg = TrainConfig.from_entry(name, entry)
    ds = io.read_dataset(data8["fem"])
    f, u = ds.split("train")
    problem = make_problem(name, entry, N, [1, 2], np.stack([f, f]), np.stack([u, u]), ds.x,
                           from_attrs(ds.attrs), cfg, torch.device("cpu"))
    mode = _DeviceFreeFactories()
    objective = problem.objective

    def watched_objective(*args, **kwargs):
        with mode:
            return objective(*args, **kwargs)

    make = loop_mod.make_optimizer

    def watched_make(params, cfg):
        opt = make(params, cfg)
        step = opt.step

        def watched_step(*args, **kwargs):
            with mode:
                return step(*args, **kwargs)

        opt.step = watched_step
        return opt

    monkeypatch.setattr(problem, "objective", watched_objective)
    monkeypatch.setattr(loop_mod, "make_optimizer", watched_make)
    fit(problem, cfg)
    assert mode.calls == []


def test_the_factory_check_sees_a_device_free_tensor():
    mode = _DeviceFreeFactories()
    p = torch.ones(3)
    with mode:
        torch.zeros(3, device=p.device)
        torch.zeros_like(p)
        p.new_full((2,), 1.0)
        torch.where(p > 0, p, 0.0)
    assert mode.calls == []
    with mode:
        torch.zeros(3)
        torch.tensor(1.0, dtype=p.dtype)
    assert mode.calls == ["zeros", "tensor"]
