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


# ------------------------------------------------------------------ the noise-floor table
# (here, not in plots.noise, because the report formats it: the report takes no numbers from
# the plotting modules other than this table module -- tests/test_import_graph.py)
RATIO_FLOOR = 1e-300
"""The in-span median is floored here before dividing (an exact 0 gives a huge, finite ratio),
as the report's noise finding does."""

NOISE_COLUMNS: tuple[str, ...] = ("model", "noise", "in_span_mse", "out_of_span_mse", "ratio")
"""Columns of :func:`noise_floor_frame`."""


def has_noise_axis(cv: xr.Dataset | None) -> bool:
    """Whether ``cv`` (crossval.nc) holds the noise medians over more than one level: the
    condition for the noise-floor table and figure."""
    return (cv is not None and "noise_in_span_mse" in cv and "noise_out_of_span_mse" in cv
            and cv.sizes.get("noise", 0) > 1)


def noise_floor_frame(cv: xr.Dataset, *, resolution: int | None = None,
                      models: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (model, noise level): ``in_span_mse`` and ``out_of_span_mse`` (crossval.nc's
    ``noise_in_span_mse`` / ``noise_out_of_span_mse``, unchanged) and ``ratio`` = out / in.

    Parameters
    ----------
    cv : xarray.Dataset
        crossval.nc, with ``noise_in_span_mse`` and ``noise_out_of_span_mse``.
    resolution : int, optional
        The N to show (default: the finest in ``cv``).
    models : sequence of str, optional
        Row order; models absent from ``cv`` are left out (the report lists them as missing).

    Raises
    ------
    KeyError
        When ``cv`` lacks the noise medians or ``resolution``.
    """
    for var in ("noise_in_span_mse", "noise_out_of_span_mse"):
        if var not in cv:
            raise KeyError(f"crossval.nc has no {var!r} (noise, model, resolution); "
                           "docs/results_format.md")
    res = [int(r) for r in cv["resolution"].values]
    N = max(res) if resolution is None else int(resolution)
    if N not in res:
        raise KeyError(f"resolution {N} not in crossval.nc (has {res})")
    present = list(map(str, cv["model"].values))
    order = present if models is None else [m for m in models if m in present]
    inside = cv["noise_in_span_mse"].sel(resolution=N)
    outside = cv["noise_out_of_span_mse"].sel(resolution=N)
    rows = []
    for m in order:
        for s in cv["noise"].values:
            i = float(inside.sel(model=m, noise=s))
            o = float(outside.sel(model=m, noise=s))
            rows.append((m, float(s), i, o, o / max(i, RATIO_FLOOR)))
    frame = pd.DataFrame(rows, columns=list(NOISE_COLUMNS))
    frame.attrs["resolution"] = N
    return frame


def formatted_noise_floor(frame: pd.DataFrame, *, separation: float
                          ) -> tuple[list[str], list[list[str]]]:
    """Header and text rows of a :func:`noise_floor_frame` for the report (three significant
    digits; ``-`` for NaN), with a ``blocks`` column: ``yes`` when out / in >= ``separation``
    (the noise finding's threshold)."""
    def fmt(v: float) -> str:
        return f"{v:.2e}" if np.isfinite(v) else "-"

    header = ["model", "noise", "in-span MSE (floor)", "out-of-span MSE", "out / in",
              f"blocks (out / in \u2265 {separation:g})"]
    rows = [[m, f"{s:g}", fmt(i), fmt(o), fmt(r),
             "-" if not np.isfinite(r) else "yes" if r >= separation else "no"]
            for m, s, i, o, r in frame[list(NOISE_COLUMNS)].itertuples(index=False)]
    return header, rows
