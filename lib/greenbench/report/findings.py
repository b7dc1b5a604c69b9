"""The paper's claims (paper-notes section 8) and what this study measured for each.

Every claim gets a :class:`~greenbench.report.verdicts.Finding` with a verdict judged from the
analysis files: ``reproduced``, ``partly reproduced``, ``not reproduced`` or ``not measurable``
(with the reason: no model of that class, one noise level, another PDE...). The verdict types
and thresholds live in :mod:`greenbench.report.verdicts` (documented in docs/report.md); the
measured numbers are always printed beside the verdict, so a reader can judge a borderline
case without trusting the thresholds.
"""

from __future__ import annotations

from greenbench.report import claims_operators as ops
from greenbench.report import claims_theory as th
from greenbench.report.verdicts import VERDICTS, Evidence, Finding

__all__ = ["VERDICTS", "Evidence", "Finding", "all_findings"]


def all_findings(ev: Evidence) -> list[Finding]:
    """Every claim of paper-notes section 8, in the order of the notes, judged on ``ev``."""
    checks = (ops.linear_blocks, ops.linear_cross_family, ops.linear_train_mse,
              th.thm32_agreement, th.data_quantity, th.linear_not_greens,
              ops.deep_linear_partial,
              ops.mlp_diagonal, th.fd_bias, th.pinn_trend, ops.deeponet_blocks,
              ops.fno_unstable, ops.pideeponet_floor, th.span_over_complexity,
              th.noise_floor, th.fem_broadest, th.fem_stencil, th.other_pdes,
              th.opposing_behaviours)
    return [check(ev) for check in checks]
