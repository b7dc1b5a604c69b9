"""Training evidence: did each trained member converge, and its loss curve (``training.nc``).

Read from the training ``metrics.nc`` of every operator model at every N (nothing is trained
or loaded here). A member is **converged** (docs/decisions.md, "Converged members") when it
did not diverge and

1. its optimizer is ``exact`` (closed form: the linear model's least squares), or
2. it stopped on a plateau of its training objective (``stopped``: ``train.stop_patience`` /
   ``train.stop_rel_tol``), or
3. it ran all its steps and its loss curve is flat at the end: the relative decrease of the
   running minimum of the objective over the last ``tail`` fraction of its steps,

       (min_{s <= T - ceil(tail T)} L(s) - min_{s <= T} L(s)) / min_{s <= T - ceil(tail T)} L(s),

   is at most ``rel_tol`` (``analysis.converge_tail``, ``analysis.converge_rel_tol``; ``T`` =
   ``final_step``). A curve whose objective reached exactly 0 counts as flat; or
4. its objective reached ``floor`` (``analysis.converge_floor``): it fits its training data,
   even if the curve still falls.

A member that was not trained (``final_step`` -1) is neither converged nor counted as
unconverged: it is missing (crossval's ``missing``).

The curves are resampled (step function: the last recorded value at or before each step) on
one grid of steps per file, :func:`curve_steps` (0 and log-spaced integers up to the longest
run), so that models with different budgets share one ``curve_step`` axis; after a member
stopped, its curve holds its last recorded value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from os import PathLike

import numpy as np
import xarray as xr

CURVE_POINTS = 120
"""Log-spaced points of the ``curve_step`` grid (plus step 0)."""


def tail_decrease(step: np.ndarray, loss: np.ndarray, final_step: int, tail: float) -> float:
    """Relative decrease of the running minimum of ``loss`` over the last ``tail`` fraction of
    the steps ``0..final_step`` (module docstring); NaN when fewer than 2 finite points or
    ``final_step`` < 1."""
    step, loss = np.asarray(step), np.asarray(loss, dtype=float)
    ok = np.isfinite(loss) & (step <= final_step)
    if final_step < 1 or ok.sum() < 2:
        return float("nan")
    s, v = step[ok], loss[ok]
    cut = final_step - max(1, math.ceil(tail * final_step))
    before = v[s <= cut]
    if before.size == 0:
        return float("nan")
    a, b = float(before.min()), float(v.min())
    if a <= 0:
        return 0.0
    return (a - b) / a


def converged_members(ds: xr.Dataset, tail: float, rel_tol: float, floor: float = 0.0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(converged, tail_decrease)`` over ``(train_space, seed)`` of one operator model's
    ``metrics.nc`` (module docstring)."""
    order = ("train_space", "seed")
    final = ds["final_step"].transpose(*order).values.astype(np.int64)
    div = ds["diverged"].transpose(*order).values.astype(bool)
    stopped = (ds["stopped"].transpose(*order).values.astype(bool) if "stopped" in ds
               else np.zeros_like(div))
    loss = ds["loss"].transpose(*order, "step").values
    step = ds["step"].values.astype(np.int64)
    exact = str(ds.attrs.get("optimizer", "")) == "exact"
    dec = np.full(final.shape, np.nan)
    for i, j in np.ndindex(final.shape):
        dec[i, j] = tail_decrease(step, loss[i, j], int(final[i, j]), tail)
    flat = np.isfinite(dec) & (dec <= rel_tol)
    with np.errstate(invalid="ignore"):
        lowest = np.where(np.isfinite(loss), loss, np.inf).min(axis=-1)
    fitted = lowest <= floor
    trained = final >= 0
    conv = trained & ~div & (exact | stopped | flat | fitted)
    return conv, dec


def curve_steps(max_step: int, points: int = CURVE_POINTS) -> np.ndarray:
    """0, then ``points`` log-spaced integers from 1 to ``max_step`` (unique, sorted)."""
    if max_step < 1:
        return np.array([0], dtype=np.int64)
    grid = np.unique(np.round(np.geomspace(1, max_step, points)).astype(np.int64))
    return np.concatenate([[0], grid]).astype(np.int64)


def resample_curve(step: np.ndarray, loss: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The last finite recorded ``loss`` at or before each ``grid`` step (NaN before the first
    and where nothing was recorded)."""
    step, loss = np.asarray(step), np.asarray(loss, dtype=float)
    ok = np.isfinite(loss)
    s, v = step[ok], loss[ok]
    out = np.full(grid.shape, np.nan)
    if s.size == 0:
        return out
    idx = np.searchsorted(s, grid, side="right") - 1
    have = idx >= 0
    out[have] = v[idx[have]]
    return out


def training_dataset(metrics: Mapping[tuple[str, int], xr.Dataset], spaces: Sequence[str],
                     resolutions: Sequence[int], seeds: Sequence[int], tail: float,
                     rel_tol: float, floor: float = 0.0) -> xr.Dataset:
    """The variables of ``training.nc`` from ``{(model, N): metrics.nc}`` of operator models.

    Returns ``converged``, ``stopped``, ``diverged``, ``trained``, ``final_step``,
    ``final_loss``, ``best_loss``, ``tail_decrease`` over ``(model, train_space, resolution,
    seed)``, ``loss_curve`` over those and ``curve_step``, and ``exact_fit (model)``; attributes
    ``converge_tail``, ``converge_rel_tol`` and ``converge_floor``. A (model, N) absent from
    ``metrics`` is untrained (``trained`` False)."""
    models = list(dict.fromkeys(m for m, _ in metrics))
    sp, res, sd = list(spaces), [int(n) for n in resolutions], [int(s) for s in seeds]
    shape = (len(models), len(sp), len(res), len(sd))
    max_step = max([int(np.nanmax(ds["final_step"].values, initial=0))
                    for ds in metrics.values()] or [0])
    grid = curve_steps(max_step)
    conv = np.zeros(shape, dtype=bool)
    stopped = np.zeros(shape, dtype=bool)
    div = np.zeros(shape, dtype=bool)
    trained = np.zeros(shape, dtype=bool)
    final = np.full(shape, -1, dtype=np.int64)
    floats = {k: np.full(shape, np.nan) for k in ("final_loss", "best_loss", "tail_decrease")}
    curves = np.full(shape + (grid.size,), np.nan)
    exact = np.zeros(len(models), dtype=bool)
    classes = [""] * len(models)
    for (model, N), ds in metrics.items():
        i, r = models.index(model), res.index(int(N))
        ds = ds.reindex(train_space=sp, seed=sd)
        ds["final_step"] = ds["final_step"].fillna(-1)
        ds["diverged"] = ds["diverged"].fillna(False).astype(bool)
        if "stopped" in ds:
            ds["stopped"] = ds["stopped"].fillna(False).astype(bool)
        c, dec = converged_members(ds, tail, rel_tol, floor)
        sl = (i, slice(None), r, slice(None))
        conv[sl], floats["tail_decrease"][sl] = c, dec
        final[sl] = ds["final_step"].transpose("train_space", "seed").values.astype(np.int64)
        trained[sl] = final[sl] >= 0
        div[sl] = ds["diverged"].transpose("train_space", "seed").values
        if "stopped" in ds:
            stopped[sl] = ds["stopped"].transpose("train_space", "seed").values
        for name in ("final_loss", "best_loss"):
            if name in ds:
                floats[name][sl] = ds[name].transpose("train_space", "seed").values
        loss = ds["loss"].transpose("train_space", "seed", "step").values
        step = ds["step"].values
        for a, b in np.ndindex(len(sp), len(sd)):
            curves[i, a, r, b] = resample_curve(step, loss[a, b], grid)
        exact[i] = str(ds.attrs.get("optimizer", "")) == "exact"
        classes[i] = str(ds.attrs.get("class", ""))
    d4 = ("model", "train_space", "resolution", "seed")
    return xr.Dataset(
        dict(converged=(d4, conv), stopped=(d4, stopped), diverged=(d4, div),
             trained=(d4, trained), final_step=(d4, final),
             **{k: (d4, v) for k, v in floats.items()},
             loss_curve=(d4 + ("curve_step",), curves),
             exact_fit=(("model",), exact),
             model_class=(("model",), np.array(classes, dtype=object))),
        # model as str even when empty (a study without operator models)
        coords=dict(model=np.array(models, dtype=str), train_space=sp, resolution=res, seed=sd,
                    curve_step=grid),
        attrs=dict(converge_tail=float(tail), converge_rel_tol=float(rel_tol),
                   converge_floor=float(floor)))


def unconverged(training: xr.Dataset) -> xr.DataArray:
    """Members trained, not diverged and not converged, over ``(model, train_space,
    resolution, seed)``: the members a neural finding leaves out."""
    return training["trained"] & ~training["diverged"] & ~training["converged"]


def training_file_dataset(metric_paths: Mapping[tuple[str, int], str | PathLike], cfg
                          ) -> xr.Dataset:
    """``training.nc`` of a study: :func:`training_dataset` of the operator models' training
    ``metrics.nc`` (``{(model, N): path}``; an absent file leaves that (model, N) untrained),
    each checked first (pde, the study's data hash). ``cfg``: the
    :class:`~greenbench.analysis.config.AnalysisConfig`."""
    from pathlib import Path

    from greenbench.analysis.checks import check_provenance, check_results
    from greenbench.io import read_netcdf
    from greenbench.provenance import provenance

    metrics = {}
    for (model, N), path in metric_paths.items():
        if not Path(path).exists():
            continue
        ds = read_netcdf(path)
        check_results(ds, str(path), model=model, pde=cfg.pde, N=int(N))
        check_provenance(ds, str(path), data_hash=cfg.data_hash or None)
        metrics[(model, int(N))] = ds
    out = training_dataset(metrics, cfg.spaces, cfg.resolutions, cfg.seeds,
                           cfg.converge_tail, cfg.converge_rel_tol, cfg.converge_floor)
    out.attrs.update(provenance(cfg.config_hash), pde=cfg.pde, data_hash=cfg.data_hash)
    return out
