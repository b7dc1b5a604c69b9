"""The HTML report: what was run, the scorecard, the findings with verdicts, every figure with
its caption, and what is missing. :func:`build_report` is the entry point of the report rule."""

from greenbench.report.build import RESULT_KEYS, ReportSummary, build_report
from greenbench.report.expected import Expected, ResultsMismatchError
from greenbench.report.findings import VERDICTS, Evidence, Finding, all_findings
from greenbench.report.missing import Gap, find_gaps

__all__ = [
    "RESULT_KEYS", "VERDICTS", "Evidence", "Expected", "Finding", "Gap", "ReportSummary",
    "ResultsMismatchError", "all_findings", "build_report", "find_gaps",
]
