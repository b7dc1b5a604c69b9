"""What a study should have produced, for the report: :class:`greenbench.study.Study`.

Kept as the report's names for the one study object and the one results check: ``Expected``
is :class:`~greenbench.study.Study` (the report compares the results files with it: a file
with values the study did not ask for is refused by :meth:`~greenbench.study.Study.
check_results`; what the study asked for but the files lack is listed as missing by
:mod:`greenbench.report.missing`), and ``ResultsMismatchError`` is
:class:`greenbench.analysis.checks.ResultsMismatch`.
"""

from greenbench.analysis.checks import ResultsMismatch as ResultsMismatchError
from greenbench.study import Study as Expected

__all__ = ["Expected", "ResultsMismatchError"]
