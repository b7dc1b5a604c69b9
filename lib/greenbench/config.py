"""Config validation: the JSON schema in workflow/schemas plus checks a schema cannot express.

A bad config fails here, before any job runs, with an error that names the key and the allowed
values. Defaults from the schema are filled in.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """The study config is invalid; the message names the key and what is allowed."""


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def _key(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _describe(err: jsonschema.ValidationError) -> str:
    s = err.schema if isinstance(err.schema, dict) else {}
    key = _key(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted(s.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        return f"config key {key}: unknown key(s) {extra}; allowed keys: {allowed}"
    allowed = []
    if "enum" in s:
        allowed.append(f"one of {s['enum']}")
    if "minimum" in s or "exclusiveMinimum" in s or "maximum" in s or "exclusiveMaximum" in s:
        lo = (f">= {s['minimum']}" if "minimum" in s else
              f"> {s['exclusiveMinimum']}" if "exclusiveMinimum" in s else "")
        hi = (f"<= {s['maximum']}" if "maximum" in s else
              f"< {s['exclusiveMaximum']}" if "exclusiveMaximum" in s else "")
        allowed.append(" and ".join(x for x in (lo, hi) if x))
    if "type" in s and (err.validator == "type" or not allowed):
        allowed.insert(0, f"type {s['type']}")
    if "pattern" in s:
        allowed.append(f"matching {s['pattern']}")
    hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
    desc = f" ({s['description'].strip()})" if s.get("description") else ""
    return f"config key {key}: {_space_hint(err)}{err.message}{hint}{desc}"


def _space_hint(err: jsonschema.ValidationError) -> str:
    """For an out-of-range order in ``spaces.<family>``, name the space that does not exist."""
    from greenbench.spaces import FAMILIES, P_MAX, P_MIN

    path = list(err.absolute_path)
    if (len(path) == 3 and path[0] == "spaces" and path[1] in FAMILIES
            and isinstance(err.instance, int) and not isinstance(err.instance, bool)
            and err.validator in ("minimum", "maximum")):
        return f"{path[1]}{err.instance} is not a function space (allowed p {P_MIN}..{P_MAX}): "
    return ""


def _fill_defaults(instance: dict, schema: dict) -> None:
    props = schema.get("properties", {})
    for name, sub in props.items():
        if name not in instance and "default" in sub:
            instance[name] = copy.deepcopy(sub["default"])
        if isinstance(instance.get(name), dict) and sub.get("type") == "object":
            _fill_defaults(instance[name], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("type") == "object":
        for name, value in instance.items():
            if name not in props and isinstance(value, dict):
                _fill_defaults(value, extra)


_INT_TEXT = re.compile(r"[+-]?[0-9]+")


def _coerce(value: object, schema: object) -> object:
    """Turn strings into the integers, numbers and booleans the schema asks for.

    Snakemake parses ``--config`` values with YAML's BaseLoader, so nested values arrive as
    strings: ``--config resolutions='[32,64]'`` gives ``['32', '64']``. Strings that do not
    parse (or parse to a non-finite number) are left for the validator to reject."""
    if not isinstance(schema, dict):
        return value
    kind = schema.get("type")
    if isinstance(value, str):
        text = value.strip()
        if kind == "integer" and _INT_TEXT.fullmatch(text):
            return int(text)
        if kind == "number":
            try:
                number = float(text)
            except ValueError:
                return value
            return number if math.isfinite(number) else value
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        return value
    if isinstance(value, list):
        return [_coerce(v, schema.get("items")) for v in value]
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {k: _coerce(v, props.get(k, extra)) for k, v in value.items()}
    return value


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """Return a validated copy of ``config`` with defaults filled; raise :class:`ConfigError`.

    Strings standing for numbers or booleans where the schema wants those are converted first
    (see :func:`_coerce`; this is how ``--config`` values reach the workflow)."""
    schema = load_schema() if schema is None else schema
    cfg = _coerce(copy.deepcopy(dict(config)), schema)
    _fill_defaults(cfg, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(_describe(e) for e in errors))
    _semantic_checks(cfg)
    return cfg


def _semantic_checks(cfg: dict) -> None:
    from greenbench.spaces import space_names

    if not space_names(cfg["spaces"]):
        raise ConfigError("config key spaces: selects no function space; allowed: "
                          "poly/cos/sin lists of p in 1..8 and fem: true")
    models = cfg.get("models", {}) or {}
    if not models:  # nothing to check, and no reason to import the model zoo (torch, ~2 s)
        return
    try:
        from greenbench.models import validate_model_entries
    except ImportError:  # the model zoo is optional for data-only use
        return
    try:
        validate_model_entries(models)
    except ValueError as exc:
        raise ConfigError(f"config key models: {exc}") from exc


def load_config(path: str | Path) -> dict:
    """Read and validate a config file."""
    with open(path) as fh:
        return validate_config(yaml.safe_load(fh) or {})
