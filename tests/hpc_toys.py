"""Toy task functions for tests of greenbench.hpc (local, debug and SLURM executors).

Tests register this module with ``cloudpickle.register_pickle_by_value`` so that submitit's
worker processes (which do not have ``tests/`` on ``sys.path``) can unpickle the functions.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Toy:
    """A toy task: ``steps`` deterministic steps of ``step_s`` seconds each, checkpointed after
    every step; raises when the file ``fail_if`` exists; writes ``{out_dir}/{name}.json`` last."""

    name: str
    value: int
    out_dir: str
    steps: int = 1
    step_s: float = 0.0
    fail_if: str | None = None


def toy_done(task: Toy) -> bool:
    return Path(task.out_dir, f"{task.name}.json").exists()


def toy_load(task: Toy) -> dict:
    return json.loads(Path(task.out_dir, f"{task.name}.json").read_text())


def expected_acc(task: Toy) -> int:
    """The result of an uninterrupted run (the oracle for resume-from-checkpoint)."""
    acc = task.value
    for i in range(task.steps):
        acc = _step(acc, i)
    return acc


def _step(acc: int, i: int) -> int:
    return (acc * 1_000_003 + i * i + 7) % 2_147_483_647


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)  # atomic: a signal mid-write never leaves a torn checkpoint


def run_toy(task: Toy, checkpoint_path: str | None) -> dict:
    """Run (or resume) a toy task; the result records how many times it was started."""
    t0 = time.time()
    state = {"i": 0, "acc": task.value, "starts": 0}
    if checkpoint_path and os.path.exists(checkpoint_path):
        state = json.loads(Path(checkpoint_path).read_text())
    state["starts"] += 1
    if checkpoint_path:
        _write_json(Path(checkpoint_path), state)
    if task.fail_if and os.path.exists(task.fail_if):
        raise ValueError(f"toy failure in {task.name}")
    while state["i"] < task.steps:
        time.sleep(task.step_s)
        state["acc"] = _step(state["acc"], state["i"])
        state["i"] += 1
        if checkpoint_path:
            _write_json(Path(checkpoint_path), state)
    result = {"name": task.name, "acc": state["acc"], "starts": state["starts"],
              "t0": t0, "t1": time.time(), "pid": os.getpid(),
              "omp": os.environ.get("OMP_NUM_THREADS"),
              "slurm_array": os.environ.get("SLURM_ARRAY_JOB_ID")}
    Path(task.out_dir).mkdir(parents=True, exist_ok=True)
    _write_json(Path(task.out_dir, f"{task.name}.json"), result)
    return result


# A training job in its own process: run_tasks of one slow toy task with the local executor
# (fill in tests, out, logs, ckpt); the tests kill or signal it and look for orphans.
SLOW_DRIVER = """
import sys, cloudpickle
sys.path.insert(0, {tests!r})
import hpc_toys
cloudpickle.register_pickle_by_value(hpc_toys)
from greenbench.hpc import ClusterSettings, run_tasks
task = hpc_toys.Toy("slow", 1, {out!r}, steps=400, step_s=0.05)
run_tasks(hpc_toys.run_toy, [task], ClusterSettings(executor="local", poll_s=0.1),
          {logs!r}, name=lambda t: t.name, checkpoint_dir={ckpt!r})
"""
