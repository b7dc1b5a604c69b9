"""Config validation (greenbench.config + workflow/schemas/config.schema.yaml).

Oracles: each bad value is rejected with a message naming the key and the allowed values;
defaults come from the schema; the embedded default study is what an empty config means.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from greenbench.config import (
    ConfigError,
    load_config,
    load_schema,
    merge_configs,
    validate_config,
)
from greenbench.spaces import ALL_SPACES, space_names

BAD = {
    "sin9": ({"spaces": {"sin": [9]}},
             ["spaces.sin[0]", "sin9 is not a function space", "1..8"]),
    "poly0": ({"spaces": {"poly": [0]}},
              ["spaces.poly[0]", "poly0 is not a function space", "1..8"]),
    "N: 2": ({"resolutions": [2]}, ["resolutions[0]", "2 is less than the minimum of 8", ">= 8"]),
    "n_samples: -5": ({"n_samples": -5}, ["n_samples", "-5", ">= 10"]),
    "k: 0": ({"k": 0}, ["config key k:", "allowed: > 0"]),
    "unknown key": ({"n_sample": 20}, ["unknown key(s) ['n_sample']", "allowed keys",
                                       "n_samples"]),
    "nested unknown key": ({"coefficients": {"dist": "normal"}},
                           ["config key coefficients", "['dist']", "distribution", "scale"]),
    "unknown family": ({"spaces": {"tan": [1]}}, ["config key spaces", "['tan']", "cos"]),
    "enum": ({"coefficients": {"distribution": "cauchy"}},
             ["coefficients.distribution", "one of ['uniform', 'normal']"]),
    "pde": ({"pde": "heat1d"}, ["config key pde", "poisson1d"]),
    "type": ({"n_samples": "many"}, ["config key n_samples", "type integer"]),
    "test_fraction": ({"test_fraction": 1.0}, ["test_fraction", "< 1"]),
    "fem_mass": ({"fem_mass": "diag"}, ["fem_mass", "consistent", "lumped"]),
    "duplicate N": ({"resolutions": [16, 16]}, ["resolutions", "non-unique"]),
    "no spaces": ({"spaces": {"fem": False}}, ["config key spaces", "selects no function space"]),
    "negative noise": ({"noise": -1.0}, ["config key noise", ">= 0"]),
    "scale 0": ({"coefficients": {"scale": 0}}, ["coefficients.scale", "> 0"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_config_names_key_and_allowed_values(case):
    cfg, needles = BAD[case]
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, (case, msg)


def test_all_errors_are_reported_at_once():
    with pytest.raises(ConfigError) as info:
        validate_config({"k": 0, "n_samples": -5, "spaces": {"sin": [9]}})
    msg = str(info.value)
    assert "config key k" in msg and "config key n_samples" in msg and "sin9" in msg


def test_defaults_are_filled_from_the_schema_without_touching_the_input():
    cfg = {"n_samples": 20, "spaces": {"sin": [3]}, "coefficients": {"scale": 2.0}}
    original = copy.deepcopy(cfg)
    out = validate_config(cfg)
    assert cfg == original
    assert out["k"] == 1.0 and out["seed"] == 0 and out["pde"] == "poisson1d"
    assert out["coefficients"] == {"distribution": "uniform", "scale": 2.0}
    assert out["spaces"] == {"sin": [3], "poly": [], "cos": [], "fem": False}
    assert out["resolutions"] == [16, 32, 64] and out["test_fraction"] == 0.2
    assert space_names(out["spaces"]) == ["sin3"]


def _flat(cfg: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in cfg.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_empty_config_is_the_default_study(repo_root):
    """``{}`` validates to config/config.yaml (models aside: the default study may list
    models, while an empty config trains none)."""
    empty = _flat(validate_config({}))
    default = _flat(load_config(repo_root / "config" / "config.yaml"))
    for key in sorted(set(empty) | set(default)):
        if key.split(".")[0] != "models":
            assert empty.get(key) == default.get(key), (
                f"config/config.yaml sets {key} = {default.get(key)!r} but an empty config gives "
                f"the schema default {empty.get(key)!r}: make them equal (the default study must "
                f"be what an empty config means)")
    assert space_names(validate_config({})["spaces"]) == list(ALL_SPACES)


def test_shipped_configs_validate(repo_root):
    paper = load_config(repo_root / "config" / "paper.yaml")
    assert paper["n_samples"] == 10_000
    assert paper["resolutions"] == [16, 32, 64, 128, 256]
    assert space_names(paper["spaces"]) == list(ALL_SPACES)
    default = yaml.safe_load((repo_root / "config" / "config.yaml").read_text())
    for path in (repo_root / "config").glob("*.yaml"):
        raw = yaml.safe_load(path.read_text()) or {}
        if "models" not in raw:     # an overlay of the default study (config/robustness.yaml)
            with pytest.raises(ConfigError, match="--configfile config/config.yaml"):
                validate_config(raw)  # refused alone, saying how to run it
            raw = merge_configs(default, raw)
        validate_config(raw)


def _walk(schema: dict, where: str = ""):
    """Yield (key path, sub-schema, required) for every named property of the schema."""
    required = set(schema.get("required", []))
    for name, sub in schema.get("properties", {}).items():
        yield f"{where}{name}", sub, name in required
        yield from _walk(sub, f"{where}{name}.")
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _walk(extra, f"{where}<name>.")


def test_every_schema_key_has_a_description_and_a_default():
    """STYLE.md 2: every config key is in the schema with a description and a default."""
    schema = load_schema()
    keys = list(_walk(schema))
    assert len(keys) > 15
    for key, sub, required in keys:
        assert sub.get("description", "").strip(), f"schema key {key} has no description"
        if not required:
            # A default that depends on another key (the model class) can only be stated in
            # words; it must then be stated.
            assert "default" in sub or "default" in sub["description"].lower(), (
                f"schema key {key} has no default (neither `default:` nor one in its description)")
            # the default itself is valid
            if key.count(".") == 0:
                validate_config({key: copy.deepcopy(sub["default"])})


def test_load_config_reads_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"n_samples": 20, "spaces": {"poly": [1]}}))
    cfg = load_config(path)
    assert cfg["n_samples"] == 20 and space_names(cfg["spaces"]) == ["poly1"]
    (tmp_path / "empty.yaml").write_text("")
    assert load_config(tmp_path / "empty.yaml") == validate_config({})


def test_command_line_strings_are_converted_to_the_schema_types():
    """snakemake --config parses nested values with YAML's BaseLoader: all strings."""
    cfg = validate_config({"resolutions": ["32", "64"], "k": "2.5", "n_samples": "20",
                           "spaces": {"sin": ["3"], "fem": "true"},
                           "coefficients": {"scale": "1e-1"}})
    assert cfg["resolutions"] == [32, 64] and cfg["k"] == 2.5 and cfg["n_samples"] == 20
    assert cfg["spaces"]["sin"] == [3] and cfg["spaces"]["fem"] is True
    assert cfg["coefficients"]["scale"] == 0.1
    for bad, needle in [({"k": "nan"}, "config key k"),
                        ({"resolutions": ["3.5"]}, "resolutions[0]"),
                        ({"spaces": {"fem": "maybe"}}, "spaces.fem"),
                        ({"spaces": {"sin": ["9"]}}, "sin9 is not a function space")]:
        with pytest.raises(ConfigError, match=re.escape(needle)):
            validate_config(bad)


# Issue 7: non-finite numbers, fd_orders the fd model does not train, and the data-quantity keys
# are refused by validate_config (before any job runs), naming the key and what is allowed.

INF, NAN = float("inf"), float("nan")
NON_FINITE = {
    "k: .inf": ({"k": INF}, "k"),
    "k: .nan": ({"k": NAN}, "k"),
    "k: -.inf": ({"k": -INF}, "k"),
    "k: '.inf' (--config)": ({"k": ".inf"}, "k"),
    "k: 'nan' (--config)": ({"k": "nan"}, "k"),
    "k: 'inf' (--config)": ({"k": "inf"}, "k"),
    "k: '-.Inf' (--config)": ({"k": "-.Inf"}, "k"),
    "seed: inf (integer key)": ({"seed": INF}, "seed"),
    "resolutions: ['.inf']": ({"resolutions": [16, ".inf"]}, "resolutions[1]"),
    "noise: -inf": ({"noise": -INF}, "noise"),
    "noise: nan": ({"noise": NAN}, "noise"),
    "coefficients.scale": ({"coefficients": {"scale": INF}}, "coefficients.scale"),
    "coefficients.scale '.nan'": ({"coefficients": {"scale": ".nan"}}, "coefficients.scale"),
    "test_fraction": ({"test_fraction": NAN}, "test_fraction"),
    "analysis.rank_tol": ({"analysis": {"rank_tol": NAN}}, "analysis.rank_tol"),
    "analysis.confidence": ({"analysis": {"confidence": NAN}}, "analysis.confidence"),
    "analysis.scorecard.small_factor": ({"analysis": {"scorecard": {"small_factor": INF}}},
                                        "analysis.scorecard.small_factor"),
    "models.*.params": ({"models": {"mlp": {"class": "mlp", "params": {"width": 8,
                                                                       "scale": NAN}}}},
                        "models.mlp.params.scale"),
    "models.*.params list": ({"models": {"fd": {"class": "fd", "params": {"w_init": [INF]}}}},
                             "models.fd.params.w_init[0]"),
    "models.*.params '.nan'": ({"models": {"fd": {"class": "fd", "params": {"w_init": ".nan"}}}},
                               "models.fd.params.w_init"),
    "models.*.train.lr": ({"models": {"mlp": {"class": "mlp", "train": {"lr": INF}}}},
                          "models.mlp.train.lr"),
    "models.*.train.rank_tol": ({"models": {"linear": {"class": "linear",
                                                       "train": {"rank_tol": "nan"}}}},
                                "models.linear.train.rank_tol"),
}


@pytest.mark.parametrize("case", list(NON_FINITE))
def test_non_finite_numbers_are_refused_anywhere_naming_the_key(case):
    cfg, key = NON_FINITE[case]
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    lines = [line.strip() for line in str(info.value).splitlines()
             if line.strip().startswith(f"config key {key}:")]
    assert len(lines) == 1, (case, str(info.value))  # one message for the key, not two
    assert "a finite number is required" in lines[0], (case, lines[0])
    assert "is not of type" not in lines[0], (case, lines[0])


def test_non_finite_message_gives_the_allowed_range():
    with pytest.raises(ConfigError) as info:
        validate_config({"k": INF, "coefficients": {"scale": "-.inf"}, "n_samples": 5})
    msg = str(info.value)
    assert "config key k: inf is not finite, a finite number is required; allowed: type " \
           "number, > 0" in msg
    assert "config key coefficients.scale: '-.inf' is not finite" in msg
    assert "config key n_samples: 5 is less than the minimum of 10" in msg  # all at once
    # ``nan`` is only a number where one is expected: a string key may spell it
    assert validate_config({"cluster": "nan"})["cluster"] == "nan"


FD = {"class": "fd"}


def test_fd_orders_the_fd_model_does_not_train_are_refused():
    with pytest.raises(ConfigError) as info:
        validate_config({"models": {"fd": FD}, "analysis": {"fd_orders": [2, 8]}})
    msg = str(info.value)
    for needle in ("config key analysis.fd_orders", "[8]", "models.fd.params.orders",
                   "[2, 4, 6]"):
        assert needle in msg, msg
    with pytest.raises(ConfigError, match=r"orders \[6\] .* 'fine' .*= \[2, 4\]"):
        validate_config({"models": {"fine": dict(FD, params={"orders": [2, 4]})}})
    # --config gives strings: fd_orders ['8'] is the order 8
    with pytest.raises(ConfigError, match=r"analysis.fd_orders: orders \[8\]"):
        validate_config({"models": {"fd": FD}, "analysis": {"fd_orders": ["8"]}})
    # trained orders, or no enabled fd model (fd_orders then unused): fine
    validate_config({"models": {"fd": FD}, "analysis": {"fd_orders": [2, 6]}})
    validate_config({"models": {"fd": dict(FD, params={"orders": [2, 4, 6, 8]})},
                     "analysis": {"fd_orders": [8]}})
    validate_config({"models": {"fd": dict(FD, enabled=False)}, "analysis": {"fd_orders": [8]}})
    validate_config({"analysis": {"fd_orders": [8]}})  # no models at all


QUANTITY = {
    "quantity_space not in the study": (
        {"quantity_space": "cos3"},
        ["config key analysis.quantity_space", "'cos3'", "['sin2', 'sin4']"]),
    "quantity_space not a space": (
        {"quantity_space": "sin9"},
        ["config key analysis.quantity_space", "'sin9'", "['sin2', 'sin4']"]),
    "quantity_resolution not in the study": (
        {"quantity_resolution": 48},
        ["config key analysis.quantity_resolution", "48", "0 (the smallest)", "[16, 32]"]),
    "quantity_resolution negative": (
        {"quantity_resolution": -1}, ["config key analysis.quantity_resolution", ">= 0"]),
    "quantity_model not a name": (
        {"quantity_model": 5}, ["config key analysis.quantity_model", "type string"]),
    "quantity_steps 0": ({"quantity_steps": 0}, ["config key analysis.quantity_steps", ">= 1"]),
    "quantity_steps text": ({"quantity_steps": "many"},
                            ["config key analysis.quantity_steps", "type integer"]),
    "sample_sizes empty": (
        {"sample_sizes": []},
        ["config key analysis.sample_sizes", "at least 1 item", "integer, >= 1"]),
    "sample_sizes repeated": (
        {"sample_sizes": [4, 4]},
        ["config key analysis.sample_sizes", "no repeated items", "integer, >= 1"]),
    "sample_sizes 0": ({"sample_sizes": [0]}, ["config key analysis.sample_sizes[0]", ">= 1"]),
}


def test_every_quantity_key_is_named_with_its_allowed_values():
    """Each data-quantity key, given a bad value, fails in validate_config (not later in
    AnalysisConfig at parse time) with the real key name and what is allowed."""
    study = {"spaces": {"sin": [2, 4]}, "resolutions": [16, 32]}
    for case, (analysis, needles) in QUANTITY.items():
        with pytest.raises(ConfigError) as info:
            validate_config(dict(study, analysis=analysis))
        msg = str(info.value)
        for needle in needles:
            assert needle in msg, (case, msg)
        assert "data_quantity" not in msg, (case, msg)
    good = validate_config(dict(study, analysis={"quantity_space": "sin2",
                                                 "quantity_resolution": 32}))
    assert good["analysis"]["quantity_space"] == "sin2"
