"""The path grammar of a study: where every file of the workflow lives (DESIGN.md "Path grammar").

One template per kind of file (:data:`TEMPLATES`); every function below fills one. A function
called without an argument leaves that part as a Snakemake wildcard, so the same call gives a
rule's pattern (``dataset()`` is ``data/{pde}/{space}/N{res}.h5``) and a concrete path
(``dataset("poisson1d", "sin2", 32)``). :func:`parse` is the inverse: the wildcards of a path.

Paths are relative to the working directory of the workflow (``snakemake --directory``).
Nothing here touches a file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

PathLike = str | os.PathLike

# The training folder of one (model, N) (DESIGN.md's ``results/{pde}/train/{model}/N{res}/...``),
# its sub-folder per noise level of the training targets, and a member's file inside that:
# composed below so that ``member`` and :func:`member_in` cannot disagree.
_MODEL_DIR = "results/{pde}/train/{model}/N{res}"
_TRAIN_DIR = _MODEL_DIR + "/noise{noise}"
_QUANTITY_DIR = "results/{pde}/train_quantity/{model}/N{res}"
_MEMBER = "{space}/seed{seed}.pt"
_SUBSET_MEMBER = "{space}/n{n_train}/seed{seed}.pt"

TEMPLATES: dict[str, str] = {
    "dataset": "data/{pde}/{space}/N{res}.h5",
    "model_dir": _MODEL_DIR,
    "train_dir": _TRAIN_DIR,
    "train_metrics": f"{_TRAIN_DIR}/metrics.nc",
    "member": f"{_TRAIN_DIR}/{_MEMBER}",
    "checkpoints": f"{_TRAIN_DIR}/checkpoints",
    "quantity_train_dir": _QUANTITY_DIR,
    "quantity_train_metrics": f"{_QUANTITY_DIR}/metrics.nc",
    "quantity_member": f"{_QUANTITY_DIR}/{_SUBSET_MEMBER}",
    "evaluation": "results/{pde}/evaluate/noise{noise}/{model}/N{res}.nc",
    "results_dir": "results/{pde}",
    "crossval": "results/{pde}/crossval.nc",
    "bounds": "results/{pde}/bounds.nc",
    "quantity": "results/{pde}/quantity.nc",
    "convergence": "results/{pde}/convergence.nc",
    "measures": "results/{pde}/measures.nc",
    "training": "results/{pde}/training.nc",
    "greens": "results/{pde}/greens.nc",
    "greens_fields": "results/{pde}/greens/N{res}.nc",
    "figures": "results/{pde}/figures",
    "figure": "results/{pde}/figures/{name}.png",
    "report": "results/report.html",
}
"""Kind of file -> template; ``{res}`` is the resolution N, ``{seed}`` a training seed,
``{noise}`` a noise level of the training targets (:func:`noise_label`)."""

WILDCARD_PATTERNS: dict[str, str] = {"res": r"[0-9]+", "seed": r"[0-9]+", "n_train": r"[0-9]+",
                                     "noise": r"[0-9][0-9.e+-]*"}
"""Regular expression of a wildcard where it is narrower than one path component."""

_INT_WILDCARDS = frozenset({"res", "seed", "n_train"})


def noise_label(level: object) -> str:
    """A noise level as it appears in a path: ``0`` for exact data, else Python's shortest
    round-trip ``repr`` of the float (``1e-08``, ``0.0001``, ``0.5``), so the same level
    always gives the same folder and :func:`noise_level` inverts it exactly. A wildcard
    (``{noise}``) passes through."""
    if isinstance(level, str) and _FIELD.fullmatch(level):
        return level
    value = float(level)  # type: ignore[arg-type]
    if not (value >= 0 and value != float("inf")):
        raise ValueError(f"noise level must be a finite number >= 0, got {level!r}")
    return "0" if value == 0 else repr(value)


def noise_level(label: str) -> float:
    """The level of a path's ``noise{label}`` part; ``ValueError`` unless ``label`` is the
    canonical :func:`noise_label` of its value (``1e-8`` is not; ``1e-08`` is)."""
    try:
        value = float(label)
    except ValueError:
        raise ValueError(f"noise level {label!r} is not a number") from None
    if noise_label(value) != label:
        raise ValueError(f"noise level {label!r} is not written canonically; the path of "
                         f"level {value!r} says noise{noise_label(value)}")
    return value
_FIELD = re.compile(r"\{(\w+)\}")


def fill(kind: str, **wildcards: object) -> str:
    """``TEMPLATES[kind]`` with the given wildcards filled; the others stay ``{name}``.
    A ``noise`` level is written by :func:`noise_label`."""
    template = TEMPLATES[kind]
    if "noise" in wildcards:
        wildcards["noise"] = noise_label(wildcards["noise"])
    names = set(_FIELD.findall(template))
    unknown = sorted(set(wildcards) - names)
    if unknown:
        raise ValueError(f"path {kind!r} ({template}) has no wildcard(s) {unknown}; "
                         f"allowed: {sorted(names)}")
    return _FIELD.sub(lambda m: str(wildcards.get(m.group(1), m.group(0))), template)


def _regex(kind: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", TEMPLATES[kind])
    body = "".join(
        f"(?P<{p[1:-1]}>{WILDCARD_PATTERNS.get(p[1:-1], '[^/]+')})" if _FIELD.fullmatch(p)
        else re.escape(p) for p in parts)
    return re.compile(rf"(?:^|/){body}$")


_REGEXES: dict[str, re.Pattern[str]] = {kind: _regex(kind) for kind in TEMPLATES}


def parse(kind: str, path: PathLike) -> dict[str, str | int]:
    """The wildcards of ``path``, a file of ``kind`` (under any root folder): ``res`` and
    ``seed`` as int, ``noise`` as float (:func:`noise_level`). Raise ``ValueError`` naming the
    template when it does not follow it."""
    text = Path(path).as_posix()
    m = _REGEXES[kind].search(text)
    if m is None:
        raise ValueError(f"{path} is not a {kind} path ({TEMPLATES[kind]})")
    out: dict[str, str | int | float] = {}
    for k, v in m.groupdict().items():
        out[k] = int(v) if k in _INT_WILDCARDS else noise_level(v) if k == "noise" else v
    return out  # type: ignore[return-value]


def alternatives(names: object) -> str:
    """A wildcard constraint matching exactly ``names`` (``(?!)``, nothing, when empty)."""
    return "|".join(re.escape(str(n)) for n in names) or "(?!)"  # type: ignore[attr-defined]


# ---- one function per kind of file (no argument: the wildcard stays) ----

def dataset(pde: object = "{pde}", space: object = "{space}", res: object = "{res}") -> str:
    """``data/{pde}/{space}/N{res}.h5``: one dataset."""
    return fill("dataset", pde=pde, space=space, res=res)


def model_dir(pde: object = "{pde}", model: object = "{model}", res: object = "{res}") -> str:
    """``results/{pde}/train/{model}/N{res}``: everything trained for one (model, N), one
    :func:`train_dir` per noise level inside it."""
    return fill("model_dir", pde=pde, model=model, res=res)


def train_dir(pde: object = "{pde}", model: object = "{model}", res: object = "{res}", *,
              noise: object = "{noise}") -> str:
    """``results/{pde}/train/{model}/N{res}/noise{noise}``: the training outputs of one
    (model, N) at one noise level of the training targets."""
    return fill("train_dir", pde=pde, model=model, res=res, noise=noise)


def train_metrics(pde: object = "{pde}", model: object = "{model}",
                  res: object = "{res}", *, noise: object = "{noise}") -> str:
    """``results/{pde}/train/{model}/N{res}/noise{noise}/metrics.nc``: written last by the
    training job."""
    return fill("train_metrics", pde=pde, model=model, res=res, noise=noise)


def member(pde: object = "{pde}", model: object = "{model}", res: object = "{res}",
           space: object = "{space}", seed: object = "{seed}", *,
           noise: object = "{noise}") -> str:
    """``results/{pde}/train/{model}/N{res}/noise{noise}/{space}/seed{seed}.pt``: one trained
    member."""
    return fill("member", pde=pde, model=model, res=res, space=space, seed=seed, noise=noise)


def member_in(train_dir_path: PathLike, space: str, seed: int,
              n_train: int | None = None) -> Path:
    """A member's ``.pt`` file inside its training folder (:func:`train_dir`), or, trained on
    the first ``n_train`` samples (the data-quantity study), ``{space}/n{n_train}/seed{seed}.pt``
    inside :func:`quantity_train_dir`."""
    if n_train is None:
        return Path(train_dir_path) / _MEMBER.format(space=space, seed=int(seed))
    return Path(train_dir_path) / _SUBSET_MEMBER.format(space=space, seed=int(seed),
                                                        n_train=int(n_train))


def member_beside(metrics_path: PathLike, space: str, seed: int,
                  n_train: int | None = None) -> Path:
    """A member's ``.pt`` file beside the ``metrics.nc`` of its (model, N)."""
    return member_in(Path(metrics_path).parent, space, seed, n_train)


def quantity_train_dir(pde: object = "{pde}", model: object = "{model}",
                       res: object = "{res}") -> str:
    """``results/{pde}/train_quantity/{model}/N{res}``: the data-quantity study's members."""
    return fill("quantity_train_dir", pde=pde, model=model, res=res)


def quantity_train_metrics(pde: object = "{pde}", model: object = "{model}",
                           res: object = "{res}") -> str:
    """``results/{pde}/train_quantity/{model}/N{res}/metrics.nc``."""
    return fill("quantity_train_metrics", pde=pde, model=model, res=res)


def checkpoints(pde: object = "{pde}", model: object = "{model}", res: object = "{res}", *,
                noise: object = "{noise}") -> str:
    """``results/{pde}/train/{model}/N{res}/noise{noise}/checkpoints``: resumable task
    checkpoints."""
    return fill("checkpoints", pde=pde, model=model, res=res, noise=noise)


def checkpoints_in(train_dir_path: PathLike) -> Path:
    """The checkpoint folder inside a training folder (:func:`train_dir`)."""
    return Path(train_dir_path) / Path(TEMPLATES["checkpoints"]).name


def evaluation(pde: object = "{pde}", model: object = "{model}", res: object = "{res}", *,
               noise: object = "{noise}") -> str:
    """``results/{pde}/evaluate/noise{noise}/{model}/N{res}.nc``: one model trained at one
    noise level, evaluated at one N (on the exact test data)."""
    return fill("evaluation", pde=pde, model=model, res=res, noise=noise)


def results_dir(pde: object = "{pde}") -> str:
    """``results/{pde}``: the folder of the study's analysis files."""
    return fill("results_dir", pde=pde)


def crossval(pde: object = "{pde}") -> str:
    """``results/{pde}/crossval.nc``: the benchmark."""
    return fill("crossval", pde=pde)


def bounds(pde: object = "{pde}") -> str:
    """``results/{pde}/bounds.nc``: Thm 3.2, predicted against measured."""
    return fill("bounds", pde=pde)


def quantity(pde: object = "{pde}") -> str:
    """``results/{pde}/quantity.nc``: the data-quantity study (evaluation of train_quantity)."""
    return fill("quantity", pde=pde)


def convergence(pde: object = "{pde}") -> str:
    """``results/{pde}/convergence.nc``: Thm 3.1, rate fits, the PINN parameter error."""
    return fill("convergence", pde=pde)


def measures(pde: object = "{pde}") -> str:
    """``results/{pde}/measures.nc``: the numbers the report judges."""
    return fill("measures", pde=pde)


def training(pde: object = "{pde}") -> str:
    """``results/{pde}/training.nc``: convergence and loss curves of the trained members."""
    return fill("training", pde=pde)


def greens(pde: object = "{pde}") -> str:
    """``results/{pde}/greens.nc``: errors of the extracted Green's functions."""
    return fill("greens", pde=pde)


def greens_fields(pde: object = "{pde}", res: object = "{res}") -> str:
    """``results/{pde}/greens/N{res}.nc``: the extracted Green's functions at one N."""
    return fill("greens_fields", pde=pde, res=res)


def figures(pde: object = "{pde}") -> str:
    """``results/{pde}/figures``: the folder of the report's figures."""
    return fill("figures", pde=pde)


def figure(pde: object = "{pde}", name: object = "{name}") -> str:
    """``results/{pde}/figures/{name}.png``: one figure of the report."""
    return fill("figure", pde=pde, name=name)


def report() -> str:
    """``results/report.html``: the report."""
    return TEMPLATES["report"]
