"""The study: every fact of a validated config that more than one stage needs, computed once.

:class:`Study` is built from the validated config (``Study.from_config(config)``) and answers
what the workflow (``STUDY`` in ``workflow/rules/common.smk``), the analysis and the report
(:mod:`greenbench.report`) would otherwise each work out: the axes (spaces, resolutions, seeds),
the enabled models in config order with their class and kind, the data keys and the hashes,
the analysis settings, and the path of every file (:mod:`greenbench.paths`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import xarray as xr

from greenbench import paths
from greenbench.config import noise_levels
from greenbench.provenance import DATA_KEYS, data_hash, study_hash
from greenbench.spaces import space_names

if TYPE_CHECKING:
    from greenbench.analysis.config import AnalysisConfig

PARAMETER_CLASSES: tuple[str, ...] = ("fd", "pinn")
"""Model classes that learn a scalar parameter (kind ``parameter``: analysed in
``convergence.nc``; no cross-validation, no heatmap, no Green's function). Every other class,
user models included, is an operator model (kind ``operator``)."""


def class_kind(cls: str) -> str:
    """``parameter`` for a class of :data:`PARAMETER_CLASSES`, else ``operator``."""
    return "parameter" if cls in PARAMETER_CLASSES else "operator"


def cheap_fit(entry: Mapping[str, Any]) -> bool:
    """Whether a model entry's fit is too cheap to be worth a process of its own: a closed-form
    fit (``optimizer: exact``, one least-squares solve) or the ``fd`` learner (a convex
    quadratic in one scalar per stencil order and member, whose minimiser ``w_lstsq`` is
    computed in closed form anyway; its L-BFGS steps take milliseconds). Such a training job
    runs its tasks in-process when the executor is local (:meth:`greenbench.hpc
    .ClusterSettings.in_process_when_local`), saving a Python-with-torch start-up that costs
    far more than the work; SLURM is unchanged."""
    train = entry.get("train") or {}
    return train.get("optimizer") == "exact" or entry.get("class") == "fd"


def enabled_models(config: Mapping[str, Any]) -> dict[str, dict]:
    """Enabled ``models:`` entries of a validated study config, in config order."""
    return {m: dict(e) for m, e in config["models"].items() if e["enabled"]}


@dataclass(frozen=True)
class Study:
    """What a validated study config asks for; build it with :meth:`from_config`.

    A config may name several operators (``pde``: a list or mapping); a ``Study`` is the
    single-operator study of one of them (:func:`greenbench.config.config_for_pde`), ``pdes``
    lists all, :meth:`for_pde` gives the study of another. Nothing here asks which operator
    it is: :meth:`operator` is the object the consumers call.

    Attributes
    ----------
    pde : str
        This study's operator (the first of the config's by default).
    pdes : tuple of str
        Every operator of the config, config order.
    spaces : tuple of str
        Function spaces, canonical order (:func:`greenbench.spaces.space_names`).
    resolutions : tuple of int
        Grid resolutions N, increasing.
    seeds : tuple of int
        Training seeds (``train_seeds``).
    models : dict
        Enabled model name -> class (built-in name or ``package.module:Class``), config order.
    entries : dict
        Enabled model name -> its validated config entry.
    data : dict
        The data keys (:data:`greenbench.provenance.DATA_KEYS`) of the config.
    data_hash, config_hash : str
        ``provenance.data_hash`` (every dataset's ``config_hash``) and ``provenance.study_hash``
        (the aggregated analysis files' ``config_hash``) of the config.
    config : dict
        The validated single-operator config (``pde`` one name, ``k``/``c``/``b`` its
        coefficients); ``full_config`` the config as given (validated).
    """

    pde: str
    spaces: tuple[str, ...]
    resolutions: tuple[int, ...]
    seeds: tuple[int, ...]
    models: dict[str, str] = field(hash=False)
    entries: dict[str, dict] = field(hash=False, repr=False)
    data: dict[str, Any] = field(hash=False, repr=False)
    data_hash: str
    config_hash: str
    config: dict[str, Any] = field(hash=False, repr=False, compare=False)
    pdes: tuple[str, ...] = ()
    full_config: dict[str, Any] = field(default_factory=dict, hash=False, repr=False,
                                        compare=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], pde: str | None = None) -> Study:
        """The study of operator ``pde`` (default: the first) of a validated config
        (``greenbench.config.validate_config``)."""
        from greenbench.config import config_for_pde, pde_names

        full = dict(config)
        pdes = tuple(pde_names(full["pde"]))
        config = config_for_pde(full, pdes[0] if pde is None else pde)
        entries = enabled_models(config)
        from greenbench.config import space_dim

        return cls(pde=str(config["pde"]),
                   spaces=tuple(space_names(config["spaces"], dim=space_dim(config))),
                   resolutions=tuple(sorted(int(n) for n in config["resolutions"])),
                   seeds=tuple(int(s) for s in config["train_seeds"]),
                   models={m: str(e["class"]) for m, e in entries.items()}, entries=entries,
                   data={key: config[key] for key in DATA_KEYS}, data_hash=data_hash(config),
                   config_hash=study_hash(config), config=config, pdes=pdes, full_config=full)

    def for_pde(self, pde: str) -> Study:
        """The study of another operator of the same config."""
        return Study.from_config(self.full_config, pde)

    def operator(self, pde: str | None = None):
        """The operator of ``pde`` (default: this study's), coefficients bound
        (:class:`greenbench.operators.Operator`)."""
        from greenbench.config import pde_coefficients
        from greenbench.operators import get_operator

        name = self.pde if pde is None else pde
        return get_operator(name, **pde_coefficients(self.full_config)[name])

    # ---- the design ----

    @property
    def k(self) -> float:
        return float(self.data["k"])

    @property
    def noise(self) -> tuple[float, ...]:
        """The noise levels of the training targets, sorted (config key ``noise``): an axis of
        training and evaluation (operator models at every level, parameter learners at the
        lowest only; nothing reads them at another)."""
        return tuple(noise_levels(self.config["noise"]))

    @property
    def noise_min(self) -> float:
        """The lowest noise level: what every analysis that does not concern noise reads."""
        return self.noise[0]

    def levels_of(self, model: str) -> tuple[float, ...]:
        """The noise levels ``model`` is trained at: every level for an operator model, the
        lowest for a parameter learner (fd, pinn: analysed at the lowest level only)."""
        return self.noise if self.kind(model) == "operator" else (self.noise_min,)

    @property
    def fem_mass(self) -> str:
        return str(self.data["fem_mass"])

    @property
    def master_seed(self) -> int:
        return int(self.data["seed"])

    @property
    def finest(self) -> int:
        return max(self.resolutions)

    # ---- models ----

    def kind(self, model: str) -> str:
        """``operator`` or ``parameter`` (:func:`class_kind` of the model's class)."""
        return class_kind(self.models[model])

    @property
    def operator_models(self) -> list[str]:
        """Models evaluated in the cross-validation (every class but fd and pinn)."""
        return [m for m in self.models if self.kind(m) == "operator"]

    @property
    def parameter_models(self) -> list[str]:
        """Parameter learners (fd, pinn), analysed in ``convergence.nc``."""
        return [m for m in self.models if self.kind(m) == "parameter"]

    def models_of_class(self, cls: str) -> list[str]:
        """Names of the enabled models of class ``cls``, config order."""
        return [m for m, c in self.models.items() if c == cls]

    def first_of_class(self, cls: str) -> str | None:
        """The enabled model of class ``cls`` the analysis reads (the first), or None."""
        return next(iter(self.models_of_class(cls)), None)

    @property
    def budget_pairs(self) -> dict[str, tuple[str, int]]:
        """``{variant: (base model, factor)}`` of the models ``budget_check`` derived
        (:mod:`greenbench.budget`; their entries' ``budget`` key), config order."""
        from greenbench.budget import pairs

        return pairs({m: self.entries[m] for m in self.models})

    def parameter_entries(self) -> dict[str, dict]:
        """``{name: entry}`` of the fd and pinn models the convergence analysis reads."""
        names = [self.first_of_class(c) for c in PARAMETER_CLASSES]
        return {m: self.entries[m] for m in names if m is not None}

    # ---- analysis ----

    @cached_property
    def analysis_params(self) -> dict[str, Any]:
        """The analysis ``params:`` (plain types; :func:`greenbench.analysis.config
        .analysis_params`) stamped with the study's hash."""
        from greenbench.analysis.config import analysis_params

        return analysis_params(self.config, self.config_hash)

    @cached_property
    def analysis(self) -> AnalysisConfig:
        """The typed analysis config (a bad analysis option raises here)."""
        from greenbench.analysis.config import AnalysisConfig

        return AnalysisConfig.from_params(self.analysis_params)

    # ---- paths (greenbench.paths with this study's pde) ----

    def dataset(self, space: str, res: int | str) -> str:
        return paths.dataset(self.pde, space, res)

    def datasets(self, res: int | str | None = None) -> list[str]:
        """Every dataset, or those at resolution ``res``, space-major."""
        at = self.resolutions if res is None else (res,)
        return [self.dataset(s, n) for s in self.spaces for n in at]

    def dataset_map(self) -> dict[int, dict[str, str]]:
        """``{N: {space: path}}`` of every dataset."""
        return {n: {s: self.dataset(s, n) for s in self.spaces} for n in self.resolutions}

    def train_metrics(self, model: str, res: int | str, noise: float | str | None = None
                      ) -> str:
        """Training ``metrics.nc`` of (model, N) at noise level ``noise`` (default: lowest)."""
        return paths.train_metrics(self.pde, model, res,
                                   noise=self.noise_min if noise is None else noise)

    def training_targets(self) -> list[str]:
        """One training ``metrics.nc`` per (enabled model, resolution, its noise levels:
        :meth:`levels_of`)."""
        return [self.train_metrics(m, n, s) for m in self.models
                for s in self.levels_of(m) for n in self.resolutions]

    def model_metrics(self, model: str | None, noise: float | str | None = None) -> list[str]:
        """Training ``metrics.nc`` of ``model`` at every N and noise level ``noise`` (default:
        the lowest) ([] for None)."""
        return [] if model is None else [self.train_metrics(model, n, noise)
                                         for n in self.resolutions]

    def evaluation(self, model: str, res: int | str, noise: float | str | None = None) -> str:
        return paths.evaluation(self.pde, model, res,
                                noise=self.noise_min if noise is None else noise)

    def evaluations(self, models: list[str] | None = None,
                    noise: list[float] | tuple[float, ...] | None = None) -> list[str]:
        """Evaluation files of ``models`` (default: every operator model) at every N and every
        level of ``noise`` (default: every level of the study), level-major."""
        names = self.operator_models if models is None else models
        levels = self.noise if noise is None else noise
        return [self.evaluation(m, n, s) for s in levels for m in names
                for n in self.resolutions]

    def figure(self, name: str) -> str:
        return paths.figure(self.pde, name)

    def results(self) -> dict[str, str]:
        """The analysis files the report reads, by kind (``greens_fields``: at the finest N)."""
        kinds = ("crossval", "bounds", "convergence", "quantity", "measures", "greens")
        out = {kind: paths.fill(kind, pde=self.pde) for kind in kinds}
        out["greens_fields"] = paths.greens_fields(self.pde, self.finest)
        return out

    # ---- per-job params of the workflow ----

    def data_spec(self, space: str, res: int | str) -> dict[str, Any]:
        """The generation parameters of one dataset (``greenbench.data.DataSpec`` keywords)."""
        d = self.data
        extra = {c: v for c, v in self.operator().coefficients.items() if c != "k"}
        return dict(pde=self.pde, space=space, N=int(res), n_samples=d["n_samples"],
                    master_seed=d["seed"], k=d["k"],
                    distribution=d["coefficients"]["distribution"],
                    scale=d["coefficients"]["scale"],
                    test_fraction=d["test_fraction"], fem_mass=d["fem_mass"],
                    **({"coefficients": extra} if extra else {}))

    def train_params(self, model: str, res: int | str, noise: float | str | None = None
                     ) -> dict[str, Any]:
        """What determines the trained members of one (model, N, noise level; default the
        lowest): a change retrains them."""
        N = int(res)
        level = self.noise_min if noise is None else paths.noise_level(paths.noise_label(noise))
        return dict(model=model, entry=self.config["models"][model], pde=self.pde, N=N,
                    spaces=list(self.spaces), seeds=list(self.config["train_seeds"]),
                    master_seed=self.master_seed, data_hash=self.data_hash,
                    noise=float(level),
                    datasets={s: self.dataset(s, N) for s in self.spaces},
                    out_dir=paths.train_dir(self.pde, model, N, noise=level))

    # ---- checks ----

    def check_results(self, ds: xr.Dataset, name: str) -> None:
        """Refuse an aggregated results file (crossval.nc, bounds.nc, ...) of another study:
        :func:`greenbench.analysis.checks.check_results` with spaces and resolutions exact,
        seeds and models a subset (absent ones are listed as missing by the report), the
        ``pde`` and ``N`` attributes where recorded."""
        from greenbench.analysis.checks import REPORT_HINT, check_results

        check_results(ds, name, pde=self.pde, spaces=self.spaces, resolutions=self.resolutions,
                      seeds=self.seeds, models=list(self.models), may_lack=("seed", "model"),
                      present_only=True, hint=REPORT_HINT)
