"""Green's functions: the gallery of extracted ``G_hat`` beside the exact ``G``, and the stencil
read off the inverse of a linear model trained on fem data.

For the linear family ``W[:, 1:-1] / dx ~ G`` (docs/architecture.md), so the learned interior
matrix is ``W_int = dx G_hat`` and its inverse approximates the operator ``-k d^2/dx^2``. Scaled
by ``dx^2 / k``, the middle row of ``W_int^{-1}`` is the local stencil: ``[-1, 2, -1]`` for the
3-point finite-difference Laplacian (lumped FEM), and the row of ``M^{-1} K dx^2 / k`` for the
consistent-mass FEM operator that generates the fem data (dense, but decaying fast).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from greenbench.analysis import greens as gr
from greenbench.plots._common import new_figure, placeholder_figure

if TYPE_CHECKING:
    from greenbench.operators import Operator

GALLERY_SPACES: tuple[str, ...] = ("sin8", "poly8", "fem")
"""Training spaces shown in the gallery (those present in the results)."""


def plot_greens_gallery(fields: xr.Dataset, greens: xr.Dataset | None = None, *,
                        spaces: Sequence[str] = GALLERY_SPACES,
                        models: Sequence[str] | None = None, seed: int | None = None) -> Figure:
    """Exact ``G`` beside the extracted ``G_hat`` of every model, for a few training spaces.

    Parameters
    ----------
    fields : xarray.Dataset
        ``greens/N{res}.nc``: ``G_hat`` (model, train_space, seed, x, s), ``G`` (x, s) on the
        interior nodes; attribute ``N`` (else inferred from ``x``).
    greens : xarray.Dataset, optional
        ``greens.nc`` with ``greens_rel_error`` (model, train_space, resolution, seed); when
        given, each panel's title carries its relative Frobenius error.
    spaces : sequence of str
        Training spaces to show; those absent from ``fields`` are left out.
    models : sequence of str, optional
        Rows (default: every model in ``fields``); a model absent from ``fields`` gets a row
        saying so.
    seed : int, optional
        Which training seed to show (default the first).

    All panels share one diverging colour scale, symmetric about 0 with limit ``max |G|``, so
    noise (either sign) and the positive tent of ``G`` read apart.
    """
    if "G_hat_slices" in fields:  # 2D: slices at a few source points
        return _gallery_slices(fields, greens, spaces=spaces, models=models, seed=seed)
    present = set(map(str, fields["model"].values)) if "model" in fields.coords else set()
    models = sorted(present) if models is None else list(models)
    have = set(map(str, fields["train_space"].values)) if "train_space" in fields.coords else set()
    cols = [s for s in spaces if s in have]
    if not models or not cols or "G" not in fields or "G_hat" not in fields:
        return placeholder_figure("Green's function gallery",
                                  f"no extracted Green's functions for {', '.join(spaces)}")
    N = int(fields.attrs.get("N", fields.sizes["x"] + 1))
    G = fields["G"].transpose("x", "s").values
    gmax = float(np.abs(G).max())
    norm = Normalize(vmin=-gmax, vmax=gmax)
    seed = int(fields["seed"].values[0]) if seed is None else int(seed)
    extent = (0.0, 1.0, 1.0, 0.0)
    ncol = 1 + len(cols)
    fig = new_figure(1.9 * ncol + 0.9, 1.8 * len(models) + 0.6)
    axes = fig.subplots(len(models), ncol, squeeze=False)
    image = None
    for i, model in enumerate(models):
        image = axes[i, 0].imshow(G, cmap="RdBu_r", norm=norm, extent=extent)
        axes[i, 0].set_title("exact G" if i == 0 else "", fontsize=8)
        axes[i, 0].set_ylabel(model, fontsize=9, weight="bold")
        for j, space in enumerate(cols, start=1):
            ax = axes[i, j]
            if model not in present:
                _missing_panel(ax)
                continue
            G_hat = fields["G_hat"].sel(model=model, train_space=space, seed=seed)
            ax.imshow(G_hat.transpose("x", "s").values, cmap="RdBu_r", norm=norm, extent=extent)
            title = f"G_hat, trained on {space}" + _error_line(greens, model, space, N, seed)
            ax.set_title(title, fontsize=7)
        _unit_ticks(axes[i], 6)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="G(x, s)")
    fig.suptitle(f"Green's functions at N = {N} (rows: models; x down, s across; seed {seed})",
                 fontsize=10)
    return fig


def _missing_panel(ax) -> None:
    """A gallery panel for a model the fields lack: no axes, the word "missing"."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, "missing", ha="center", va="center", color="0.4", transform=ax.transAxes)


def _error_line(greens: xr.Dataset | None, model: str, space: str, N: int, seed: int) -> str:
    """``"\\nrel. error ..."``: the model's ``greens_rel_error`` for a panel title, or ``""``
    where ``greens`` does not hold it."""
    if greens is None or "greens_rel_error" not in greens:
        return ""
    try:
        err = float(greens["greens_rel_error"].sel(
            model=model, train_space=space, resolution=N, seed=seed))
    except KeyError:
        return ""
    return f"\nrel. error {err:.1e}"


def _unit_ticks(axes, labelsize: float) -> None:
    """Ticks at 0 and 1 on both axes of every panel of a gallery row."""
    for ax in axes:
        ax.set_xticks([0, 1])
        ax.set_yticks([0, 1])
        ax.tick_params(labelsize=labelsize)


def _inverse_row(W_int: np.ndarray, operator: Operator) -> np.ndarray:
    """The whole middle row of ``W_int^{-1}`` divided by ``operator.stencil_scale(N)``
    (poisson1d: scaled by ``dx^2 / k``), shape ``(n,)``, read off by
    the analysis' own :func:`greenbench.analysis.greens.inverse_and_stencil` (one
    implementation: the figure shows what ``greens.nc`` holds, over every offset); ``nan``
    where ``W_int`` is singular or not finite."""
    n = W_int.shape[0]
    h, m = n - 1, (n - 1) // 2
    inv, stencil, _ = gr.inverse_and_stencil(W_int, operator, h, max_cond=np.inf)
    return np.full(n, np.nan) if inv is None else stencil[h - m: h - m + n]


def inverse_middle_row(G_interior: np.ndarray, dx: float, operator: Operator) -> np.ndarray:
    """Middle row of ``(dx G)^{-1}`` scaled by ``dx^m / k`` (the operator's
    :meth:`~greenbench.operators.Operator.stencil_scale`): the stencil of the operator whose
    discrete Green's matrix is ``G_interior`` (shape ``(n, n)``, ``n = N - 1``); returns ``(n,)``.

    For the exact ``G`` this is ``[.., 0, -1, 2, -1, 0, ..]`` (the 3-point Laplacian's inverse is
    the sampled Green's function, paper-notes 1.2)."""
    return _inverse_row(dx * np.asarray(G_interior, dtype=np.float64), operator)


def generating_stencil(N: int, operator: Operator, mass: str = "consistent") -> np.ndarray:
    """Middle row of ``A_int^{-1} dx^m / k`` for the fem data operator (poisson1d:
    ``A = K^{-1} M``) restricted to
    interior columns (:func:`greenbench.analysis.greens.reference_interior_operator`), which
    generated the fem data; shape ``(N - 1,)``."""
    return _inverse_row(gr.reference_interior_operator(N, operator, mass), operator)


def plot_stencil(learned: np.ndarray, generating: np.ndarray, *, half_width: int = 4,
                 title: str = "linear model trained on fem",
                 reference: np.ndarray | None = None,
                 reference_label: str = "3-point [-1, 2, -1]",
                 scale_label: str = r"dx^2 / k") -> Figure:
    """Recovered stencil (middle row of the learned inverse, scaled by ``dx^2/k``, in general
    ``1 / Operator.stencil_scale``: ``scale_label``) against the stencil of the generating
    operator and a local reference (``reference``: the operator's 2nd-order stencil on offsets
    ``-r..r``, default the 3-point ``[-1, 2, -1]``).

    Left: offsets ``-half_width..half_width`` on a linear scale. Right: ``|row|`` over every
    offset on a log scale, showing how local the recovered operator is."""
    learned, generating = np.asarray(learned, float), np.asarray(generating, float)
    if learned.shape != generating.shape or learned.ndim != 1:
        raise ValueError(f"stencil rows must be 1-D of one length, got {learned.shape} and "
                         f"{generating.shape}")
    n = learned.size
    mid = n // 2
    offsets = np.arange(n) - mid
    near = np.abs(offsets) <= half_width
    fig = new_figure(9.0, 3.4)
    ax0, ax1 = fig.subplots(1, 2)
    if reference is None:
        fd3 = np.where(offsets == 0, 2.0, np.where(np.abs(offsets) == 1, -1.0, 0.0))
    else:
        r = np.asarray(reference, dtype=float).size // 2
        fd3 = np.zeros(n)
        for o, v in zip(range(-r, r + 1), np.asarray(reference, dtype=float), strict=True):
            fd3[offsets == o] = v
    ax0.axhline(0, color="0.7", linewidth=0.8)
    ax0.plot(offsets[near], generating[near], "s", markerfacecolor="none", markersize=9,
             color="tab:blue", label="generating operator (FEM data)")
    ax0.plot(offsets[near], fd3[near], "x", markersize=7, color="k", label=reference_label)
    ax0.plot(offsets[near], learned[near], "o", markersize=4, color="tab:red",
             label="recovered (learned W)")
    ax0.set_xlabel("offset j - i")
    ax0.set_ylabel(r"$(W^{-1})_{ij}\,$" + f" {scale_label}")
    ax0.legend(fontsize=7)
    ax0.set_title(f"{title}: middle row of the inverse", fontsize=9)
    floor = 1e-17
    ax1.semilogy(offsets, np.maximum(np.abs(generating), floor), "s-", markersize=3,
                 markerfacecolor="none", color="tab:blue", label="generating", linewidth=0.8)
    ax1.semilogy(offsets, np.maximum(np.abs(learned), floor), "o-", markersize=2,
                 color="tab:red", label="recovered", linewidth=0.8)
    ax1.set_xlabel("offset j - i")
    ax1.set_ylabel("|entry|")
    ax1.set_title(f"locality over the whole row (N = {n + 1})", fontsize=9)
    ax1.legend(fontsize=7)
    return fig


GALLERY_SPACES_2D: tuple[str, ...] = ("sin3x3", "fem", "poly3x3")
"""Training spaces the 2D gallery shows (those present; at most two)."""


def _gallery_slices(fields: xr.Dataset, greens: xr.Dataset | None, *, spaces: Sequence[str],
                    models: Sequence[str] | None, seed: int | None) -> Figure:
    """2D gallery: for each source point ``(s_j, t_j)`` of ``fields`` (``greens/N{res}.nc`` in
    2D: ``G_hat_slices (model, train_space, seed, x, y, point)``, ``G_slices (x, y, point)``,
    ``source_s``, ``source_t`` (point)), the exact
    ``G(x, y; s_j, t_j)`` beside the extracted slices of each model (rows) for up to two
    training spaces."""
    present = set(map(str, fields["model"].values)) if "model" in fields.coords else set()
    models = sorted(present) if models is None else list(models)
    have = set(map(str, fields["train_space"].values)) if "train_space" in fields.coords else set()
    if tuple(spaces) == GALLERY_SPACES:  # the 1D default: the 2D one instead
        spaces = GALLERY_SPACES_2D
    wanted = [s for s in spaces if s in have]
    cols = wanted[:2]
    if not models or not cols or "G_slices" not in fields:
        return placeholder_figure("Green's function gallery",
                                  f"no extracted Green's functions for {', '.join(spaces)}")
    N = int(fields.attrs.get("N", fields.sizes["x"] + 1))
    G = fields["G_slices"].transpose("x", "y", "point").values
    gmax = float(np.abs(G).max())
    norm = Normalize(vmin=-gmax, vmax=gmax)
    seed = int(fields["seed"].values[0]) if seed is None else int(seed)
    n_src = fields.sizes["point"]
    src_s = fields["source_s"].values if "source_s" in fields else [np.nan] * n_src
    src_t = fields["source_t"].values if "source_t" in fields else [np.nan] * n_src
    per = 1 + len(cols)
    fig = new_figure(1.55 * per * n_src + 0.9, 1.6 * len(models) + 0.8)
    axes = fig.subplots(len(models), per * n_src, squeeze=False)
    extent = (0.0, 1.0, 1.0, 0.0)
    image = None
    for i, model in enumerate(models):
        for j in range(n_src):
            ax = axes[i, per * j]
            image = ax.imshow(G[:, :, j], cmap="RdBu_r", norm=norm, extent=extent)
            if i == 0:
                ax.set_title(f"exact G(., .; {src_s[j]:.2f}, {src_t[j]:.2f})", fontsize=7)
            if j == 0:
                ax.set_ylabel(model, fontsize=9, weight="bold")
            for c, space in enumerate(cols, start=1):
                ax = axes[i, per * j + c]
                if model not in present:
                    _missing_panel(ax)
                    continue
                g = fields["G_hat_slices"].sel(model=model, train_space=space,
                                               seed=seed).transpose("x", "y", "point").values[
                    :, :, j]
                ax.imshow(g, cmap="RdBu_r", norm=norm, extent=extent)
                title = f"G_hat, {space}"
                if j == 0:
                    title += _error_line(greens, model, space, N, seed)
                ax.set_title(title, fontsize=6)
        _unit_ticks(axes[i], 5)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="G(x, y; s, t)")
    fig.suptitle(f"Green's function slices at N = {N} for {n_src} source points (rows: models; "
                 f"x down, y across; rel. error over the whole G; seed {seed})", fontsize=9)
    return fig


def plot_recovered_stencil(fields: xr.Dataset | None, models: Sequence[str], *,
                           operator: Operator | None = None, mass: str = "consistent",
                           seed: int | None = None) -> Figure:
    """:func:`plot_stencil` for the first of ``models`` (linear-class names) whose ``G_hat``
    trained on fem is in ``fields`` (``greens/N{res}.nc``); a placeholder saying what is
    missing otherwise. The generating stencil is :func:`generating_stencil` with ``mass`` and
    the operator the fields were made with (``operator``, default: from their attributes
    ``pde``, ``k``, ...)."""
    have = (set(map(str, fields["model"].values))
            if fields is not None and "model" in fields.coords else set())
    found = [m for m in models if m in have]
    if fields is not None and "G_hat_slices" in fields:
        return placeholder_figure("Recovered stencil", "the 2D fields keep Green's function "
                                  "slices only; the learned stencil (along x through the "
                                  "centre) is in greens.nc (stencil, stencil_deviation)")
    if (not found or "G_hat" not in fields
            or "fem" not in set(map(str, fields["train_space"].values))):
        why = ("no linear model in the study" if not models else
               f"no G_hat of {', '.join(models)} trained on fem")
        return placeholder_figure("Recovered stencil", why)
    N = int(fields.attrs.get("N", fields.sizes["x"] + 1))
    seed = int(fields["seed"].values[0]) if seed is None else int(seed)
    G_hat = fields["G_hat"].sel(model=found[0], train_space="fem", seed=seed).transpose("x", "s")
    if operator is None:
        from greenbench.operators import from_attrs

        operator = from_attrs(fields.attrs)
    learned = inverse_middle_row(G_hat.values, 1.0 / N, operator)
    if not np.isfinite(learned).all():
        return placeholder_figure("Recovered stencil", f"the learned interior matrix of "
                                  f"{found[0]} (fem, N = {N}) is singular or not finite")
    lead = max(operator.terms, key=lambda t: t.derivative)
    r = operator.order // 2
    ref = operator.reference_stencil(r)
    return plot_stencil(learned, generating_stencil(N, operator, mass),
                        title=f"{operator.name}, {found[0]} on fem ({mass}), N = {N}",
                        reference=ref,
                        reference_label=f"2nd-order stencil [{', '.join(f'{v:g}' for v in ref)}]",
                        scale_label=f"/ ({lead.coefficient} N^{lead.derivative})")
