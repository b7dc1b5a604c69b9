"""The training stage of the Snakemake workflow (workflow/rules/train.smk) on a tiny study.

Oracles: the DAG has one train job per (model, resolution); a bad cluster file stops snakemake
before any job, naming the file and the key; a failed task fails the job naming the task and its
log while the finished task's files stay, and the rerun trains only the failed task; editing the
cluster file never reruns training; the SLURM profile parses.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from greenbench.io import read_netcdf

pytestmark = pytest.mark.slow
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
STUDY = {
    "spaces": {"poly": [2], "sin": [3], "fem": False}, "resolutions": [8, 16], "n_samples": 20,
    "seed": 2, "train_seeds": [0],
    "models": {"lin": {"class": "linear", "train": {"optimizer": "exact"}},
               "fd": {"class": "fd"},
               "off": {"class": "mlp", "enabled": False}},
}
LIN8 = "results/poisson1d/train/lin/N8/noise0/metrics.nc"


def snakemake(repo: Path, wd: Path, *args: str, cluster: Path | None = None):
    cmd = [SNAKEMAKE, "-s", str(repo / "Snakefile"), "--directory", str(wd), "--configfile",
           str(wd / "config.yaml"), "--cores", "2", *args]
    if cluster is not None:
        cmd += ["--config", f"cluster={cluster}"]  # last: --config takes all following words
    env = {k: v for k, v in os.environ.items() if k != "GREENBENCH_CLUSTER"}
    return subprocess.run(cmd, cwd=wd, capture_output=True, text=True, env=env, timeout=300)


def job_counts(output: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", output, flags=re.MULTILINE)}


@pytest.fixture()
def wd(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(STUDY))
    return tmp_path


def cluster_file(path: Path, **kw) -> Path:
    """In-process (debug) execution by default: the local executor is tested in test_hpc.py."""
    path.write_text(yaml.safe_dump({"executor": "debug", "chunk_size": 1, **kw}))
    return path


def test_dry_run_has_one_train_job_per_enabled_model_and_resolution(repo_root, wd):
    run = snakemake(repo_root, wd, "-n")
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout + run.stderr
    assert job_counts(out).get("train") == 4  # {lin, fd} x {8, 16}; "off" is disabled
    for model in ("lin", "fd"):
        for n in (8, 16):
            assert f"results/poisson1d/train/{model}/N{n}/noise0/metrics.nc" in out
    assert "train/off/" not in out


def test_slurm_profile_parses(repo_root, wd):
    """The shipped profile with the CPU-only cluster file (the README's advice for a test
    cluster; with no SLURM at all the GPU check is skipped): one train job. Its own GPU cluster
    file on a CPU-only cluster is refused at parse time: tests/test_slurm.py."""
    run = snakemake(repo_root, wd, "-n", LIN8, "--profile", str(repo_root / "profiles/slurm"),
                    cluster=repo_root / "config/cluster/ci.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    assert job_counts(run.stdout + run.stderr).get("train") == 1


def test_bad_cluster_file_stops_before_any_job(repo_root, wd):
    bad = cluster_file(wd / "bad.yaml", executor="pbs")
    run = snakemake(repo_root, wd, "-n", cluster=bad)
    assert run.returncode != 0
    assert f"{bad}: key executor is 'pbs'; allowed: one of" in run.stdout + run.stderr
    missing = snakemake(repo_root, wd, "-n", cluster=wd / "nope.yaml")
    assert missing.returncode != 0 and "nope.yaml does not exist" in missing.stdout + missing.stderr


def test_failed_task_fails_the_job_keeps_the_rest_and_rerun_trains_only_it(repo_root, wd):
    cluster = cluster_file(wd / "cluster.yaml")
    data = snakemake(repo_root, wd, "data/poisson1d/poly2/N8.h5", "data/poisson1d/sin3/N8.h5",
                     cluster=cluster)
    assert data.returncode == 0, data.stderr[-3000:]
    broken = wd / "data/poisson1d/sin3/N8.h5"
    broken.write_bytes(broken.read_bytes()[:100])  # a truncated dataset: its task must fail
    run = snakemake(repo_root, wd, LIN8, cluster=cluster)
    assert run.returncode != 0
    out = wd / "results/poisson1d/train/lin/N8/noise0"
    log = (wd / "logs/poisson1d/train/lin/N8/noise0/train.log").read_text()
    assert "1 of 2 training tasks failed" in log and "lin/N8/sin3/seed0: " in log
    err_log = re.search(r"lin/N8/sin3/seed0: .*\(log: ([^,)]+)", log).group(1)
    assert Path(err_log).is_file() and "sin3/N8.h5" in Path(err_log).read_text()
    assert not (out / "metrics.nc").exists()
    assert (out / "poly2/seed0.pt").exists() and not (out / "sin3/seed0.pt").exists()

    broken.unlink()  # regenerate it; the rerun trains only the missing member
    rerun = snakemake(repo_root, wd, LIN8, cluster=cluster)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    log = (wd / "logs/poisson1d/train/lin/N8/noise0/train.log").read_text()
    assert "1 of 2 tasks already done, not resubmitted: lin/N8/poly2/seed0" in log
    ds = read_netcdf(out / "metrics.nc")
    assert list(ds["train_space"].values) == ["poly2", "sin3"]
    assert float(ds["train_mse"].max()) < 1e-20  # exact linear fit of in-span data

    cluster.write_text(cluster.read_text() + "array_parallelism: 4\ntimeout_min: 30\n")
    again = snakemake(repo_root, wd, "-n", LIN8, cluster=cluster)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_switching_cluster_file_reruns_nothing(repo_root, wd):
    a, b = cluster_file(wd / "a.yaml"), cluster_file(wd / "b.yaml", executor="local")
    target = "data/poisson1d/poly2/N8.h5"
    assert snakemake(repo_root, wd, target, cluster=a).returncode == 0
    again = snakemake(repo_root, wd, "-n", target, cluster=b)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_train_script_runs_outside_snakemake(repo_root, wd):
    assert snakemake(repo_root, wd, "data/poisson1d/poly2/N8.h5").returncode == 0
    params = {"model": "lin", "entry": {"class": "linear", "train": {"optimizer": "exact"}},
              "pde": "poisson1d", "N": 8, "spaces": ["poly2"], "seeds": [0, 1],
              "master_seed": 2, "datasets": {"poly2": "data/poisson1d/poly2/N8.h5"},
              "out_dir": "out/lin/N8"}
    (wd / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "GREENBENCH_CLUSTER": str(cluster_file(wd / "c.yaml"))}
    run = subprocess.run([sys.executable, str(repo_root / "scripts/train_model.py"),
                          "params.yaml", "out/lin/N8/metrics.nc", "logs/submitit"], cwd=wd,
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    ds = read_netcdf(wd / "out/lin/N8/metrics.nc")
    assert list(ds["seed"].values) == [0, 1]
