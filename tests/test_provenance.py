"""The provenance chain (issue 7): every derived file records what it was made from, and every
consumer compares that record with what it is about to use, naming the file and both values.

Oracles: a member trained on other data is retrained, never loaded (case 1); a dataset, training
file, evaluation or analysis file of another study is refused before anything is written (case
3); a checkpoint cannot choose the code that runs (case 5).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from greenbench import io, train
from greenbench.analysis import stage, stage_theory
from greenbench.analysis.checks import ResultsMismatch
from greenbench.analysis.config import (
    AnalysisConfig,
    analysis_params,
    step_params,
    study_hash,
)
from greenbench.config import validate_config
from greenbench.data import DataSpec, generate
from greenbench.provenance import data_hash
from greenbench.report import ResultsMismatchError, build_report

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SPACES = ("poly2", "sin2")
N = 8
CONFIG = validate_config({
    "spaces": {"poly": [2], "sin": [2], "fem": False}, "resolutions": [N], "n_samples": 12,
    "seed": 3, "train_seeds": [0],
    "models": {"linear": {"class": "linear", "train": {"optimizer": "exact"}},
               "fd": {"class": "fd"}},
    "analysis": {"sample_sizes": [2, 4]},
})
LINEAR, FD = CONFIG["models"]["linear"], CONFIG["models"]["fd"]


def spec(space: str, config=CONFIG, **kw) -> DataSpec:
    c = config
    fields = dict(pde=c["pde"], space=space, N=N, n_samples=c["n_samples"], master_seed=c["seed"],
                  k=c["k"], distribution=c["coefficients"]["distribution"],
                  scale=c["coefficients"]["scale"],
                  test_fraction=c["test_fraction"], fem_mass=c["fem_mass"])
    return DataSpec(**{**fields, **kw})


def write_data(root: Path, space: str, config=CONFIG, hash_: str | None = None, **kw) -> Path:
    path = root / f"data/poisson1d/{space}/N{N}.h5"
    io.write_dataset(path, generate(spec(space, config, **kw),
                                    data_hash(config) if hash_ is None else hash_))
    return path


def make_task(root: Path, model: str, entry: dict, datasets: dict) -> train.TrainTask:
    return train.TrainTask(model=model, entry=entry, pde="poisson1d", N=N,
                           members=tuple((s, 0) for s in SPACES), datasets=datasets,
                           out_dir=str(root / f"results/poisson1d/train/{model}/N{N}"),
                           master_seed=CONFIG["seed"], device="cpu",
                           checksums=train.dataset_checksums(datasets),
                           data_hash=data_hash(CONFIG))


def train_model(root: Path, model: str, entry: dict, datasets: dict) -> Path:
    task = make_task(root, model, entry, datasets)
    out = Path(task.out_dir) / "metrics.nc"
    io.write_netcdf(train.metrics_dataset(model, entry, N, "poisson1d", [train.run_task(task)]),
                    out)
    return out


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("prov")
    data = {s: str(write_data(root, s)) for s in SPACES}
    cfg = AnalysisConfig.from_params(analysis_params(CONFIG, study_hash(CONFIG)))
    metrics = {m: train_model(root, m, e, data) for m, e in (("linear", LINEAR), ("fd", FD))}
    part = root / f"results/poisson1d/evaluate/linear/N{N}.nc"
    io.write_netcdf(stage.evaluate_model("linear", N, metrics["linear"], data, cfg, LINEAR), part)
    return dict(root=root, data=data, cfg=cfg, metrics=metrics, part=part)


def copy_member_files(src: Path, dst: Path) -> Path:
    """The training folder of ``src`` (metrics.nc beside it) copied to ``dst``."""
    for f in src.parent.rglob("*"):
        if f.is_file():
            target = dst / f.relative_to(src.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
    return dst / "metrics.nc"


# ------------------------------------------------------------------ records
def test_members_and_metrics_record_data_and_entry(study):
    for space in SPACES:
        pt = io.load_torch(Path(study["metrics"]["linear"]).parent / space / "seed0.pt")
        assert pt["data_checksum"] == io.dataset_checksum(study["data"][space])
        assert pt["data_hash"] == data_hash(CONFIG) and pt["entry"] == json.loads(
            json.dumps(LINEAR))
    m = io.read_netcdf(study["metrics"]["linear"])
    assert m.attrs["data_hash"] == data_hash(CONFIG)
    assert json.loads(m.attrs["entry"]) == json.loads(json.dumps(LINEAR))
    assert [str(v) for v in m.data_checksum.sel(train_space=list(SPACES)).values] == [
        io.dataset_checksum(study["data"][s]) for s in SPACES]
    part = io.read_netcdf(study["part"])
    assert part.attrs["data_hash"] == data_hash(CONFIG)
    assert part.attrs["config_hash"] == study["cfg"].step_hash


def test_step_hash_is_the_workflows_and_ignores_nothing_of_the_data():
    params = analysis_params(CONFIG, study_hash(CONFIG))
    assert AnalysisConfig.from_params(params).step_hash == step_params(params)["config_hash"]
    other = validate_config({**CONFIG, "analysis": {**CONFIG["analysis"], "rank_tol": 1e-8}})
    p2 = analysis_params(other, study_hash(other))
    # an analysis-only option: same data hash (training stays valid), other analysis hashes
    assert p2["data_hash"] == params["data_hash"]
    assert step_params(p2)["config_hash"] != step_params(params)["config_hash"]
    moved = validate_config({**CONFIG, "k": 2.0})
    assert analysis_params(moved)["data_hash"] != params["data_hash"]


# ------------------------------------------------------------------ case 1: training
def test_member_of_changed_data_is_retrained_not_loaded(tmp_path):
    data = {s: str(write_data(tmp_path, s)) for s in SPACES}
    task = make_task(tmp_path, "linear", LINEAR, data)
    train.run_task(task)
    assert train.task_done(task)
    moved = validate_config({**CONFIG, "k": 2.0})
    write_data(tmp_path, "sin2", moved, k=2.0)
    again = make_task(tmp_path, "linear", LINEAR, data)
    assert again.fingerprint() != task.fingerprint() and not train.task_done(again)
    with pytest.raises(io.DatasetError, match=r"data hash \(attribute config_hash\) is "):
        train.run_task(again)                  # the planned data hash is the old study's


def test_run_task_refuses_data_changed_after_planning(tmp_path):
    data = {s: str(write_data(tmp_path, s)) for s in SPACES}
    task = make_task(tmp_path, "linear", LINEAR, data)
    old = task.checksums["sin2"]
    write_data(tmp_path, "sin2", master_seed=4)
    new = io.dataset_checksum(data["sin2"])
    with pytest.raises(io.DatasetError) as err:
        train.run_task(task)
    msg = str(err.value)
    assert data["sin2"] in msg and f"content checksum is {new}" in msg
    assert f"planned with {old}" in msg
    with pytest.raises(ValueError, match="no planned dataset checksum for train_space 'poly2'"):
        train.run_task(replace(task, checksums={}))


# ------------------------------------------------------------------ case 5: the config decides
EVIL = """
import pathlib
pathlib.Path(__file__).with_name("IMPORTED").write_text("imported")
raise SystemExit("evilmod must never be imported")
"""


def test_checkpoint_naming_another_class_is_refused_without_importing_it(study, tmp_path,
                                                                         monkeypatch):
    (tmp_path / "evilmod.py").write_text(EVIL)
    monkeypatch.syspath_prepend(str(tmp_path))
    metrics = copy_member_files(study["metrics"]["linear"], tmp_path / "train")
    pt_path = tmp_path / "train/sin2/seed0.pt"
    pt = io.load_torch(pt_path)
    io.save_torch({**pt, "class": "evilmod:Evil", "entry": {**pt["entry"],
                                                            "class": "evilmod:Evil"}}, pt_path)
    with pytest.raises(train.CheckpointMismatch) as err:
        train.load_trained(pt_path, LINEAR)
    assert str(err.value).startswith(f"{pt_path}: trained member does not match this study "
                                     f"(class is 'evilmod:Evil' in the file, 'linear' in the "
                                     f"config")
    with pytest.raises(train.CheckpointMismatch, match="'evilmod:Evil' in the file"):
        stage.evaluate_model("linear", N, metrics, study["data"], study["cfg"], LINEAR)
    assert "evilmod" not in sys.modules and not (tmp_path / "IMPORTED").exists()


def test_load_trained_builds_from_the_entry_and_compares_params(study):
    path = Path(study["metrics"]["linear"]).parent / "poly2/seed0.pt"
    module = train.load_trained(path, LINEAR, N=N)
    assert type(module).__name__ == "Linear"
    wide = {**LINEAR, "params": {"init_scale": 0.5}}
    with pytest.raises(train.CheckpointMismatch,
                       match=r"params are \{\} in the file, \{'init_scale': 0.5\} in the config"):
        train.load_trained(path, wide)
    with pytest.raises(train.CheckpointMismatch, match="N is 8 in the file, 16 expected"):
        train.load_trained(path, LINEAR, N=16)


# ------------------------------------------------------------------ evaluation
def test_evaluation_refuses_another_model_entry(study):
    gd = {**LINEAR, "train": {"optimizer": "gd"}}
    with pytest.raises(ResultsMismatch) as err:
        stage.evaluate_model("linear", N, study["metrics"]["linear"], study["data"],
                             study["cfg"], gd)
    assert str(err.value).startswith(f"{study['metrics']['linear']}: results from another "
                                     f"config (model entry train.optimizer is 'exact' in the "
                                     f"file, 'gd' in the config)")


def test_evaluation_refuses_members_of_other_data(study, tmp_path):
    """Data regenerated with k = 2 under the same study attributes (a cfg with k = 2 and no data
    hash): the metrics' data_checksum, then (metrics patched) every member, is refused."""
    data = {s: str(write_data(tmp_path, s, k=2.0)) for s in SPACES}
    cfg = replace(study["cfg"], k=2.0, data_hash="")
    metrics = copy_member_files(study["metrics"]["linear"], tmp_path / "train")
    old = io.dataset_checksum(study["data"]["poly2"])
    new = io.dataset_checksum(data["poly2"])
    with pytest.raises(ResultsMismatch) as err:
        stage.evaluate_model("linear", N, metrics, data, cfg, LINEAR)
    assert (f"data_checksum of train_space poly2 is {old!r}, but {data['poly2']} has {new!r}"
            in str(err.value)) and str(err.value).startswith(str(metrics))
    m = io.read_netcdf(metrics)
    m["data_checksum"].values[:] = [io.dataset_checksum(data[s]) for s in
                                    m.train_space.values]
    io.write_netcdf(m, metrics)
    with pytest.raises(train.CheckpointMismatch) as err:
        stage.evaluate_model("linear", N, metrics, data, cfg, LINEAR)
    assert re.search(r"seed0\.pt: trained member does not match this study \(trained on data "
                     r"of checksum 'sha256:\w+', \S+/N8\.h5 now has 'sha256:\w+'\)",
                     str(err.value))


# ------------------------------------------------------------------ case 3: another study
@pytest.mark.parametrize("change, attribute", [
    (dict(master_seed=4), "master_seed is 4, expected 3"),
    (dict(n_samples=16), "n_samples is 16, expected 12"),
    (dict(test_fraction=0.5), "test_fraction is 0.5, expected 0.2"),
    (dict(hash_="0123456789abcdef"), "config_hash is '0123456789abcdef', expected "),
])
def test_dataset_of_another_study_is_refused(study, tmp_path, change, attribute):
    path = write_data(tmp_path, "sin2", **change)
    with pytest.raises(io.DatasetError) as err:
        stage.read_datasets({"sin2": path}, study["cfg"], N)
    assert str(err.value).startswith(f"{path}: attribute {attribute}")


def test_training_metrics_of_another_data_hash_are_refused(study, tmp_path):
    metrics = copy_member_files(study["metrics"]["linear"], tmp_path / "train")
    m = io.read_netcdf(metrics)
    m.attrs["data_hash"] = "feedfeedfeedfeed"
    io.write_netcdf(m, metrics)
    with pytest.raises(ResultsMismatch, match=rf"^{re.escape(str(metrics))}: results from "
                       rf"another config \(attribute data_hash is 'feedfeedfeedfeed', expected "
                       rf"'{study['cfg'].data_hash}'\)"):
        stage.evaluate_model("linear", N, metrics, study["data"], study["cfg"], LINEAR)


def test_aggregators_refuse_inputs_of_another_study(study, tmp_path):
    cfg, part = study["cfg"], study["part"]
    other = replace(cfg, rank_tol=1e-8)             # another analysis option: another step hash
    with pytest.raises(ResultsMismatch, match=rf"^{re.escape(str(part))}: results from another "
                       rf"config \(attribute config_hash is '{cfg.step_hash}', expected "
                       rf"'{other.step_hash}'\)"):
        stage.crossval_dataset([part], other)
    with pytest.raises(ResultsMismatch, match="attribute data_hash is"):
        stage.greens_datasets([part], replace(cfg, data_hash="0" * 16))
    cv_path = tmp_path / "crossval.nc"
    io.write_netcdf(stage.crossval_dataset([part], cfg), cv_path)
    with pytest.raises(ResultsMismatch, match=rf"^{re.escape(str(cv_path))}: results from another"
                       rf" config \(attribute config_hash is '{cfg.config_hash}', expected "
                       rf"'elsewhere'\)"):
        stage_theory.bounds_dataset({N: study["data"]}, cv_path, "linear", {N: part},
                                    replace(cfg, config_hash="elsewhere"))
    fd = ("fd", {N: study["metrics"]["fd"]})
    wrong_fd = {"fd": {**FD, "params": {**FD.get("params", {}), "orders": [2]}}}
    with pytest.raises(ResultsMismatch, match=r"model entry params.orders is '\(absent\)' in the "
                                              r"file, \[2\] in the config"):
        stage_theory.convergence_dataset({N: study["data"]}, fd, None, cfg, wrong_fd)
    # measures.nc is computed only from this study's crossval.nc
    with pytest.raises(ResultsMismatch, match=rf"^{re.escape(str(cv_path))}: results from another"
                                              rf" config \(attribute config_hash is "):
        stage_theory.measures_file_dataset(cv_path, replace(cfg, config_hash="elsewhere"))
    out = stage_theory.convergence_dataset({N: study["data"]}, fd, None, cfg, {"fd": FD})
    assert out.attrs["data_hash"] == cfg.data_hash


def test_report_refuses_results_of_another_study(study, tmp_path):
    cfg = study["cfg"]
    cv_path = tmp_path / "crossval.nc"
    io.write_netcdf(stage.crossval_dataset([study["part"]], cfg), cv_path)
    with pytest.raises(ResultsMismatchError,
                       match=rf"^{re.escape(str(cv_path))}: results from another config "
                             rf"\(attribute config_hash is '{cfg.config_hash}', expected "
                             rf"'other'\)"):
        build_report(tmp_path / "r.html", config=CONFIG, results={"crossval": cv_path},
                     figures=[], config_hash="other")
    moved = validate_config({**CONFIG, "k": 2.0})
    with pytest.raises(ResultsMismatchError, match=rf"attribute data_hash is "
                                                   rf"'{cfg.data_hash}', expected "
                                                   rf"'{data_hash(moved)}'"):
        build_report(tmp_path / "r.html", config=moved, results={"crossval": cv_path},
                     figures=[])
    assert not (tmp_path / "r.html").exists()
    build_report(tmp_path / "r.html", config=CONFIG, results={"crossval": cv_path}, figures=[],
                 config_hash=cfg.config_hash)
    assert (tmp_path / "r.html").exists()
