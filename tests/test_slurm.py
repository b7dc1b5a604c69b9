"""greenbench.hpc on a real SLURM cluster (tools/slurm/slurm-up.sh starts one on localhost).

Skipped when no cluster answers (``sinfo`` fails), unless ``GREENBENCH_REQUIRE_SLURM=1`` (CI),
which turns the skip into a failure. Oracles: the trained parameters and metrics of a SLURM run
equal the local executor's bit for bit; ``sacct`` shows the job arrays, the requeue and the
failure; a toy task's result is a known function of its inputs also after it was requeued.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import torch
import yaml

import hpc_toys
from greenbench import hpc
from greenbench.io import load_torch, read_netcdf
from hpc_toys import Toy, expected_acc, run_toy, toy_done, toy_load

cloudpickle.register_pickle_by_value(hpc_toys)
pytestmark = [pytest.mark.slurm, pytest.mark.slow]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
REQUIRE = os.environ.get("GREENBENCH_REQUIRE_SLURM") == "1"

STUDY = {
    "spaces": {"poly": [2], "sin": [3], "fem": False}, "resolutions": [8], "n_samples": 20,
    "seed": 5, "train_seeds": [0, 1],
    "models": {
        "lin": {"class": "linear", "train": {"optimizer": "gd", "lr": 0.05, "steps": 40,
                                             "checkpoint_every": 10}},
        "net": {"class": "mlp", "params": {"width": 8},
                "train": {"optimizer": "adam", "lr": 1e-2, "steps": 40, "checkpoint_every": 10}},
    },
}
SPACES = ("poly2", "sin3")
MEMBERS = [(s, seed) for s in SPACES for seed in (0, 1)]  # 4 members -> 2 tasks of 2
TARGETS = [f"results/poisson1d/train/{m}/N8/noise0/metrics.nc" for m in STUDY["models"]]


def _sinfo() -> tuple[str | None, str]:
    """The default partition (else the first one up), or None and why the cluster is absent."""
    if shutil.which("sinfo") is None:
        return None, "sinfo is not on PATH"
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%P %a"], capture_output=True, text=True,
                             timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"sinfo failed: {exc}"
    if out.returncode != 0:
        return None, f"sinfo failed: {out.stderr.strip()}"
    up = [ln.split()[0] for ln in out.stdout.splitlines() if ln.split()[1:] == ["up"]]
    if not up:
        return None, "no partition is up"
    default = [p for p in up if p.endswith("*")]
    return (default or up)[0].rstrip("*"), ""


@pytest.fixture(scope="module")
def partition() -> str:
    part, why = _sinfo()
    if part is None:
        if REQUIRE:
            pytest.fail(f"GREENBENCH_REQUIRE_SLURM=1 but no SLURM cluster answers: {why} "
                        "(start one with: sudo bash tools/slurm/slurm-up.sh)")
        pytest.skip(f"no SLURM cluster: {why}")
    return part


def sacct(job_id: str, *, duplicates: bool = False, want: int = 1) -> list[tuple[str, ...]]:
    """``(JobID, JobName, State)`` rows of a job (array elements included), retried while the
    accounting database catches up."""
    cmd = ["sacct", "-j", job_id, "-X", "-n", "-P", "--format=JobID,JobName,State"]
    rows: list[tuple[str, ...]] = []
    for _ in range(40):
        out = subprocess.run(cmd + (["-D"] if duplicates else []), capture_output=True,
                             text=True, timeout=30).stdout
        rows = [tuple(ln.split("|")) for ln in out.splitlines() if ln.strip()]
        if len(rows) >= want and not any(r[2] in ("PENDING", "RUNNING") for r in rows):
            return rows
        time.sleep(0.5)
    return rows


def settings_file(tmp: Path, name: str, **kw) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(kw))
    return path


def snakemake_cmd(repo: Path, wd: Path, cluster: Path, *args: str,
                  targets: list[str] = TARGETS) -> list[str]:
    return [SNAKEMAKE, *targets, "-s", str(repo / "Snakefile"), "--directory", str(wd),
            "--configfile", str(wd / "config.yaml"), "--cores", "2", *args,
            "--config", f"cluster={cluster}"]  # last: --config takes all following words


def snakemake(repo: Path, wd: Path, cluster: Path, *args: str,
              targets: list[str] = TARGETS) -> subprocess.CompletedProcess:
    return subprocess.run(snakemake_cmd(repo, wd, cluster, *args, targets=targets), cwd=wd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def study(tmp_path_factory, repo_root, partition):
    """The tiny study's datasets, generated once; tests train on copies."""
    root = tmp_path_factory.mktemp("slurm_study")
    wd = root / "data_only"
    wd.mkdir()
    (wd / "config.yaml").write_text(yaml.safe_dump(STUDY))
    targets = [f"data/poisson1d/{s}/N8.h5" for s in SPACES]
    out = subprocess.run([SNAKEMAKE, *targets, "-s", str(repo_root / "Snakefile"), "--directory",
                          str(wd), "--configfile", str(wd / "config.yaml"), "--cores", "2"],
                         cwd=wd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return root, wd


def _copy_study(study, name: str) -> Path:
    root, wd = study
    new = root / name
    shutil.copytree(wd, new, ignore=shutil.ignore_patterns(".snakemake"))
    return new


COMMON = dict(chunk_size=2, cpus_per_task=1, timeout_min=10, signal_delay_s=30)


@pytest.fixture(scope="module")
def on_local(study, repo_root, tmp_path_factory) -> Path:
    """The tiny study trained with the local executor: the reference of the SLURM runs."""
    local = settings_file(tmp_path_factory.mktemp("local_settings"), "local", executor="local",
                          array_parallelism=2, poll_s=0.5, **COMMON)
    wd = _copy_study(study, "on_local")
    run = snakemake(repo_root, wd, local)
    assert run.returncode == 0, run.stderr[-4000:]
    return wd


def assert_same_training(wd_a: Path, wd_b: Path, model: str) -> None:
    """Bit-identical parameters (every member) and metrics of one (model, N=8)."""
    out = f"results/poisson1d/train/{model}/N8/noise0"
    for space, seed in MEMBERS:
        a = load_torch(wd_a / out / space / f"seed{seed}.pt")
        b = load_torch(wd_b / out / space / f"seed{seed}.pt")
        assert a["state_dict"].keys() == b["state_dict"].keys()
        for key in a["state_dict"]:
            assert torch.equal(a["state_dict"][key], b["state_dict"][key]), (model, key)
    ds_a, ds_b = read_netcdf(wd_a / out / "metrics.nc"), read_netcdf(wd_b / out / "metrics.nc")
    for var in ("train_mse", "loss", "final_step", "diverged"):
        np.testing.assert_array_equal(ds_a[var].values, ds_b[var].values, err_msg=var)
    assert np.all(np.isfinite(ds_a["train_mse"].values))


def test_a_training_job_runs_as_a_job_array_equal_to_local_bit_for_bit(study, partition, on_local,
                                                                       repo_root, tmp_path):
    on_slurm = settings_file(tmp_path, "slurm", executor="slurm", partition=partition,
                             array_parallelism=2, poll_s=0.5, **COMMON)
    wd_s, wd_l = _copy_study(study, "on_slurm"), on_local
    run = snakemake(repo_root, wd_s, on_slurm)
    assert run.returncode == 0, run.stderr[-4000:]

    for model in STUDY["models"]:
        log = (wd_s / f"logs/poisson1d/train/{model}/N8/noise0/train.log").read_text()
        m = re.search(r"submitted SLURM job array (\d+): 2 task\(s\)", log)
        assert m, log
        rows = sacct(m.group(1), want=2)
        assert sorted(r[0] for r in rows) == [f"{m.group(1)}_{i}" for i in range(2)], rows
        assert {r[1] for r in rows} == {f"gb-train-{model}-N8"}
        assert {r[2] for r in rows} == {"COMPLETED"}, rows
        assert_same_training(wd_s, wd_l, model)


def test_b_timed_out_task_requeues_and_resumes_from_checkpoint(partition, tmp_path):
    # 60 one-second steps against a 1-minute limit. With signal_delay_s=5 SLURM signals USR2
    # 25-55 s into the job (its timer ticks every 30 s), so the task must be interrupted; it
    # checkpoints, is requeued (AuthInfo=cred_expire=10 in tools/slurm keeps the wait short),
    # and finishes from its checkpoint with the uninterrupted run's result.
    out = str(tmp_path / "out")
    tasks = [Toy("long", 5, out, steps=60, step_s=1.0), Toy("short", 3, out, steps=3)]
    s = hpc.ClusterSettings(executor="slurm", partition=partition, timeout_min=1,
                            signal_delay_s=5, max_requeue=4, poll_s=1)
    rep = hpc.run_tasks(run_toy, tasks, s, tmp_path / "logs", name=lambda t: t.name,
                        done=toy_done, checkpoint_dir=tmp_path / "ckpt", job_name="gb-requeue")
    assert rep.ok, rep.failures
    long = rep.results["long"]
    assert long["starts"] >= 2, "the task was never interrupted: the test proves nothing"
    assert long["acc"] == expected_acc(tasks[0])
    assert rep.results["short"]["starts"] == 1
    assert rep.results["short"]["acc"] == expected_acc(tasks[1])
    (array,) = rep.job_ids
    history = [r[2] for r in sacct(f"{array}_0", duplicates=True, want=2)]
    assert history[-1] == "COMPLETED" and "REQUEUED" in history[:-1], history
    assert not (tmp_path / "ckpt").exists()


def test_c_failed_task_is_named_with_its_log_and_others_kept(partition, tmp_path, monkeypatch):
    # As if snakemake itself ran inside an allocation: exported into the array these would make
    # srun refuse to start ("SLURM_MEM_PER_CPU, ... are mutually exclusive"); hpc hides them.
    monkeypatch.setenv("SLURM_MEM_PER_CPU", "100")
    monkeypatch.setenv("SLURM_MEM_PER_NODE", "100")
    monkeypatch.setenv("SLURM_JOB_ID", "999999")
    marker = tmp_path / "fail"
    marker.touch()
    out = str(tmp_path / "out")
    tasks = [Toy(f"t{i}", i, out, steps=2, fail_if=str(marker) if i == 1 else None)
             for i in range(3)]
    s = hpc.ClusterSettings(executor="slurm", partition=partition, timeout_min=5,
                            signal_delay_s=30, poll_s=0.5)
    rep = hpc.run_tasks(run_toy, tasks, s, tmp_path / "logs", name=lambda t: t.name,
                        done=toy_done, load_done=toy_load, job_name="gb-fail")
    (f,) = rep.failures
    assert f.name == "t1" and f.error == "ValueError: toy failure in t1"
    assert f.job_id == f"{rep.job_ids[0]}_1"
    assert Path(f.log).is_file() and "toy failure in t1" in Path(f.log).read_text()
    assert sorted(rep.results) == ["t0", "t2"] and [toy_done(t) for t in tasks] == [1, 0, 1]
    with pytest.raises(hpc.TasksFailedError, match=re.escape(f.log)):
        rep.raise_for_failures()
    assert os.environ["SLURM_JOB_ID"] == "999999"  # the caller's environment is restored
    states = {r[0]: r[2] for r in sacct(rep.job_ids[0], want=3)}
    assert states[f.job_id] == "FAILED" and list(states.values()).count("COMPLETED") == 2


def test_d_nonexistent_partition_gives_sbatchs_message_and_nothing_done(study, repo_root,
                                                                        tmp_path, partition):
    bad = "no_such_partition"
    s = hpc.ClusterSettings(executor="slurm", partition=bad)
    task = Toy("never", 1, str(tmp_path / "out"))
    with pytest.raises(hpc.SubmissionError, match=f"invalid partition specified: {bad}"):
        hpc.run_tasks(run_toy, [task], s, tmp_path / "logs", name=lambda t: t.name)
    assert not toy_done(task)

    wd = _copy_study(study, "bad_partition")
    cluster = settings_file(tmp_path, "bad", executor="slurm", partition=bad)
    run = snakemake(repo_root, wd, cluster)
    assert run.returncode != 0
    for model in STUDY["models"]:
        out = wd / f"results/poisson1d/train/{model}/N8/noise0"
        assert not (out / "metrics.nc").exists() and not list(out.rglob("*.pt"))
        log = (wd / f"logs/poisson1d/train/{model}/N8/noise0/train.log").read_text()
        assert f"invalid partition specified: {bad}" in log, log


def _squeue_state(job_id: str) -> str:
    out = subprocess.run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"],
                         capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def test_e_cancelled_task_is_named_cancelled_with_its_log_and_the_rerun_is_bitwise_local(
        study, partition, on_local, repo_root, tmp_path):
    # The mlp's 2 tasks (chunk_size 2) as one array; element 1 is scancel-ed while it runs.
    on_slurm = settings_file(tmp_path, "slurm", executor="slurm", partition=partition,
                             array_parallelism=2, poll_s=0.5, **COMMON)
    wd = _copy_study(study, "cancelled")
    target = ["results/poisson1d/train/net/N8/noise0/metrics.nc"]
    log = wd / "logs/poisson1d/train/net/N8/noise0/train.log"
    proc = subprocess.Popen(snakemake_cmd(repo_root, wd, on_slurm, targets=target), cwd=wd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        array = None
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if array is None and log.exists():
                m = re.search(r"submitted SLURM job array (\d+): 2 task", log.read_text())
                array = m and m.group(1)
            if array and _squeue_state(f"{array}_1") == "RUNNING":
                subprocess.run(["scancel", f"{array}_1"], check=True, timeout=30)
                break
            time.sleep(0.1)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert array, out[-3000:]
    assert proc.returncode != 0, "the element finished before it was cancelled"
    text = log.read_text()
    m = re.search(r"^  (net/N8/\S+): (did not finish: .*) \(log: (\S+), job (\S+)\)$", text,
                  re.MULTILINE)
    assert m, text
    name, error, err_log, job = m.groups()
    assert name == "net/N8/sin3/seed0,1" and job == f"{array}_1", m.group(0)
    assert error.startswith("did not finish: CANCELLED by ") and "(SLURM state from sacct)" in error
    assert Path(err_log).is_file() and Path(err_log).name.startswith(f"{array}_1_")
    assert "1 of 2 training tasks failed" in text
    assert not (wd / target[0]).exists()
    assert {r[0]: r[2] for r in sacct(array, want=2)}[f"{array}_0"] == "COMPLETED"

    rerun = snakemake(repo_root, wd, on_slurm, targets=target)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    text = log.read_text()
    assert "1 of 2 tasks already done, not resubmitted: net/N8/poly2/seed0,1" in text, text
    assert_same_training(wd, on_local, "net")


def test_f_one_task_is_a_job_array_and_gpus_on_a_cpu_partition_fail_early(partition, study,
                                                                          repo_root, tmp_path):
    task = Toy("single", 4, str(tmp_path / "out"))
    s = hpc.ClusterSettings(executor="slurm", partition=partition, timeout_min=5,
                            signal_delay_s=30, poll_s=0.5)
    rep = hpc.run_tasks(run_toy, [task], s, tmp_path / "logs", name=lambda t: t.name,
                        job_name="gb-single")
    assert rep.ok and rep.results["single"]["acc"] == expected_acc(task)
    (array,) = rep.job_ids
    assert rep.results["single"]["slurm_array"] == array  # ran as an array element
    ids: list[str] = []
    for _ in range(40):  # accounting first records a 1-element array as "<id>", then "<id>_0"
        ids = [r[0] for r in sacct(array, want=1)]
        if ids == [f"{array}_0"]:
            break
        time.sleep(0.5)
    assert ids == [f"{array}_0"]
    (script,) = rep.folder.glob("*_submission.sh")
    assert "#SBATCH --array=0-0%1" in script.read_text()

    gres = subprocess.run(["sinfo", "-h", "-p", partition, "-o", "%G"], capture_output=True,
                          text=True, timeout=30).stdout
    if "gpu" in gres:
        pytest.skip(f"partition {partition} has GPUs ({gres.strip()})")
    # the profile as shipped (config/cluster/slurm.yaml, 1 GPU per task): refused when the
    # workflow is parsed, before any job, naming the file for a CPU-only cluster
    wd = _copy_study(study, "gpu_profile")
    dry = subprocess.run([SNAKEMAKE, "-n", "-s", str(repo_root / "Snakefile"), "--directory",
                          str(wd), "--configfile", str(wd / "config.yaml"), "--profile",
                          str(repo_root / "profiles/slurm")], cwd=repo_root, capture_output=True,
                         text=True, timeout=300)
    said = dry.stdout + dry.stderr
    assert dry.returncode != 0 and "gpus_per_task is 1 but partition" in said, said[-3000:]
    assert "has no GPUs" in said and "config/cluster/ci.yaml" in said
    assert "rule " not in said  # refused at parse time: not even a dry-run job
