"""greenbench.paths (the path grammar) and greenbench.study.Study (one source of the study's
facts); defaults written once, in the schema."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from greenbench import paths
from greenbench.analysis.config import AnalysisConfig
from greenbench.config import load_config, load_schema, schema_default, validate_config
from greenbench.models.registry import BUILTIN_MODELS, model_kind
from greenbench.provenance import data_hash, study_hash
from greenbench.spaces import ALL_SPACES
from greenbench.study import PARAMETER_CLASSES, Study

ROOT = Path(__file__).resolve().parents[1]

EXAMPLE = dict(pde="poisson1d", space="sin2", res=32, model="mlp", seed=1, n_train=8,
               name="scorecard", noise=1e-4)


# ---- greenbench.paths ----

@pytest.mark.parametrize("kind", sorted(paths.TEMPLATES))
def test_every_path_roundtrips_through_its_parser(kind):
    names = set(re.findall(r"\{(\w+)\}", paths.TEMPLATES[kind]))
    values = {k: v for k, v in EXAMPLE.items() if k in names}
    path = paths.fill(kind, **values)
    assert "{" not in path
    assert paths.parse(kind, path) == values
    assert paths.parse(kind, f"/some/root/{path}") == values       # under any working directory
    with pytest.raises(ValueError, match=re.escape(paths.TEMPLATES[kind])):
        paths.parse(kind, path + "/x.bak")


def test_functions_fill_the_templates_and_leave_wildcards():
    assert paths.dataset() == "data/{pde}/{space}/N{res}.h5"
    assert paths.dataset("poisson1d", "fem", 64) == "data/poisson1d/fem/N64.h5"
    assert paths.train_metrics() == "results/{pde}/train/{model}/N{res}/noise{noise}/metrics.nc"
    assert paths.greens_fields(res=16) == "results/{pde}/greens/N16.nc"
    assert paths.figure("poisson1d", "bounds") == "results/poisson1d/figures/bounds.png"
    metrics = paths.train_metrics("poisson1d", "mlp", 32, noise=0)
    member = paths.member("poisson1d", "mlp", 32, "sin2", 1, noise=0.0)
    assert member == "results/poisson1d/train/mlp/N32/noise0/sin2/seed1.pt"
    assert paths.member_beside(metrics, "sin2", 1) == Path(member)
    assert paths.member_in(paths.train_dir("poisson1d", "mlp", 32, noise=0), "sin2",
                           1) == Path(member)
    assert paths.parse("member", member) == dict(pde="poisson1d", model="mlp", res=32,
                                                 space="sin2", seed=1, noise=0.0)
    with pytest.raises(ValueError, match="no wildcard"):
        paths.fill("crossval", model="mlp")
    assert re.fullmatch(paths.alternatives(["a.b", "c"]), "a.b")
    assert not re.fullmatch(paths.alternatives(["a.b"]), "axb")
    assert not re.fullmatch(paths.alternatives([]), "")


def test_the_grammar_is_design_md():
    """Every line of DESIGN.md's "Path grammar" is a template here (and the other way round,
    for the files DESIGN.md names)."""
    design = ROOT.parent / "shared" / "DESIGN.md"
    if not design.exists():
        pytest.skip("DESIGN.md (the team's shared folder) is not beside the repository")
    text = design.read_text()
    block = text[text.index("## Path grammar"):].split("```")[1]
    documented = set(re.findall(r"(?:data|results)/[\w{}/.*]+", block))
    templates = set(paths.TEMPLATES.values())
    for path in documented:
        path = path.rstrip("/.")
        if path.endswith("/*.png"):
            assert path.replace("*", "{name}") in templates, path
        elif path.endswith("/..."):
            assert path[:-4] in templates, path
        else:
            assert path in templates, path


# ---- greenbench.study ----

def test_study_of_the_default_config():
    cfg = load_config(ROOT / "config" / "config.yaml")
    study = Study.from_config(cfg)
    names = list(cfg["models"])
    assert list(study.models) == names                                  # config order
    assert study.models == {m: e["class"] for m, e in cfg["models"].items()}
    assert study.parameter_models == ["fd", "pinn"]
    assert study.operator_models == [m for m in names if m not in ("fd", "pinn")]
    assert [study.kind(m) for m in ("fd", "mlp")] == ["parameter", "operator"]
    assert study.first_of_class("linear") == "linear" and study.first_of_class("x") is None
    assert study.spaces == tuple(ALL_SPACES) and study.resolutions == (16, 32, 64)
    assert study.seeds == (0,) and study.finest == 64 and study.k == 1.0
    assert study.data_hash == data_hash(cfg) and study.config_hash == study_hash(cfg)
    assert study.analysis.config_hash == study.config_hash
    assert study.analysis.quantity_space == "sin4" and study.analysis.quantity_N == 16
    assert len(study.training_targets()) == len(names) * 3
    assert study.training_targets()[0] == "results/poisson1d/train/fd/N16/noise0/metrics.nc"
    assert len(study.evaluations()) == 6 * 3 and len(study.datasets()) == 25 * 3
    assert study.dataset_map()[32]["fem"] == "data/poisson1d/fem/N32.h5"
    assert study.results()["greens_fields"] == "results/poisson1d/greens/N64.nc"


def test_study_of_a_tiny_config(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # examples/ (a user model)
    cfg = validate_config({
        "spaces": {"sin": [2, 1], "fem": True}, "resolutions": [32, 8], "train_seeds": [3, 1],
        "models": {"b": {"class": "mlp"}, "off": {"class": "linear", "enabled": False},
                   "p": {"class": "pinn"}, "a": {"class": "linear"},
                   "user": {"class": "examples.my_model:ConvNet"}}})
    study = Study.from_config(cfg)
    assert study.spaces == ("sin1", "sin2", "fem") and study.resolutions == (8, 32)
    assert study.seeds == (3, 1)
    assert study.models == {"b": "mlp", "p": "pinn", "a": "linear",
                            "user": "examples.my_model:ConvNet"}
    assert study.operator_models == ["b", "a", "user"] and study.parameter_models == ["p"]
    assert study.models_of_class("linear") == ["a"] and study.first_of_class("fd") is None
    assert study.parameter_entries() == {"p": cfg["models"]["p"]}
    assert study.model_metrics(None) == []
    assert study.evaluations(["a"]) == ["results/poisson1d/evaluate/noise0/a/N8.nc",
                                        "results/poisson1d/evaluate/noise0/a/N32.nc"]
    p = study.train_params("a", "8")
    assert p["out_dir"] == paths.train_dir("poisson1d", "a", 8, noise=0) and p["N"] == 8
    assert p["noise"] == 0.0
    assert p["datasets"] == study.dataset_map()[8] and p["data_hash"] == study.data_hash
    spec = study.data_spec("sin2", "32")
    assert spec["N"] == 32 and spec["master_seed"] == cfg["seed"] and spec["k"] == cfg["k"]
    # one hash for any cluster file: where jobs run is not what the study is
    moved = Study.from_config({**cfg, "cluster": "config/cluster/slurm.yaml"})
    assert moved.config_hash == study.config_hash


def test_one_parameter_class_list_agrees_with_the_model_zoo():
    assert set(PARAMETER_CLASSES) == {name for name, cls in BUILTIN_MODELS.items()
                                      if model_kind(cls) == "parameter"}
    from greenbench.analysis import config as analysis_config
    from greenbench.report import expected

    assert analysis_config.PARAMETER_CLASSES is PARAMETER_CLASSES
    assert expected.Expected is Study


# ---- defaults: written once, in the schema ----

ANALYSIS_KEYS = {  # AnalysisConfig field -> config key whose schema default it takes
    "k": "k", "master_seed": "seed", "distribution": "coefficients.distribution",
    "scale": "coefficients.scale", "noise": "noise", "fem_mass": "fem_mass",
    "rank_tol": "analysis.rank_tol", "impulse_amplitude": "analysis.impulse_amplitude",
    "scorecard_factor": "analysis.scorecard.small_factor",
    "scorecard_floor": "analysis.scorecard.small_floor", "fd_orders": "analysis.fd_orders",
    "fd_exact_tol": "analysis.fd_exact_tol", "confidence": "analysis.confidence",
    "stencil_halfwidth": "analysis.stencil_halfwidth", "sample_sizes": "analysis.sample_sizes",
    "quantity_resolution": "analysis.quantity_resolution", "device": "analysis.device",
    "converge_tail": "analysis.converge_tail", "converge_rel_tol": "analysis.converge_rel_tol",
    "converge_floor": "analysis.converge_floor",
}


def test_analysis_config_defaults_are_the_schemas():
    fields = {f.name: f for f in dataclasses.fields(AnalysisConfig)}
    for name, key in ANALYSIS_KEYS.items():
        want = schema_default(key)
        want = tuple(want) if isinstance(want, list) else want
        if name == "noise":  # a number is one level: the levels are a sorted tuple
            want = (float(want),)
        assert fields[name].default == want, (name, key)
    # a field with a default that is no schema default must say why: only "not checked"/derived
    free = {n for n, f in fields.items() if f.default is not dataclasses.MISSING
            or f.default_factory is not dataclasses.MISSING} - set(ANALYSIS_KEYS)
    assert free == {"n_samples", "test_fraction", "data_hash", "quantity_space",
                    "quantity_models", "dropped_sample_sizes", "config_hash",
                    "coefficients"}  # the operator's c, b: from the top-level keys c, b
    assert fields["quantity_space"].default == schema_default("analysis.quantity_space")
    # built from an empty config, the analysis settings are the schema defaults
    built = Study.from_config(validate_config({})).analysis
    for name, key in ANALYSIS_KEYS.items():
        if name != "quantity_resolution":  # 0 (the smallest) is resolved by analysis_params
            assert getattr(built, name) == fields[name].default, (name, key)


def _leaves(obj: dict, schema: dict, prefix: str = ""):
    """(dotted key, value, schema default or MISSING) of every key the schema describes."""
    for key, value in obj.items():
        sub = schema.get("properties", {}).get(key)
        if sub is None:
            continue
        yield f"{prefix}{key}", value, sub.get("default", dataclasses.MISSING)
        if isinstance(value, dict) and "properties" in sub:
            yield from _leaves(value, sub, f"{prefix}{key}.")


def test_config_yaml_restates_no_schema_default():
    """config/config.yaml sets only what differs from the schema (docs/decisions.md): a
    default restated there could drift from the schema unnoticed."""
    raw = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    restated = [key for key, value, default in _leaves(raw, load_schema())
                if default is not dataclasses.MISSING and value == default]
    assert not restated, (f"config/config.yaml restates the schema default of {restated}; "
                          f"drop them (the schema is the one place a default is written)")


def test_no_default_is_written_in_code():
    """The lib reads a validated config by key, never with a fallback default."""
    lib = ROOT / "lib" / "greenbench"
    for name in ("study.py", "analysis/config.py"):
        source = (lib / name).read_text()
        assert not re.search(r"\.get\(\"\w+\", ", source), name


def test_cheap_fit_is_a_closed_form_fit_or_fd():
    from greenbench.study import cheap_fit

    assert cheap_fit({"class": "linear", "train": {"optimizer": "exact"}})
    assert cheap_fit({"class": "fd", "train": {"optimizer": "lbfgs", "steps": 20}})
    assert cheap_fit({"class": "fd"})
    assert not cheap_fit({"class": "linear", "train": {"optimizer": "gd", "steps": 40}})
    assert not cheap_fit({"class": "mlp", "train": {"optimizer": "adam"}})
    assert not cheap_fit({"class": "pinn", "train": {}})


def test_noise_levels_are_an_axis_of_training_and_evaluation():
    """Operator models are trained and evaluated at every level, parameter learners at the
    lowest; the path carries the level, written reproducibly and parsed back exactly."""
    cfg = validate_config({"spaces": {"sin": [1]}, "resolutions": [8], "noise": [1e-4, 0],
                           "models": {"lin": {"class": "linear"}, "fd": {"class": "fd"}}})
    study = Study.from_config(cfg)
    assert cfg["noise"] == [0.0, 1e-4] and study.noise == (0.0, 1e-4)
    assert study.noise_min == 0.0 and study.analysis.noise == (0.0, 1e-4)
    assert set(study.training_targets()) == {
        "results/poisson1d/train/lin/N8/noise0/metrics.nc",
        "results/poisson1d/train/lin/N8/noise0.0001/metrics.nc",
        "results/poisson1d/train/fd/N8/noise0/metrics.nc"}
    assert study.evaluations() == ["results/poisson1d/evaluate/noise0/lin/N8.nc",
                                   "results/poisson1d/evaluate/noise0.0001/lin/N8.nc"]
    assert study.train_params("lin", 8, "0.0001")["noise"] == 1e-4
    # the datasets do not depend on the levels: another level regenerates nothing
    other = Study.from_config({**cfg, "noise": [0.0, 1e-8]})
    assert other.data_hash == study.data_hash and other.config_hash != study.config_hash
    for level in (0, 1e-8, 1e-4, 0.5, 3.0, 1.25e-7):
        label = paths.noise_label(level)
        assert paths.noise_level(label) == level and paths.noise_label(float(label)) == label
    with pytest.raises(ValueError, match="not written canonically"):
        paths.noise_level("1e-4")
    with pytest.raises(ValueError, match="noise level"):
        paths.noise_label(-1.0)
