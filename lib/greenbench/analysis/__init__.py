"""Analysis of trained models: cross-validation, scorecard, rate fits, Green's functions.

Pure modules (arrays in, arrays / xarray out):

* :mod:`~greenbench.analysis.crossval` -- every trained model on every test split;
* :mod:`~greenbench.analysis.scorecard` -- per-model summary of a cross-validation;
* :mod:`~greenbench.analysis.bounds` -- Thm 3.2 predicted vs measured (``bounds.nc``);
* :mod:`~greenbench.analysis.convergence`, :mod:`~greenbench.analysis.rates` -- Thm 3.1 and
  log-log rate fits with t-intervals (``convergence.nc``);
* :mod:`~greenbench.analysis.quantity` -- error against the number of training samples;
* :mod:`~greenbench.analysis.greens` -- impulse-response Green's functions, inverse stencils.

:mod:`~greenbench.analysis.stage` wires them to the files of a study (reading through
:mod:`greenbench.io` and :mod:`greenbench.train`) for the Snakemake scripts;
:mod:`~greenbench.analysis.checks` refuses results files that belong to another config.
The file layouts are in docs/results_format.md.
"""

from greenbench.analysis.crossval import TestBank, crossval_part, evaluate
from greenbench.analysis.greens import extract_greens, greens_rel_error, inverse_and_stencil
from greenbench.analysis.rates import SlopeFit, fit_loglog, fit_rates
from greenbench.analysis.scorecard import METRICS, cell_masks

__all__ = [
    "METRICS", "SlopeFit", "TestBank", "cell_masks", "crossval_part", "evaluate",
    "extract_greens", "fit_loglog", "fit_rates", "greens_rel_error", "inverse_and_stencil",
]
