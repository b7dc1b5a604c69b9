"""The typed configuration of the analysis stage, built from Snakemake ``params:``.

Defaults are the schema's (:func:`greenbench.config.schema_default`), never written here: a
field that corresponds to a config key takes that key's schema default.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from greenbench.config import noise_levels, schema_default
from greenbench.provenance import study_hash
from greenbench.spaces import parse_space, space_names
from greenbench.study import PARAMETER_CLASSES, Study, enabled_models

__all__ = ["PARAMETER_CLASSES", "AnalysisConfig", "analysis_params", "config_from_file",
           "enabled_models", "quantity_models", "resolve_quantity_space", "step_hash",
           "step_params", "study_hash"]


def _default(key: str) -> Any:
    """The schema default of ``key``, as a dataclass default (lists become tuples)."""
    value = schema_default(key)
    return tuple(value) if isinstance(value, list) else value


def resolve_quantity_space(setting: str, spaces: tuple[str, ...] | list[str]) -> str:
    """``analysis.quantity_space`` resolved: empty -> ``sin4`` if the study has it, else its
    first space."""
    return setting or ("sin4" if "sin4" in spaces else spaces[0])


@dataclass(frozen=True)
class AnalysisConfig:
    """Everything the analysis needs to know about the study (see the ``analysis:`` schema).

    Attributes
    ----------
    pde, k, master_seed, distribution, scale, fem_mass, n_samples, test_fraction
        The study design (datasets are checked against it; ``n_samples``/``test_fraction``
        ``None``: not checked).
    noise
        The noise levels of the training targets, sorted (a number is one level): an axis of
        the training and evaluation files, ``crossval.nc`` and ``bounds.nc``; every analysis
        that does not concern noise reads the lowest, :attr:`noise_min`.
    data_hash
        ``provenance.data_hash`` of the study (``""``: not checked): the ``config_hash`` of
        every dataset and the ``data_hash`` of every training ``metrics.nc`` and evaluation
        file must equal it.
    spaces, resolutions, seeds
        The axes every results file must have.
    rank_tol
        Relative singular-value tolerance of a training span (Thm 3.2).
    impulse_amplitude
        Amplitude ``a`` of the impulses of Green's function extraction.
    scorecard_factor, scorecard_floor
        "Small" rule of the span-consistency score: ``rel_l2 <= max(factor * g, floor)``.
    fd_orders, fd_exact_tol, confidence
        Thm 3.1 stencil orders, round-off tolerance of an "exact" FD cell, CI level of rates.
    stencil_halfwidth
        Offsets ``-h..h`` of the stencil read off an inverted learned operator.
    sample_sizes, quantity_space, quantity_resolution, quantity_models
        Data-quantity study: training subset sizes, the one training space, its resolution
        (``0``: the smallest), and ``{name: entry}`` of the neural models trained for it (by
        the training stage, rule ``train_quantity``; the analysis only evaluates them).
    dropped_sample_sizes
        Configured sizes above the training split (not run; recorded in ``convergence.nc``).
    converge_tail, converge_rel_tol, converge_floor
        Convergence of a member that ran all its steps (:mod:`greenbench.analysis.training`).
    device
        Where trained models are evaluated: ``auto`` (CUDA when available), ``cpu``, ``cuda``.
    config_hash
        Hash of the whole study config (provenance attribute of every file).
    """

    pde: str
    spaces: tuple[str, ...]
    resolutions: tuple[int, ...]
    seeds: tuple[int, ...]
    k: float = _default("k")
    master_seed: int = _default("seed")
    distribution: str = _default("coefficients.distribution")
    scale: float = _default("coefficients.scale")
    noise: tuple[float, ...] = tuple(noise_levels(schema_default("noise")))
    fem_mass: str = _default("fem_mass")
    n_samples: int | None = None
    test_fraction: float | None = None
    data_hash: str = ""
    rank_tol: float = _default("analysis.rank_tol")
    impulse_amplitude: float = _default("analysis.impulse_amplitude")
    scorecard_factor: float = _default("analysis.scorecard.small_factor")
    scorecard_floor: float = _default("analysis.scorecard.small_floor")
    fd_orders: tuple[int, ...] = _default("analysis.fd_orders")
    fd_exact_tol: float = _default("analysis.fd_exact_tol")
    confidence: float = _default("analysis.confidence")
    stencil_halfwidth: int = _default("analysis.stencil_halfwidth")
    sample_sizes: tuple[int, ...] = _default("analysis.sample_sizes")
    quantity_space: str = _default("analysis.quantity_space")
    quantity_resolution: int = _default("analysis.quantity_resolution")
    quantity_models: Mapping[str, Any] = field(default_factory=dict, hash=False)
    dropped_sample_sizes: tuple[int, ...] = ()
    device: str = _default("analysis.device")
    converge_tail: float = _default("analysis.converge_tail")
    converge_rel_tol: float = _default("analysis.converge_rel_tol")
    converge_floor: float = _default("analysis.converge_floor")
    config_hash: str = ""
    # the operator's coefficients other than k (e.g. {"c": 10.0}); empty for poisson1d
    coefficients: Mapping[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "coefficients",
                           {str(c): float(v) for c, v in dict(self.coefficients).items()})
        _ = self.operator  # an unknown operator or coefficient fails here, naming it
        object.__setattr__(self, "noise", tuple(noise_levels(
            list(self.noise) if isinstance(self.noise, tuple | list) else self.noise)))
        for s in self.spaces:
            parse_space(s)
        if not self.quantity_space:  # the schema default: resolved as analysis_params does
            object.__setattr__(self, "quantity_space", resolve_quantity_space("", self.spaces))
        if self.quantity_space not in self.spaces:
            raise ValueError(f"analysis.quantity_space {self.quantity_space!r} is not one of "
                             f"the study's spaces; allowed: one of {list(self.spaces)}")
        if self.quantity_resolution and self.quantity_resolution not in self.resolutions:
            raise ValueError(f"analysis.quantity_resolution {self.quantity_resolution} is not "
                             f"one of the study's resolutions; allowed: 0 (the smallest) or one "
                             f"of {list(self.resolutions)}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"analysis.confidence must be in (0, 1), got {self.confidence}")

    @property
    def operator(self):
        """The study's operator with its coefficients bound (``greenbench.operators``)."""
        from greenbench.operators import get_operator

        return get_operator(self.pde, k=self.k, **self.coefficients)

    @property
    def noise_min(self) -> float:
        """The lowest noise level: the one every analysis that does not concern noise reads
        (convergence, Green's functions, measures, scorecard, data quantity)."""
        return self.noise[0]

    @property
    def quantity_N(self) -> int:
        return self.quantity_resolution or min(self.resolutions)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> AnalysisConfig:
        """Build from a plain mapping (Snakemake ``params``); lists become tuples."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ValueError(f"unknown analysis parameter(s) {unknown}; allowed: {sorted(names)}")
        values = {key: tuple(v) if isinstance(v, list) else v for key, v in params.items()}
        values["quantity_models"] = dict(params.get("quantity_models") or {})
        values["coefficients"] = dict(params.get("coefficients") or {})
        return cls(**values)

    def dataset_expect(self, space: str, N: int) -> dict[str, object]:
        """Attributes a dataset of this study must carry (``io.check_dataset(expect=...)``):
        the design, the master seed, and -- when known -- ``n_samples``, ``test_fraction`` and
        the data hash (attribute ``config_hash``)."""
        out: dict[str, object] = dict(
            pde=self.pde, N=int(N), space=space, k=float(self.k), **self.coefficients,
            distribution=self.distribution, scale=float(self.scale),
            fem_mass=self.fem_mass, master_seed=int(self.master_seed))
        if self.n_samples is not None:
            out["n_samples"] = int(self.n_samples)
        if self.test_fraction is not None:
            out["test_fraction"] = float(self.test_fraction)
        if self.data_hash:
            out["config_hash"] = self.data_hash
        return out

    def params(self) -> dict[str, Any]:
        """The plain ``params:`` mapping this config was built from (inverse of
        :meth:`from_params`)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["quantity_models"] = dict(self.quantity_models)
        out["coefficients"] = dict(self.coefficients)
        if not out["coefficients"]:  # poisson1d: the params (and their hash) as before
            del out["coefficients"]
        return json.loads(json.dumps(out, default=str))

    @property
    def step_hash(self) -> str:
        """The ``config_hash`` stamped on the per-model evaluation files and ``quantity.nc``:
        the hash of the analysis params alone (:func:`step_params`), so that an unrelated
        change of the study config does not rerun those jobs."""
        return step_hash(self.params())


def step_hash(params: Mapping[str, Any]) -> str:
    """``config_hash`` of analysis params with their own ``config_hash`` blanked."""
    from greenbench.provenance import config_hash

    return config_hash(dict(params, config_hash=""))


def step_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` stamped with :func:`step_hash` (the ``ANALYSIS_STEP`` of analyze.smk)."""
    return dict(params, config_hash=step_hash(params))


def quantity_models(config: Mapping[str, Any]) -> dict[str, dict]:
    """``{name: entry}`` of the data-quantity study's neural model with the cheap budget
    (``analysis.quantity_steps``; trained by the rule ``train_quantity``), or ``{}`` when
    ``analysis.quantity_model`` is empty, absent from ``models:``, disabled, or a parameter
    learner."""
    a = config["analysis"]
    name = a["quantity_model"]
    entry = enabled_models(config).get(name)
    if not name or entry is None or entry["class"] in PARAMETER_CLASSES:
        return {}
    train = dict(entry.get("train") or {}, steps=int(a["quantity_steps"]))
    return {name: dict(entry, train=train)}


def analysis_params(config: Mapping[str, Any], config_hash: str = "") -> dict[str, Any]:
    """The analysis ``params:`` of a validated study config (plain types, for Snakemake).

    Resolves the automatic choices: ``quantity_space`` empty -> ``sin4`` if the study has it,
    else its first space; ``quantity_resolution`` 0 -> the smallest resolution; sample sizes
    above the training split are moved to ``dropped_sample_sizes`` (if none is left, the whole
    split is the one size)."""
    from greenbench.config import config_for_pde, pde_names
    from greenbench.data import split_sizes
    from greenbench.provenance import data_hash

    if not isinstance(config["pde"], str):  # several operators: the first one's study
        config = config_for_pde(dict(config), pde_names(config["pde"])[0])
    a = config["analysis"]
    from greenbench.config import space_dim

    spaces = space_names(config["spaces"], dim=space_dim(config))
    resolutions = sorted(int(n) for n in config["resolutions"])
    n_train = split_sizes(int(config["n_samples"]), float(config["test_fraction"]))[0]
    sizes = [int(n) for n in a["sample_sizes"]]
    return dict(
        pde=config["pde"], spaces=spaces, resolutions=resolutions,
        seeds=[int(s) for s in config["train_seeds"]], k=float(config["k"]),
        master_seed=int(config["seed"]),
        distribution=config["coefficients"]["distribution"],
        scale=float(config["coefficients"]["scale"]),
        noise=[float(s) for s in noise_levels(config["noise"])],
        fem_mass=config["fem_mass"], n_samples=int(config["n_samples"]),
        test_fraction=float(config["test_fraction"]), data_hash=data_hash(config),
        rank_tol=float(a["rank_tol"]),
        impulse_amplitude=float(a["impulse_amplitude"]),
        scorecard_factor=float(a["scorecard"]["small_factor"]),
        scorecard_floor=float(a["scorecard"]["small_floor"]),
        fd_orders=[int(q) for q in a["fd_orders"]], fd_exact_tol=float(a["fd_exact_tol"]),
        confidence=float(a["confidence"]), stencil_halfwidth=int(a["stencil_halfwidth"]),
        sample_sizes=[n for n in sizes if n <= n_train] or [n_train],
        dropped_sample_sizes=[n for n in sizes if n > n_train],
        quantity_space=resolve_quantity_space(a["quantity_space"], spaces),
        quantity_resolution=int(a["quantity_resolution"] or resolutions[0]),
        quantity_models=quantity_models(config), device=str(a["device"]),
        converge_tail=float(a["converge_tail"]),
        converge_rel_tol=float(a["converge_rel_tol"]),
        converge_floor=float(a["converge_floor"]),
        config_hash=config_hash,
        **_extra_coefficients(config),
    )


def _extra_coefficients(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"coefficients": {c: value}}`` for the coefficients of the config's operator other
    than ``k`` (their values: top-level keys ``c``, ``b``), or ``{}`` (poisson1d)."""
    from greenbench.operators import OPERATORS

    names = [c for c in OPERATORS[config["pde"]].COEFFICIENTS if c != "k"]
    return {"coefficients": {c: float(config[c]) for c in names}} if names else {}


def config_from_file(path: str) -> AnalysisConfig:
    """Read, validate and convert a study config file (for running a script by hand)."""
    from greenbench.config import load_config

    return Study.from_config(load_config(path)).analysis
