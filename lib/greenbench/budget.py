"""Budget robustness (config key ``budget_check``): every iterative neural model trained again at
a multiple of its training budget, as a model of its own.

With ``budget_check: {factor: F}`` (F >= 2) the validated config gains, after the user's models,
one entry ``{model}_x{F}`` per enabled iterative neural model (classes deep_linear, mlp,
deeponet, fno, pideeponet and user models; never linear, fd or pinn, whose fits are closed form
or parameter learners): the same class, params and recipe, with every step-based budget key
multiplied by F (:data:`SCALED_KEYS`: ``steps``, and ``warmup_steps`` and ``stop_patience``
where non-zero), so the F x run is the 1 x recipe stretched in time (the same schedule shape,
warm-up fraction and plateau patience relative to the budget). The entry records where it came
from, ``budget: {base: model, factor: F}``; that key travels with the entry into every
training file (``metrics.nc``'s ``entry`` attribute, the ``.pt`` files) and is how the study
(:attr:`greenbench.study.Study.budget_pairs`) and the report pair the two budgets. Training,
evaluation, cross-validation and the figures treat the variant as any other model.

Derivation is idempotent: an already expanded config validates to itself; a hand-written
``budget`` key, or a user model whose name a variant needs, is refused naming the key.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

SCALED_KEYS: tuple[str, ...] = ("steps", "warmup_steps", "stop_patience")
"""Train keys multiplied by the factor (the step-based ones). ``lr``, ``batch_size``,
``stop_rel_tol``, ``checkpoint_every`` and ``log_every`` are kept."""

NOT_ITERATIVE: tuple[str, ...] = ("linear", "fd", "pinn")
"""Classes never derived: the linear model (closed form, Thm 3.2), the parameter learners."""


def variant_name(base: str, factor: int) -> str:
    """``mlp_x4``: the name of ``base`` trained at ``factor`` times its budget."""
    return f"{base}_x{int(factor)}"


def budget_of(entry: Mapping[str, Any]) -> tuple[str, int] | None:
    """``(base model, factor)`` of a derived entry, ``None`` for a user's entry."""
    b = entry.get("budget")
    if not isinstance(b, Mapping):
        return None
    return str(b["base"]), int(b["factor"])


def eligible(name: str, entry: Mapping[str, Any]) -> bool:
    """Whether an entry is an iterative neural model (trained again by ``budget_check``)."""
    from greenbench.models.registry import TrainConfig, model_kind, resolve_class

    cls = str(entry["class"])
    if cls in NOT_ITERATIVE or model_kind(resolve_class(cls, model=name)) != "operator":
        return False
    return TrainConfig.from_entry(name, entry).optimizer != "exact"


def scaled_entry(name: str, entry: Mapping[str, Any], factor: int) -> dict[str, Any]:
    """The entry of ``name`` with its step-based budget keys times ``factor`` and its origin
    recorded (``budget: {base, factor}``). Keys left to their default are resolved first
    (:class:`~greenbench.models.registry.TrainConfig`: class default or schema default)."""
    from greenbench.models.registry import TrainConfig

    cfg = TrainConfig.from_entry(name, entry)
    train = dict(entry.get("train") or {})
    for key in SCALED_KEYS:
        value = int(getattr(cfg, key))
        if key == "steps" or value > 0:
            train[key] = value * int(factor)
    out = {k: copy.deepcopy(v) for k, v in dict(entry).items() if k != "budget"}
    out.update(train=train, enabled=True, budget={"base": name, "factor": int(factor)})
    return out


def expand(models: Mapping[str, Any], budget_check: Mapping[str, Any]) -> tuple[dict, list[str]]:
    """``(models with the derived entries appended, problems)`` of a validated ``models:``
    mapping (defaults filled) and ``budget_check``. ``problems`` are config error lines naming
    the key; with problems the models are returned unchanged."""
    factor = int(budget_check["factor"])
    chosen = [str(m) for m in budget_check.get("models") or []]
    user = {m: e for m, e in models.items() if "budget" not in e}
    derived_given = {m: e for m, e in models.items() if "budget" in e}
    problems: list[str] = []
    if factor <= 1:
        problems += [f"config key models.{m}.budget: set only by budget_check on the entries it "
                     f"derives, and budget_check.factor is {factor} (off); remove the key or the "
                     f"entry" for m in derived_given]
        if chosen:
            problems.append(f"config key budget_check.models: {chosen} given but "
                            f"budget_check.factor is {factor} (off); allowed: a factor >= 2")
        return dict(models), problems
    candidates = [m for m, e in user.items() if e.get("enabled", True) and eligible(m, e)]
    if not candidates:
        return dict(models), [no_models_problem(factor)]
    unknown = [m for m in chosen if m not in candidates]
    if unknown:
        problems.append(f"config key budget_check.models: {unknown} are not enabled iterative "
                        f"neural models of this study; allowed: {candidates} (empty = all)")
    bases = chosen or candidates
    want = {variant_name(m, factor): scaled_entry(m, user[m], factor) for m in bases
            if m in user}
    for name in want:
        if name in user:
            problems.append(f"config key models.{name}: this name is taken by budget_check "
                            f"(budget_check.factor {factor} derives it from "
                            f"{want[name]['budget']['base']}); rename the model")
    for name, entry in derived_given.items():
        if name not in want:
            problems.append(f"config key models.{name}.budget: set only by budget_check on the "
                            f"entries it derives ({sorted(want)} here); remove the key")
        elif _plain(entry) != _plain(want[name]):
            problems.append(f"config key models.{name}: differs from what budget_check derives "
                            f"from {want[name]['budget']['base']} (an entry with a budget key "
                            f"is written by budget_check, not by hand); remove it")
    if problems:
        return dict(models), problems
    return {**user, **want}, []


def no_models_problem(factor: int) -> str:
    """The error of a budget check with nothing to train again."""
    return (f"config key budget_check.factor: {factor} but the study has no enabled iterative "
            f"neural model to train again (models: deep_linear, mlp, deeponet, fno, pideeponet "
            f"or a user model); a --configfile replaces the default study, so an overlay such "
            f"as config/robustness.yaml goes after it: --configfile config/config.yaml "
            f"config/robustness.yaml; allowed: 1 (off) or such models")


def _plain(entry: Mapping[str, Any]) -> Any:
    import json

    return json.loads(json.dumps(dict(entry), sort_keys=True, default=str))


def pairs(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, int]]:
    """``{variant: (base, factor)}`` of the derived entries among ``entries`` whose base is
    there too, in entry order."""
    out = {}
    for name, entry in entries.items():
        got = budget_of(entry)
        if got is not None and got[0] in entries:
            out[name] = got
    return out
