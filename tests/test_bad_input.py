"""Issue 7: bad input is named before any job runs, and the late checks name the real keys.

Workflow level: ``snakemake -n`` from the repository root with a non-finite number or an
``analysis.fd_orders`` the fd model does not train exits non-zero at parse time (no DAG, no job,
no file) with a message naming the key. Library level: AnalysisConfig and the results check name
the real config keys (``analysis.quantity_*``, the fd model's ``params.orders``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from greenbench.analysis.checks import ResultsMismatch, check_results
from greenbench.analysis.config import AnalysisConfig

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

# name: (config file or None, --config values, what the message must contain)
DRY_RUNS = {
    "k: .inf in a configfile": (
        {"k": float("inf"), "spaces": {"sin": [2]}}, [],
        ["config key k: inf is not finite, a finite number is required", "> 0"]),
    "k: .nan in a configfile": (
        {"k": float("nan"), "spaces": {"sin": [2]}}, [],
        ["config key k: nan is not finite, a finite number is required"]),
    "--config noise=.inf (a string)": (
        None, ["noise=.inf"],
        ["config key noise: '.inf' is not finite, a finite number is required", ">= 0"]),
    "fd_orders the fd model does not train": (
        {"spaces": {"sin": [2]}, "models": {"fd": {"class": "fd"}}}, ["analysis={fd_orders: [8]}"],
        ["config key analysis.fd_orders: orders [8]", "models.fd.params.orders = [2, 4, 6]"]),
    "an unknown operator": (
        {"pde": ["poisson1d", "heat1d"], "spaces": {"sin": [2]}}, [],
        ["config key pde: unknown operator 'heat1d'; allowed: ['poisson1d', 'biharmonic1d'"]),
    "a coefficient the operator does not have": (
        {"pde": {"poisson1d": {"c": 1.0}}, "spaces": {"sin": [2]}}, [],
        ["config key pde.poisson1d.c: operator poisson1d has no coefficient 'c'; "
         "allowed: ['k']"]),
    "an FD order the operator has no stencil for": (
        {"pde": "biharmonic1d", "spaces": {"sin": [2]}, "analysis": {"fd_orders": [2, 4]},
         "models": {"fd": {"class": "fd", "params": {"orders": [2, 6]}}}}, [],
        ["config key models.fd.params.orders: orders [6] have no stencil for operator "
         "biharmonic1d; allowed: orders among [2, 4]"]),
}


@pytest.mark.parametrize("case", list(DRY_RUNS))
def test_dry_run_names_the_bad_key_before_any_job(case, repo_root, tmp_path):
    study, values, needles = DRY_RUNS[case]
    cmd = [SNAKEMAKE, "-n", "--cores", "1"]
    if study is not None:
        (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
        cmd += ["--configfile", str(tmp_path / "study.yaml")]
    if values:
        cmd += ["--config", *values]
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, env=env,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    for needle in needles:
        assert needle in out, (case, out)
    # refused while the Snakefile is parsed: no DAG, no job, nothing written
    assert "Building DAG" not in out and "Job stats" not in out, out
    assert sorted(p.name for p in tmp_path.iterdir()) == (["study.yaml"] if study else [])


def test_analysis_config_names_the_real_quantity_keys():
    base = dict(pde="poisson1d", spaces=("sin2", "sin4"), resolutions=(16, 32), seeds=(0,))
    with pytest.raises(ValueError, match=r"^analysis.quantity_space 'sin9' .*\['sin2', 'sin4'\]"):
        AnalysisConfig(**base, quantity_space="sin9")
    with pytest.raises(ValueError, match=r"^analysis.quantity_space 'cos3' .*\['sin2', 'sin4'\]"):
        AnalysisConfig(**base, quantity_space="cos3")
    with pytest.raises(ValueError,
                       match=r"^analysis.quantity_resolution 48 .*0 \(the smallest\).*\[16, 32\]"):
        AnalysisConfig(**base, quantity_space="sin2", quantity_resolution=48)


def test_untrained_fd_orders_point_at_the_fd_models_orders_not_at_a_rerun():
    ds = xr.Dataset({"w": (("q",), np.ones(3))}, coords={"q": [2, 4, 6]}, attrs={"model": "fd"})
    with pytest.raises(ResultsMismatch) as info:
        check_results(ds, "metrics.nc", model="fd", q_orders=[2, 8])
    msg = str(info.value)
    assert "[8]" in msg and "params.orders" in msg and "q = [2, 4, 6]" in msg, msg
    assert "rerun" not in msg, msg
    # with a real mismatch beside it, the file is from another config: rerun is the advice
    with pytest.raises(ResultsMismatch, match="rerun the training.*"):
        check_results(ds, "metrics.nc", model="pinn", q_orders=[2, 8])
