"""greenbench.hpc on the local and debug executors, with toy task functions (tests/hpc_toys.py).

Oracles: a toy's result is a known deterministic function of its inputs (``expected_acc``), also
when it was interrupted and resumed from its checkpoint; timestamps recorded by the tasks bound
how many ran at once; files on disk say what ran.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cloudpickle
import pytest
import yaml

import hpc_toys
from greenbench import hpc
from greenbench.hpc import ClusterSettings, ClusterSettingsError, chunks, run_tasks
from hpc_toys import SLOW_DRIVER, Toy, expected_acc, run_toy, toy_done, toy_load

cloudpickle.register_pickle_by_value(hpc_toys)  # submitit workers do not see tests/ on sys.path
ROOT = Path(__file__).resolve().parents[1]


def _name(t: Toy) -> str:
    return t.name


def _run(tasks, settings, tmp_path, **kw):
    kw.setdefault("checkpoint_dir", tmp_path / "ckpt")
    return run_tasks(run_toy, tasks, settings, tmp_path / "logs", name=_name, done=toy_done,
                     load_done=toy_load, **kw)


# ------------------------------------------------------------------------------ settings
def test_defaults_and_shipped_cluster_files_are_valid():
    assert ClusterSettings().executor == "local"
    files = sorted((ROOT / "config" / "cluster").glob("*.yaml"))
    assert {"local.yaml", "slurm.yaml", "debug.yaml"} <= {f.name for f in files}
    for f in files:  # (not asking a cluster that may answer here: slurm.yaml wants GPUs)
        s = hpc.load_cluster_settings(f, check_cluster=False)
        assert s.executor in hpc.EXECUTORS
    slurm = hpc.load_cluster_settings(ROOT / "config/cluster/slurm.yaml", check_cluster=False)
    assert slurm.executor == "slurm" and slurm.gpus_per_task == 1
    ci = hpc.load_cluster_settings(ROOT / "config/cluster/ci.yaml", check_cluster=False)
    assert ci.executor == "slurm" and ci.gpus_per_task == 0  # the CPU-only/test cluster file


@pytest.mark.parametrize("raw, key, allowed", [
    ({"executor": "pbs"}, "executor", "one of ['local', 'debug', 'slurm', 'auto']"),
    ({"cpus_per_task": 0}, "cpus_per_task", "an integer >= 1"),
    ({"gpus_per_task": 1.5}, "gpus_per_task", "an integer >= 0"),
    ({"array_parallelism": True}, "array_parallelism", "an integer >= 1"),
    ({"timeout_min": 0}, "timeout_min", "a number > 0"),
    ({"mem_gb": -4}, "mem_gb", "a number > 0"),
    ({"partition": ""}, "partition", "a non-empty string"),
    ({"timeout_min": 1, "signal_delay_s": 60}, "signal_delay_s", "fewer seconds than timeout_min"),
    ({"slurm_additional_parameters": ["gres"]}, "slurm_additional_parameters", "a mapping"),
    ({"setup": "module load cuda"}, "setup", "a list of shell lines"),
])
def test_bad_setting_names_file_key_and_allowed_values(tmp_path, raw, key, allowed):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ClusterSettingsError) as err:
        hpc.load_cluster_settings(path)
    msg = str(err.value)
    assert str(path) in msg and f"key {key} is" in msg and allowed in msg


def test_unknown_key_lists_allowed_keys(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("executor: slurm\npartion: gpu\n")
    with pytest.raises(ClusterSettingsError, match=r"unknown key\(s\) \['partion'\]; allowed keys: "
                                                   r"\[.*'partition'"):
        hpc.load_cluster_settings(path)
    with pytest.raises(ClusterSettingsError, match="does not exist"):
        hpc.load_cluster_settings(tmp_path / "missing.yaml")
    with pytest.raises(ClusterSettingsError, match="executor"):
        ClusterSettings(executor="condor")


# ------------------------------------------------------------------------------ fake SLURM tools
def _fake_tools(tmp_path, monkeypatch, **scripts: str) -> Path:
    """Shell scripts as SLURM's tools, first on PATH; real ones not given fail (exit 1)."""
    k = len(list(tmp_path.glob("bin*")))
    bin_dir = tmp_path / f"bin{k}"
    bin_dir.mkdir()
    for tool, body in scripts.items():
        (bin_dir / tool).write_text("#!/bin/sh\n" + body + "\n")
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    for tool in ("sinfo", "sacct", "squeue", "scontrol", "sbatch"):
        if tool not in scripts and shutil.which(tool) not in (None, str(bin_dir / tool)):
            (bin_dir / tool).write_text("#!/bin/sh\nexit 1\n")  # hide a real one
            (bin_dir / tool).chmod(0o755)
    hpc.settings._sinfo_partitions_gres.cache_clear()
    return bin_dir


SINFO = "printf 'debug*|(null)\\ncpu|(null)\\ngpu|gpu:a100:4(S:0-1)\\n'"


def test_gpus_on_a_partition_without_gpus_fail_early_naming_the_cpu_cluster_file(tmp_path,
                                                                                 monkeypatch):
    _fake_tools(tmp_path, monkeypatch, sinfo=SINFO)
    with pytest.raises(ClusterSettingsError) as err:  # slurm.yaml: default partition, 1 GPU
        hpc.load_cluster_settings(ROOT / "config/cluster/slurm.yaml")
    msg = str(err.value)
    assert msg.startswith(f"{ROOT / 'config/cluster/slurm.yaml'}: gpus_per_task is 1 but "
                          "partition 'debug' of this SLURM cluster has no GPUs"), msg
    assert "config/cluster/ci.yaml" in msg and "Invalid generic resource" in msg
    gpu = ClusterSettings(executor="slurm", gpus_per_task=1, partition="cpu")
    with pytest.raises(ClusterSettingsError, match="partition 'cpu'"):
        hpc.check_gpus(gpu)
    extra = ClusterSettings(executor="slurm", slurm_additional_parameters={"gres": "gpu:1"})
    with pytest.raises(ClusterSettingsError, match="slurm_additional_parameters has gres: gpu:1"):
        hpc.check_gpus(extra)
    with pytest.raises(ClusterSettingsError, match="has no GPUs"):  # and before any sbatch
        run_tasks(run_toy, [Toy("x", 1, str(tmp_path))], gpu, tmp_path / "logs", name=_name)
    for fine in (ClusterSettings(executor="slurm", gpus_per_task=2, partition="gpu"),
                 ClusterSettings(executor="slurm", gpus_per_task=1, partition="no_such"),
                 ClusterSettings(executor="slurm", gpus_per_task=0),
                 ClusterSettings(executor="local", gpus_per_task=1)):
        hpc.check_gpus(fine)
    assert hpc.load_cluster_settings(ROOT / "config/cluster/ci.yaml").gpus_per_task == 0


def test_gpu_check_is_skipped_without_a_working_sinfo(tmp_path, monkeypatch):
    gpu = ClusterSettings(executor="slurm", gpus_per_task=1)
    _fake_tools(tmp_path, monkeypatch)  # no sinfo (a real one, if any, fails)
    hpc.check_gpus(gpu)
    _fake_tools(tmp_path, monkeypatch, sinfo="echo 'slurm_load_partitions: Unable to contact "
                                             "slurm controller' >&2; exit 1")
    hpc.check_gpus(gpu)
    assert hpc.load_cluster_settings(ROOT / "config/cluster/slurm.yaml").gpus_per_task == 1


def test_slurm_state_from_sacct_else_squeue_else_scontrol(tmp_path, monkeypatch):
    _fake_tools(tmp_path, monkeypatch,
                sacct="printf '7_0|COMPLETED\\n7_1|CANCELLED by 0\\n'")
    assert hpc.slurm_state("7_1") == ("CANCELLED by 0", "sacct")
    no_record = "exit 0"  # sacct answers, but has no record (accounting lag or disabled)
    _fake_tools(tmp_path, monkeypatch, sacct=no_record, squeue="echo '7_1|OUT_OF_MEMORY'")
    assert hpc.slurm_state("7_1") == ("OUT_OF_MEMORY", "squeue")
    _fake_tools(tmp_path, monkeypatch, sacct=no_record, squeue="exit 1",
                scontrol="echo 'JobId=8 ArrayJobId=7 ArrayTaskId=1 JobState=NODE_FAIL Reason=x'")
    assert hpc.slurm_state("7_1") == ("NODE_FAIL", "scontrol")
    _fake_tools(tmp_path, monkeypatch)
    assert hpc.slurm_state("7_1") is None
    from greenbench.hpc.run import _unfinished_error
    assert _unfinished_error("CANCELLED by 0", "sacct").startswith(
        "did not finish: CANCELLED by 0 (SLURM state from sacct): cancelled")
    assert "raise mem_gb" in _unfinished_error("OUT_OF_MEMORY", "squeue")
    assert "raise timeout_min or max_requeue" in _unfinished_error("TIMEOUT", "sacct")
    assert _unfinished_error("INTERRUPTED", "submitit") == (
        "did not finish: INTERRUPTED (state from submitit)")


def test_one_task_is_submitted_as_a_job_array(tmp_path, monkeypatch):
    """submitit alone sends a one-element submit_array as a plain job (no --array)."""
    from greenbench.hpc.run import _make_executor

    fake = 'cp "$1" "$(dirname "$0")/script.sh"; echo "Submitted batch job 42"'
    sbatch = _fake_tools(tmp_path, monkeypatch, sbatch=fake)
    ex = _make_executor(ClusterSettings(executor="slurm", array_parallelism=4), "slurm",
                        tmp_path / "sub", "gb-one")
    (job,) = ex.submit_array([hpc.TaskRunner(run_toy, Toy("one", 1, str(tmp_path)), None)])
    assert job.job_id == "42_0"
    script = (sbatch / "script.sh").read_text()
    assert "#SBATCH --array=0-0%1" in script and "%A_%a" in script, script
    assert job.paths.submitted_pickle.is_file()  # where the array element looks for its task


def test_auto_executor_is_slurm_exactly_when_srun_is_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ClusterSettings(executor="auto").resolved_executor() == "local"
    srun = tmp_path / "srun"
    srun.write_text("#!/bin/sh\n")
    srun.chmod(0o755)
    assert ClusterSettings(executor="auto").resolved_executor() == "slurm"
    assert ClusterSettings(executor="local").resolved_executor() == "local"


def test_local_threads_for_snakemake():
    s = ClusterSettings(cpus_per_task=2, array_parallelism=3)
    assert [s.local_threads(n) for n in (1, 2, 5)] == [2, 4, 6]
    debug = ClusterSettings(executor="debug", cpus_per_task=2, array_parallelism=3)
    assert debug.local_threads(5) == 2
    assert ClusterSettings(executor="slurm", cpus_per_task=8).local_threads(5) == 1


def test_cheap_work_runs_in_process_only_when_the_executor_is_local(tmp_path, monkeypatch):
    local = ClusterSettings(executor="local", cpus_per_task=2, chunk_size=1)
    moved = local.in_process_when_local(True)
    assert moved.executor == "debug" and moved.cpus_per_task == 2 and moved.chunk_size == 1
    assert moved.local_threads(25) == 2       # one task at a time in the training job itself
    assert local.in_process_when_local(False) is local
    slurm = ClusterSettings(executor="slurm")
    assert slurm.in_process_when_local(True) is slurm       # SLURM behaviour never changes
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ClusterSettings(executor="auto").in_process_when_local(True).executor == "debug"
    (tmp_path / "srun").write_text("#!/bin/sh\n")
    (tmp_path / "srun").chmod(0o755)
    auto = ClusterSettings(executor="auto")                 # auto resolving to slurm: unchanged
    assert auto.in_process_when_local(True) is auto


@pytest.mark.parametrize("n, size", [(0, 3), (1, 0), (7, 3), (25, 25), (25, 0), (10, 1)])
def test_chunks_partition_in_order(n, size):
    members = [(f"s{i}", i % 2) for i in range(n)]
    out = chunks(members, size)
    assert [m for c in out for m in c] == members
    want = size or max(n, 1)
    assert all(len(c) == want for c in out[:-1]) and all(0 < len(c) <= want for c in out)
    assert len(out) == (0 if n == 0 else -(-n // want))
    with pytest.raises(ValueError, match="chunk size"):
        chunks(members, -1)


def test_names_must_be_unique(tmp_path):
    tasks = [Toy("a", 1, str(tmp_path)), Toy("a", 2, str(tmp_path))]
    with pytest.raises(ValueError, match=r"repeated: \['a'\]"):
        _run(tasks, ClusterSettings(executor="debug"), tmp_path)


def test_safe_name_and_fresh_folders(tmp_path):
    assert hpc.safe_name("linear/N32 poly1:0") == "linear_N32_poly1_0"
    a, b = hpc.new_run_folder(tmp_path), hpc.new_run_folder(tmp_path)
    assert a != b and a.is_dir() and b.is_dir() and a.parent == b.parent == tmp_path


# ------------------------------------------------------------------------------ running
@pytest.mark.parametrize("executor", ["debug", "local"])
def test_failure_is_named_with_log_and_others_kept_then_rerun_resubmits_only_it(tmp_path, executor):
    marker = tmp_path / "fail-t2"
    marker.touch()
    out = str(tmp_path / "out")
    tasks = [Toy(f"t{i}", i, out, steps=3, fail_if=str(marker) if i == 2 else None)
             for i in range(4)]
    s = ClusterSettings(executor=executor, array_parallelism=4, poll_s=0.1)
    rep = _run(tasks, s, tmp_path)
    assert rep.executor == executor and not rep.ok and rep.skipped == ()
    assert sorted(rep.results) == ["t0", "t1", "t3"]
    assert all(rep.results[t.name]["acc"] == expected_acc(t) for t in tasks if t.name != "t2")
    (f,) = rep.failures
    assert f.name == "t2" and f.error == "ValueError: toy failure in t2"
    assert Path(f.log).is_file() and "toy failure in t2" in Path(f.log).read_text()
    assert [toy_done(t) for t in tasks] == [True, True, False, True]  # others' outputs kept
    with pytest.raises(hpc.TasksFailedError) as err:
        rep.raise_for_failures("training task")
    assert "1 of 4 training tasks failed" in str(err.value) and f.log in str(err.value)

    marker.unlink()  # "fix" the bug and rerun: only t2 runs again
    rep2 = _run(tasks, s, tmp_path)
    assert rep2.ok and rep2.skipped == ("t0", "t1", "t3") and rep2.folder != rep.folder
    assert rep2.results == {**rep.results, "t2": rep2.results["t2"]}
    assert rep2.results["t2"]["acc"] == expected_acc(tasks[2])
    if executor == "local":
        assert len(rep2.job_ids) == 1 and rep2.results["t2"]["pid"] != os.getpid()
    else:
        assert rep2.job_ids == () and rep2.results["t2"]["pid"] == os.getpid()


def test_checkpoint_removed_after_success_and_nothing_to_do(tmp_path):
    out = str(tmp_path / "out")
    tasks = [Toy("only", 1, out, steps=2)]
    rep = _run(tasks, ClusterSettings(executor="debug"), tmp_path)
    assert rep.ok and not (tmp_path / "ckpt").exists()  # checkpoint and empty dir removed
    rep2 = _run(tasks, ClusterSettings(executor="local"), tmp_path)
    assert rep2.skipped == ("only",) and rep2.job_ids == () and rep2.results == rep.results


def test_local_parallelism_cap_and_thread_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    out = str(tmp_path / "out")
    tasks = [Toy(f"p{i}", i, out, steps=3, step_s=0.1) for i in range(3)]
    rep = _run(tasks, ClusterSettings(executor="local", array_parallelism=1, cpus_per_task=1,
                                      poll_s=0.05), tmp_path)
    spans = sorted((r["t0"], r["t1"]) for r in rep.results.values())
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # never two at once
    assert {r["omp"] for r in rep.results.values()} == {"1"}
    assert os.environ["OMP_NUM_THREADS"] == "7"  # the parent's environment is restored


@pytest.mark.slow
def test_local_timeout_requeues_and_resumes_from_checkpoint(tmp_path):
    # 24 steps of 0.25 s = 6 s of work; the local executor signals after 4 s (timeout 8 s minus
    # delay 4 s; a signal before the worker has started up would kill it), the task
    # checkpoints, is restarted, and resumes where it stopped.
    out = str(tmp_path / "out")
    task = Toy("long", 11, out, steps=24, step_s=0.25)
    s = ClusterSettings(executor="local", timeout_min=8 / 60, signal_delay_s=4, max_requeue=8,
                        poll_s=0.2)
    rep = _run([task], s, tmp_path)
    assert rep.ok, rep.failures
    r = rep.results["long"]
    assert r["starts"] >= 2, "the task was never interrupted: the test proves nothing"
    assert r["acc"] == expected_acc(task)
    assert not (tmp_path / "ckpt").exists()


@pytest.mark.slow
def test_requeue_exhausted_is_a_named_failure(tmp_path):
    out = str(tmp_path / "out")
    task = Toy("endless", 3, out, steps=10_000, step_s=0.1)
    s = ClusterSettings(executor="local", timeout_min=6 / 60, signal_delay_s=3, max_requeue=0,
                        poll_s=0.2)
    rep = _run([task], s, tmp_path)
    (f,) = rep.failures
    assert f.name == "endless" and "timed-out too many times" in Path(f.log).read_text()
    assert not toy_done(task)


def test_no_submitit_outside_hpc_run():
    """greenbench.hpc.run is the only module importing submitit."""
    offenders = [p.relative_to(ROOT) for p in (ROOT / "lib").rglob("*.py")
                 if "import submitit" in p.read_text() or "from submitit" in p.read_text()]
    assert offenders == [Path("lib/greenbench/hpc/run.py")]


def test_sigterm_to_the_waiting_job_cancels_its_tasks(tmp_path):
    """Snakemake stopping a training job must not leave its tasks running."""
    import subprocess
    import sys
    import time

    ckpt = tmp_path / "ckpt" / "slow.ckpt"
    code = SLOW_DRIVER.format(tests=str(Path(__file__).parent), out=str(tmp_path / "out"),
                          logs=str(tmp_path / "logs"), ckpt=str(ckpt.parent))
    driver = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.time() + 60
        while not ckpt.exists() and time.time() < deadline:  # the task is running
            time.sleep(0.1)
        assert ckpt.exists(), "the task never started"
        driver.terminate()
        assert driver.wait(timeout=30) == 128 + 15
        time.sleep(1.5)  # let the cancelled task's last write land
        step = hpc_toys.json.loads(ckpt.read_text())["i"]
        time.sleep(1.0)
        assert hpc_toys.json.loads(ckpt.read_text())["i"] == step < 400  # it stopped
        assert not toy_done(Toy("slow", 1, str(tmp_path / "out")))
    finally:
        if driver.poll() is None:
            driver.kill()
