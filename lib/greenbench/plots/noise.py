"""The noise floor: per model and noise level, the median in-span and out-of-span test MSE.

Nothing is computed here beyond selecting: the medians are crossval.nc's ``noise_in_span_mse``
and ``noise_out_of_span_mse`` (noise, model, resolution), written by the analysis
(:func:`greenbench.analysis.stage.noise_block_medians`; docs/results_format.md). Their ratio
(out / in) measures the block structure, as in the report's noise finding. The report shows the
frame as a table and :func:`plot_noise_floor` as the figure (the paper's Fig. 7 analogue) when
the study has more than one noise level (docs/decisions.md, "Noise floor view").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from greenbench.plots._common import new_figure, placeholder_figure
from greenbench.plots.table import (  # noqa: F401  (re-exported: the noise view's table)
    NOISE_COLUMNS,
    RATIO_FLOOR,
    formatted_noise_floor,
    has_noise_axis,
    noise_floor_frame,
)


def plot_noise_floor(frame: pd.DataFrame, *, separation: float | None = None) -> Figure:
    """The noise floor against the noise level, log-log (the paper's Fig. 7 analogue).

    Left: per model, the in-span median test MSE (the floor; solid, filled markers) and the
    out-of-span median (dashed, open markers) against the positive levels; a level 0 is drawn
    as a dotted horizontal line at its floor (0 has no place on a log axis); a grey guide of
    slope 2 (MSE ~ level^2) through the lowest floor at the highest level.
    Right: the ratio out / in against the level, with ``separation``
    (the block threshold) as a horizontal line, level 0 dotted as on the left."""
    title = "Noise floor"
    if frame.empty:
        return placeholder_figure(title, "no noise-floor rows (no operator model results)")
    levels = np.unique(frame["noise"].to_numpy(dtype=float))
    positive = levels[levels > 0]
    if positive.size == 0:
        return placeholder_figure(title, "no positive noise level to draw on a log axis")
    fig = new_figure(9.0, 3.6)
    ax, rx = fig.subplots(1, 2)
    colours = [f"C{i % 10}" for i in range(frame["model"].nunique())]
    drawn, tops = [], []
    for colour, (model, rows) in zip(colours, frame.groupby("model", sort=False), strict=True):
        rows = rows.sort_values("noise")
        pos = rows[rows["noise"] > 0]
        x = pos["noise"].to_numpy(float)
        ins, out = pos["in_span_mse"].to_numpy(float), pos["out_of_span_mse"].to_numpy(float)
        ax.plot(x, ins, "o-", color=colour, label=model)
        ax.plot(x, out, "o--", color=colour, markerfacecolor="none", linewidth=0.8)
        rx.plot(x, pos["ratio"].to_numpy(float), "o-", color=colour, label=model)
        drawn += [v for v in (*ins, *out) if np.isfinite(v) and v > 0]
        if np.isfinite(ins[-1]) and ins[-1] > 0:
            tops.append(ins[-1])
        for _, z in rows[rows["noise"] == 0].iterrows():   # level 0: no place on a log axis
            for a, v in ((ax, z["in_span_mse"]), (rx, z["ratio"])):
                if np.isfinite(v) and v > 0:
                    a.axhline(v, color=colour, linestyle=":", linewidth=0.9)
                    if a is ax:
                        drawn.append(v)
    if positive.size > 1 and tops:   # through the lowest floor at the highest level
        lo, hi, anchor = positive[0], positive[-1], min(tops)
        ax.plot([lo, hi], [anchor * (lo / hi) ** 2, anchor], color="0.6", linewidth=1,
                label="slope 2 (MSE ~ level\u00b2)")
    if drawn:
        ax.set_ylim(min(drawn) / 10, max(drawn) * 10)
    for a in (ax, rx):
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("noise level (relative to RMS of training u)")
    N = frame.attrs.get("resolution")
    at = f" at N = {N}" if N is not None else ""
    zero_note = "; dotted: level 0" if (levels == 0).any() else ""
    ax.set_ylabel("median test MSE")
    ax.set_title(f"floor{at}: in span (solid), out of span (dashed){zero_note}", fontsize=8)
    ax.legend(fontsize=7)
    if separation is not None:
        rx.axhline(separation, color="k", linewidth=0.8, linestyle="--",
                   label=f"blocks: out / in \u2265 {separation:g}")
    rx.set_ylabel("out-of-span / in-span median")
    rx.set_title(f"block structure{at}", fontsize=8)
    rx.legend(fontsize=7)
    return fig
