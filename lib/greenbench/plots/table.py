"""The scorecard as a table: a pandas frame (for the HTML report) and a figure.

The scorecard itself is computed by :mod:`greenbench.analysis` and stored beside the
cross-validation (``scorecard`` over ``(model, resolution, metric)``, with ``scorecard_missing``
and ``scorecard_diverged`` counts; docs/results_format.md). Nothing is computed here beyond
selecting and formatting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from greenbench.plots._common import new_figure, placeholder_figure

FRACTION_METRICS: tuple[str, ...] = ("span_consistency", "span_agreement")
"""Metrics that are fractions in [0, 1] (formatted as percentages); others are MSE values."""

METRIC_LABELS: dict[str, str] = {
    "in_distribution": "in-distribution MSE",
    "nested": "nested MSE",
    "out_of_span": "out-of-span MSE",
    "cross_family": "cross-family MSE",
    "span_consistency": "span consistency",
    "span_agreement": "span consistency",
}


def scorecard_frame(ds: xr.Dataset, resolution: int | None = None,
                    models: Sequence[str] | None = None) -> pd.DataFrame:
    """The scorecard as a frame: one row per (model, resolution), one column per metric, plus
    ``missing cells`` and ``diverged cells`` when the file counts them.

    Parameters
    ----------
    ds : xarray.Dataset
        Holds ``scorecard`` (model, resolution, metric) (``crossval.nc`` or ``scorecard.nc``).
    resolution : int, optional
        Keep one resolution (default: all).
    models : sequence of str, optional
        Row order; models absent from ``ds`` are left out (the report lists them as missing).

    Raises
    ------
    KeyError
        When ``ds`` has no ``scorecard`` variable.
    """
    if "scorecard" not in ds:
        raise KeyError("results have no 'scorecard' variable (expected in crossval.nc or "
                       "scorecard.nc over (model, resolution, metric))")
    score = ds["scorecard"]
    if resolution is not None:
        score = score.sel(resolution=[int(resolution)])
    present = list(map(str, score["model"].values))
    order = present if models is None else [m for m in models if m in present]
    rows = []
    for model in order:
        for res in score["resolution"].values:
            row: dict[str, object] = {"model": model, "N": int(res)}
            for metric in score["metric"].values:
                row[str(metric)] = float(score.sel(model=model, resolution=res, metric=metric))
            for var, label in (("scorecard_missing", "missing cells"),
                               ("scorecard_diverged", "diverged cells")):
                if var in ds and "metric" in ds[var].dims:
                    # the last metric (span consistency) counts every cell of the model
                    count = ds[var].sel(model=model, resolution=res).values.astype(float)
                    if np.isfinite(count).any():
                        row[label] = int(np.nanmax(count))
            rows.append(row)
    return pd.DataFrame(rows)


def format_value(column: str, value: object) -> str:
    """Text of one table cell: ``1.2e-05`` for MSE, ``97.3%`` for fractions, ``-`` for NaN."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if not np.isfinite(value):
        return "-"
    if column in FRACTION_METRICS:
        return f"{100 * value:.1f}%"
    return f"{value:.1e}"


def formatted_scorecard(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header labels and formatted rows of a :func:`scorecard_frame`."""
    cols = list(frame.columns)
    header = [METRIC_LABELS.get(c, c) for c in cols]
    rows = [[format_value(c, v) for c, v in zip(cols, rec, strict=True)]
            for rec in frame.itertuples(index=False)]
    return header, rows


NOT_CONVERGED_MARK = "\u2020"
"""Mark of an in-distribution entry with members that did not converge (dagger)."""

MSE_METRICS: tuple[str, ...] = ("in_distribution", "nested", "out_of_span", "cross_family")
"""Scorecard metrics that are geometric-mean MSE values (given a range over seeds)."""


def annotate_scorecard(frame: pd.DataFrame, measures: xr.Dataset | None) -> pd.DataFrame:
    """The scorecard with its evidence, as text (``measures.nc``; unchanged without it):

    * the in-distribution entry of a (model, N) with usable members that did not converge is
      ``"3.2e-03 \u2020 (2 of 25 not converged)"`` (``unconverged`` of ``usable_members``);
    * with several training seeds, every MSE entry is followed by the range of the same
      metric computed on each seed alone, ``"3.2e-03 [2.1e-03..4.0e-03 over 2 seeds]"``
      (``scorecard_seed``); a fraction entry by its range in percent.

    The number itself stays the geometric mean over every usable cell and seed (crossval.nc's
    scorecard)."""
    if measures is None or frame.empty:
        return frame
    out = frame.astype(object).copy()
    have = set(map(str, measures["model"].values)) if "model" in measures.coords else set()
    n_seeds = measures.sizes.get("seed", 1) if "scorecard_seed" in measures else 1
    for idx, row in frame.iterrows():
        model, N = str(row["model"]), int(row["N"])
        if model not in have or N not in set(int(r) for r in measures["resolution"].values):
            continue
        sel = dict(model=model, resolution=N)
        for col in frame.columns:
            if col in ("model", "N") or not isinstance(row[col], (float, np.floating)):
                continue
            text = format_value(col, row[col])
            if n_seeds > 1 and col in set(map(str, measures["metric"].values)):
                per = measures["scorecard_seed"].sel(**sel, metric=col).values.astype(float)
                per = per[np.isfinite(per)]
                if per.size:
                    text += (f" [{format_value(col, per.min())}..{format_value(col, per.max())}"
                             f" over {n_seeds} seeds]")
            if col == "in_distribution" and {"unconverged", "usable_members"} <= set(measures):
                left = float(measures["unconverged"].sel(sel))
                total = float(measures["usable_members"].sel(sel))
                if np.isfinite(left) and np.isfinite(total) and left > 0:
                    text += (f" {NOT_CONVERGED_MARK} ({int(left)} of {int(total)} not "
                             f"converged)")
            out.at[idx, col] = text
    return out


def plot_scorecard(frame: pd.DataFrame, *, title: str = "Scorecard") -> Figure:
    """Draw a :func:`scorecard_frame` as a table figure (MSE columns are geometric means)."""
    if frame.empty:
        return placeholder_figure(title, "no scorecard rows (no operator model results)")
    header, rows = formatted_scorecard(frame)
    fig = new_figure(1.15 * len(header) + 0.5, 0.26 * len(rows) + 0.7)
    ax = fig.add_subplot()
    ax.set_axis_off()
    table = ax.table(cellText=rows, colLabels=header, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1.0, 1.25)
    for (r, _), cell in table.get_celld().items():
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("0.9")
    ax.set_title(f"{title} (MSE columns: geometric means over cells and seeds)", fontsize=9)
    return fig
