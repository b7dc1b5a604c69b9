"""Config validation (greenbench.config + workflow/schemas/config.schema.yaml).

Oracles: each bad value is rejected with a message naming the key and the allowed values;
defaults come from the schema; the embedded default study is what an empty config means.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from greenbench.config import ConfigError, load_config, load_schema, validate_config
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
    for path in (repo_root / "config").glob("*.yaml"):
        load_config(path)


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
