"""Training tasks: the unit of work ``greenbench.hpc`` submits (one job-array element each).

A :class:`TrainTask` trains several ``(train_space, seed)`` members of one ``(model, N)``
together as one ensemble and writes one ``{out_dir}/{train_space}/seed{s}.pt`` per member.
Everything here is picklable and importable at top level, as submitit needs.

Provenance: a task is planned with the content checksum of every member's dataset
(:func:`dataset_checksums`); the checksums enter its :meth:`TrainTask.fingerprint`, so a member
whose data changed is retrained, never reused, and :func:`run_task` refuses a dataset whose
content no longer has the planned checksum. Every ``.pt`` records the checksum and data hash of
the dataset it was trained on and the full model entry; :func:`load_trained` builds the module
from the caller's entry and only compares it with the recorded one (:class:`CheckpointMismatch`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from greenbench import io, paths
from greenbench.analysis.checks import entry_differences, plain
from greenbench.data import noisy_targets
from greenbench.models.normalized import normalizes, wrap
from greenbench.models.parameter import ParameterLearnerError
from greenbench.models.registry import (
    TrainConfig,
    model_kind,
    resolve_class,
    validate_model_entries,
)
from greenbench.operators import from_attrs
from greenbench.provenance import config_hash
from greenbench.seeding import derive_seed
from greenbench.spaces import ALL_SPACES
from greenbench.train.loop import CHECKPOINT_VERSION, FitResult, fit
from greenbench.train.problems import build_member, make_problem

log = logging.getLogger(__name__)

PT_VERSION = 3
"""2: ``entry``, ``data_checksum`` and ``data_hash`` recorded (1 had class and params only);
3: the ``noise`` level of the training targets recorded."""


class CheckpointMismatch(ValueError):
    """A trained-model file does not belong to the config entry or dataset it is used with."""

    def __init__(self, path: str | os.PathLike, problems: Sequence[str]):
        self.path, self.problems = str(path), list(problems)
        super().__init__(f"{path}: trained member does not match this study "
                         f"({'; '.join(problems)}); retrain it (rerun the training job)")


def dataset_checksums(datasets: Mapping[str, str | os.PathLike]) -> dict[str, str]:
    """``{train_space: io.dataset_checksum(path)}``: what a :class:`TrainTask` is planned with."""
    return {space: io.dataset_checksum(path) for space, path in datasets.items()}


@dataclass(frozen=True)
class TrainTask:
    """One ensemble to train.

    Attributes
    ----------
    model
        Name of the entry in the config's ``models:``.
    entry
        The validated entry ``{class, params, train, enabled}``.
    pde
        PDE name (``poisson1d``).
    N
        Resolution.
    members
        ``(train_space, seed)`` pairs trained together as one ensemble.
    datasets
        ``train_space -> path`` of the HDF5 dataset at this ``N``.
    out_dir
        ``results/{pde}/train/{model}/N{N}``.
    master_seed
        The config's ``seed``.
    device
        ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda``, ``cuda:1``, ...
    checksums
        ``train_space -> "sha256:..."``: the content checksum of each member's dataset when the
        task was planned (:func:`dataset_checksums`). Part of the fingerprint; required by
        :func:`run_task`.
    data_hash
        The study's data hash (``provenance.data_hash``), ``""`` for any: the datasets'
        ``config_hash`` attribute must equal it.
    n_train
        Training-subset size (the data-quantity study): every member trains on the first
        ``n_train`` samples of its training split (i.i.d. samples, so a random subset, nested
        as ``n_train`` grows); ``None``: the whole split. When set it enters the name, the
        member seeds, the member paths (``{out_dir}/{space}/n{n}/seed{s}.pt``) and the
        fingerprint; when ``None`` these are exactly what they were without it.
    noise
        Noise level of the training targets (docs/decisions.md, "Measurement noise"): every
        member trains on ``u + noise * RMS(u_train) * Z``, ``Z`` the dataset's one
        standard-normal draw (``greenbench.data.noisy_targets``, seeded by the dataset's
        ``noise_seed``). It enters the name and the fingerprint when ``> 0``; at ``0`` the task
        is exactly what it was without it. Member seeds do not depend on it: the levels of a
        member differ only in their targets.
    """

    model: str
    entry: dict = field(hash=False)
    pde: str
    N: int
    members: tuple[tuple[str, int], ...]
    datasets: dict[str, str] = field(hash=False)
    out_dir: str
    master_seed: int = 0
    device: str = "auto"
    checksums: dict[str, str] = field(default_factory=dict, hash=False)
    data_hash: str = ""
    n_train: int | None = None
    noise: float = 0.0

    @property
    def name(self) -> str:
        """Human-readable and unique among the tasks of one (model, N), e.g.
        ``linear/N32/sin1-sin8+fem/seed0``."""
        spaces = list(dict.fromkeys(s for s, _ in self.members))
        seeds = sorted(dict.fromkeys(int(s) for _, s in self.members))
        if len(self.members) == len(spaces) * len(seeds) == len(set(self.members)):
            tail = f"{_compress_spaces(spaces)}/seed{_compress_ints(seeds)}"
        else:
            tail = "+".join(f"{s}:{seed}" for s, seed in self.members)
        size = "" if self.n_train is None else f"/n{self.n_train}"
        level = f"/noise{paths.noise_label(self.noise)}" if self.noise else ""
        return f"{self.model}/N{self.N}{level}{size}/{tail}"

    def member_seed(self, train_space: str, seed: int) -> int:
        """``derive_seed(master, pde, model, train_space, N, seed)``: the member's init seed
        (with ``n_train``: ``..., seed, "n", n_train``)."""
        size = () if self.n_train is None else ("n", int(self.n_train))
        return derive_seed(self.master_seed, self.pde, self.model, train_space, self.N, seed,
                           *size)

    def member_path(self, train_space: str, seed: int) -> Path:
        return member_path(self.out_dir, train_space, seed, self.n_train)

    def fingerprint(self) -> str:
        """Hash of everything that determines the result (checkpoints and ``.pt`` files must
        match it): model, entry, pde, N, members, master seed and the members' dataset
        checksums (the data hash is left out: the same numbers under another hash need no
        retraining); with ``n_train``, also the subset size; for a normalized member
        (``train.normalize``, a default applied at use, not written in the entry) the
        normalization, so that members trained before it existed are retrained."""
        record = {"model": self.model, "entry": self.entry, "pde": self.pde,
                  "N": self.N, "members": [list(m) for m in self.members],
                  "master_seed": self.master_seed,
                  "checksums": [self.checksums.get(s, "") for s, _ in self.members]}
        if self.n_train is not None:
            record["n_train"] = int(self.n_train)
        if self.noise:
            record["noise"] = float(self.noise)
        cls = resolve_class(self.entry["class"], model=self.model)
        if normalizes(self.entry["class"], model_kind(cls),
                      TrainConfig.from_entry(self.model, self.entry)):
            record["normalization"] = "rms of the training split"
        return config_hash(record)


def member_path(out_dir: str | os.PathLike, train_space: str, seed: int,
                n_train: int | None = None) -> Path:
    """Where a member's ``.pt`` file lives: ``{out_dir}/{train_space}/seed{seed}.pt``, or
    ``{out_dir}/{train_space}/n{n_train}/seed{seed}.pt`` for a training subset
    (:func:`greenbench.paths.member_in`, the one path grammar)."""
    return paths.member_in(out_dir, train_space, seed, n_train)


def _compress_ints(values: Sequence[int]) -> str:
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][-1] + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ",".join(map(str, r)) for r in runs)


def _compress_spaces(spaces: Sequence[str]) -> str:
    """``poly1..poly8`` in the canonical order become ``poly1-poly8``."""
    order = {s: i for i, s in enumerate(ALL_SPACES)}
    parts: list[list[str]] = []
    for s in spaces:
        prev = parts[-1][-1] if parts else None
        if prev is not None and s in order and prev in order and order[s] == order[prev] + 1 \
                and s.rstrip("0123456789") == prev.rstrip("0123456789"):
            parts[-1].append(s)
        else:
            parts.append([s])
    return "+".join(f"{p[0]}-{p[-1]}" if len(p) > 2 else "+".join(p) for p in parts)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when available, else ``cpu``; ``cpu``, ``cuda`` and ``cuda:<i>`` as
    given. A CUDA device this process cannot use (no CUDA, or no GPU ``i``) is an error naming
    it, raised before any data is read: a task given a GPU never trains on the CPU unnoticed.
    (The cluster settings choose it: :meth:`greenbench.hpc.ClusterSettings.task_device`.)"""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; allowed: auto, cpu, cuda, "
                         f"cuda:<i>") from exc
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; allowed: auto, cpu, cuda, cuda:<i>")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested (cluster settings gpus_per_task > 0"
                             f"), but torch.cuda.is_available() is False on this machine "
                             f"(a CPU-only torch, or no GPU visible: CUDA_VISIBLE_DEVICES="
                             f"{os.environ.get('CUDA_VISIBLE_DEVICES')!r}); use a cluster "
                             f"file with gpus_per_task: 0 to train on the CPU")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r} requested, but this machine has "
                             f"{torch.cuda.device_count()} visible GPU(s)")
    return dev


def _load_members(task: TrainTask) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, str]:
    """Stack the training splits ``(E, n_train, N+1)`` of the members' datasets, each verified
    against the checksum it was planned with; also returns the datasets' operator
    (:func:`greenbench.operators.from_attrs`: ``pde`` and its coefficients) and the data
    hash."""
    cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]] = {}
    hashes: dict[str, str] = {}
    fs, us = [], []
    for space, _ in task.members:
        if space not in task.datasets:
            raise ValueError(f"task {task.name}: no dataset path for train_space {space!r} "
                             f"(have {sorted(task.datasets)})")
        if space not in task.checksums:
            raise ValueError(f"task {task.name}: no planned dataset checksum for train_space "
                             f"{space!r}; build the task with "
                             f"checksums=greenbench.train.dataset_checksums(datasets)")
        if space not in cache:
            path = task.datasets[space]
            ds = io.read_dataset(path)  # checked: its arrays hash to its `checksum` attribute
            if ds.N != task.N or ds.attrs.get("pde") != task.pde:
                raise io.DatasetError(path, f"is pde={ds.attrs.get('pde')!r}, N={ds.N}; task "
                                            f"{task.name} needs pde={task.pde!r}, N={task.N}")
            have = ds.attrs["checksum"]
            if have != task.checksums[space]:
                raise io.DatasetError(path, f"content checksum is {have}, but task {task.name} "
                                            f"was planned with {task.checksums[space]} (the "
                                            f"dataset changed after planning; rerun the job)")
            hashes[space] = str(ds.attrs.get("config_hash", ""))
            if task.data_hash and hashes[space] != task.data_hash:
                raise io.DatasetError(path, f"data hash (attribute config_hash) is "
                                            f"{hashes[space]!r}, task {task.name} expects "
                                            f"{task.data_hash!r}")
            f, u = ds.split("train")
            # noise on the whole training split (its RMS sets the scale), then the subset
            u = noisy_targets(u, task.noise, int(ds.attrs["noise_seed"]))
            if task.n_train is not None:
                if not 1 <= task.n_train <= f.shape[0]:
                    raise ValueError(f"task {task.name}: n_train={task.n_train}, but {path} "
                                     f"has {f.shape[0]} training samples")
                f, u = f[:task.n_train], u[:task.n_train]
            cache[space] = (f, u, ds.x, from_attrs(ds.attrs))
        f, u, x, _ = cache[space]
        fs.append(f)
        us.append(u)
    sizes = {space: c[0].shape[0] for space, c in cache.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"task {task.name}: members need the same number of training samples "
                         f"to form one ensemble, got {sizes}")
    ops = {c[3] for c in cache.values()}
    if len(ops) > 1:
        raise ValueError(f"task {task.name}: datasets disagree on the operator's coefficients: "
                         f"{sorted(map(repr, ops))}")
    if len(set(hashes.values())) > 1:
        raise ValueError(f"task {task.name}: datasets of different studies (data hashes "
                         f"{hashes})")
    x = next(iter(cache.values()))[2]
    return np.stack(fs), np.stack(us), x, ops.pop(), next(iter(hashes.values()))


def run_task(task: TrainTask, checkpoint_path: str | None = None) -> dict[str, Any]:
    """Train all members of ``task`` as one ensemble and write their ``.pt`` files.

    Resumes from ``checkpoint_path`` when it exists and belongs to this task (same
    :meth:`TrainTask.fingerprint`; otherwise it is ignored with a warning), and saves a
    checkpoint there every ``train.checkpoint_every`` steps; the checkpoint is removed once the
    ``.pt`` files are written. Returns the picklable result read by :func:`metrics_dataset`
    (the same dict :func:`load_task_result` rebuilds from the files)."""
    validate_model_entries({task.model: task.entry})
    cfg = TrainConfig.from_entry(task.model, task.entry)
    device = resolve_device(task.device)
    f, u, x, operator, data_hash = _load_members(task)
    k = operator.coefficients["k"]
    seeds = [task.member_seed(space, seed) for space, seed in task.members]
    problem = make_problem(task.model, task.entry, task.N, seeds, f, u, x, operator, cfg, device)
    fingerprint = task.fingerprint()
    resume = None
    if checkpoint_path and os.path.exists(checkpoint_path):
        state = io.load_torch(checkpoint_path)
        if isinstance(state, dict) and state.get("fingerprint") == fingerprint \
                and state.get("version") == CHECKPOINT_VERSION:
            resume = state
        else:
            log.warning("%s: checkpoint %s belongs to another task, config or version; "
                        "starting over",
                        task.name, checkpoint_path)
    save = (lambda state: io.save_torch(state, checkpoint_path)) if checkpoint_path else None
    log.info("%s: training %d member(s) on %s (%s, %s, %d steps)", task.name, problem.E, device,
             cfg.optimizer, cfg.dtype, cfg.steps)
    result = fit(problem, cfg, resume=resume, save=save, fingerprint=fingerprint)
    members = _member_results(task, problem, result, operator)
    for member, module in zip(members, problem.member_modules(), strict=True):
        io.save_torch(_pt_content(task, member, module, cfg, operator, data_hash),
                      member["path"])
    if checkpoint_path and os.path.exists(checkpoint_path):
        os.remove(checkpoint_path)
    return _task_result(task, cfg, k, members, vectorized=getattr(problem, "vectorized", True),
                        device=str(device), data_hash=data_hash)


def _member_results(task: TrainTask, problem, result: FitResult, operator) -> list[dict]:
    extras = problem.member_extras(operator)
    out = []
    for e, (space, seed) in enumerate(task.members):
        size = {} if task.n_train is None else {"n_train": int(task.n_train)}
        out.append({"train_space": space, "seed": int(seed), **size,
                    "path": str(task.member_path(space, seed)),
                    "data_checksum": task.checksums[space],
                    "train_mse": float(result.train_mse[e]),
                    "diverged": bool(result.diverged[e]),
                    "wall_time": float(result.wall_time),
                    "final_step": int(result.final_step[e]),
                    "final_loss": float(result.final_loss[e]),
                    "best_loss": float(result.best_loss[e]),
                    "stopped": bool(result.stopped[e]),
                    "step": result.step.copy(), "loss": result.loss[e].copy(), **extras[e]})
    return out


def _task_result(task: TrainTask, cfg: TrainConfig, k: float, members: list[dict],
                 vectorized: bool, device: str, data_hash: str) -> dict[str, Any]:
    return {"task": task.name, "model": task.model, "class": task.entry["class"],
            "noise": float(task.noise),
            "kind": model_kind(resolve_class(task.entry["class"], task.model)), "pde": task.pde,
            "N": task.N, "k": k, "optimizer": cfg.optimizer, "dtype": cfg.dtype,
            "vectorized": vectorized, "device": device, "data_hash": data_hash,
            "members": members}


def _to_torch(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    return value


def _pt_content(task: TrainTask, member: Mapping[str, Any], module: nn.Module,
                cfg: TrainConfig, operator, data_hash: str) -> dict[str, Any]:
    """The ``.pt`` content; the operator's coefficients beyond ``k`` (``c``, ``b``) are recorded
    as ``coefficients`` (absent for poisson1d, whose files are as before)."""
    metrics = {key: _to_torch(v) for key, v in member.items() if key != "path"}
    k = operator.coefficients["k"]
    extra = {c: float(v) for c, v in operator.coefficients.items() if c != "k"}
    return {"version": PT_VERSION, "model": task.model, "class": task.entry["class"],
            "params": plain(dict(task.entry.get("params") or {})),
            "entry": plain(dict(task.entry)), "N": task.N, "pde": task.pde,
            "train_space": member["train_space"], "seed": member["seed"],
            "data_checksum": task.checksums[member["train_space"]], "data_hash": data_hash,
            "dtype": cfg.dtype, "k": float(k), "fingerprint": task.fingerprint(),
            "noise": float(task.noise),
            **({"coefficients": extra} if extra else {}),
            **({} if task.n_train is None else {"n_train": int(task.n_train)}),
            "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
            "metrics": metrics}


def task_done(task: TrainTask) -> bool:
    """All member ``.pt`` files exist, load, and were written for this task's fingerprint."""
    want = task.fingerprint()
    for space, seed in task.members:
        path = task.member_path(space, seed)
        if not path.exists():
            return False
        try:
            content = io.load_torch(path)
        except Exception:  # a truncated or foreign file counts as not done
            return False
        if not isinstance(content, dict) or content.get("fingerprint") != want \
                or "state_dict" not in content:
            return False
    return True


def load_task_result(task: TrainTask) -> dict[str, Any]:
    """The :func:`run_task` result of a finished task, rebuilt from its ``.pt`` files."""
    cfg = TrainConfig.from_entry(task.model, task.entry)
    members, k, hashes = [], float("nan"), set()
    for space, seed in task.members:
        path = task.member_path(space, seed)
        content = io.load_torch(path)
        metrics = {key: (v.numpy() if isinstance(v, torch.Tensor) else v)
                   for key, v in content["metrics"].items()}
        members.append({**metrics, "path": str(path)})
        k = float(content.get("k", k))
        hashes.add(str(content.get("data_hash", "")))
    if np.isnan(k):
        k = float(_load_members(task)[3].coefficients["k"])
    # the planned data hash; else the recorded one (the same numbers may carry another hash)
    data_hash = task.data_hash or (hashes.pop() if len(hashes) == 1 else "")
    return _task_result(task, cfg, k, members, vectorized=cfg.vectorize, device="",
                        data_hash=data_hash)


def check_trained(content: Mapping[str, Any], path: str | os.PathLike, entry: Mapping[str, Any],
                  *, N: int | None = None, data_checksum: str | None = None,
                  full_entry: bool = True, dataset: str | os.PathLike | None = None,
                  noise: float | None = None) -> None:
    """Raise :class:`CheckpointMismatch` naming ``path`` and both values unless the member file
    ``content`` was trained from ``entry`` (class and params; every key with ``full_entry``)
    at resolution ``N`` on the dataset of checksum ``data_checksum`` with targets at noise
    level ``noise`` (each when given). Nothing of the recorded class is imported."""
    problems = []
    if str(content.get("class")) != str(entry.get("class")):
        problems.append(f"class is {content.get('class')!r} in the file, "
                        f"{entry.get('class')!r} in the config")
    recorded = content.get("entry")
    if full_entry and isinstance(recorded, Mapping):
        problems += [f"model entry {d}" for d in entry_differences(recorded, entry)
                     if not d.startswith("class ")]
    else:  # version-1 files: class and params only
        have = plain(dict(content.get("params") or {}))
        want = plain(dict(entry.get("params") or {}))
        if have != want:
            problems.append(f"params are {have} in the file, {want} in the config")
        if full_entry:
            problems.append("no model entry recorded (a file from before greenbench recorded "
                            "it)")
    if N is not None and int(content.get("N", -1)) != int(N):
        problems.append(f"N is {content.get('N')!r} in the file, {int(N)} expected")
    if noise is not None:
        have_noise = content.get("noise")
        if have_noise is None:
            problems.append(f"no noise level recorded (a file from before greenbench recorded "
                            f"it), noise {float(noise)!r} expected")
        elif float(have_noise) != float(noise):
            problems.append(f"trained at noise level {float(have_noise)!r}, "
                            f"{float(noise)!r} expected")
    if data_checksum is not None and content.get("data_checksum") != data_checksum:
        problems.append(f"trained on data of checksum {content.get('data_checksum')!r}, "
                        f"{dataset or 'the dataset'} now has {data_checksum!r}")
    if problems:
        raise CheckpointMismatch(path, problems)


def load_trained(path: str | os.PathLike, entry: Mapping[str, Any], *, model: str | None = None,
                 N: int | None = None, data_checksum: str | None = None,
                 full_entry: bool = False, dataset: str | os.PathLike | None = None,
                 noise: float | None = None) -> nn.Module:
    """Rebuild a trained member from its ``.pt`` file (``weights_only`` load), in eval mode.

    The module is built from ``entry`` (the config's model entry: its ``class``, ``params`` and
    ``train.dtype``), never from the class the file names: the file's recorded class and params
    (every entry key with ``full_entry``), ``N`` and dataset checksum (of ``dataset``, named in
    the error) are only compared with what the caller gives (:func:`check_trained`), and a
    mismatch raises :class:`CheckpointMismatch` before anything is imported. A member trained
    with ``train.normalize`` is returned as :class:`greenbench.models.normalized.Normalized`
    with its saved scales: like every module returned, it maps raw ``f`` to raw ``u``."""
    content = io.load_torch(path)
    if not isinstance(content, dict) or "state_dict" not in content:
        raise ValueError(f"{path}: not a greenbench trained-model file (no state_dict)")
    check_trained(content, path, entry, N=N, data_checksum=data_checksum, full_entry=full_entry,
                  dataset=dataset, noise=noise)
    name = model or str(content.get("model", path))
    cfg = TrainConfig.from_entry(name, entry)
    module = build_member(entry["class"], int(content["N"]), entry.get("params") or {}, 0,
                          getattr(torch, cfg.dtype), name, _recorded_operator(content))
    normalized = normalizes(entry["class"], model_kind(type(module)), cfg)
    if normalized != ("f_scale" in content["state_dict"]):
        have = "with" if not normalized else "without"
        raise CheckpointMismatch(path, [f"trained {have} normalization, the config's entry "
                                        f"has train.normalize: {cfg.normalize}"])
    if normalized:
        module = wrap(module, model=name)   # its scales come with the state dict
    module.load_state_dict(content["state_dict"])
    return module.eval()


def _recorded_operator(content: Mapping[str, Any]):
    """The operator a member was trained with (``pde``, ``k`` and ``coefficients`` of its
    ``.pt``; the parameter learners are built with it), or None when not recorded."""
    from greenbench.operators import OPERATORS

    if content.get("pde") not in OPERATORS or "k" not in content:
        return None
    return from_attrs({"pde": content["pde"], "k": content["k"],
                       **dict(content.get("coefficients") or {})})


@torch.no_grad()
def predict(module: nn.Module, f: np.ndarray, x: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """``u = module(f, x)`` for ``f (n, N+1)`` in chunks, without gradients; float64 numpy.

    Raises ``TypeError`` for parameter learners (fd, pinn), which have no ``f -> u`` map."""
    if model_kind(type(module)) != "operator":
        raise ParameterLearnerError(f"{type(module).__name__} is a parameter learner; it does "
                                    f"not predict u from f")
    p = next(iter(module.parameters()), None)
    dtype = p.dtype if p is not None else torch.float32
    device = p.device if p is not None else torch.device("cpu")
    xt = torch.as_tensor(np.asarray(x), dtype=dtype, device=device)
    f = np.atleast_2d(np.asarray(f))
    out = [module(torch.as_tensor(f[i:i + chunk], dtype=dtype, device=device), xt)
           .double().cpu().numpy() for i in range(0, f.shape[0], chunk)]
    return np.concatenate(out, axis=0) if out else np.zeros((0, np.asarray(x).size))
