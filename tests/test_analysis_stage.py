"""The analysis stage over real files: a tiny study trained with greenbench.train in tmp_path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from greenbench import io, pde, train
from greenbench.analysis import stage, stage_theory
from greenbench.analysis.checks import ResultsMismatch
from greenbench.analysis.config import AnalysisConfig, analysis_params
from greenbench.config import validate_config
from greenbench.data import DataSpec, generate

SPACES = ("poly2", "sin2", "fem")
RES = (8, 16)
ENTRIES = {
    "linear": {"class": "linear", "params": {}, "train": {}, "enabled": True},
    "mlp": {"class": "mlp", "params": {"width": 8}, "train": {"steps": 20}, "enabled": True},
    "fd": {"class": "fd", "params": {}, "train": {}, "enabled": True},
}


def _train(root: Path, model: str, entry: dict, N: int, spaces=SPACES, seeds=(0,)) -> Path:
    out = root / f"results/poisson1d/train/{model}/N{N}"
    datasets = {s: str(root / f"data/poisson1d/{s}/N{N}.h5") for s in spaces}
    task = train.TrainTask(model=model, entry=entry, pde="poisson1d", N=N,
                           members=tuple((s, seed) for s in spaces for seed in seeds),
                           datasets=datasets, out_dir=str(out), device="cpu",
                           checksums=train.dataset_checksums(datasets))
    io.write_netcdf(train.metrics_dataset(model, entry, N, "poisson1d", [train.run_task(task)]),
                    out / "metrics.nc")
    return out / "metrics.nc"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    for s in SPACES:
        for N in RES:
            io.write_dataset(root / f"data/poisson1d/{s}/N{N}.h5",
                             generate(DataSpec(pde="poisson1d", space=s, N=N, n_samples=100)))
    metrics = {(m, N): _train(root, m, e, N) for m, e in ENTRIES.items() for N in RES}
    cfg = AnalysisConfig(pde="poisson1d", spaces=SPACES, resolutions=RES, seeds=(0,),
                         sample_sizes=(1, 2, 80), quantity_space="sin2")
    data = {N: {s: root / f"data/poisson1d/{s}/N{N}.h5" for s in SPACES} for N in RES}
    parts = {}
    for m in ("linear", "mlp"):
        for N in RES:
            parts[m, N] = root / f"results/poisson1d/evaluate/{m}/N{N}.nc"
            io.write_netcdf(stage.evaluate_model(m, N, metrics[m, N], data[N], cfg, ENTRIES[m]),
                            parts[m, N])
    cv = stage.crossval_dataset(list(parts.values()), cfg)
    io.write_netcdf(cv, root / "crossval.nc")
    return dict(root=root, cfg=cfg, data=data, parts=parts, metrics=metrics,
                cv=io.read_netcdf(root / "crossval.nc"))


def test_crossval_file_follows_the_contract(study):
    cv = study["cv"]
    assert cv.mse.dims == ("model", "train_space", "test_space", "resolution", "seed")
    assert cv.train_mse.dims == cv.diverged.dims == ("model", "train_space", "resolution", "seed")
    assert list(cv.model.values) == ["linear", "mlp"] and list(cv.resolution.values) == [8, 16]
    assert cv.diverged.dtype == bool and not cv.missing.any()
    assert cv.attrs["pde"] == "poisson1d" and "git_commit" in cv.attrs
    lin = cv.mse.sel(model="linear", seed=0)
    assert float(lin.sel(train_space="sin2", test_space="sin2").max()) < 1e-28
    assert float(lin.sel(train_space="sin2", test_space="poly2").min()) > 1e-9
    assert cv.scorecard.dims == ("model", "resolution", "metric")
    assert np.all(np.isfinite(cv.scorecard.sel(metric="span_consistency")))


def test_bounds_from_files(study):
    cfg, data, parts = study["cfg"], study["data"], study["parts"]
    b = stage_theory.bounds_dataset(data, study["cv"], "linear",
                                    {N: parts["linear", N] for N in RES}, cfg)
    assert float(np.nanmax(np.abs(b.measured_z))) < 5
    assert float(b.w_star_rel_error.max()) < 1e-10           # exact optimizer = Thm 3.2 limit
    assert b.predicted_mse.dims == ("train_space", "test_space", "resolution")
    assert b.measured_mse.dims == ("train_space", "test_space", "resolution", "seed")
    assert bool(b.bound_holds.all()) and b.attrs["linear_model"] == "linear"
    with pytest.raises(ResultsMismatch, match="linear model 'nope' absent"):
        stage_theory.bounds_dataset(data, study["cv"], "nope", {}, cfg)


def test_greens_from_files(study):
    g, fields = stage.greens_datasets(list(study["parts"].values()), study["cfg"])
    # the fem-trained linear model learned A = K^-1 M: G_hat = G - dx/6 I exactly
    for N in RES:
        G_hat = fields[N].G_hat.sel(model="linear", train_space="fem", seed=0).values
        np.testing.assert_allclose(G_hat - fields[N].G.values, -np.eye(N - 1) / (6 * N),
                                   atol=1e-9)
        np.testing.assert_allclose(g.stencil.sel(model="linear", train_space="fem",
                                                 resolution=N, seed=0),
                                   g.stencil_reference.sel(resolution=N), atol=1e-6)
        assert g.inverse_rel_error.sel(model="linear", train_space="fem", resolution=N,
                                       seed=0) < 1e-8
    # a model trained on a 2-dimensional span has no inverse
    assert np.isnan(g.inverse_rel_error.sel(model="linear", train_space="sin2")).all()
    assert fields[16].G_hat.dims == ("model", "train_space", "seed", "x", "s")


def _train_quantity(root: Path, entry: dict, cfg: AnalysisConfig) -> Path:
    """What the rule train_quantity does: one task per sample size (TrainTask.n_train)."""
    out = root / f"results/poisson1d/train_quantity/mlp/N{cfg.quantity_N}"
    datasets = {cfg.quantity_space: str(root / f"data/poisson1d/{cfg.quantity_space}/"
                                               f"N{cfg.quantity_N}.h5")}
    results = [train.run_task(train.TrainTask(
        model="mlp", entry=entry, pde="poisson1d", N=cfg.quantity_N,
        members=((cfg.quantity_space, 0),), datasets=datasets, out_dir=str(out), device="cpu",
        checksums=train.dataset_checksums(datasets), n_train=n)) for n in cfg.sample_sizes]
    io.write_netcdf(train.quantity_metrics_dataset("mlp", entry, cfg.quantity_N, "poisson1d",
                                                   results), out / "metrics.nc")
    return out / "metrics.nc"


def test_convergence_and_quantity_from_files(study):
    cfg, data, m = study["cfg"], study["data"], study["metrics"]
    mlp = {"class": "mlp", "params": {"width": 8}, "train": {"steps": 5}, "enabled": True}
    cfg = replace(cfg, quantity_models={"mlp": mlp})
    trained = _train_quantity(study["root"], mlp, cfg)
    assert (trained.parent / "sin2/n80/seed0.pt").exists()
    q = stage_theory.quantity_dataset(data[8], cfg, {"mlp": trained})
    ins = q.quantity_mse.sel(quantity_model="linear", test_space="sin2").values[:, 0]
    assert ins[0] > 1e-6 and ins[-1] < 1e-28                 # 2 samples span sin2
    assert list(q.quantity_model.values) == ["linear", "mlp"]
    assert np.all(np.isfinite(q.quantity_mse.sel(quantity_model="mlp")))
    assert not q.quantity_missing.any() and int(q.quantity_spanning_size) == 2
    # the analysis refuses members trained from another entry
    with pytest.raises(ResultsMismatch, match="steps"):
        stage_theory.quantity_dataset(data[8], replace(cfg, quantity_models={
            "mlp": dict(mlp, train={"steps": 6})}), {"mlp": trained})
    c = stage_theory.convergence_dataset(data, ("fd", {N: m["fd", N] for N in RES}), None,
                                         cfg)
    # our least-squares optimum equals the trainer's independent one
    for N in RES:
        fd = io.read_netcdf(m["fd", N])
        np.testing.assert_allclose(
            c.fd_predicted_rel_error.sel(resolution=N),
            fd.rel_error_lstsq.sel(q=[2, 4, 6], train_space=list(SPACES), seed=0), rtol=1e-6,
            atol=1e-13)
    assert bool(c.fd_exact.sel(q=4, train_space="poly2"))    # p < q
    assert not bool(c.fd_exact.sel(q=2, train_space="poly2"))
    assert int(c.fd_rate_dof.sel(q=2, train_space="sin2")) == 0   # 2 resolutions: no interval
    assert np.all(np.isnan(c.pinn_rel_error)) and c.attrs["pinn_model"] == ""
    assert "quantity_mse" not in c and c.fd_p_trend.dims == ("q", "family")


def test_missing_member_is_marked_not_dropped(study, tmp_path):
    src = Path(study["metrics"]["linear", 8]).parent
    dst = tmp_path / "train/linear/N8"
    dst.mkdir(parents=True)
    (dst / "metrics.nc").write_bytes((src / "metrics.nc").read_bytes())
    for s in ("poly2", "fem"):
        (dst / s).mkdir()
        (dst / s / "seed0.pt").write_bytes((src / s / "seed0.pt").read_bytes())
    part = stage.evaluate_model("linear", 8, dst / "metrics.nc", study["data"][8], study["cfg"],
                                ENTRIES["linear"])
    assert part.missing.sel(train_space="sin2").all()
    assert np.isnan(part.mse.sel(train_space="sin2")).all()
    assert np.isnan(part.response.sel(train_space="sin2")).all()
    assert np.isfinite(part.mse.sel(train_space="poly2")).all()


def test_results_from_another_config_are_refused(study, tmp_path):
    cfg, data, m = study["cfg"], study["data"], study["metrics"]
    ds = io.read_netcdf(m["linear", 8])
    other = tmp_path / "metrics.nc"
    io.write_netcdf(xr.concat([ds, ds.isel(train_space=[0]).assign_coords(
        train_space=["cos1"])], dim="train_space"), other)
    with pytest.raises(ResultsMismatch, match=r"train_space differs: unexpected \['cos1'\]"):
        stage.evaluate_model("linear", 8, other, data[8], cfg, ENTRIES["linear"])
    with pytest.raises(ResultsMismatch, match="attribute N is 8, expected 16"):
        stage.evaluate_model("linear", 16, m["linear", 8], data[16], cfg, ENTRIES["linear"])
    with pytest.raises(ResultsMismatch, match="not an operator model"):
        stage.evaluate_model("fd", 8, m["fd", 8], data[8], cfg, ENTRIES["fd"])
    with pytest.raises(io.DatasetError, match="attribute N is 8, expected 16"):
        stage.read_datasets({"sin2": data[8]["sin2"]}, cfg, 16)
    two_seeds = AnalysisConfig(pde="poisson1d", spaces=SPACES, resolutions=RES, seeds=(0, 1),
                               quantity_space="sin2")
    with pytest.raises(ResultsMismatch, match=r"seed differs: missing \[1\]"):
        stage.crossval_dataset([study["parts"]["linear", 8]], two_seeds)
    with pytest.raises(ResultsMismatch, match="FD orders"):
        stage_theory.convergence_dataset(
            data, ("fd", {N: m["fd", N] for N in RES}), None,
            AnalysisConfig(pde="poisson1d", spaces=SPACES, resolutions=RES, seeds=(0,),
                           fd_orders=(2, 8), quantity_space="sin2"))


def test_analysis_params_from_a_study_config():
    cfg = validate_config({"spaces": {"poly": [1], "cos": [2]}, "n_samples": 20,
                           "resolutions": [32, 16],
                           "models": {"mlp": {"class": "mlp"}, "fd": {"class": "fd"}}})
    p = analysis_params(cfg, "abc")
    a = AnalysisConfig.from_params(p)
    assert a.spaces == ("poly1", "cos2") and a.resolutions == (16, 32)
    assert a.quantity_space == "poly1" and a.quantity_N == 16       # no sin4: first space
    assert a.sample_sizes == (2, 4, 8, 16) and a.dropped_sample_sizes == (32, 64, 128)
    assert a.quantity_models["mlp"]["train"]["steps"] == 300 and a.config_hash == "abc"
    with pytest.raises(ValueError, match="quantity_space|data_quantity.train_space"):
        AnalysisConfig.from_params({**p, "quantity_space": "sin5"})
    with pytest.raises(ValueError, match="unknown analysis parameter"):
        AnalysisConfig.from_params({**p, "bogus": 1})
    assert pde.grid(4).size == 5
