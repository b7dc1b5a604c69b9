"""End to end: the analysis rules of the Snakemake workflow on a tiny trained study.

``snakemake -s <repo>/Snakefile --directory <tmp>`` builds crossval.nc, bounds.nc,
convergence.nc, greens.nc and greens/N{res}.nc from scratch (data -> train -> analysis).
Oracles: one evaluate_model job per operator model (writing its file at every N); the files
follow the results contract; the linear model's measured MSE matches Thm 3.2 in every
statistical cell; a changed analysis option reruns the analysis. (That it must not rerun the
training is tested with the data stage: data.smk passes the whole config's hash today, see
tests/test_workflow_data.py.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from greenbench.io import read_netcdf

pytestmark = pytest.mark.slow

RES = [8]
STUDY = {
    "spaces": {"poly": [2], "sin": [1, 3], "fem": True}, "resolutions": RES, "n_samples": 60,
    "test_fraction": 0.5, "seed": 5, "cluster": "config/cluster/debug.yaml",
    "models": {
        "linear": {"class": "linear"},
        "mlp": {"class": "mlp", "params": {"width": 8}, "train": {"steps": 5}},
        "fd": {"class": "fd"},
    },
    "analysis": {"sample_sizes": [1, 3, 30], "quantity_steps": 5},
}
KINDS = ("crossval", "bounds", "convergence", "quantity", "measures", "greens", "training")
TARGETS = [f"results/poisson1d/{n}.nc" for n in KINDS] \
    + [f"results/poisson1d/greens/N{n}.nc" for n in RES]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(repo: Path, workdir: Path, *args: str):
    cmd = [SNAKEMAKE, "-s", str(repo / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args]
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env,
                          timeout=600)


def jobs(output: str, rule: str) -> int:
    m = re.search(rf"^{rule}\s+(\d+)\s*$", output, flags=re.MULTILINE)
    return int(m.group(1)) if m else 0


@pytest.fixture(scope="module")
def run(tmp_path_factory, repo_root):
    wd = tmp_path_factory.mktemp("analysis_wf")
    (wd / "config.yaml").write_text(yaml.safe_dump(STUDY))
    dry = snakemake(repo_root, wd, "-n", *TARGETS)
    first = snakemake(repo_root, wd, *TARGETS)
    return {"dir": wd, "dry": dry, "first": first}


def test_dag_has_one_evaluation_job_per_operator_model(run):
    assert run["dry"].returncode == 0, run["dry"].stderr
    out = run["dry"].stdout + run["dry"].stderr
    assert jobs(out, "evaluate_model") == 2                 # linear, mlp (fd is a parameter)
    for rule in ("crossval", "greens", "bounds", "data_quantity", "convergence", "measures"):
        assert jobs(out, rule) == 1, rule
    # the data-quantity model is trained by the training stage, one job, not by the analysis
    assert jobs(out, "train_quantity") == 1


def test_analysis_files_follow_the_contract(run):
    assert run["first"].returncode == 0, run["first"].stderr[-4000:]
    wd = run["dir"]
    cv = read_netcdf(wd / "results/poisson1d/crossval.nc")
    assert list(cv.model.values) == ["linear", "mlp"]
    assert list(cv.train_space.values) == ["poly2", "sin1", "sin3", "fem"]
    assert not cv.missing.any()
    b = read_netcdf(wd / "results/poisson1d/bounds.nc")
    assert float(np.nanmax(np.abs(b.measured_z))) < 5
    assert float(b.w_star_rel_error.max()) < 1e-10
    c = read_netcdf(wd / "results/poisson1d/convergence.nc")
    assert c.attrs["fd_model"] == "fd" and np.all(np.isfinite(c.fd_rel_error))
    assert "quantity_mse" not in c                       # quantity.nc is its own file
    q = read_netcdf(wd / "results/poisson1d/quantity.nc")
    assert list(q.sample_size.values) == [1, 3, 30]
    assert list(q.quantity_model.values) == ["linear", "mlp"]
    assert np.all(np.isfinite(q.quantity_mse.sel(quantity_model="mlp")))
    for n in (1, 3, 30):    # trained members, one per (sample_size, seed), by train_quantity
        assert (wd / f"results/poisson1d/train_quantity/mlp/N8/poly2/n{n}/seed0.pt").exists()
    assert (wd / "logs/poisson1d/train_quantity/mlp/N8/train.log").exists()
    g = read_netcdf(wd / "results/poisson1d/greens.nc")
    assert g.stencil.dims == ("model", "train_space", "resolution", "seed", "offset")
    f = read_netcdf(wd / "results/poisson1d/greens/N8.nc")
    assert f.G_hat.shape == (2, 4, 1, 7, 7)
    for path in TARGETS:
        assert read_netcdf(wd / path).attrs["git_commit"]
    for rule in ("crossval", "bounds", "convergence", "greens"):
        assert (wd / f"logs/poisson1d/analysis/{rule}.log").exists()
    for model in ("linear", "mlp"):  # one evaluation job per model, a file per N
        log = (wd / f"logs/poisson1d/analysis/evaluate/noise0/{model}.log").read_text()
        assert all(f"{model} at N={n}" in log for n in RES), log


def test_changed_analysis_option_reruns_the_analysis(run, repo_root):
    assert run["first"].returncode == 0
    dry = snakemake(repo_root, run["dir"], "-n", *TARGETS, "--config",
                    "analysis={sample_sizes: [1, 3, 30], quantity_steps: 5, "
                    "impulse_amplitude: 0.5}")
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out
    assert jobs(out, "evaluate_model") == 2
    for rule in ("crossval", "greens", "bounds", "convergence"):
        assert jobs(out, rule) == 1, rule


def test_synthetic_results_match_a_real_study(run):
    """tests/synthetic.py has exactly the variables, dims, dtype kinds and attribute keys of
    the analysis files of a real (tiny) study."""
    from synthetic import synthetic_results

    assert run["first"].returncode == 0
    wd = run["dir"]
    fake = synthetic_results(["poly2", "sin1", "sin3", "fem"], RES, [0],
                             {m: e["class"] for m, e in STUDY["models"].items()})
    real = {kind: read_netcdf(wd / f"results/poisson1d/{kind}.nc") for kind in KINDS}
    real["greens_fields"] = read_netcdf(wd / f"results/poisson1d/greens/N{RES[0]}.nc")
    fake["greens_fields"] = fake["greens_fields"][RES[0]]
    for kind, ds in real.items():
        got = fake[kind]

        def layout(d):
            return {str(n): (d[n].dims, d[n].dtype.kind if d[n].dtype.kind != "O" else "U")
                    for n in d.variables}

        assert layout(got) == layout(ds), kind
        assert sorted(got.attrs) == sorted(ds.attrs), kind
        for name in ds.variables:
            assert sorted(got[name].attrs) == sorted(ds[name].attrs), (kind, name)
