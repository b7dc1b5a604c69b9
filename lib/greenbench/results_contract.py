"""The results contract: every variable and coordinate of every netCDF file greenbench writes.

One table, :data:`KINDS`, says for each kind of results file (``crossval``, ``bounds``, ...)
its variables and coordinates -- dims, dtype kind, CF ``units`` and ``long_name`` -- and its
required attributes. It is used three ways:

* :func:`greenbench.io.write_netcdf` ``(ds, path, kind=...)`` calls :func:`apply_contract`:
  ``units`` / ``long_name`` are attached from the table, and a variable the table does not
  know (or with other dims or dtype) is refused, naming it and where to add it;
* ``python -m greenbench.check results/`` calls :func:`check_file` on every ``.nc`` file:
  required variables present with the right dims, ``units`` and ``long_name`` present,
  provenance attributes present;
* ``tests/test_results_contract.py`` compares the table with the tables of
  docs/results_format.md (variable names and units), so the documentation cannot drift.

CF conventions: the study is nondimensional (unit interval, ``k`` and ``f`` of order one), so
every numeric quantity has ``units: "1"`` (CF's dimensionless unit) except wall-clock times
(``"s"``). String variables (model and space names, checksums) are labels and carry no
``units`` (CF has no unit for text). There is no CF ``standard_name`` for any of these
quantities, so none is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CONTRACT_FILE = "lib/greenbench/results_contract.py"
DOC_FILE = "docs/results_format.md"

KIND_ATTR = "results_kind"
"""File attribute naming the contract kind (written by :func:`apply_contract`): what the
checker reads first, so a file checks under any name."""

PROVENANCE_ATTRS: tuple[str, ...] = (
    "greenbench_version", "git_commit", "config_hash", "created", "data_hash", "pde")
"""Attributes every results file carries (``greenbench.provenance.provenance`` plus the data
hash of the study and the pde)."""

_DTYPE_KINDS = {"float": "f", "int": "iu", "bool": "b", "str": "UOS"}


@dataclass(frozen=True)
class Var:
    """One variable or coordinate: ``dims``, ``dtype`` (``float``, ``int``, ``bool``,
    ``str``), CF ``units`` (``None`` for strings) and ``long_name``. ``required``: the checker
    refuses a file without it (``False``: present only in some files of the kind)."""

    dims: tuple[str, ...]
    dtype: str
    units: str | None
    long_name: str
    required: bool = True

    def __post_init__(self):
        if self.dtype not in _DTYPE_KINDS:
            raise ValueError(f"dtype {self.dtype!r}; allowed: {', '.join(_DTYPE_KINDS)}")
        if (self.units is None) != (self.dtype == "str"):
            raise ValueError(f"{self.long_name!r}: units must be None exactly for strings")
        if self.units == "":
            raise ValueError(f"{self.long_name!r}: units '' is not CF; dimensionless is '1'")


@dataclass(frozen=True)
class FileKind:
    """One kind of results file.

    ``path``: where the workflow writes it (for messages); ``pattern``: a regex matched
    against the end of a file's path (``/``-separated) by the checker; ``doc``: the headings
    of docs/results_format.md whose tables list its variables; ``family``: files sharing a
    path (the training ``metrics.nc`` of operator, fd and pinn models) are told apart by
    :func:`resolve_kind`."""

    name: str
    path: str
    pattern: str
    doc: tuple[str, ...]
    variables: Mapping[str, Var]
    coords: Mapping[str, Var]
    attrs: tuple[str, ...] = ()
    family: str = ""

    def get(self, name: str) -> Var | None:
        return self.variables.get(name) or self.coords.get(name)


# ------------------------------------------------------------------------------ coordinates
_D = "1"
COORDS: dict[str, Var] = {
    "model": Var(("model",), "str", None, "model name (key of the config's models)"),
    "train_space": Var(("train_space",), "str", None, "function space of the training data"),
    "test_space": Var(("test_space",), "str", None, "function space of the test data"),
    "resolution": Var(("resolution",), "int", _D, "grid resolution N (number of intervals)"),
    "seed": Var(("seed",), "int", _D, "training seed (train_seeds)"),
    "q": Var(("q",), "int", _D, "order of accuracy q of the finite-difference stencil"),
    "coefficient": Var(("coefficient",), "str", None,
                       "coefficient of the operator learned by the FD model (k, c, b)"),
    "step": Var(("step",), "int", _D, "optimizer step"),
    "metric": Var(("metric",), "str", None, "scorecard metric"),
    "offset": Var(("offset",), "int", _D, "stencil offset from the diagonal (nodes)"),
    "x": Var(("x",), "float", _D, "interior node x on the unit interval"),
    "s": Var(("s",), "float", _D, "source point s (interior node) on the unit interval"),
    "source": Var(("source",), "float", _D, "node of the unit impulse on the unit interval"),
    "y": Var(("y",), "float", _D, "interior node y on the unit interval (2D operators)"),
    "point": Var(("point",), "int", _D, "index of a source point of the 2D Green's slices"),
    "quantity_model": Var(("quantity_model",), "str", None, "model of the data-quantity study"),
    "sample_size": Var(("sample_size",), "int", _D, "number of training samples"),
    "family": Var(("family",), "str", None, "function-space family (poly, cos, sin)"),
    "category": Var(("category",), "str", None, "category of (train, test) cells"),
    "noise": Var(("noise",), "float", _D,
                 "noise level of the training targets (relative to the RMS of u)"),
    "curve_step": Var(("curve_step",), "int", _D, "optimizer step of the resampled loss curve"),
}


def _coords(*names: str, optional: tuple[str, ...] = ()) -> dict[str, Var]:
    out = {n: COORDS[n] for n in names}
    for n in optional:
        c = COORDS[n]
        out[n] = Var(c.dims, c.dtype, c.units, c.long_name, required=False)
    return out


# ------------------------------------------------------------------------------ variables
M5 = ("model", "train_space", "test_space", "resolution", "seed")
M4 = ("model", "train_space", "resolution", "seed")
TS = ("train_space", "seed")
TTR = ("train_space", "test_space", "resolution")
TTRS = TTR + ("seed",)

_CROSSVAL_PART = {
    "mse": Var(M5, "float", _D, "test mean squared error over all nodes"),
    "rel_l2": Var(M5, "float", _D, "test relative L2 error over all nodes"),
    "train_mse": Var(M4, "float", _D, "training mean squared error"),
    "diverged": Var(M4, "bool", _D, "training diverged or predictions non-finite"),
    "missing": Var(M4, "bool", _D, "trained member or evaluation absent"),
    "model_class": Var(("model",), "str", None, "model class"),
    "u_mean_square": Var(("test_space", "resolution"), "float", _D,
                         "mean square of u over the test split"),
}
_SCORE = ("model", "resolution", "metric")
_N6 = ("noise",) + M5
_N5 = ("noise",) + M4
CROSSVAL = {
    **_CROSSVAL_PART,
    # the noise axis (optional: a results file from before it existed has none)
    "noise_mse": Var(_N6, "float", _D, "test mean squared error at each noise level",
                     required=False),
    "noise_rel_l2": Var(_N6, "float", _D, "test relative L2 error at each noise level",
                        required=False),
    "noise_train_mse": Var(_N5, "float", _D, "training mean squared error at each noise level",
                           required=False),
    "noise_missing": Var(_N5, "bool", _D, "member absent at the noise level", required=False),
    "noise_diverged": Var(_N5, "bool", _D, "member diverged at the noise level",
                          required=False),
    "noise_in_span_mse": Var(("noise", "model", "resolution"), "float", _D,
                             "median test MSE over the in-span cells (the error floor)",
                             required=False),
    "noise_out_of_span_mse": Var(("noise", "model", "resolution"), "float", _D,
                                 "median test MSE over the out-of-span cells", required=False),
    "scorecard": Var(_SCORE, "float", _D, "scorecard value (geometric-mean MSE or fraction)"),
    "scorecard_cells": Var(_SCORE, "int", _D, "cells that entered the scorecard value"),
    "scorecard_missing": Var(_SCORE, "int", _D, "missing cells of the category"),
    "scorecard_diverged": Var(_SCORE, "int", _D, "cells of the category from diverged members"),
    "small_threshold": Var(("model", "resolution"), "float", _D,
                           "relative L2 threshold of a small error"),
    "in_span": Var(("train_space", "test_space"), "bool", _D,
                   "test space inside the training space"),
    "nested": Var(("train_space", "test_space"), "bool", _D,
                  "same family, smaller test order"),
    "cross_family": Var(("train_space", "test_space"), "bool", _D,
                        "different function families"),
}
EVALUATE = {
    **_CROSSVAL_PART,
    "response": Var(M4 + ("x", "source"), "float", _D,
                    "impulse response of the trained model (interior u per unit impulse)"),
}
GREENS = {
    "greens_rel_error": Var(M4, "float", _D, "relative Frobenius error of the extracted G"),
    "inverse_rel_error": Var(M4, "float", _D,
                             "relative Frobenius error of the learned interior inverse"),
    "interior_cond": Var(M4, "float", _D, "1-norm condition number of the learned operator"),
    "stencil": Var(M4 + ("offset",), "float", _D, "middle row of the learned inverse, dx^2/k"),
    "stencil_reference": Var(("resolution", "offset"), "float", _D,
                             "middle row of the data operator's inverse, dx^2/k"),
    "fd_stencil_reference": Var(("offset",), "float", _D, "3-point stencil of -u''"),
    "stencil_deviation": Var(M4, "float", _D,
                             "max deviation of the stencil from the reference, relative"),
    "stencil_tail": Var(M4, "float", _D,
                        "largest stencil entry beyond distance 1, relative to the largest"),
}
GREENS_FIELDS = {
    "G_hat": Var(("model", "train_space", "seed", "x", "s"), "float", _D,
                 "Green's function extracted from the model"),
    "G": Var(("x", "s"), "float", _D, "exact Green's function"),
}
GREENS_FIELDS_2D = {  # 2D operators: slices at a few source points (same path, by content)
    "G_hat_slices": Var(("model", "train_space", "seed", "x", "y", "point"), "float", _D,
                        "extracted 2D Green's function at a few source points"),
    "G_slices": Var(("x", "y", "point"), "float", _D,
                    "exact 2D Green's function at a few source points"),
    "source_s": Var(("point",), "float", _D, "source point s (x coordinate, 2D operators)"),
    "source_t": Var(("point",), "float", _D, "source point t (y coordinate, 2D operators)"),
}
BOUNDS = {
    "predicted_mse": Var(TTR, "float", _D, "Thm 3.2 expected test MSE of the linear model"),
    "predicted_mse_std": Var(TTR, "float", _D, "standard deviation of one test sample's MSE"),
    "measured_mse": Var(TTRS, "float", _D, "measured test MSE of the linear model"),
    "measured_z": Var(TTRS, "float", _D, "measured minus predicted MSE in standard errors"),
    "bound_mse": Var(TTR, "float", _D, "mean square of the Thm 3.2 bound"),
    "consistency_mse": Var(TTR, "float", _D, "data-operator consistency term of the bound"),
    "bound_holds": Var(TTR, "bool", _D, "predicted error within the Thm 3.2 bound"),
    "out_of_span": Var(TTR, "float", _D, "share of test energy outside the training span"),
    "span_rank": Var(("train_space", "resolution"), "int", _D,
                     "numerical rank of the training data"),
    "u_mean_square": Var(("test_space", "resolution"), "float", _D,
                         "expected mean square of u of the test space"),
    "w_star_rel_error": Var(("train_space", "resolution", "seed"), "float", _D,
                            "relative Frobenius distance of the trained W to W*"),
    # Thm 3.2 with noise (optional: a results file from before the noise axis has none)
    "noise_predicted_mse": Var(("noise",) + TTR, "float", _D,
                               "Thm 3.2 test MSE of W* fitted to the noisy training targets",
                               required=False),
    "noise_predicted_mse_std": Var(("noise",) + TTR, "float", _D,
                                   "standard deviation of one test sample's MSE (noisy W*)",
                                   required=False),
    "noise_expected_excess_mse": Var(("noise",) + TTR, "float", _D,
                                     "expected extra test MSE from the noise (over its draws)",
                                     required=False),
    "noise_sigma": Var(("noise", "train_space", "resolution"), "float", _D,
                       "absolute noise standard deviation of the training targets",
                       required=False),
    "noise_measured_mse": Var(("noise",) + TTRS, "float", _D,
                              "measured test MSE of the linear model at each noise level",
                              required=False),
    "noise_measured_z": Var(("noise",) + TTRS, "float", _D,
                            "measured minus noise_predicted_mse in standard errors",
                            required=False),
}
_QTR, _Q2 = ("q", "train_space", "resolution"), ("q", "train_space")
CONVERGENCE = {
    "fd_w": Var(_QTR + ("seed",), "float", _D, "learned FD coefficient w"),
    "fd_rel_error": Var(_QTR + ("seed",), "float", _D, "relative error of the learned w"),
    "fd_predicted_rel_error": Var(_QTR, "float", _D,
                                  "relative error of the least-squares optimum w*"),
    "fd_leading_term": Var(_QTR, "float", _D, "Thm 3.1 leading error term"),
    "fd_rate": Var(_Q2, "float", _D, "fitted convergence rate of the learned w"),
    "fd_rate_ci_low": Var(_Q2, "float", _D, "lower confidence limit of fd_rate"),
    "fd_rate_ci_high": Var(_Q2, "float", _D, "upper confidence limit of fd_rate"),
    "fd_rate_dof": Var(_Q2, "int", _D, "degrees of freedom of the fd_rate fit"),
    "fd_rate_points": Var(_Q2, "int", _D, "points used in the fd_rate fit"),
    "fd_exact": Var(_Q2, "bool", _D, "exact cell: error at round-off, not fitted"),
    "fd_predicted_rate": Var(_Q2, "float", _D, "fitted convergence rate of w*"),
    "fd_predicted_rate_ci_low": Var(_Q2, "float", _D,
                                    "lower confidence limit of fd_predicted_rate"),
    "fd_predicted_rate_ci_high": Var(_Q2, "float", _D,
                                     "upper confidence limit of fd_predicted_rate"),
    "fd_predicted_exact": Var(_Q2, "bool", _D, "exact cell of the w* fit"),
    "pinn_rel_error": Var(("train_space", "resolution", "seed"), "float", _D,
                          "relative error of the PINN's learned k"),
    "dx": Var(("resolution",), "float", _D, "grid spacing 1/N"),
    "fd_roundoff_floor": Var(("q", "resolution"), "float", _D,
                             "round-off floor of the rate fits"),
    "fd_p_trend": Var(("q", "family"), "float", _D,
                      "Spearman correlation of p with the FD error at the finest N"),
    "pinn_p_trend": Var(("family",), "float", _D,
                        "Spearman correlation of p with the PINN error at the finest N"),
    "fd_coef_value": Var(("coefficient",), "float", _D,
                         "true value of each operator coefficient", required=False),
    "fd_coef_rel_error": Var(("coefficient",) + _QTR + ("seed",), "float", _D,
                             "relative error of each learned coefficient", required=False),
    "fd_coef_predicted_rel_error": Var(("coefficient",) + _QTR, "float", _D,
                                       "relative error of each least-squares coefficient",
                                       required=False),
    "fd_coef_leading_term": Var(("coefficient",) + _QTR, "float", _D,
                                "Thm 3.1 leading bias term of each coefficient",
                                required=False),
    "fd_coef_rate": Var(("coefficient",) + _Q2, "float", _D,
                        "fitted convergence rate of each learned coefficient", required=False),
    "fd_coef_predicted_rate": Var(("coefficient",) + _Q2, "float", _D,
                                  "fitted convergence rate of each least-squares coefficient",
                                  required=False),
    "fd_coef_exact": Var(("coefficient",) + _Q2, "bool", _D,
                         "exact cell of the coefficient's fit (round-off, not fitted)",
                         required=False),
}
_MR = ("model", "resolution")
MEASURES = {
    "cell_mse": Var(("model", "train_space", "test_space", "resolution"), "float", _D,
                    "geometric mean over usable seeds of the test MSE"),
    "category_mask": Var(("category", "train_space", "test_space"), "bool", _D,
                         "cell belongs to the category"),
    "category_mse": Var(_MR + ("category",), "float", _D,
                        "geometric mean of cell_mse over the category"),
    "nested_ratio": Var(_MR + ("family",), "float", _D,
                        "nested over diagonal geometric-mean MSE within a family"),
    "row_worst_mse": Var(("model", "train_space", "resolution"), "float", _D,
                         "largest cell_mse of the training space's row"),
    "machine_precision_count": Var(("model", "train_space", "resolution"), "int", _D,
                                   "test spaces with cell_mse below machine_precision_mse"),
    "coverage_trend": Var(_MR + ("family",), "float", _D,
                          "Spearman correlation of p with machine_precision_count"),
    "train_mse_gmean": Var(_MR, "float", _D, "geometric mean of the training MSE"),
    "train_mse_gmean_all": Var(("model",), "float", _D,
                               "geometric mean of the training MSE over every N"),
    "train_mse_max": Var(("model",), "float", _D, "largest finite training MSE"),
    "diverged_fraction": Var(("model",), "float", _D, "fraction of diverged members"),
    "train_mse_spread": Var((), "float", _D,
                            "decades between models' training MSE at the finest N"),
    "unconverged": Var(_MR, "int", _D, "usable members left out as not converged"),
    "usable_members": Var(_MR, "int", _D, "members neither missing nor diverged"),
    "scorecard_seed": Var(_MR + ("metric", "seed"), "float", _D,
                          "scorecard of each training seed alone"),
    "out_of_span_spread": Var((), "float", _D,
                              "decades between models' out-of-span MSE at the finest N"),
}
TRAINING = {
    "converged": Var(M4, "bool", _D, "member converged (docs/decisions.md)"),
    "stopped": Var(M4, "bool", _D, "stopped on a plateau of the training objective"),
    "diverged": Var(M4, "bool", _D, "training objective became non-finite"),
    "trained": Var(M4, "bool", _D, "member has training metrics"),
    "final_step": Var(M4, "int", _D, "optimizer steps completed"),
    "final_loss": Var(M4, "float", _D, "training objective at the end of training"),
    "best_loss": Var(M4, "float", _D, "lowest training objective seen"),
    "tail_decrease": Var(M4, "float", _D,
                         "relative decrease of the running-minimum objective over the tail"),
    "loss_curve": Var(M4 + ("curve_step",), "float", _D,
                      "training objective resampled on curve_step"),
    "exact_fit": Var(("model",), "bool", _D, "closed-form fit (optimizer exact)"),
    "model_class": Var(("model",), "str", None, "model class"),
}
_QM = ("quantity_model", "sample_size")
QUANTITY = {
    "quantity_mse": Var(_QM + ("test_space", "seed"), "float", _D,
                        "test MSE of the data-quantity study"),
    "quantity_rel_l2": Var(_QM + ("test_space", "seed"), "float", _D,
                           "test relative L2 error of the data-quantity study"),
    "quantity_missing": Var(_QM + ("seed",), "bool", _D, "trained member absent"),
    "quantity_diverged": Var(_QM + ("seed",), "bool", _D, "training diverged"),
    "quantity_in_span": Var(("test_space",), "bool", _D,
                            "test space inside the span of the training space"),
    "quantity_out_of_span_mse": Var(_QM, "float", _D,
                                    "geometric-mean test MSE over out-of-span test spaces"),
    "quantity_spanning_size": Var((), "int", _D,
                                  "first sample size that can span the training space"),
}
METRICS = {
    "train_mse": Var(TS, "float", _D, "mean squared error of the fit on the training split"),
    "diverged": Var(TS, "bool", _D, "training objective became non-finite"),
    "wall_time": Var(TS, "float", "s", "wall time of the ensemble the member was trained in"),
    "final_step": Var(TS, "int", _D, "optimizer steps completed"),
    "loss": Var(TS + ("step",), "float", _D, "training objective at the start of each step"),
    "final_loss": Var(TS, "float", _D, "training objective at the end of training"),
    "best_loss": Var(TS, "float", _D, "lowest training objective seen"),
    "stopped": Var(TS, "bool", _D, "stopped on a plateau of the training objective"),
    "f_scale": Var(TS, "float", _D, "RMS of f over the training split (normalization)"),
    "u_scale": Var(TS, "float", _D, "RMS of u over the training split (normalization)"),
    "data_checksum": Var(("train_space",), "str", None,
                         "content checksum of the training dataset"),
}
METRICS_QUANTITY = {
    name: var if name == "data_checksum" else Var(("sample_size", *var.dims), var.dtype,
                                                   var.units, var.long_name)
    for name, var in METRICS.items()}
_QTS = ("q", "train_space", "seed")
METRICS_FD = {
    **METRICS,
    "w": Var(_QTS, "float", _D, "learned FD coefficient w"),
    "w_lstsq": Var(_QTS, "float", _D, "least-squares FD coefficient w"),
    "rel_error": Var(_QTS, "float", _D, "relative error of the learned w"),
    "rel_error_lstsq": Var(_QTS, "float", _D, "relative error of the least-squares w"),
}
METRICS_PINN = {
    **METRICS,
    "k_hat": Var(TS, "float", _D, "learned coefficient k of the PINN"),
    "rel_error": Var(TS, "float", _D, "relative error of the learned k"),
}
# The operators' further coefficients (c, b): the same variables with the suffix _{c}, present
# only in files of an operator that has the coefficient.
_MORE_COEFFICIENTS = ("c", "b")
for _c in _MORE_COEFFICIENTS:
    METRICS_FD.update({
        f"w_{_c}": Var(_QTS, "float", _D, f"learned FD weight of coefficient {_c}",
                       required=False),
        f"w_lstsq_{_c}": Var(_QTS, "float", _D, f"least-squares FD weight of coefficient {_c}",
                             required=False),
        f"rel_error_{_c}": Var(_QTS, "float", _D, f"relative error of the learned w_{_c}",
                               required=False),
        f"rel_error_lstsq_{_c}": Var(_QTS, "float", _D,
                                     f"relative error of the least-squares w_{_c}",
                                     required=False),
    })
    METRICS_PINN.update({
        f"{_c}_hat": Var(TS, "float", _D, f"learned coefficient {_c} of the PINN",
                         required=False),
        f"rel_error_{_c}": Var(TS, "float", _D, f"relative error of the learned {_c}",
                               required=False),
    })

_METRICS_ATTRS = ("model", "class", "kind", "N", "k", "optimizer", "dtype", "params", "train",
                  "entry", "noise")
_QUANTITY_ATTRS = ("quantity_train_space", "quantity_resolution", "quantity_dropped_sizes")
_TRAIN = r"(^|/)train/[^/]+/N[0-9]+/noise[^/]+/metrics\.nc$"
_METRICS_DOC = "train/{model}/N{res}/noise{noise}/metrics.nc: every model"

KINDS: dict[str, FileKind] = {k.name: k for k in (
    FileKind("metrics", "results/{pde}/train/{model}/N{res}/noise{noise}/metrics.nc", _TRAIN,
             (_METRICS_DOC,), METRICS,
             _coords("train_space", "seed", "step"), _METRICS_ATTRS, family="metrics"),
    FileKind("metrics_quantity", "results/{pde}/train_quantity/{model}/N{res}/metrics.nc",
             r"(^|/)train_quantity/[^/]+/N[0-9]+/metrics\.nc$",
             ("train_quantity/{model}/N{res}/metrics.nc",), METRICS_QUANTITY,
             _coords("sample_size", "train_space", "seed", "step"), _METRICS_ATTRS,
             family="metrics"),
    FileKind("metrics_fd", "results/{pde}/train/{fd model}/N{res}/noise{noise}/metrics.nc",
             _TRAIN, (_METRICS_DOC, "train/{model}/N{res}/noise{noise}/metrics.nc: fd"),
             METRICS_FD,
             _coords("train_space", "seed", "step", "q"), _METRICS_ATTRS, family="metrics"),
    FileKind("metrics_pinn", "results/{pde}/train/{pinn model}/N{res}/noise{noise}/metrics.nc",
             _TRAIN, (_METRICS_DOC, "train/{model}/N{res}/noise{noise}/metrics.nc: pinn"),
             METRICS_PINN,
             _coords("train_space", "seed", "step"), _METRICS_ATTRS, family="metrics"),
    FileKind("evaluate", "results/{pde}/evaluate/noise{noise}/{model}/N{res}.nc",
             r"(^|/)evaluate/noise[^/]+/[^/]+/N[0-9]+\.nc$",
             ("evaluate/noise{noise}/{model}/N{res}.nc (intermediate)",),
             EVALUATE, _coords("model", "train_space", "test_space", "resolution", "seed",
                               optional=("x", "source")),  # 2D: flattened nodes, no values
             ("impulse_amplitude", "n_test", "noise")),
    FileKind("crossval", "results/{pde}/crossval.nc", r"(^|/)crossval\.nc$", ("crossval.nc",),
             CROSSVAL, _coords("model", "train_space", "test_space", "resolution", "seed",
                               "metric", optional=("noise",)),
             ("k", "scorecard_factor", "scorecard_floor")),
    FileKind("greens", "results/{pde}/greens.nc", r"(^|/)greens\.nc$", ("greens.nc",), GREENS,
             _coords("model", "train_space", "resolution", "seed", "offset"),
             ("k", "fem_mass", "impulse_amplitude", "max_cond")),
    FileKind("greens_fields", "results/{pde}/greens/N{res}.nc", r"(^|/)greens/N[0-9]+\.nc$",
             ("greens/N{res}.nc",), GREENS_FIELDS,
             _coords("model", "train_space", "seed", "x", "s"), ("N", "k", "impulse_amplitude"),
             family="greens_fields"),
    FileKind("greens_fields_2d", "results/{pde}/greens/N{res}.nc", r"(^|/)greens/N[0-9]+\.nc$",
             ("greens/N{res}.nc: 2D operators",), GREENS_FIELDS_2D,
             _coords("model", "train_space", "seed", "x", "y", "point"),
             ("N", "k", "impulse_amplitude"), family="greens_fields"),
    FileKind("bounds", "results/{pde}/bounds.nc", r"(^|/)bounds\.nc$", ("bounds.nc",), BOUNDS,
             _coords("train_space", "test_space", "resolution", "seed", optional=("noise",)),
             ("k", "linear_model", "n_test", "rank_tol", "init", "fem_mass")),
    FileKind("quantity", "results/{pde}/quantity.nc", r"(^|/)quantity\.nc$", ("quantity.nc",),
             QUANTITY, _coords("quantity_model", "sample_size", "test_space", "seed"),
             _QUANTITY_ATTRS),
    FileKind("measures", "results/{pde}/measures.nc", r"(^|/)measures\.nc$", ("measures.nc",),
             MEASURES, _coords("model", "train_space", "test_space", "resolution", "category",
                               "family", "metric", "seed"), ("machine_precision_mse", "floor")),
    FileKind("training", "results/{pde}/training.nc", r"(^|/)training\.nc$", ("training.nc",),
             TRAINING, _coords("model", "train_space", "resolution", "seed", "curve_step"),
             ("converge_tail", "converge_rel_tol", "converge_floor")),
    FileKind("convergence", "results/{pde}/convergence.nc", r"(^|/)convergence\.nc$",
             ("convergence.nc",), CONVERGENCE,
             _coords("q", "train_space", "resolution", "seed", "family",
                     optional=("coefficient",)),
             ("k", "confidence_level", "fd_exact_tol", "fd_model", "pinn_model")),
)}
"""Every kind of results file, by name (the ``kind=`` of :func:`greenbench.io.write_netcdf`).
A new variable: add a :class:`Var` to the kind's table above (``CROSSVAL``, ``GREENS``, ...)
and a row to the kind's table in docs/results_format.md. A new file: add a :class:`FileKind`
here and a section there."""

FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(k.family or k.name for k in KINDS.values()))
"""What a writer passes as ``kind=``: the kind names, with ``metrics`` for every training file."""


class ResultsContractError(ValueError):
    """A results file (or a dataset about to be written) breaks the results contract."""

    def __init__(self, path: str | os.PathLike, problems: list[str]):
        self.path, self.problems = str(path), list(problems)
        super().__init__(f"{path}: " + "; ".join(problems))


def resolve_kind(kind: str, ds) -> FileKind:
    """The :class:`FileKind` of ``kind`` (a name of :data:`FAMILIES` or :data:`KINDS`) for
    ``ds``: a training ``metrics`` file is ``metrics_fd`` with a ``q`` dimension,
    ``metrics_pinn`` with ``k_hat``, ``metrics_quantity`` with a ``sample_size`` dimension
    (the data-quantity study's training), else ``metrics`` (operator models); a
    ``greens_fields`` file is ``greens_fields_2d`` with ``G_hat_slices`` (2D operators)."""
    if kind == "metrics":
        kind = ("metrics_fd" if "q" in ds.dims else "metrics_pinn" if "k_hat" in ds
                else "metrics_quantity" if "sample_size" in ds.dims else kind)
    if kind == "greens_fields" and "G_hat_slices" in ds:  # a 2D operator's slices
        kind = "greens_fields_2d"
    if kind not in KINDS:
        raise ValueError(f"unknown results kind {kind!r}; known: {', '.join(FAMILIES)} "
                         f"(add a FileKind to KINDS in {CONTRACT_FILE})")
    return KINDS[kind]


def kind_from_path(path: str | os.PathLike) -> str | None:
    """The kind family whose path pattern matches ``path`` (the workflow's path grammar),
    or ``None``."""
    text = Path(path).as_posix()
    for k in KINDS.values():
        if re.search(k.pattern, text):
            return k.family or k.name
    return None


def _where(kind: FileKind, name: str) -> str:
    table = kind.name.upper()
    return (f"add Var(dims, dtype, units, long_name) for {name!r} to {table} in "
            f"{CONTRACT_FILE} and a row to the '## {kind.doc[-1]}' table of {DOC_FILE}")


def _dtype_ok(values: np.ndarray, dtype: str) -> bool:
    return np.asarray(values).dtype.kind in _DTYPE_KINDS[dtype]


def _shape_problems(ds, kind: FileKind, *, unknown_hint: bool) -> list[str]:
    """Unknown variables and known ones with other dims or dtype."""
    problems = []
    for name, arr in list(ds.coords.items()) + list(ds.data_vars.items()):
        spec = kind.get(str(name))
        what = "coordinate" if name in ds.coords else "variable"
        if spec is None:
            msg = (f"{what} {name!r} {tuple(arr.dims)} is not in the results contract "
                   f"(kind {kind.name!r})")
            problems.append(msg + (f": {_where(kind, str(name))}" if unknown_hint else ""))
            continue
        if tuple(arr.dims) != spec.dims:
            problems.append(f"{what} {name!r} has dims {tuple(arr.dims)}, the contract says "
                            f"{spec.dims} ({CONTRACT_FILE})")
        elif not _dtype_ok(arr.values, spec.dtype):
            problems.append(f"{what} {name!r} has dtype {arr.dtype}, the contract says "
                            f"{spec.dtype} ({CONTRACT_FILE})")
    return problems


def _completeness_problems(ds, kind: FileKind) -> list[str]:
    problems = []
    for name, spec in {**kind.coords, **kind.variables}.items():
        if spec.required and name not in ds.variables:
            what = "coordinate" if name in kind.coords else "variable"
            problems.append(f"{what} {name!r} {spec.dims} missing")
    absent = [a for a in (*PROVENANCE_ATTRS, *kind.attrs) if a not in ds.attrs]
    if absent:
        problems.append(f"attribute(s) {', '.join(absent)} missing")
    return problems


def apply_contract(ds, kind: str, path: str | os.PathLike = "<dataset>"):
    """A copy of ``ds`` with ``units`` and ``long_name`` on every variable and coordinate
    (from :data:`KINDS`; a string variable gets no ``units``) and the attribute
    ``results_kind``.

    Raises :class:`ResultsContractError` naming ``path`` and each variable the contract does
    not know (with where to add it), each one with other dims or dtype than the contract's,
    and each required variable or attribute that is absent."""
    spec = resolve_kind(kind, ds)
    problems = _shape_problems(ds, spec, unknown_hint=True)
    problems += _completeness_problems(ds, spec)
    if problems:
        raise ResultsContractError(path, problems)
    out = ds.copy()
    for name in list(out.variables):
        var = spec.get(str(name))
        attrs = {k: v for k, v in out[name].attrs.items() if k != "units"}
        if var.units is not None:
            attrs["units"] = var.units
        attrs["long_name"] = var.long_name
        out[name].attrs = attrs
    out.attrs[KIND_ATTR] = spec.family or spec.name
    return out


def check_file(path: str | os.PathLike) -> str:
    """Check a results file against the contract; return its kind.

    The kind is the file's ``results_kind`` attribute, else the one whose path pattern the
    path matches. Checks: every required variable and coordinate present, no unknown one,
    dims and dtype as in the contract, ``units`` (equal to the contract's) and ``long_name``
    on each, and the attributes :data:`PROVENANCE_ATTRS` plus the kind's. Raises
    :class:`ResultsContractError` naming the file and every problem."""
    import xarray as xr

    path = Path(path)
    if not path.exists():
        raise ResultsContractError(path, ["file does not exist"])
    try:
        with xr.open_dataset(path, engine="h5netcdf") as opened:
            ds = opened.load()
    except Exception as exc:  # h5netcdf/h5py raise OSError, ValueError, KeyError on damage
        raise ResultsContractError(path, [f"not a readable netCDF file ({exc})"]) from exc
    family = ds.attrs.get(KIND_ATTR) or kind_from_path(path)
    if not family:
        raise ResultsContractError(path, [
            f"unknown kind of results file: no attribute {KIND_ATTR} and the path matches "
            f"none of {', '.join(k.path for k in KINDS.values())}"])
    try:
        spec = resolve_kind(str(family), ds)
    except ValueError as exc:
        raise ResultsContractError(path, [str(exc)]) from exc
    problems = _completeness_problems(ds, spec) + _shape_problems(ds, spec, unknown_hint=False)
    for name in ds.variables:
        var, attrs = spec.get(str(name)), ds[name].attrs
        if var is None:
            continue
        if not attrs.get("long_name"):
            problems.append(f"variable {name!r} has no long_name")
        if var.units is not None and attrs.get("units") != var.units:
            problems.append(f"variable {name!r} has units {attrs.get('units')!r}, the contract "
                            f"says {var.units!r}" if "units" in attrs
                            else f"variable {name!r} has no units (contract: {var.units!r})")
    if problems:
        raise ResultsContractError(path, [f"(results contract {spec.name!r}) {problems[0]}",
                                          *problems[1:]])
    return spec.name
