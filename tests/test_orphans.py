"""No orphans: greenbench.hpc.watchdog, as wired into greenbench.hpc.run and common.smk.

Oracles: ``/proc`` says which processes exist (read here independently of the module under test;
a zombie counts as gone, since this container's pid 1 may never reap it, and a pid with another
start time is another process); files written by the tasks count how often a task was trained
and when; every kill is a real ``SIGKILL``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from greenbench.hpc import watchdog
from hpc_toys import SLOW_DRIVER, Toy, expected_acc, toy_done

TESTS = Path(__file__).resolve().parent
PY = sys.executable
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


# ------------------------------------------------------------------------------ /proc helpers
def _stat(pid: int) -> tuple[str, int, str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    f = raw[raw.rindex(")") + 2:].split()
    return f[0], int(f[1]), f[19]


def _running(pid: int, start: str) -> bool:
    s = _stat(pid)
    return s is not None and s[0] not in "ZX" and s[2] == start


def _descendants(root: int) -> dict[int, str]:
    """{pid: start time} of every running descendant of ``root``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (s := _stat(int(entry))) is not None and s[0] not in "ZX":
            children.setdefault(s[1], []).append(int(entry))
    out, todo = {}, [root]
    while todo:
        for c in children.get(todo.pop(), []):
            if (s := _stat(c)) is not None:
                out[c] = s[2]
                todo.append(c)
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _seconds_until_gone(procs: dict[int, str], timeout: float) -> float:
    """Seconds until none of ``procs`` runs; fails naming the survivors after ``timeout``."""
    t0 = time.monotonic()
    while (alive := [p for p, s in procs.items() if _running(p, s)]):
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"still running {timeout}s after the kill: "
                        + "; ".join(f"{p}: {_cmdline(p)[:150]}" for p in alive))
        time.sleep(0.05)
    return time.monotonic() - t0


def _wait_for(cond, timeout: float, what: str) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def _kill_all(procs) -> None:
    for p in procs:
        if isinstance(p, subprocess.Popen):
            if p.poll() is None:
                p.kill()
                p.wait()


# ------------------------------------------------------------------------------ watchdog units
_PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
print(child.pid, flush=True)
time.sleep(120)
"""
_CHILD = {
    "prctl": """
import signal, time
from pathlib import Path
from greenbench.hpc import watchdog
assert watchdog.set_parent_death_signal(signal.SIGKILL)
Path({ready!r}).touch()
time.sleep(120)
""",
    "poll": """
import os, time
from pathlib import Path
from greenbench.hpc import watchdog
parent = watchdog.ProcessRef.of(os.getppid())
watchdog.Watchdog(parent, lambda: os._exit(3), interval_s=0.2).start()
Path({ready!r}).touch()
time.sleep(120)
""",
}


@pytest.mark.parametrize("mode", ["prctl", "poll"])
def test_child_dies_within_seconds_when_its_parent_is_sigkilled(tmp_path, mode):
    ready = tmp_path / "ready"
    parent = subprocess.Popen([PY, "-c", _PARENT, _CHILD[mode].format(ready=str(ready))],
                              stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        start = _stat(child)[2]
        _wait_for(ready.exists, 60, "the child to start watching")
        parent.kill()  # SIGKILL: no handler of the parent runs
        parent.wait()
        assert _seconds_until_gone({child: start}, timeout=5) < 5
    finally:
        _kill_all([parent])
        if _stat(child) and _running(child, start):
            os.kill(child, signal.SIGKILL)


def test_process_ref_counts_exited_zombie_and_reused_pids_as_gone():
    me = watchdog.ProcessRef.of(os.getpid())
    assert me is not None and me.alive()
    assert not watchdog.ProcessRef(os.getpid(), "0").alive()  # same pid, other start: reused
    p = subprocess.Popen([PY, "-c", "pass"])
    _wait_for(lambda: (_stat(p.pid) or ("Z",))[0] in "ZX", 30, "the child to exit")
    assert watchdog.ProcessRef.of(p.pid) is None  # a zombie (not reaped yet) is gone
    p.wait()
    assert watchdog.ProcessRef.of(p.pid) is None


def test_snakemake_pid_is_watched_only_when_it_is_an_ancestor(monkeypatch):
    monkeypatch.delenv(watchdog.SNAKEMAKE_PID_ENV, raising=False)
    assert watchdog.snakemake_process() is None
    monkeypatch.setenv(watchdog.SNAKEMAKE_PID_ENV, str(os.getppid()))
    assert watchdog.snakemake_process() == watchdog.ProcessRef.of(os.getppid())
    other = subprocess.Popen([PY, "-c", "import time; time.sleep(30)"])
    try:  # alive but not an ancestor: a value inherited from another run
        monkeypatch.setenv(watchdog.SNAKEMAKE_PID_ENV, str(other.pid))
        assert watchdog.snakemake_process() is None
    finally:
        _kill_all([other])
    monkeypatch.setenv(watchdog.SNAKEMAKE_PID_ENV, "not-a-pid")
    assert watchdog.snakemake_process() is None


# ------------------------------------------------------------------------------ per-task lock
_RUNNER = """
import json, logging, os, sys, time
sys.path.insert(0, {tests!r})
logging.basicConfig(level=logging.INFO, format="%(message)s")
import hpc_toys
from greenbench.hpc import TaskRunner

def counted(task, ckpt):
    with open({count!r}, "a") as f:
        f.write(json.dumps({{"pid": os.getpid(), "t": time.time()}}) + "\\n")
    return hpc_toys.run_toy(task, ckpt)

task = hpc_toys.Toy("t", 5, {out!r}, steps=40, step_s=float(sys.argv[1]))
runner = TaskRunner(counted, task, {ckpt!r}, name="t", done=hpc_toys.toy_done,
                    load_done=hpc_toys.toy_load)
print(json.dumps(runner()), flush=True)
"""


def _runner(tmp_path: Path, step_s: float, label: str) -> subprocess.Popen:
    """A process running TaskRunner on the toy task "t"; its log goes to ``{label}.err``."""
    code = _RUNNER.format(tests=str(TESTS), count=str(tmp_path / "trainings.jsonl"),
                          out=str(tmp_path / "out"), ckpt=str(tmp_path / "ckpt" / "t.ckpt"))
    with open(tmp_path / f"{label}.err", "w") as err:
        return subprocess.Popen([PY, "-c", code, str(step_s)], stdout=subprocess.PIPE,
                                stderr=err, text=True)


def _trainings(tmp_path: Path) -> list[dict]:
    f = tmp_path / "trainings.jsonl"
    return [json.loads(line) for line in f.read_text().splitlines()] if f.exists() else []


def test_second_runner_of_a_task_waits_and_does_not_train_again(tmp_path):
    (tmp_path / "ckpt").mkdir()
    first = _runner(tmp_path, step_s=0.05, label="first")  # 2 s of training
    second = None
    try:
        _wait_for(lambda: _trainings(tmp_path), 60, "the first runner to start training")
        second = _runner(tmp_path, step_s=0.0, label="second")
        out1, _ = first.communicate(timeout=60)
        out2, _ = second.communicate(timeout=60)
    finally:
        _kill_all([first, second])
    err2 = (tmp_path / "second.err").read_text()
    assert first.returncode == 0 and second.returncode == 0, err2
    assert len(_trainings(tmp_path)) == 1  # trained once
    assert json.loads(out2) == json.loads(out1)  # the second returns the first one's result
    assert "task t is already running (pid " in err2 and "waiting for it to end" in err2
    assert "task t was finished by another run while this one waited" in err2
    assert not (tmp_path / "ckpt" / "t.lock").exists()


def test_runner_waiting_behind_a_killed_one_trains_after_it_and_resumes(tmp_path):
    (tmp_path / "ckpt").mkdir()
    first = _runner(tmp_path, step_s=0.25, label="first")  # 10 s: it is killed in the middle
    second = None
    try:
        _wait_for(lambda: _trainings(tmp_path), 60, "the first runner to start training")
        second = _runner(tmp_path, step_s=0.0, label="second")
        _wait_for(lambda: "waiting for it to end" in (tmp_path / "second.err").read_text(), 60,
                  "the second runner to wait for the lock")
        assert first.poll() is None and len(_trainings(tmp_path)) == 1
        first.kill()
        killed_at = time.time()
        first.wait()
        out2, _ = second.communicate(timeout=60)
    finally:
        _kill_all([first, second])
    err2 = (tmp_path / "second.err").read_text()
    assert second.returncode == 0, err2
    assert "waiting for it to end" in err2 and "the other run did not finish it" in err2
    (a, b) = _trainings(tmp_path)
    assert b["t"] >= killed_at  # never two trainings at once
    result = json.loads(out2)
    assert result["starts"] == 2 and result["acc"] == expected_acc(Toy("t", 5, "", steps=40))
    assert not (tmp_path / "ckpt" / "t.lock").exists()


# ------------------------------------------------------------------------------ run_tasks
def test_local_task_processes_die_when_the_training_job_is_sigkilled(tmp_path):
    ckpt = tmp_path / "ckpt" / "slow.ckpt"
    code = SLOW_DRIVER.format(tests=str(TESTS), out=str(tmp_path / "out"),
                          logs=str(tmp_path / "logs"), ckpt=str(ckpt.parent))
    driver = subprocess.Popen([PY, "-c", code])
    try:
        _wait_for(ckpt.exists, 60, "the task to start")
        procs = _descendants(driver.pid)
        assert any("submitit.core._submit" in _cmdline(p) for p in procs), procs
        driver.kill()
        driver.wait()
        assert _seconds_until_gone(procs, timeout=10) < 10
        step = json.loads(ckpt.read_text())["i"]
        time.sleep(0.5)
        assert json.loads(ckpt.read_text())["i"] == step < 400  # nobody writes any more
        assert not toy_done(Toy("slow", 1, str(tmp_path / "out")))
    finally:
        _kill_all([driver])


# ------------------------------------------------------------------------------ end to end
STUDY = {"spaces": {"poly": [2], "sin": [], "cos": [], "fem": False}, "resolutions": [8],
         "n_samples": 20, "seed": 2, "train_seeds": [0],
         "models": {"slow": {"class": "orphan_model:SlowLinear",
                             "train": {"optimizer": "adam", "steps": 400, "checkpoint_every": 5}}}}
TRAIN_DIR = "results/poisson1d/train/slow/N8/noise0"


@pytest.mark.slow
def test_kill_9_of_snakemake_leaves_no_process_and_the_rerun_completes(repo_root, tmp_path):
    wd = tmp_path
    (wd / "config.yaml").write_text(yaml.safe_dump(STUDY))
    (wd / "cluster.yaml").write_text(yaml.safe_dump({"executor": "local", "chunk_size": 1,
                                                     "poll_s": 0.2}))
    cmd = [SNAKEMAKE, "-s", str(repo_root / "Snakefile"), "--directory", str(wd),
           "--configfile", str(wd / "config.yaml"), "--cores", "2"]
    target = [f"{TRAIN_DIR}/metrics.nc", "--config", f"cluster={wd / 'cluster.yaml'}"]
    env = {k: v for k, v in os.environ.items() if k != "GREENBENCH_CLUSTER"}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    # an inherited value (here pid 1, everyone's ancestor) must be replaced by the main snakemake
    slow_env = {**env, "GREENBENCH_TEST_FORWARD_S": "0.1", watchdog.SNAKEMAKE_PID_ENV: "1"}
    lock = wd / TRAIN_DIR / "checkpoints" / "slow_N8_poly2_seed0.lock"
    with open(wd / "first.log", "w") as log:
        smk = subprocess.Popen(cmd + target, cwd=wd, env=slow_env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: lock.exists() or smk.poll() is not None, 180, "training to start")
        assert smk.poll() is None, (wd / "first.log").read_text()[-3000:]
        time.sleep(1.0)  # a few steps in: there is a checkpoint to resume from
        procs = _descendants(smk.pid)
        assert any("submitit.core._submit" in _cmdline(p) for p in procs), procs
        smk.kill()  # kill -9 snakemake
        smk.wait()
        took = _seconds_until_gone(procs, timeout=10)
    finally:
        _kill_all([smk])
    print(f"kill -9 of snakemake: all {len(procs)} descendants gone after {took:.2f}s")
    train_log = (wd / "logs/poisson1d/train/slow/N8/noise0/train.log").read_text()
    assert f"Snakemake (pid {smk.pid}) is gone: stopping this training job" in train_log
    assert not (wd / TRAIN_DIR / "metrics.nc").exists()

    unlock = subprocess.run(cmd + ["--unlock"], cwd=wd, env=env, capture_output=True, text=True,
                            timeout=120)
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    rerun = subprocess.run(cmd + target, cwd=wd, env=env, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (wd / TRAIN_DIR / "metrics.nc").exists() and (wd / TRAIN_DIR / "poly2/seed0.pt").exists()
    assert not (wd / TRAIN_DIR / "checkpoints").exists()  # checkpoint and lock file removed
    rerun_log = (wd / "logs/poisson1d/train/slow/N8/noise0/train.log").read_text()
    assert "already running" not in rerun_log
