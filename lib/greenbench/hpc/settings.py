"""Cluster settings of the training jobs (``config/cluster/*.yaml``), validated.

The settings say where and how tasks run (executor, partition, GPUs, time limit, array
parallelism, chunk size), never what they compute: they are kept out of the study config and
are not a rerun trigger. A bad file fails with an error naming the file, the key and what is
allowed; so does a file that asks for GPUs on a SLURM cluster whose partition has none
(:func:`check_gpus`, when ``sinfo`` answers), before any job runs.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

T = TypeVar("T")
EXECUTORS: tuple[str, ...] = ("local", "debug", "slurm", "auto")


class ClusterSettingsError(ValueError):
    """A cluster settings file (config/cluster/*.yaml) is invalid; the message names the key."""


@dataclass(frozen=True)
class ClusterSettings:
    """Execution settings of the training jobs, read from ``config/cluster/*.yaml``.

    Never part of the study config: changing them changes where and how tasks run, not what
    they compute. ``timeout_min`` is per task (per array element); SLURM gets it rounded up to
    whole minutes. ``signal_delay_s`` is how long before the time limit the task is told to
    checkpoint and requeue; it must be shorter than the time limit. ``chunk_size`` is how many
    (train_space, seed) members one task trains together as an ensemble (0: all members of a
    training job in one task). ``max_requeue`` caps timeouts/preemptions per task.
    ``cpus_per_task`` also sets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` of the task, so results
    do not depend on the executor (thread count changes floating-point reduction order).
    """

    executor: str = "local"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gpus_per_task: int = 0
    cpus_per_task: int = 1
    mem_gb: float | None = None
    timeout_min: float = 60.0
    signal_delay_s: int = 90
    array_parallelism: int = 2
    chunk_size: int = 0
    max_requeue: int = 3
    poll_s: float = 1.0
    setup: tuple[str, ...] = ()
    slurm_additional_parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _validate(self, "<ClusterSettings>")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], source: str = "<mapping>") -> ClusterSettings:
        """Build from a mapping (a parsed YAML file); errors name ``source`` and the key."""
        if not isinstance(raw, Mapping):
            raise ClusterSettingsError(f"{source}: expected a mapping of settings, "
                                       f"got {type(raw).__name__}")
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            raise ClusterSettingsError(f"{source}: unknown key(s) {unknown}; "
                                       f"allowed keys: {allowed}")
        values = dict(raw)
        if isinstance(values.get("setup"), list):
            values["setup"] = tuple(values["setup"])
        defaults = {f.name: (f.default if f.default is not MISSING else f.default_factory())
                    for f in fields(cls)}  # type: ignore[misc]
        _validate(SimpleNamespace(**(defaults | values)), source)  # error names the file
        return cls(**values)

    def resolved_executor(self) -> str:
        """``executor`` with ``auto`` resolved: ``slurm`` if ``srun`` is on PATH, else ``local``."""
        if self.executor != "auto":
            return self.executor
        return "slurm" if shutil.which("srun") else "local"

    def in_process_when_local(self, cheap: bool) -> ClusterSettings:
        """The settings for a job whose tasks are ``cheap`` (:func:`greenbench.train.cheap_fit`):
        the debug (in-process) executor when the executor resolves to ``local``, so that
        milliseconds of work do not pay a subprocess start-up. The one place this is decided;
        SLURM (and debug) settings, and tasks that are not cheap, are returned unchanged."""
        if cheap and self.resolved_executor() == "local":
            return replace(self, executor="debug")
        return self

    def task_device(self) -> str:
        """The device a training task of these settings trains on: ``cuda`` when the settings
        give each task a GPU (``gpus_per_task > 0``, or a GPU asked for through
        ``slurm_additional_parameters``), else ``cpu`` -- never ``auto``, so that a task on a
        machine that has a GPU it was not given (the debug executor, a shared node) stays on
        the CPU, and a task given one fails with a clear error if it cannot use it
        (:func:`greenbench.train.resolve_device`). The one place this is decided."""
        return "cuda" if _requested_gpus(self) is not None else "cpu"

    def local_threads(self, n_tasks: int) -> int:
        """CPU threads this machine spends on ``n_tasks`` tasks (for Snakemake's ``threads:``):
        ``cpus_per_task * min(array_parallelism, n_tasks)`` locally, 1 when SLURM runs them."""
        if self.resolved_executor() == "slurm":
            return 1
        parallel = 1 if self.resolved_executor() == "debug" else self.array_parallelism
        return self.cpus_per_task * max(1, min(parallel, n_tasks))


def _validate(s: Any, source: str) -> None:
    def bad(key: str, allowed: str) -> ClusterSettingsError:
        value = getattr(s, key)
        return ClusterSettingsError(f"{source}: key {key} is {value!r}; allowed: {allowed}")

    if s.executor not in EXECUTORS:
        raise bad("executor", f"one of {list(EXECUTORS)}")
    for key in ("partition", "account", "qos"):
        v = getattr(s, key)
        if v is not None and (not isinstance(v, str) or not v.strip()):
            raise bad(key, "a non-empty string, or null for the cluster default")
    for key, lo in (("gpus_per_task", 0), ("cpus_per_task", 1), ("signal_delay_s", 0),
                    ("array_parallelism", 1), ("chunk_size", 0), ("max_requeue", 0)):
        v = getattr(s, key)
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise bad(key, f"an integer >= {lo}")
    for key, optional in (("mem_gb", True), ("timeout_min", False), ("poll_s", False)):
        v = getattr(s, key)
        if v is None and optional:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
            raise bad(key, "a number > 0" + (", or null (cluster default)" if optional else ""))
    if s.signal_delay_s >= s.timeout_min * 60:
        raise bad("signal_delay_s", f"fewer seconds than timeout_min ({s.timeout_min} min)")
    if not isinstance(s.setup, tuple) or not all(isinstance(x, str) for x in s.setup):
        raise bad("setup", "a list of shell lines run before each SLURM task")
    extra = s.slurm_additional_parameters
    scalar = str | int | float | bool
    if not isinstance(extra, Mapping) or not all(
            isinstance(k, str) and isinstance(v, scalar) for k, v in extra.items()):
        raise bad("slurm_additional_parameters",
                  "a mapping sbatch-option -> value, e.g. {constraint: a100, gres: 'gpu:1'}")


def load_cluster_settings(path: str | os.PathLike, *, check_cluster: bool = True
                          ) -> ClusterSettings:
    """Read and validate a cluster settings file (YAML); errors name the file and the key.

    With ``check_cluster`` (default) also :func:`check_gpus`: GPUs requested under the SLURM
    executor from a partition that has none fail here, before any job runs."""
    if not Path(path).is_file():
        raise ClusterSettingsError(f"cluster settings file {path} does not exist "
                                   "(see config/cluster/*.yaml)")
    from greenbench.io import read_yaml  # lazily: task workers import hpc but need no h5py

    settings = ClusterSettings.from_mapping(read_yaml(path), source=str(path))
    if check_cluster:
        check_gpus(settings, source=str(path))
    return settings


def _requested_gpus(s: ClusterSettings) -> str | None:
    """How the settings ask for GPUs (for the message), or None when they do not."""
    if s.gpus_per_task > 0:
        return f"gpus_per_task is {s.gpus_per_task}"
    for key, value in s.slurm_additional_parameters.items():
        k = key.replace("-", "_")
        if (k == "gres" and "gpu" in str(value)) or (k.startswith("gpu") and value):
            return f"slurm_additional_parameters has {key}: {value}"
    return None


def check_gpus(settings: ClusterSettings, source: str = "cluster settings") -> None:
    """Fail early when the SLURM executor would ask for GPUs that the partition does not have.

    Under the ``slurm`` executor (``auto`` resolving to it) with ``gpus_per_task > 0`` (or a
    GPU ``gres``/``gpus*`` in ``slurm_additional_parameters``), asks ``sinfo`` for the generic
    resources of the partition (``partition``, else the cluster's default one). When no node of
    it has a ``gpu`` resource, raises :class:`ClusterSettingsError` naming the file, the
    partition and what to use instead; ``sbatch`` would otherwise refuse each training array
    with ``Invalid generic resource (gres) specification`` only once training is reached.
    Skipped (passes) when ``sinfo`` is absent, fails or does not know the partition: ``sbatch``
    then has the last word. One ``sinfo`` call per process (cached)."""
    wanted = _requested_gpus(settings)
    if wanted is None or settings.resolved_executor() != "slurm":
        return
    found = partition_gres(settings.partition)
    if found is None:
        return
    partition, gres = found
    if any("gpu" in g for g in gres):
        return
    shown = ", ".join(sorted({"none" if g == "(null)" else g for g in gres}))
    raise ClusterSettingsError(
        f"{source}: {wanted} but partition {partition!r} of this SLURM cluster has no GPUs "
        f"(sinfo reports its generic resources as: {shown}); sbatch would refuse every "
        "training array with 'Invalid generic resource (gres) specification'. On a CPU-only "
        "or test cluster use config/cluster/ci.yaml (--config cluster=config/cluster/ci.yaml) "
        "or set gpus_per_task: 0; else choose a partition with GPUs (key partition).")


def partition_gres(partition: str | None) -> tuple[str, tuple[str, ...]] | None:
    """``(partition, generic resources of its nodes)`` from ``sinfo`` (``"(null)"``: none);
    ``partition=None`` is the cluster's default partition. ``None`` when ``sinfo`` is absent,
    fails, or lists no such partition."""
    rows = _sinfo_partitions_gres()
    if rows is None:
        return None
    if partition is None:
        defaults = [p for p, _ in rows if p.endswith("*")]
        if not defaults:
            return None
        partition = defaults[0]
    name = partition.rstrip("*")
    gres = tuple(g for p, g in rows if p.rstrip("*") == name)
    return (name, gres) if gres else None


@functools.cache
def _sinfo_partitions_gres() -> tuple[tuple[str, str], ...] | None:
    if shutil.which("sinfo") is None:
        return None
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%P|%G"], capture_output=True, text=True,
                             timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    rows = tuple(tuple(ln.strip().split("|", 1)) for ln in out.stdout.splitlines()
                 if "|" in ln)
    return rows  # type: ignore[return-value]


def chunks(members: Sequence[T], size: int) -> list[tuple[T, ...]]:
    """Split ``members`` in order into consecutive chunks of ``size`` (0: one chunk of all)."""
    if size < 0:
        raise ValueError(f"chunk size must be >= 0, got {size}")
    size = size or max(1, len(members))
    return [tuple(members[i:i + size]) for i in range(0, len(members), size)]


