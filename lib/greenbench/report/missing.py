"""What a results set lacks compared with its study: files, models, resolutions, seeds, cells.

Nothing here raises for a gap: every gap becomes one :class:`Gap` line in the report's
"Missing" section. Diverged training is listed too, separately (it is a result, not a gap).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from greenbench.report.expected import Expected


@dataclass(frozen=True)
class Gap:
    """One missing (or diverged) thing. ``kind``: file, model, resolution, seed, cells,
    diverged, figure; ``what``: the name; ``detail``: what it means for the report."""

    kind: str
    what: str
    detail: str


def _flag(ds: xr.Dataset, model: str, var: str) -> np.ndarray | None:
    """``var`` (model, train_space, resolution, seed) of one model as (space, res, seed)."""
    if var not in ds:
        return None
    return ds[var].sel(model=model).transpose("train_space", "resolution", "seed").values


def _model_gaps(cv: xr.Dataset, expected: Expected) -> list[Gap]:
    gaps: list[Gap] = []
    present = set(map(str, cv["model"].values))
    for model in expected.operator_models:
        if model not in present:
            gaps.append(Gap("model", model, "absent from crossval.nc: no heatmap, no scorecard "
                                            "row, no Green's function"))
            continue
        mse = cv["mse"].sel(model=model).transpose("train_space", "test_space", "resolution",
                                                   "seed").values
        miss = _flag(cv, model, "missing")
        lost = ~np.isfinite(mse).any(axis=1)                  # (space, res, seed)
        if miss is not None:
            lost |= miss.astype(bool)
        div = _flag(cv, model, "diverged")
        if div is not None:
            lost &= ~div.astype(bool)
        if lost.all():
            gaps.append(Gap("model", model, "in crossval.nc but every cell is missing"))
            continue
        res_vals = [int(r) for r in cv["resolution"].values]
        seed_vals = [int(s) for s in cv["seed"].values]
        for N in expected.resolutions:
            if N not in res_vals:
                gaps.append(Gap("resolution", f"{model} N={N}", "absent from crossval.nc"))
            elif lost[:, res_vals.index(N)].all():
                gaps.append(Gap("resolution", f"{model} N={N}", "every cell missing"))
        for s in expected.seeds:
            if s not in seed_vals:
                gaps.append(Gap("seed", f"{model} seed {s}", "absent from crossval.nc"))
            elif lost[:, :, seed_vals.index(s)].all():
                gaps.append(Gap("seed", f"{model} seed {s}", "every cell missing"))
        spaces = list(map(str, cv["train_space"].values))
        for i, space in enumerate(spaces):
            part = lost[i]
            if part.any() and not part.all() and not (
                    lost.all(axis=(0, 2)).any() or lost.all(axis=(0, 1)).any()):
                gaps.append(Gap("cells", f"{model} trained on {space}",
                                f"{int(part.sum())} of {part.size} (resolution, seed) missing"))
            elif part.all():
                gaps.append(Gap("cells", f"{model} trained on {space}", "no trained model"))
        if div is not None and div.any():
            where = [f"{spaces[i]} N={res_vals[r]} seed {seed_vals[s]}"
                     for i, r, s in zip(*np.nonzero(div), strict=True)]
            gaps.append(Gap("diverged", model, f"{len(where)} training run(s) diverged: "
                                               + ", ".join(where[:8])
                                               + (" ..." if len(where) > 8 else "")))
    return gaps


def find_gaps(results: Mapping[str, xr.Dataset | None], expected: Expected,
              file_names: Mapping[str, str] | None = None) -> list[Gap]:
    """List everything the study asked for that the results lack.

    Parameters
    ----------
    results : mapping
        ``crossval``, ``bounds``, ``convergence``, ``greens``, ``greens_fields`` -> Dataset, or
        ``None`` for a missing file.
    expected : Expected
    file_names : mapping, optional
        Display name of each key's file (default ``{key}.nc``).
    """
    names = dict(file_names or {})
    gaps = [Gap("file", names.get(key, f"{key}.nc"), "missing: the parts of the report built "
                                                      "from it say 'not available'")
            for key, ds in results.items() if ds is None]
    cv = results.get("crossval")
    if cv is not None and "mse" in cv:
        gaps += _model_gaps(cv, expected)
    if expected.operator_models and not expected.models_of_class("linear"):
        gaps.append(Gap("model", "class linear", "no linear model in the study: no Thm 3.2 "
                                                 "comparison, no recovered stencil"))
    conv = results.get("convergence")
    for cls, var in (("fd", "fd_rel_error"), ("pinn", "pinn_rel_error")):
        for model in expected.models_of_class(cls):
            if conv is not None and (var not in conv or not np.isfinite(conv[var]).any()):
                gaps.append(Gap("model", model, f"no {var} in convergence.nc"))
    greens = results.get("greens")
    if greens is not None and "model" in greens.coords:
        have = set(map(str, greens["model"].values))
        for model in expected.operator_models:
            if model not in have:
                gaps.append(Gap("model", f"{model} (Green's function)", "absent from greens.nc"))
    fields = results.get("greens_fields")
    if fields is not None and "model" in fields.coords:
        have = set(map(str, fields["model"].values))
        for model in expected.operator_models:
            if model not in have:
                gaps.append(Gap("model", f"{model} (G_hat)",
                                f"absent from greens/N{expected.finest}.nc"))
    return gaps
