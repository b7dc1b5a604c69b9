"""The model registry: built-in names, user import paths, training settings, entry validation.

A ``models:`` entry of the config is ``{class, params, train, enabled}``. ``class`` is a built-in
name (:data:`BUILTIN_MODELS`) or an import path ``package.module:Class`` of a user model, a
``torch.nn.Module`` built as ``Class(N=N, **params)`` with ``forward(f, x) -> u``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import yaml
from torch import nn

from greenbench.models.fno import FNO
from greenbench.models.linear import DeepLinear, Linear
from greenbench.models.neural import MLP, DeepONet, PIDeepONet
from greenbench.models.normalized import check_scales, normalizes
from greenbench.models.parameter import FD, PINN

BUILTIN_MODELS: dict[str, type[nn.Module]] = {
    "fd": FD, "pinn": PINN, "linear": Linear, "deep_linear": DeepLinear, "mlp": MLP,
    "deeponet": DeepONet, "fno": FNO, "pideeponet": PIDeepONet,
}
"""Built-in model classes by config name."""

OPTIMIZERS: tuple[str, ...] = ("adam", "lbfgs", "gd", "exact")
EXACT_MODELS: tuple[str, ...] = ("linear", "fd")
"""Models with a closed-form ``exact`` optimizer (linear: min-norm least squares from W0;
fd: the least-squares w)."""
DTYPES: tuple[str, ...] = ("float32", "float64")
ENTRY_KEYS: tuple[str, ...] = ("class", "params", "train", "enabled", "budget")
"""Keys of a model entry; ``budget`` ({base, factor}) only on the entries that
``budget_check`` derives (:mod:`greenbench.budget`)."""
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
SCHEDULES: tuple[str, ...] = ("constant", "cosine")


@functools.cache
def _train_schema() -> dict:
    # read here, not through greenbench.config (which imports this module to validate models)
    text = (files("greenbench") / "schemas" / "config.schema.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["properties"]["models"]["additionalProperties"]["properties"][
        "train"]["properties"]


def train_default(key: str) -> Any:
    """The schema's default of ``models.<name>.train.<key>``: the one place it is written
    (keys whose default depends on the class have none there; see :data:`DEFAULT_TRAIN`)."""
    return _train_schema()[key]["default"]


def _schema(key: str):
    return field(default_factory=lambda: train_default(key))


@dataclass(frozen=True)
class TrainConfig:
    """The ``train:`` part of a model entry (documented in docs/models.md).

    Attributes
    ----------
    optimizer
        ``adam``, ``lbfgs`` (batched L-BFGS with Armijo backtracking), ``gd`` (plain full-batch
        gradient descent) or ``exact`` (closed form; linear and fd only).
    lr
        Learning rate (Adam, GD) or initial step length (L-BFGS).
    steps
        Optimizer steps (ignored by ``exact``).
    dtype
        ``float64`` or ``float32`` for parameters and data.
    batch_size
        Samples per step; ``None`` = full batch. Batches are drawn per member from a permutation
        seeded by the member's seed and the epoch number, so a resumed run sees the same batches.
    checkpoint_every
        Save a resumable checkpoint every this many steps (0 = never).
    log_every
        Record the training loss every this many steps (the final loss is always recorded).
    history
        L-BFGS memory (number of stored curvature pairs).
    rank_tol
        ``exact``: singular values below ``rank_tol * s_max`` of the data matrix are treated as 0.
    vectorize
        Train the members of a task as one ``torch.func.vmap`` ensemble; ``False`` evaluates
        the members one after another inside each step (needed by models vmap cannot batch).
    normalize
        Train on RMS-normalized f and u (operator models except ``linear``;
        :func:`greenbench.models.normalized.normalizes`, :class:`~.normalized.Normalized`).
    schedule, warmup_steps
        Learning-rate factor: linear warm-up over ``warmup_steps``, then ``constant`` or
        ``cosine`` decay to 0 at ``steps`` (:func:`greenbench.train.optim.lr_factor`).
    stop_patience, stop_rel_tol
        Plateau stopping per member (0 = off): stop after ``stop_patience`` steps without a
        relative improvement ``stop_rel_tol`` of the objective; keep the best parameters.

    The last five take their defaults from the schema (:func:`train_default`).
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    steps: int = 500
    dtype: str = "float32"
    batch_size: int | None = None
    checkpoint_every: int = 100
    log_every: int = 1
    history: int = 10
    rank_tol: float = 1e-10
    vectorize: bool = True
    normalize: bool = _schema("normalize")
    schedule: str = _schema("schedule")
    warmup_steps: int = _schema("warmup_steps")
    stop_patience: int = _schema("stop_patience")
    stop_rel_tol: float = _schema("stop_rel_tol")

    @classmethod
    def from_entry(cls, name: str, entry: Mapping[str, Any]) -> TrainConfig:
        """Defaults of the entry's class overlaid with ``entry["train"]``, validated."""
        train = entry.get("train") or {}
        if not isinstance(train, Mapping):
            raise ValueError(f"model {name!r}: train must be a mapping, got {train!r}")
        allowed = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(train) - set(allowed))
        if unknown:
            raise ValueError(f"model {name!r}: unknown train key(s) {unknown}; allowed: {allowed}")
        builtin = entry.get("class") in BUILTIN_MODELS
        values = {**(DEFAULT_TRAIN.get(entry.get("class"), USER_TRAIN) if builtin else USER_TRAIN),
                  **train}
        cfg = cls(**values)
        cfg.check(name, entry.get("class", ""))
        return cfg

    def check(self, name: str, class_name: str) -> None:
        """Raise ``ValueError`` naming the model and the bad key."""
        allowed_opt = OPTIMIZERS if class_name in EXACT_MODELS else OPTIMIZERS[:-1]
        if self.optimizer not in allowed_opt:
            raise ValueError(f"model {name!r}: unknown optimizer {self.optimizer!r} for class "
                             f"{class_name!r}; allowed: {list(allowed_opt)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"model {name!r}: train.dtype {self.dtype!r}; allowed: {list(DTYPES)}")
        ints = {"steps": 0, "checkpoint_every": 0, "log_every": 1, "history": 1,
                "warmup_steps": 0, "stop_patience": 0}
        for key, lo in ints.items():
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise ValueError(f"model {name!r}: train.{key} must be an integer >= {lo}, "
                                 f"got {value!r}")
        for key in ("lr", "rank_tol"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"model {name!r}: train.{key} must be a number > 0, "
                                 f"got {value!r}")
        bs = self.batch_size
        if bs is not None and (isinstance(bs, bool) or not isinstance(bs, int) or bs < 1):
            raise ValueError(f"model {name!r}: train.batch_size must be null (full batch) or "
                             f"an integer >= 1, got {bs!r}")
        if bs is not None and self.optimizer in ("lbfgs", "exact"):
            raise ValueError(f"model {name!r}: optimizer {self.optimizer} needs the full batch; "
                             f"set train.batch_size: null")
        for key in ("vectorize", "normalize"):
            if not isinstance(getattr(self, key), bool):
                raise ValueError(f"model {name!r}: train.{key} must be true or false, "
                                 f"got {getattr(self, key)!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"model {name!r}: train.schedule {self.schedule!r}; allowed: "
                             f"{list(SCHEDULES)}")
        tol = self.stop_rel_tol
        if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 <= tol < 1:
            raise ValueError(f"model {name!r}: train.stop_rel_tol must be a number in [0, 1), "
                             f"got {tol!r}")


USER_TRAIN: dict[str, Any] = {"optimizer": "adam", "lr": 1e-3, "steps": 500, "dtype": "float32",
                              "vectorize": False}
"""Training defaults of a user model (sequential members unless ``vectorize: true``)."""

DEFAULT_TRAIN: dict[str, dict[str, Any]] = {
    "fd": {"optimizer": "lbfgs", "lr": 1.0, "steps": 20, "dtype": "float64"},
    "pinn": {"optimizer": "adam", "lr": 1e-2, "steps": 1000, "dtype": "float64"},
    "linear": {"optimizer": "exact", "lr": 1e-2, "steps": 0, "dtype": "float64"},
    "deep_linear": {"optimizer": "adam", "lr": 1e-3, "steps": 1000, "dtype": "float64"},
    "mlp": {"optimizer": "adam", "lr": 1e-3, "steps": 1000, "dtype": "float32"},
    "deeponet": {"optimizer": "adam", "lr": 1e-3, "steps": 1000, "dtype": "float32"},
    "fno": {"optimizer": "adam", "lr": 1e-3, "steps": 300, "dtype": "float32"},
    "pideeponet": {"optimizer": "adam", "lr": 1e-3, "steps": 1000, "dtype": "float32"},
}
"""Training defaults of the built-in models (docs/models.md); the config may override any key."""


def is_import_path(class_name: str) -> bool:
    return ":" in class_name


def resolve_class(class_name: str, model: str | None = None) -> type[nn.Module]:
    """The class of a built-in name or of an import path ``package.module:Class``.

    Raises ``ValueError`` naming the model and what is wrong (unknown name, missing module or
    attribute, not an ``nn.Module`` subclass)."""
    who = f"model {model!r}" if model is not None else f"class {class_name!r}"
    if not isinstance(class_name, str) or not class_name:
        raise ValueError(f"{who}: class must be a built-in name {sorted(BUILTIN_MODELS)} or an "
                         f"import path package.module:Class, got {class_name!r}")
    if not is_import_path(class_name):
        if class_name not in BUILTIN_MODELS:
            raise ValueError(f"{who}: unknown built-in model class {class_name!r}; allowed: "
                             f"{sorted(BUILTIN_MODELS)} or an import path package.module:Class")
        return BUILTIN_MODELS[class_name]
    module_name, _, attr = class_name.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{who}: import path {class_name!r} must look like package.module:Class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{who}: cannot import module {module_name!r} of {class_name!r} "
                         f"({type(exc).__name__}: {exc}); is it on PYTHONPATH?") from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{who}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not (inspect.isclass(obj) and issubclass(obj, nn.Module)):
        raise ValueError(f"{who}: {class_name!r} is not a torch.nn.Module subclass "
                         f"(it is {obj!r})")
    return obj


def model_kind(cls: type[nn.Module]) -> str:
    """``operator`` (maps f to u) or ``parameter`` (fd, pinn). User models are operators."""
    return getattr(cls, "kind", "operator")


def default_dtype(cls: type[nn.Module]) -> str:
    return getattr(cls, "default_dtype", "float32")


def check_constructor(cls: type[nn.Module], params: Mapping[str, Any], model: str) -> None:
    """Check that ``cls(N=N, **params)`` binds and ``forward(f, x)`` accepts two arguments."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):  # builtins without a signature: nothing to check
        return
    try:
        sig.bind(N=16, **params)
    except TypeError as exc:
        raise ValueError(f"model {model!r}: constructor {cls.__name__}{sig} does not accept "
                         f"N=... and params {dict(params)} ({exc}); it must be callable as "
                         f"{cls.__name__}(N=N, **params)") from exc
    if model_kind(cls) == "operator":
        try:
            inspect.signature(cls.forward).bind(None, "f", "x")
        except TypeError as exc:
            raise ValueError(f"model {model!r}: {cls.__name__}.forward must accept (f, x) "
                             f"({exc})") from exc


def validate_model_entries(models_cfg: Mapping[str, Any] | None) -> None:
    """Validate the config's ``models:`` mapping; raise ``ValueError`` naming the model.

    Checks every entry's keys, its class (built-in name, or an importable ``nn.Module``
    subclass), that the constructor accepts ``N`` and the given params (signature binding; a
    built-in is also constructed once at ``N = 16`` so that a bad value fails here), and the
    train keys and optimizer name."""
    if models_cfg is None:
        return
    if not isinstance(models_cfg, Mapping):
        raise ValueError(f"models must be a mapping name -> entry, got {type(models_cfg).__name__}")
    for name, entry in models_cfg.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"model name {name!r} must match [A-Za-z0-9_-]+ (it becomes a path)")
        if not isinstance(entry, Mapping):
            raise ValueError(f"model {name!r}: entry must be a mapping with keys "
                             f"{list(ENTRY_KEYS)}")
        unknown = sorted(set(entry) - set(ENTRY_KEYS))
        if unknown:
            raise ValueError(f"model {name!r}: unknown key(s) {unknown}; allowed: "
                             f"{list(ENTRY_KEYS)}")
        if "class" not in entry:
            raise ValueError(f"model {name!r}: missing key 'class' (a built-in name "
                             f"{sorted(BUILTIN_MODELS)} or package.module:Class)")
        cls = resolve_class(entry["class"], model=name)
        params = entry.get("params") or {}
        if not isinstance(params, Mapping):
            raise ValueError(f"model {name!r}: params must be a mapping, got {params!r}")
        check_constructor(cls, params, name)
        if entry["class"] in BUILTIN_MODELS:
            try:
                cls(N=16, **params)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"model {name!r}: bad params {dict(params)}: {exc}") from exc
        train = TrainConfig.from_entry(name, entry)
        if normalizes(entry["class"], model_kind(cls), train):
            check_scales(cls, name)
        if not isinstance(entry.get("enabled", True), bool):
            raise ValueError(f"model {name!r}: enabled must be true or false")
        budget = entry.get("budget")
        if budget is not None and not (
                isinstance(budget, Mapping) and set(budget) == {"base", "factor"}
                and isinstance(budget["factor"], int) and budget["factor"] >= 2):
            raise ValueError(f"model {name!r}: budget must be {{base: model, factor: integer "
                             f">= 2}} (written by budget_check), got {budget!r}")


def build_model(class_name: str, N: int, params: Mapping[str, Any] | None = None,
                model: str | None = None) -> nn.Module:
    """Construct ``Class(N=N, **params)`` (float32 as torch creates it; cast by the caller)."""
    cls = resolve_class(class_name, model=model)
    return cls(N=N, **dict(params or {}))
