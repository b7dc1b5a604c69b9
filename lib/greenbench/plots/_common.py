"""Shared helpers of the figures: the Agg backend, deterministic PNG output, space grouping.

Every figure function in :mod:`greenbench.plots` returns a :class:`matplotlib.figure.Figure`
built with the object-oriented API on an Agg canvas (no pyplot, no global backend switch), so
figures draw without a display and importing greenbench never changes the caller's matplotlib
state. :func:`save_figure` writes one PNG atomically.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from greenbench.io import atomic_path
from greenbench.spaces import FAMILIES, parse_space

DPI = 110
"""Resolution of every PNG (dots per inch); figure sizes are chosen in inches around it."""

FLOOR = 1e-32
"""Errors below this (including exact zeros) are drawn at the floor on log scales."""

FAMILY_ORDER: tuple[str, ...] = (*FAMILIES, "fem")
"""Canonical order of the families on every axis: poly, cos, sin, fem."""

# Deterministic output: no software/version stamp in the PNG.
_PNG_METADATA = {"Software": None}


def new_figure(width: float, height: float) -> Figure:
    """A detached figure (``width`` x ``height`` inches) with an Agg canvas attached."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike) -> None:
    """Write ``fig`` as a PNG at :data:`DPI`, atomically (temp file, then rename).

    The output is byte-for-byte deterministic for the same figure: the PNG carries no
    software/version or time stamp."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata=_PNG_METADATA)


def placeholder_figure(title: str, reason: str, width: float = 6.0, height: float = 2.0) -> Figure:
    """A small figure that says why a figure could not be drawn (e.g. a model is missing).

    Snakemake needs every declared output; a placeholder keeps the report buildable and the
    report's "Missing" section says the same thing in words."""
    fig = new_figure(width, height)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.62, title, ha="center", va="center", fontsize=12, weight="bold",
            transform=ax.transAxes)
    ax.text(0.5, 0.3, reason, ha="center", va="center", fontsize=9, wrap=True,
            transform=ax.transAxes, color="0.3")
    return fig


def sort_spaces(names: Sequence[str]) -> list[str]:
    """Order space names canonically: families poly, cos, sin, fem; increasing ``p`` within.
    2D tensor products ``{family}{px}x{py}`` in lexicographic ``(px, py)`` order within a family,
    so the componentwise nesting shows as blocks (the in-span mask is ``kron(L, L)``, the
    Sierpinski-like pattern).

    Raises ``ValueError`` naming an unknown space."""
    def key(name: str) -> tuple[int, ...]:
        sp = parse_space(str(name))
        return FAMILY_ORDER.index(sp.family), *(sp.orders or (0,))

    return sorted((str(n) for n in names), key=key)


def family_groups(names: Sequence[str]) -> list[tuple[str, int, int]]:
    """Contiguous family blocks of an already sorted list: ``(family, start, stop)`` index
    ranges, e.g. ``[("poly", 0, 8), ("cos", 8, 16), ("sin", 16, 24), ("fem", 24, 25)]``."""
    groups: list[tuple[str, int, int]] = []
    for i, name in enumerate(names):
        fam = parse_space(str(name)).family
        if groups and groups[-1][0] == fam:
            groups[-1] = (fam, groups[-1][1], i + 1)
        else:
            groups.append((fam, i, i + 1))
    return groups


def log10_floor(values: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    """``log10(max(values, floor))``; NaN stays NaN (missing), +inf stays +inf."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        clipped = np.where(np.isnan(values), np.nan, np.maximum(values, floor))
    with np.errstate(divide="ignore"):
        return np.log10(clipped)


def geometric_mean(values: np.ndarray, axis: int | tuple[int, ...] | None = None,
                   floor: float = FLOOR) -> np.ndarray:
    """Geometric mean over ``axis`` of the finite values, clipped at ``floor`` first (so an exact
    zero counts as the floor); NaN and +inf (missing, diverged) are left out; NaN where nothing
    is left."""
    logs = log10_floor(values, floor)
    logs = np.where(np.isinf(logs), np.nan, logs)
    with warnings.catch_warnings():   # all-NaN slices are expected: they give NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return 10.0 ** np.nanmean(logs, axis=axis)
