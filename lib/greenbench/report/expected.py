"""What a study should have produced (from its config), and the check that a results file
belongs to it.

The report compares the results files with :class:`Expected`: coordinates the study did not ask
for mean the file comes from another config and it is refused (:class:`ResultsMismatchError`,
naming the file and the mismatch); things the study asked for but the files lack are listed as
missing (:mod:`greenbench.report.missing`) and the report is still built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import xarray as xr

from greenbench.spaces import space_names

PARAMETER_CLASSES: tuple[str, ...] = ("fd", "pinn")
"""Model classes that learn a scalar parameter (no cross-validation heatmap, no G_hat)."""


class ResultsMismatchError(ValueError):
    """A results file does not belong to the study being reported (other spaces, N, models...)."""


@dataclass(frozen=True)
class Expected:
    """The axes a study's results should cover.

    Attributes
    ----------
    pde : str
    models : dict
        Enabled model name -> class (built-in name or ``package.module:Class``).
    spaces : tuple of str
        Function spaces, canonical order.
    resolutions : tuple of int
        Grid resolutions N, increasing.
    seeds : tuple of int
        Training seeds.
    k, noise : float
        PDE coefficient and measurement-noise level of the data.
    fem_mass : str
        ``consistent`` or ``lumped`` (the operator that generated the fem data).
    """

    pde: str
    models: Mapping[str, str]
    spaces: tuple[str, ...]
    resolutions: tuple[int, ...]
    seeds: tuple[int, ...]
    k: float = 1.0
    noise: float = 0.0
    fem_mass: str = "consistent"
    extra: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping) -> Expected:
        """Build from a validated config (``greenbench.config.validate_config``)."""
        models = {name: str(entry["class"]) for name, entry in (config.get("models") or {}).items()
                  if entry.get("enabled", True)}
        return cls(pde=str(config["pde"]), models=models,
                   spaces=tuple(space_names(config["spaces"])),
                   resolutions=tuple(sorted(int(n) for n in config["resolutions"])),
                   seeds=tuple(int(s) for s in config["train_seeds"]),
                   k=float(config.get("k", 1.0)), noise=float(config.get("noise", 0.0)),
                   fem_mass=str(config.get("fem_mass", "consistent")))

    @property
    def operator_models(self) -> list[str]:
        """Models evaluated in the cross-validation (every class but fd and pinn)."""
        return [m for m, c in self.models.items() if c not in PARAMETER_CLASSES]

    def models_of_class(self, cls: str) -> list[str]:
        """Names of the enabled models of class ``cls``."""
        return [m for m, c in self.models.items() if c == cls]

    @property
    def finest(self) -> int:
        return max(self.resolutions)


EXACT_DIMS: tuple[str, ...] = ("train_space", "test_space", "resolution")
"""Dimensions a results file must cover exactly: the analysis writes every configured space and
resolution (absent members are flagged ``missing``), so a file with other values is from
another config. Models and seeds may be absent (listed as missing), never extra."""


def check_results(name: str, ds: xr.Dataset, expected: Expected) -> None:
    """Refuse a results file from another study: raise :class:`ResultsMismatchError` naming
    ``name`` and the mismatch -- spaces or resolutions that differ from the study's (extra or
    absent), seeds or models it did not ask for, a different ``pde`` attribute, or a
    ``greens/N{res}.nc`` whose ``N`` is not a study resolution or disagrees with its nodes."""
    wanted: dict[str, set] = {
        "train_space": set(expected.spaces), "test_space": set(expected.spaces),
        "resolution": set(expected.resolutions), "seed": set(expected.seeds),
        "model": set(expected.models),
    }
    problems = []
    for dim, ok in wanted.items():
        if dim not in ds.coords:
            continue
        cast = int if dim in ("resolution", "seed") else str
        values = {cast(v.item() if hasattr(v, "item") else v) for v in ds[dim].values}
        extra = sorted(map(str, values - ok))
        absent = sorted(map(str, ok - values)) if dim in EXACT_DIMS else []
        if extra or absent:
            what = "; ".join(part for part in (
                f"{extra} not in this study" if extra else "",
                f"{absent} of this study absent" if absent else "") if part)
            problems.append(f"{dim} {what} (study: {sorted(map(str, ok))})")
    pde = ds.attrs.get("pde")
    if pde is not None and str(pde) != expected.pde:
        problems.append(f"pde is {pde!r}, this study's is {expected.pde!r}")
    res = ds.attrs.get("N")
    if res is not None and int(res) not in expected.resolutions:
        problems.append(f"N = {int(res)} not in this study's resolutions "
                        f"{list(expected.resolutions)}")
    if res is not None and "x" in ds.dims and ds.sizes["x"] != int(res) - 1:
        problems.append(f"x has {ds.sizes['x']} nodes, resolution {int(res)} needs {int(res) - 1}")
    if problems:
        raise ResultsMismatchError(f"{name} is from another config: " + "; ".join(problems))
