"""Budget robustness in the report: is each neural-model finding the same at both budgets?

A study with ``budget_check`` (:mod:`greenbench.budget`) trains each iterative neural model a
second time as ``{model}_x{factor}``. The report judges the findings twice, on two views of the
one study (:func:`budget_view`): at 1x, where the variants are hidden (the findings section
shows this view, so the findings of a study are the same with and without the check), and at
the factor, where each model is replaced, in its place, by its variant; everything else (the
files, the thresholds, the claim functions) is shared. :func:`budget_rows` sets them side by
side: per pair, the finding of its class (when the base is the model that finding reads, the
first of its class), any other finding that reads the varied models (its measured text differs
between the views), and the median in-distribution relative L2 error at the finest N
(``crossval.nc`` ``rel_l2`` on the diagonal, over training spaces and seeds).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from greenbench.report import claims_operators as ops
from greenbench.report.expected import Expected
from greenbench.report.verdicts import Evidence, Finding

CLASS_FINDINGS: dict[str, Callable[[Evidence], Finding]] = {
    "deep_linear": ops.deep_linear_partial, "mlp": ops.mlp_diagonal,
    "deeponet": ops.deeponet_blocks, "fno": ops.fno_unstable,
    "pideeponet": ops.pideeponet_floor}
"""The finding about each neural class (paper-notes 8.1), judged on its first model."""

HEADER: tuple[str, ...] = ("model", "trained longer as", "finding", "at 1x",
                           "at the longer budget", "same")
"""Columns of the report's budget table."""


@dataclass(frozen=True)
class BudgetRow:
    """One line of the budget table: a finding (or the in-distribution error) of ``model`` at
    its budget and of ``variant`` at ``factor`` times it."""

    model: str
    variant: str
    factor: int
    finding: str
    base: str
    longer: str
    same: str

    def cells(self) -> tuple[str, ...]:
        return (self.model, f"{self.variant} ({self.factor}x)", self.finding, self.base,
                self.longer, self.same)


def budget_view(expected: Expected, factor: int | None = None) -> Expected:
    """The study with the ``budget_check`` variants hidden (``factor`` None: the 1x view), or
    with each model that has a variant at ``factor`` replaced by it, in its place."""
    pairs = expected.budget_pairs
    swap = {base: v for v, (base, f) in pairs.items() if f == factor}
    names = [swap.get(m, m) for m in expected.models if m not in pairs]
    return dataclasses.replace(expected, models={m: expected.models[m] for m in names},
                               entries={m: expected.entries[m] for m in names})


def _view(ev: Evidence, expected: Expected) -> Evidence:
    return dataclasses.replace(ev, expected=expected)


def in_distribution(ev: Evidence, model: str) -> float:
    """Median in-distribution relative L2 error of ``model`` at the finest N: ``crossval.nc``
    ``rel_l2`` on the diagonal (train space = test space), over training spaces and seeds,
    finite values only (NaN when there are none)."""
    cv = ev.crossval
    if cv is None or "rel_l2" not in cv or model not in set(map(str, cv["model"].values)):
        return float("nan")
    N = ev.expected.finest
    if N not in set(int(r) for r in cv["resolution"].values):
        return float("nan")
    r = cv["rel_l2"].sel(model=model, resolution=N)
    values = [np.asarray(r.sel(train_space=s, test_space=s).values, dtype=float).ravel()
              for s in map(str, cv["train_space"].values)
              if s in set(map(str, cv["test_space"].values))]
    v = np.concatenate(values) if values else np.array([])
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


def _same(a: str, b: str) -> str:
    return "yes" if a == b else "no"


def budget_rows(ev: Evidence, findings: Callable[[Evidence], Sequence[Finding]]
                ) -> list[BudgetRow]:
    """The budget table of a study with ``budget_check`` variants ([] without): per (model,
    variant) pair in config order, its class's finding at both budgets, every other finding
    of ``findings`` that reads the varied models, and the median in-distribution rel L2."""
    pairs = ev.expected.budget_pairs
    if not pairs:
        return []
    rows: list[BudgetRow] = []
    base_ev = _view(ev, budget_view(ev.expected))
    class_sources = {check(base_ev).source for check in CLASS_FINDINGS.values()}
    by_factor = sorted({f for _, f in pairs.values()})
    for factor in by_factor:
        long_ev = _view(ev, budget_view(ev.expected, factor))
        for variant, (base, f) in pairs.items():
            if f != factor:
                continue
            cls = ev.expected.models[base]
            check = CLASS_FINDINGS.get(cls)
            if check is not None and ev.expected.models_of_class(cls)[:1] == [base]:
                a, b = check(base_ev), check(long_ev)
                rows.append(BudgetRow(base, variant, factor, f"{a.source}: {a.claim}",
                                      f"{a.verdict} ({a.measured})",
                                      f"{b.verdict} ({b.measured})", _same(a.verdict, b.verdict)))
            e1, e2 = in_distribution(ev, base), in_distribution(ev, variant)
            ratio = f" ({e2 / e1:.2g}x the 1x error)" if e1 > 0 and np.isfinite(e2) else ""
            rows.append(BudgetRow(base, variant, factor,
                                  f"median in-distribution rel L2 at N={ev.expected.finest}",
                                  f"{e1:.2e}", f"{e2:.2e}{ratio}", "-"))
        varied = ", ".join(v for v, (_, f) in pairs.items() if f == factor)
        for a, b in zip(findings(base_ev), findings(long_ev), strict=True):
            if a.measured == b.measured or a.source in class_sources:
                continue
            rows.append(BudgetRow("all", varied, factor, f"{a.source}: {a.claim}",
                                  f"{a.verdict} ({a.measured})", f"{b.verdict} ({b.measured})",
                                  _same(a.verdict, b.verdict)))
    return rows

