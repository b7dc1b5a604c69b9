"""End to end: the data stage of the Snakemake workflow on a tiny study in a temporary directory.

``snakemake -s <repo>/Snakefile --directory <tmp> --configfile <tmp>/config.yaml`` builds the
dataset files asked for as targets (other stages add their own rules to ``rule all``; this
test asks for the data only). Oracles: the DAG lists exactly one job per N (all spaces); the files
pass check_dataset with the configured parameters; a second run does nothing; a bad config
stops snakemake before any job, naming the key.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from greenbench.io import check_dataset, read_dataset

pytestmark = pytest.mark.slow

SPACES, RESOLUTIONS, N_SAMPLES = ["poly3", "sin2", "fem"], [8, 16], 20
STUDY = {"spaces": {"poly": [3], "sin": [2], "fem": True}, "resolutions": RESOLUTIONS,
         "n_samples": N_SAMPLES, "seed": 3, "models": {}}
TARGETS = [f"data/poisson1d/{s}/N{n}.h5" for s in SPACES for n in RESOLUTIONS]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(repo: Path, workdir: Path, *args: str, configfile: str = "config.yaml"):
    cmd = [SNAKEMAKE, "-s", str(repo / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / configfile), "--cores", "2", *args]
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env,
                          timeout=300)


def job_count(output: str, rule: str = "generate_datasets") -> int:
    m = re.search(rf"^{rule}\s+(\d+)\s*$", output, flags=re.MULTILINE)
    return int(m.group(1)) if m else 0


def _study_dir(root: Path, study: dict) -> Path:
    root.mkdir(parents=True)
    (root / "config.yaml").write_text(yaml.safe_dump(study))
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory, repo_root):
    """Dry run, run, second run of the tiny study (one workflow, shared by the tests)."""
    wd = _study_dir(tmp_path_factory.mktemp("wf") / "study", STUDY)
    dry = snakemake(repo_root, wd, "-n", *TARGETS)
    files_after_dry = sorted(p.relative_to(wd).as_posix() for p in wd.rglob("*.h5"))
    first = snakemake(repo_root, wd, *TARGETS)
    stamps = {t: (wd / t).stat().st_mtime_ns for t in TARGETS if (wd / t).exists()}
    second = snakemake(repo_root, wd, *TARGETS)
    return {"dir": wd, "dry": dry, "files_after_dry": files_after_dry, "first": first,
            "second": second, "stamps": stamps}


def test_dry_run_lists_one_job_per_resolution(runs):
    dry = runs["dry"]
    assert dry.returncode == 0, dry.stderr
    out = dry.stdout + dry.stderr
    assert job_count(out) == len(RESOLUTIONS), out
    for target in TARGETS:
        assert target in out
    assert runs["files_after_dry"] == []


def test_run_builds_valid_datasets_and_logs(runs):
    first, wd = runs["first"], runs["dir"]
    assert first.returncode == 0, first.stderr[-3000:]
    for space in SPACES:
        for N in RESOLUTIONS:
            path = wd / f"data/poisson1d/{space}/N{N}.h5"
            check_dataset(path, expect={"space": space, "N": N, "n_samples": N_SAMPLES,
                                        "master_seed": 3, "pde": "poisson1d"})
            log = wd / f"logs/poisson1d/data/N{N}.log"  # one job (and log) per N
            wrote = f"wrote and checked data/poisson1d/{space}/N{N}.h5"
            assert log.exists() and wrote in log.read_text()
    ds = read_dataset(wd / "data/poisson1d/fem/N16.h5")
    assert ds.f.shape == (N_SAMPLES, 17) and ds.attrs["n_test"] == 4
    # nothing but the datasets (and their logs) was built
    assert sorted(p.relative_to(wd).as_posix() for p in wd.rglob("*.h5")) == sorted(TARGETS)


def test_second_run_does_nothing(runs):
    second = runs["second"]
    assert second.returncode == 0, second.stderr
    assert "Nothing to be done" in second.stdout + second.stderr
    wd = runs["dir"]
    assert runs["stamps"] == {t: (wd / t).stat().st_mtime_ns for t in TARGETS}


def test_bad_config_fails_before_any_job(tmp_path, repo_root):
    wd = _study_dir(tmp_path / "bad", STUDY)
    proc = snakemake(repo_root, wd, *TARGETS, "--config", "n_samples=-5")
    assert proc.returncode != 0
    assert "config key n_samples" in proc.stderr and ">= 10" in proc.stderr, proc.stderr
    assert not (wd / "data").exists() and not (wd / "logs").exists()
    proc = snakemake(repo_root, wd, "-n", *TARGETS, "--config", "spaces={sin: [9]}")
    out = proc.stdout + proc.stderr  # a dry run logs to stdout
    assert proc.returncode != 0 and "sin9 is not a function space" in out, out


def test_configfile_replaces_the_default_study(tmp_path, repo_root):
    """With config/config.yaml present in the working directory (as in the repository), a
    --configfile study is taken as a whole, not deep-merged into the default (which would add
    cos1..cos8 and the other resolutions of the default)."""
    wd = _study_dir(tmp_path / "merge", STUDY)
    (wd / "config").mkdir()
    shutil.copy(repo_root / "config" / "config.yaml", wd / "config" / "config.yaml")
    proc = snakemake(repo_root, wd, "-n", "--forceall", "--until", "generate_datasets")
    assert proc.returncode == 0, proc.stderr
    assert job_count(proc.stdout + proc.stderr) == len(RESOLUTIONS)
    # --config overrides single keys of the study file
    proc = snakemake(repo_root, wd, "-n", "--forceall", "--until", "generate_datasets",
                     "--config", "resolutions=[8, 16, 32]")
    assert job_count(proc.stdout + proc.stderr) == 3, proc.stderr


def test_unrelated_config_change_does_not_rerun_the_data(runs, repo_root, tmp_path):
    wd = tmp_path / "copy"
    shutil.copytree(runs["dir"], wd)
    study = dict(STUDY, analysis={"rank_tol": 1e-8})
    (wd / "config.yaml").write_text(yaml.safe_dump(study))
    proc = snakemake(repo_root, wd, "-n", *TARGETS)
    assert proc.returncode == 0, proc.stderr
    assert job_count(proc.stdout + proc.stderr) == 0, proc.stdout
