"""Config validation: the JSON schema of the config plus checks a schema cannot express.

The schema ships inside the package (``greenbench/schemas/config.schema.yaml``, package data), so
any install, editable or not, validates configs; ``workflow/schemas/config.schema.yaml`` is a
symlink to it for Snakemake users.

A bad config fails here, before any job runs, with an error that names the key and the allowed
values. Defaults from the schema are filled in.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import re
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

#: The config schema, a resource of the installed package (never found through the repository).
SCHEMA_PATH: Traversable = files("greenbench") / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """The study config is invalid; the message names the key and what is allowed."""


def load_schema(path: str | Path | Traversable = SCHEMA_PATH) -> dict:
    """The config schema as a dict: the packaged one by default, or the YAML file ``path``."""
    source = Path(path) if isinstance(path, str | os.PathLike) else path
    return yaml.safe_load(source.read_text(encoding="utf-8"))


@functools.cache
def _packaged_schema() -> dict:
    return load_schema()


def schema_default(key: str) -> Any:
    """The schema's default of the dotted config ``key`` (``"analysis.scorecard.small_factor"``):
    the one place a default is written. Raise ``KeyError`` when the key has none."""
    sub: dict = _packaged_schema()
    for part in key.split("."):
        sub = sub.get("properties", {}).get(part)
        if sub is None:
            raise KeyError(f"config key {key}: not in the schema")
    if "default" not in sub:
        raise KeyError(f"config key {key}: the schema gives no default")
    return copy.deepcopy(sub["default"])


def _key(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _allowed(s: dict, with_type: bool) -> list[str]:
    """What the sub-schema ``s`` allows, in words (type, enum, range, size, pattern)."""
    allowed = []
    if "enum" in s:
        allowed.append(f"one of {s['enum']}")
    if "minimum" in s or "exclusiveMinimum" in s or "maximum" in s or "exclusiveMaximum" in s:
        lo = (f">= {s['minimum']}" if "minimum" in s else
              f"> {s['exclusiveMinimum']}" if "exclusiveMinimum" in s else "")
        hi = (f"<= {s['maximum']}" if "maximum" in s else
              f"< {s['exclusiveMaximum']}" if "exclusiveMaximum" in s else "")
        allowed.append(" and ".join(x for x in (lo, hi) if x))
    if "minItems" in s:
        allowed.append(f"at least {s['minItems']} item(s)")
    if s.get("uniqueItems"):
        allowed.append("no repeated items")
    if isinstance(s.get("items"), dict) and ("minItems" in s or s.get("uniqueItems")):
        allowed.append(f"items of {', '.join(_allowed(s['items'], with_type=True))}")
    if "type" in s and (with_type or not allowed):
        allowed.insert(0, f"type {s['type']}")
    if "pattern" in s:
        allowed.append(f"matching {s['pattern']}")
    return allowed


def _describe(err: jsonschema.ValidationError) -> str:
    s = err.schema if isinstance(err.schema, dict) else {}
    key = _key(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted(s.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        return f"config key {key}: unknown key(s) {extra}; allowed keys: {allowed}"
    allowed = _allowed(s, with_type=err.validator == "type")
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
    if schema.get("x-fill-defaults") is False:  # applied where used (models.*.train)
        return
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
        if kind == "number" or (isinstance(kind, list) and "number" in kind):
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


_NON_FINITE_TEXT = re.compile(r"[+-]?\.?(inf|infinity|nan)", re.IGNORECASE)
"""A non-finite number spelt as text: YAML (``.inf``, ``-.Inf``, ``.nan``) or Python (``inf``,
``nan``); ``--config noise=.inf`` reaches the workflow as the string ``'.inf'``."""


def _sub_schema(schema: object, key: object) -> dict | None:
    """The schema of ``key`` inside ``schema``; ``None`` where it is free-form (``params``)."""
    if not isinstance(schema, dict):
        return None
    if isinstance(key, int):
        items = schema.get("items")
        return items if isinstance(items, dict) else None
    if key in schema.get("properties", {}):
        return schema["properties"][key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _non_finite(value: object, schema: dict | None, path: tuple = ()):
    """Yield ``(path, value, schema)`` for every non-finite number (inf, -inf, nan) in the config.

    Floats are checked everywhere, free-form mappings (``models.*.params``) included; strings
    spelling a non-finite number where the schema asks for a number (or says nothing). Keys that
    the schema forbids are skipped: they are reported as unknown keys."""
    if isinstance(value, float):
        if not math.isfinite(value):
            yield path, value, schema
    elif isinstance(value, str):
        kind = (schema or {}).get("type")
        kinds = set(kind) if isinstance(kind, list) else {kind}
        wants_number = schema is None or bool(kinds & {"number", "integer"})
        if wants_number and _NON_FINITE_TEXT.fullmatch(value.strip()):
            yield path, value, schema
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _non_finite(item, _sub_schema(schema, i), (*path, i))
    elif isinstance(value, dict):
        forbidden = isinstance(schema, dict) and schema.get("additionalProperties") is False
        for name, item in value.items():
            if forbidden and name not in schema.get("properties", {}):
                continue
            yield from _non_finite(item, _sub_schema(schema, name), (*path, name))


def _describe_non_finite(path: tuple, value: object, schema: dict | None) -> str:
    s = schema or {}
    allowed = _allowed(s, with_type=True) if s else []
    hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
    desc = f" ({s['description'].strip()})" if s.get("description") else ""
    shown = repr(value) if isinstance(value, str) else str(value)
    return (f"config key {_key(path)}: {shown} is not finite, a finite number is required"
            f"{hint}{desc}")


def _path_order(path) -> list:
    return [(0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path]


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """Return a validated copy of ``config`` with defaults filled; raise :class:`ConfigError`.

    Strings standing for numbers or booleans where the schema wants those are converted first
    (see :func:`_coerce`; this is how ``--config`` values reach the workflow). Non-finite
    numbers (inf, nan) are refused anywhere in the config, naming the key."""
    schema = load_schema() if schema is None else schema
    cfg = _coerce(copy.deepcopy(dict(config)), schema)
    _fill_defaults(cfg, schema)
    bad = {path: _describe_non_finite(path, value, sub)
           for path, value, sub in _non_finite(cfg, schema)}
    validator = jsonschema.Draft202012Validator(schema)
    errors = [(tuple(e.absolute_path), _describe(e)) for e in validator.iter_errors(cfg)
              if tuple(e.absolute_path) not in bad]  # one message per key: "not finite"
    errors = sorted([*errors, *bad.items()], key=lambda e: _path_order(e[0]))
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(msg for _, msg in errors))
    _semantic_checks(cfg)
    cfg["noise"] = noise_levels(cfg["noise"])
    return cfg


def noise_levels(value: object) -> list[float]:
    """The config key ``noise`` (a number or a list of levels) as the sorted list of distinct
    float levels the study runs; raise :class:`ConfigError` naming the key for a negative,
    non-finite or repeated level (the schema catches these first in a whole config)."""
    items = value if isinstance(value, list | tuple) else [value]
    levels = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float) \
                or not math.isfinite(item) or item < 0:
            raise ConfigError(f"config key noise: {item!r} is not a level; allowed: a finite "
                              f"number >= 0, or a list of them")
        levels.append(float(item))
    if not levels:
        raise ConfigError("config key noise: no level; allowed: a finite number >= 0, or a "
                          "non-empty list of them")
    if len(set(levels)) != len(levels):
        raise ConfigError(f"config key noise: repeated level in {items}; allowed: distinct "
                          f"levels")
    return sorted(levels)


def pde_names(value: object) -> list[str]:
    """The operator names of the config key ``pde`` (a name, a list or a mapping), in order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [str(n) for n in value]
    return [str(n) for n in value]


def pde_coefficients(cfg: dict) -> dict[str, dict[str, float]]:
    """``{operator: {coefficient: value}}`` of a validated config: every coefficient of each
    operator, from the ``pde`` mapping where given, else the top-level key of its name (``k``,
    ``c``, ``b``: their defaults live in the schema)."""
    from greenbench.operators import OPERATORS

    return {name: _coefficients_of(cfg, name, OPERATORS[name].COEFFICIENTS)
            for name in pde_names(cfg["pde"])}


def _coefficients_of(cfg: dict, name: str, coefficients: tuple[str, ...]) -> dict[str, float]:
    value = cfg["pde"]
    given = dict((value.get(name) or {}) if isinstance(value, dict) else {})
    return {c: float(given.get(c, cfg[c])) for c in coefficients}


def config_for_pde(cfg: dict, name: str) -> dict:
    """The single-operator study of ``name`` within a validated config: ``pde`` the name, the
    top-level ``k`` (and ``c``, ``b``) its coefficients. For a config naming one operator
    without a mapping this is the config itself (same hashes)."""
    coefs = pde_coefficients(cfg)
    if name not in coefs:
        raise ConfigError(f"config key pde: {name!r} is not one of the study's operators; "
                          f"allowed: {list(coefs)}")
    out = copy.deepcopy(cfg)
    out["pde"] = name
    out.update(coefs[name])
    return out


def _pde_problems(cfg: dict) -> tuple[list[str], list[str]]:
    """Unknown operators, coefficients an operator lacks or values it refuses (the first list:
    nothing else can be checked), a fem mass or FD orders an operator has no form for (the
    second): each named with its key and the allowed values."""
    from greenbench.operators import OPERATORS

    value, problems, later = cfg["pde"], [], []
    names = pde_names(value)
    if not names:
        return ["config key pde: names no operator; allowed: one of "
                f"{list(OPERATORS)}, a list or a mapping of them"], []
    for name in names:
        if name not in OPERATORS:
            problems.append(f"config key pde: unknown operator {name!r}; allowed: "
                            f"{list(OPERATORS)}")
            continue
        cls = OPERATORS[name]
        given = (value.get(name) or {}) if isinstance(value, dict) else {}
        for c in given:
            if c not in cls.COEFFICIENTS:
                problems.append(f"config key pde.{name}.{c}: operator {name} has no coefficient "
                                f"{c!r}; allowed: {list(cls.COEFFICIENTS)}")
        if problems:
            continue
        try:
            op = cls(**_coefficients_of(cfg, name, cls.COEFFICIENTS))
        except ValueError as exc:
            where = f"pde.{name}" if given else "k/c/b"
            problems.append(f"config key {where}: {exc}")
            continue
        if cfg["fem_mass"] not in op.MASS_KINDS:
            later.append(f"config key fem_mass: {cfg['fem_mass']!r} is not a mass matrix of "
                            f"operator {name}; allowed: {list(op.MASS_KINDS)}")
        bad = [int(q) for q in cfg["analysis"]["fd_orders"] if int(q) not in op.FD_ORDERS]
        if bad:
            later.append(f"config key analysis.fd_orders: orders {bad} have no stencil for "
                            f"operator {name}; allowed: orders among {list(op.FD_ORDERS)}")
        for model, entry in (cfg.get("models") or {}).items():
            if entry.get("enabled", True) and entry.get("class") == "fd":
                orders = (entry.get("params") or {}).get("orders") or _fd_default_orders()
                bad = [q for q in orders if q not in op.FD_ORDERS]
                if bad:
                    later.append(f"config key models.{model}.params.orders: orders {bad} "
                                    f"have no stencil for operator {name}; allowed: orders "
                                    f"among {list(op.FD_ORDERS)}")
    return problems, later


def space_dim(cfg: dict) -> int:
    """The dimension of the study's operators (1, or 2 for poisson2d): a 2D operator expands
    each family's list of orders into the tensor products ``{family}{px}x{py}``
    (:func:`greenbench.spaces.space_names`). Operators of different dimensions in one config
    are refused (their spaces differ)."""
    from greenbench.operators import OPERATORS

    names = pde_names(cfg["pde"])
    dims = {n: OPERATORS[n].dim for n in names if n in OPERATORS}
    if len(set(dims.values())) > 1:
        raise ConfigError(f"config key pde: operators of different dimensions in one study "
                          f"({', '.join(f'{n}: {d}D' for n, d in dims.items())}); allowed: "
                          f"operators of one dimension (one config per dimension)")
    return next(iter(dims.values()), 1)


def _fd_default_orders() -> list[int]:
    import inspect

    from greenbench.models.parameter import FD

    return list(inspect.signature(FD).parameters["orders"].default)


def _semantic_checks(cfg: dict) -> None:
    from greenbench.spaces import space_names

    spaces = space_names(cfg["spaces"], dim=space_dim(cfg))
    if not spaces:
        raise ConfigError("config key spaces: selects no function space; allowed: "
                          "poly/cos/sin lists of p in 1..8 and fem: true")
    fatal, problems = _pde_problems(cfg)
    if fatal:  # the rest assumes known operators
        raise ConfigError("invalid config:\n  " + "\n  ".join(fatal))
    problems += _quantity_problems(cfg, spaces)
    models = cfg.get("models", {}) or {}
    if models:  # else nothing to check, and no reason to import the model zoo (torch, ~2 s)
        try:
            from greenbench.models import validate_model_entries
        except ImportError:  # the model zoo is optional for data-only use
            validate_model_entries = None
        if validate_model_entries is not None:
            try:
                validate_model_entries(models)
            except ValueError as exc:
                problems.append(f"config key models: {exc}")
            else:
                problems.extend(_fd_order_problems(cfg))
                problems.extend(_budget_check(cfg))
    elif cfg["budget_check"]["factor"] > 1:
        from greenbench.budget import no_models_problem

        problems.append(no_models_problem(cfg["budget_check"]["factor"]))
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def _budget_check(cfg: dict) -> list[str]:
    """``budget_check``: append the derived ``{model}_x{factor}`` entries to ``cfg["models"]``
    (:func:`greenbench.budget.expand`; idempotent) and return the problems."""
    from greenbench.budget import expand

    models, problems = expand(cfg["models"], cfg["budget_check"])
    if not problems:
        cfg["models"] = models
    return problems


def _quantity_problems(cfg: dict, spaces: list[str]) -> list[str]:
    """The data-quantity study's space and resolution must be among the study's."""
    a, problems = cfg["analysis"], []
    space = a["quantity_space"]
    if space and space not in spaces:
        problems.append(f"config key analysis.quantity_space: {space!r} is not one of the "
                        f"study's spaces; allowed: '' (sin4 when the study has it, else its "
                        f"first space) or one of {spaces}")
    resolutions = sorted(cfg["resolutions"])
    N = a["quantity_resolution"]
    if N and N not in resolutions:
        problems.append(f"config key analysis.quantity_resolution: {N} is not one of the "
                        f"study's resolutions; allowed: 0 (the smallest) or one of {resolutions}")
    return problems


def _fd_order_problems(cfg: dict) -> list[str]:
    """``analysis.fd_orders`` must be trained by the fd model the analysis reads: the first
    enabled model of class ``fd`` (its ``params.orders``). No fd model: fd_orders is unused."""
    import inspect

    from greenbench.models.registry import BUILTIN_MODELS

    name, entry = next(((m, e) for m, e in cfg["models"].items()
                        if e.get("enabled", True) and e["class"] == "fd"), (None, None))
    if name is None:
        return []
    default = inspect.signature(BUILTIN_MODELS["fd"]).parameters["orders"].default
    trained = [int(q) for q in (entry.get("params") or {}).get("orders", default)]
    absent = [int(q) for q in cfg["analysis"]["fd_orders"] if int(q) not in trained]
    if not absent:
        return []
    return [f"config key analysis.fd_orders: orders {absent} are not trained by the fd model "
            f"{name!r} (models.{name}.params.orders = {trained}); allowed: orders among "
            f"{trained}, or add {absent} to models.{name}.params.orders"]


def load_config(path: str | Path) -> dict:
    """Read and validate a config file."""
    with open(path) as fh:
        return validate_config(yaml.safe_load(fh) or {})


def merge_configs(base: dict, overlay: dict) -> dict:
    """``overlay`` deep-merged into a copy of ``base`` as Snakemake merges ``--configfile A B``
    (mappings merged key by key, anything else replaced)."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_configs(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m greenbench.config [FILE...]``: print the validated study of ``FILE`` (default:
    an empty config), every default filled in from the schema; several files are deep-merged
    in order, as ``snakemake --configfile FILE...`` merges them."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    raw: dict = {}
    for path in args:
        with open(path) as fh:
            raw = merge_configs(raw, yaml.safe_load(fh) or {})
    cfg = validate_config(raw)
    print(yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
