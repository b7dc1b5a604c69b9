"""Verdict types and thresholds of the findings: what the claim modules judge with.

:class:`Evidence` (the results files), :class:`Finding` (one judged claim), the verdicts and
every threshold (documented in docs/report.md). The claim modules
(:mod:`~greenbench.report.claims_operators`, :mod:`~greenbench.report.claims_theory`) and
:mod:`~greenbench.report.findings` import from here, never from each other, so the report has
no import cycle. The numbers judged are read from the analysis files (``measures.nc``,
``convergence.nc``, ``greens.nc``, ``quantity.nc``, ``bounds.nc``, ``crossval.nc``); here they
are only compared with thresholds, counted and picked (smallest, largest) for the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from greenbench.report.expected import Expected

REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_MEASURABLE = (
    "reproduced", "partly reproduced", "not reproduced", "not measurable")
VERDICTS = (REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_MEASURABLE)

# relative to the test space's scale (crossval.nc ``u_mean_square``, the mean square of the
# exact u on its test split), so they mean the same for every operator (docs/decisions.md)
IN_SPAN_MAX = 1e-10       # linear model: an in-span cell is "at machine precision" below this
OUT_OF_SPAN_MIN = 1e-6    # ... and an out-of-span cell "fails" above this (relative MSE)
GENERALIZES_RATIO = 10.0  # nested/diagonal MSE ratio up to which a model generalizes in a family
SEPARATION = 100.0        # out-of-span / in-span MSE ratio that makes a "block" structure
FIT_MARGIN = 100.0        # diagonal MSE must be this far below out-of-span to judge a model
FULL, HALF = 0.95, 0.5    # fraction of agreeing cells for reproduced / partly reproduced
PREDICTED_ZERO = 1e-20    # a Thm 3.2 prediction below this is "exactly zero" (in span)
FD_EXACT_MAX = 1e-10      # FD relative error of an exact cell (p < q)
RATE_TOL = 0.5            # fitted FD rate within this of q (or q inside its 95% CI)
STENCIL_TOL = 1e-6        # recovered stencil row vs the generating one (relative max norm)
Z_MAX = 4.0               # |measured - predicted| / standard error up to which a cell agrees
QUANTITY_GAIN = 10.0      # out-of-span MSE must not drop by more than this with more data
SPREAD_DECADES = 2.0      # out-of-span MSE of all models within this many decades


@dataclass(frozen=True)
class Evidence:
    """The results a report is built from; ``None`` for a missing file."""

    expected: Expected
    crossval: xr.Dataset | None = None
    bounds: xr.Dataset | None = None
    convergence: xr.Dataset | None = None
    greens: xr.Dataset | None = None
    fields: xr.Dataset | None = None     # greens/N{finest}.nc
    quantity: xr.Dataset | None = None   # quantity.nc
    measures: xr.Dataset | None = None   # measures.nc


@dataclass(frozen=True)
class Finding:
    """One claim of the paper and this study's measurement of it."""

    source: str
    claim: str
    measured: str
    verdict: str


def grade(frac: float) -> str:
    """Verdict from the fraction of agreeing cells (:data:`FULL`, :data:`HALF`)."""
    if not np.isfinite(frac):
        return NOT_MEASURABLE
    return REPRODUCED if frac >= FULL else PARTLY if frac >= HALF else NOT_REPRODUCED


def models_present(ev: Evidence, names: Sequence[str]) -> list[str]:
    """Those of ``names`` with at least one finite cell in ``measures.nc`` (else in
    ``crossval.nc``), or with usable members that were all left out as not converged (their
    findings then say so)."""
    src, var = ((ev.measures, "cell_mse") if ev.measures is not None else (ev.crossval, "mse"))
    if src is None or var not in src:
        return []
    have = set(map(str, src["model"].values))

    def trained(m: str) -> bool:   # every member left out as not converged: present, judged so
        if ev.measures is None or "usable_members" not in src:
            return False
        n = np.asarray(src["usable_members"].sel(model=m).values, dtype=float)
        return bool(np.nansum(n) > 0)

    return [m for m in names if m in have and (np.isfinite(src[var].sel(model=m).values).any()
                                               or trained(m))]


def of_class(ev: Evidence, cls: str) -> list[str]:
    """Models of class ``cls`` with at least one cross-validation result."""
    return models_present(ev, ev.expected.models_of_class(cls))


def absent(source: str, claim: str, what: str, ev: Evidence | None = None,
           cls: str | None = None) -> Finding:
    """The finding for a claim whose model or results are not in this study. With ``ev`` and
    ``cls``, says whether models of that class were configured but produced no results."""
    configured = ev.expected.models_of_class(cls) if ev is not None and cls else []
    text = (f"configured model(s) {', '.join(configured)} of class {cls} have no results "
            f"(see Missing)" if configured else f"no {what} in this study")
    return Finding(source, claim, text, NOT_MEASURABLE)


def fraction(condition: np.ndarray, mask: np.ndarray, values: np.ndarray) -> tuple[int, int]:
    """``(count where condition, count)`` over the finite ``values`` inside ``mask``."""
    ok = mask & np.isfinite(values)
    return int((condition & ok).sum()), int(ok.sum())


def relative_cells(ev: Evidence, cells: np.ndarray) -> np.ndarray | None:
    """``cells`` (train_space, test_space, resolution) of ``measures.nc`` divided by the test
    space's scale, crossval.nc ``u_mean_square`` (test_space, resolution): the relative MSE
    the thresholds :data:`IN_SPAN_MAX`, :data:`OUT_OF_SPAN_MIN` apply to. ``None`` when
    crossval.nc or its ``u_mean_square`` is absent."""
    cv, m = ev.crossval, ev.measures
    if cv is None or m is None or "u_mean_square" not in cv:
        return None
    scale = cv["u_mean_square"].sel(test_space=m["test_space"].values,
                                    resolution=m["resolution"].values)
    scale = scale.transpose("test_space", "resolution").values.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return cells / np.where(scale > 0, scale, np.nan)[None, :, :]


def finite_min(values) -> float:
    """Smallest finite value, NaN when there is none."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.min()) if v.size else float("nan")


def finite_max(values) -> float:
    """Largest finite value, NaN when there is none."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else float("nan")


def left_out(ev: Evidence, model: str) -> tuple[str, bool]:
    """How many members of ``model`` the finding left out as not converged (``measures.nc``
    ``unconverged`` of ``usable_members``: every measure is computed on the converged ones),
    as text, and whether none is left at the finest N (the finding is then not measurable).
    ``("", False)`` when ``measures.nc`` does not count them (absent or not finite)."""
    m = ev.measures
    if (m is None or "unconverged" not in m or "usable_members" not in m
            or model not in set(map(str, m["model"].values))):
        return "", False
    out = np.asarray(m["unconverged"].sel(model=model).values, dtype=float)
    usable = np.asarray(m["usable_members"].sel(model=model).values, dtype=float)
    if not (np.isfinite(out).all() and np.isfinite(usable).all()):
        return "", False
    res = [int(r) for r in m["resolution"].values]
    N = ev.expected.finest
    kf, nf = (int(out[res.index(N)]), int(usable[res.index(N)])) if N in res else (0, 0)
    text = (f"judged on converged members only: {int(out.sum())} of {int(usable.sum())} left "
            f"out as not converged (N={N}: {kf} of {nf})")
    return text, nf > 0 and kf >= nf


def left_out_of(ev: Evidence, models: Sequence[str]) -> str:
    """:func:`left_out` summed over several models (a finding that compares models), as text
    to append; ``""`` when ``measures.nc`` does not count them."""
    m = ev.measures
    if m is None or "unconverged" not in m or "usable_members" not in m:
        return ""
    names = [x for x in models if x in set(map(str, m["model"].values))]
    out = np.asarray(m["unconverged"].sel(model=names).values, dtype=float)
    usable = np.asarray(m["usable_members"].sel(model=names).values, dtype=float)
    if not names or not (np.isfinite(out).all() and np.isfinite(usable).all()):
        return ""
    return (f"; judged on converged members only: {int(out.sum())} of {int(usable.sum())} "
            f"left out as not converged")
