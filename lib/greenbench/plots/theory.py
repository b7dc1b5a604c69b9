"""Theory beside measurement: Thm 3.2 (linear model) and Thm 3.1 (FD parameter learning).

* :func:`plot_bounds`: the Thm 3.2 expected test MSE of the linear model against the measured
  one, every (train_space, test_space, resolution, seed) cell, on log-log axes with the identity
  line; in-span cells (test space inside the training span) and out-of-span cells coloured apart.
* :func:`plot_convergence`: FD relative parameter error ``|w - k| / |k|`` against ``dx = 1/N``,
  one panel per (family, stencil order q), with the fitted log-log slopes and a reference line
  of slope q (Thm 3.1: error ``~ mu_q dx^q`` when ``p >= q``, exact when ``p < q``).
* :func:`plot_parameter_error`: the same errors at the finest N against the training order p,
  beside the PINN's error in k (the paper: richer data makes the white-box fit *worse*).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from greenbench.plots._common import FAMILY_ORDER, geometric_mean, new_figure, placeholder_figure
from greenbench.spaces import P_MAX, parse_space

MACHINE_FLOOR = 1e-17
"""Relative parameter errors below this are drawn at it (exact cells are ~1e-16)."""

BOUNDS_FLOOR = 1e-32
"""MSE below this (the theory's exact zeros in span) is drawn at it."""


def _finite(ds: xr.Dataset, var: str) -> bool:
    return var in ds and bool(np.isfinite(ds[var].values).any())


def _in_span(train: str, test: str) -> bool:
    return parse_space(train).contains(parse_space(test))


def plot_bounds(bounds: xr.Dataset, *, model: str = "linear",
                floor: float = BOUNDS_FLOOR) -> Figure:
    """Thm 3.2 predicted vs measured test MSE of the linear model, and ``w_star_rel_error``.

    Parameters
    ----------
    bounds : xarray.Dataset
        ``predicted_mse`` (train_space, test_space, resolution), ``measured_mse`` (train_space,
        test_space, resolution, seed), optionally ``w_star_rel_error`` (train_space, resolution,
        seed).
    model : str
        Name of the linear model, for the title.
    floor : float
        Values below it (exact zeros) are drawn at it.
    """
    if not (_finite(bounds, "measured_mse") and _finite(bounds, "predicted_mse")):
        return placeholder_figure("Thm 3.2: predicted vs measured",
                                  "no measured linear-model MSE or Thm 3.2 prediction in "
                                  "bounds.nc")
    meas = bounds["measured_mse"].transpose("train_space", "test_space", "resolution", ...)
    pred = bounds["predicted_mse"].broadcast_like(meas).transpose(*meas.dims)
    train = meas["train_space"].values.astype(str)
    test = meas["test_space"].values.astype(str)
    span = np.array([[_in_span(a, b) for b in test] for a in train])
    span = np.broadcast_to(span.reshape(span.shape + (1,) * (meas.ndim - 2)), meas.shape)
    x = np.maximum(pred.values, floor)
    y = np.maximum(meas.values, floor)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return placeholder_figure("Thm 3.2: predicted vs measured",
                                  "no cell with both a prediction and a measurement")

    has_w = "w_star_rel_error" in bounds and bool(np.isfinite(bounds["w_star_rel_error"]).any())
    fig = new_figure(10.0 if has_w else 5.6, 4.8)
    axes = fig.subplots(1, 2 if has_w else 1, squeeze=False)[0]
    ax = axes[0]
    for mask, colour, label in ((span & ok, "tab:blue", "test space in training span"),
                                (~span & ok, "tab:orange", "test space outside span")):
        ax.scatter(x[mask], y[mask], s=8, alpha=0.6, color=colour, label=f"{label} "
                   f"({int(mask.sum())})", linewidths=0)
    lo = min(x[ok].min(), y[ok].min())
    hi = max(x[ok].max(), y[ok].max())
    ax.plot([lo, hi], [lo, hi], color="k", linewidth=1, label="measured = predicted")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("predicted test MSE (Thm 3.2)")
    ax.set_ylabel("measured test MSE")
    holds = ""
    if "bound_holds" in bounds:
        h = bounds["bound_holds"].values.astype(float)
        known = np.isfinite(h)
        holds = f"; projection bound holds in {int((h[known] > 0).sum())}/{int(known.sum())} cells"
    ax.set_title(f"{model}: Thm 3.2 prediction vs measurement\n(values < {floor:.0e} drawn at "
                 f"{floor:.0e}{holds})", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    if has_w:
        ax = axes[1]
        w = bounds["w_star_rel_error"].transpose("train_space", "resolution", ...)
        spaces = w["train_space"].values.astype(str)
        cmap = colormaps["viridis"]
        nres = w.sizes["resolution"]
        for r, N in enumerate(w["resolution"].values):
            vals = np.maximum(w.isel(resolution=r).values.reshape(len(spaces), -1), floor)
            xs = np.repeat(np.arange(len(spaces))[:, None], vals.shape[1], axis=1)
            ax.scatter(xs.ravel(), vals.ravel(), s=10, color=cmap(r / max(nres - 1, 1)),
                       label=f"N = {int(N)}")
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(spaces)), spaces, rotation=90, fontsize=6)
        ax.set_ylabel(r"$\|W - W^*\|_F / \|W^*\|_F$")
        ax.set_title("trained linear weights vs the Thm 3.2 limit W*", fontsize=9)
        ax.legend(fontsize=7)
    return fig


def _family_spaces(spaces: np.ndarray) -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for name in spaces.astype(str):
        sp = parse_space(name)
        if sp.p is not None:
            out.setdefault(sp.family, []).append((sp.p, name))
    return {f: sorted(out[f]) for f in FAMILY_ORDER if f in out}


def _rate_label(conv: xr.Dataset, prefix: str, q: int, name: str) -> str:
    """``': 2.01 [1.95, 2.07]'`` from ``{prefix}_rate`` and its CI, ``''`` if absent/NaN."""
    if f"{prefix}_rate" not in conv:
        return ""
    sel = dict(q=q, train_space=name)
    rate = float(conv[f"{prefix}_rate"].sel(sel))
    if not np.isfinite(rate):
        return ""
    text = f": {rate:.2f}"
    if f"{prefix}_rate_ci_low" in conv and f"{prefix}_rate_ci_high" in conv:
        lo = float(conv[f"{prefix}_rate_ci_low"].sel(sel))
        hi = float(conv[f"{prefix}_rate_ci_high"].sel(sel))
        if np.isfinite(lo) and np.isfinite(hi):     # no interval from 2 points (0 dof)
            text += f" [{lo:.2f}, {hi:.2f}]"
    return text


def plot_convergence(convergence: xr.Dataset, *, floor: float = MACHINE_FLOOR) -> Figure:
    """FD relative parameter error against dx in log-log, one panel per (family, q).

    Solid lines with markers: the learned ``fd_rel_error`` (q, train_space, resolution, seed),
    geometric mean over seeds, labelled with ``fd_rate`` and its 95% CI (``fd_rate_ci_low``,
    ``fd_rate_ci_high``). Thin dashed lines of the same colour: the Thm 3.1 prediction
    ``fd_predicted_rel_error`` (q, train_space, resolution) (the exact least-squares optimum).
    Without a learned FD model only the prediction is drawn, labelled with
    ``fd_predicted_rate``. Exact cells (``fd_exact`` / ``fd_predicted_exact``; p < q for poly)
    get open markers at ``max(error, floor)`` and no slope. The black dashed line has slope q.
    """
    measured = _finite(convergence, "fd_rel_error")
    predicted = _finite(convergence, "fd_predicted_rel_error")
    if not (measured or predicted):
        return placeholder_figure("FD convergence", "no fd_rel_error or fd_predicted_rel_error "
                                                    "in convergence.nc")
    main = "fd" if measured else "fd_predicted"
    err = convergence["fd_rel_error" if measured else "fd_predicted_rel_error"]
    exact_var = "fd_exact" if measured else "fd_predicted_exact"
    qs = [int(q) for q in convergence["q"].values]
    fams = _family_spaces(convergence["train_space"].values)
    N = convergence["resolution"].values.astype(float)
    dx = 1.0 / N
    cmap = colormaps["viridis"]
    fig = new_figure(3.4 * len(qs) + 0.4, 2.9 * len(fams) + 0.4)
    axes = fig.subplots(len(fams), len(qs), squeeze=False, sharex=True)
    for r, (fam, members) in enumerate(fams.items()):
        for c, q in enumerate(qs):
            ax = axes[r, c]
            fitted = []
            for p, name in members:
                cell = err.sel(q=q, train_space=name).transpose("resolution", ...)
                y = geometric_mean(cell.values.reshape(len(N), -1), axis=1, floor=floor)
                exact = (bool(convergence[exact_var].sel(q=q, train_space=name))
                         if exact_var in convergence else False)
                colour = cmap((p - 1) / max(P_MAX - 1, 1))
                label = f"p={p}" + (": exact" if exact else _rate_label(convergence, main, q,
                                                                         name))
                if not exact and np.isfinite(y).all():
                    fitted.append(y)
                ax.plot(dx, np.maximum(y, floor), linestyle=":" if exact else "-",
                        marker="o", markersize=3, color=colour, label=label,
                        markerfacecolor="none" if exact else colour, linewidth=1)
                if measured and predicted:
                    pred = convergence["fd_predicted_rel_error"].sel(q=q, train_space=name)
                    ax.plot(dx, np.maximum(pred.transpose("resolution").values, floor), "--",
                            color=colour, linewidth=0.7, alpha=0.8)
            if fitted:
                anchor = np.nanmedian(np.array(fitted)[:, 0])
                ax.plot(dx, anchor * (dx / dx[0]) ** q, "k--", linewidth=1.2,
                        label=f"slope {q} (theory)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xticks(dx, [f"1/{int(n)}" for n in N], fontsize=7)
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_title(f"{fam}, q = {q}", fontsize=9)
            ax.legend(fontsize=5, ncol=1, loc="best", title="fitted slope [95% CI]",
                      title_fontsize=5)
            if r == len(fams) - 1:
                ax.set_xlabel("dx = 1/N")
            if c == 0:
                ax.set_ylabel("|w - k| / |k|")
    what = ("learned (solid) and Thm 3.1 predicted (thin dashed)" if measured and predicted
            else "learned" if measured else "Thm 3.1 prediction only (no FD model trained)")
    fig.suptitle(f"FD parameter error vs grid spacing: {what}; exact cells at the floor "
                 f"{floor:.0e}", fontsize=10)
    return fig


def plot_parameter_error(convergence: xr.Dataset, *, resolution: int | None = None,
                         floor: float = MACHINE_FLOOR) -> Figure:
    """White-box parameter error against the training order p at one resolution (default the
    finest): FD ``|w - k|/|k|`` per (family, q) and the PINN's ``|k_hat - k|/|k|``.

    Geometric means over seeds. The paper: both grow with p, the opposite of the black-box
    models, whose span (and so generalization) grows with p."""
    fd_var = ("fd_rel_error" if _finite(convergence, "fd_rel_error")
              else "fd_predicted_rel_error")
    have_fd = _finite(convergence, fd_var)
    have_pinn = ("pinn_rel_error" in convergence
                 and np.isfinite(convergence["pinn_rel_error"]).any())
    if not (have_fd or have_pinn):
        return placeholder_figure("Parameter error vs p", "no FD or PINN results")
    res = int(convergence["resolution"].max()) if resolution is None else int(resolution)
    fams = _family_spaces(convergence["train_space"].values)
    fig = new_figure(9.0, 3.6)
    axes = fig.subplots(1, 2)
    styles = {"poly": "o-", "cos": "s--", "sin": "^:"}
    if have_fd:
        cmap = colormaps["plasma"]
        qs = [int(q) for q in convergence["q"].values]
        for i, q in enumerate(qs):
            for fam, members in fams.items():
                ps = [p for p, _ in members]
                vals = [geometric_mean(convergence[fd_var].sel(
                    q=q, train_space=n, resolution=res).values, floor=floor) for _, n in members]
                axes[0].plot(ps, np.maximum(vals, floor), styles.get(fam, "o-"), markersize=3,
                             color=cmap(i / max(len(qs), 1)), label=f"{fam}, q={q}", linewidth=1)
        axes[0].set_yscale("log")
        axes[0].legend(fontsize=6, ncol=3)
    source = "learned" if fd_var == "fd_rel_error" else "Thm 3.1 prediction"
    axes[0].set_title(f"FD ({source}): |w - k|/|k| at N = {res}", fontsize=9)
    axes[0].set_xlabel("training order p")
    if have_pinn:
        for fam, members in fams.items():
            ps = [p for p, _ in members]
            sel = convergence["pinn_rel_error"]
            if "resolution" in sel.dims:
                sel = sel.sel(resolution=res)
            vals = [geometric_mean(sel.sel(train_space=n).values, floor=floor)
                    for _, n in members]
            axes[1].plot(ps, np.maximum(vals, floor), styles.get(fam, "o-"), markersize=3,
                         label=fam, linewidth=1)
        axes[1].set_yscale("log")
        axes[1].legend(fontsize=7)
        axes[1].set_title(f"PINN: |k_hat - k|/|k| at N = {res}", fontsize=9)
    else:
        axes[1].set_axis_off()
        axes[1].text(0.5, 0.5, "no PINN results", ha="center", va="center",
                     transform=axes[1].transAxes)
    axes[1].set_xlabel("training order p")
    fig.suptitle("White-box parameter learning: error vs richness of the training data",
                 fontsize=10)
    return fig
