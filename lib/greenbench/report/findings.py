"""The paper's claims (paper-notes section 8) and what this study measured for each.

Every claim gets a :class:`Finding` with a verdict computed from the results: ``reproduced``,
``partly reproduced``, ``not reproduced`` or ``not measurable`` (with the reason: no model of
that class, one noise level, another PDE...). The thresholds are module constants and are
documented in docs/report.md; the measured numbers are always printed beside the verdict, so a
reader can judge a borderline case without trusting the thresholds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import xarray as xr

from greenbench.report.expected import Expected
from greenbench.report.measures import cell_mse, masks, models_present

REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_MEASURABLE = (
    "reproduced", "partly reproduced", "not reproduced", "not measurable")
VERDICTS = (REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_MEASURABLE)

IN_SPAN_MAX = 1e-12       # linear model: an in-span cell is "at machine precision" below this
OUT_OF_SPAN_MIN = 1e-8    # ... and an out-of-span cell "fails" above this
GENERALIZES_RATIO = 10.0  # nested/diagonal MSE ratio up to which a model generalizes in a family
SEPARATION = 100.0        # out-of-span / in-span MSE ratio that makes a "block" structure
FIT_MARGIN = 100.0        # diagonal MSE must be this far below out-of-span to judge a model
FULL, HALF = 0.95, 0.5    # fraction of agreeing cells for reproduced / partly reproduced


@dataclass(frozen=True)
class Evidence:
    """The results a report is built from; ``None`` for a missing file."""

    expected: Expected
    crossval: xr.Dataset | None = None
    bounds: xr.Dataset | None = None
    convergence: xr.Dataset | None = None
    greens: xr.Dataset | None = None
    fields: xr.Dataset | None = None   # greens/N{finest}.nc


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


def of_class(ev: Evidence, cls: str) -> list[str]:
    """Models of class ``cls`` with at least one cross-validation result."""
    return models_present(ev.crossval, ev.expected.models_of_class(cls))


def absent(source: str, claim: str, what: str, ev: Evidence | None = None,
           cls: str | None = None) -> Finding:
    """The finding for a claim whose model or results are not in this study. With ``ev`` and
    ``cls``, says whether models of that class were configured but produced no results."""
    configured = ev.expected.models_of_class(cls) if ev is not None and cls else []
    text = (f"configured model(s) {', '.join(configured)} of class {cls} have no results "
            f"(see Missing)" if configured else f"no {what} in this study")
    return Finding(source, claim, text, NOT_MEASURABLE)


def per_resolution(ev: Evidence, model: str) -> Iterator[tuple[int, np.ndarray, list[str],
                                                              dict[str, np.ndarray]]]:
    """``(N, cell MSE (n, n), spaces, masks)`` for every resolution in the cross-validation."""
    for N in (int(r) for r in ev.crossval["resolution"].values):
        mse, spaces = cell_mse(ev.crossval, model, N, ev.expected.spaces)
        yield N, mse, spaces, masks(spaces)


def all_findings(ev: Evidence) -> list[Finding]:
    """Every claim of paper-notes section 8, in the order of the notes, judged on ``ev``."""
    from greenbench.report import claims_operators as ops
    from greenbench.report import claims_theory as th

    checks = (ops.linear_blocks, ops.linear_cross_family, ops.linear_train_mse,
              th.thm32_agreement, th.data_quantity, th.linear_not_greens,
              ops.deep_linear_partial,
              ops.mlp_diagonal, th.fd_bias, th.pinn_trend, ops.deeponet_blocks,
              ops.fno_unstable, ops.pideeponet_floor, th.span_over_complexity,
              th.noise_floor, th.fem_broadest, th.fem_stencil, th.other_pdes,
              th.opposing_behaviours)
    return [check(ev) for check in checks]
