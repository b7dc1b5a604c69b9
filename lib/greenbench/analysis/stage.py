"""The analysis stage over the files of a study: what ``scripts/analyze_*.py`` call.

Reads datasets and training outputs (through :mod:`greenbench.io` and
:func:`greenbench.train.load_trained`), checks that they belong to this study
(:mod:`greenbench.analysis.checks`), runs the pure analysis functions and returns
``xarray.Dataset`` objects; the scripts write them with :func:`greenbench.io.write_netcdf`.

Per ``(model, N)`` an *evaluation* file (``results/{pde}/evaluate/{model}/N{res}.nc``) holds the
cross-validation of every trained member and its impulse-response matrix, so each checkpoint is
loaded once; ``crossval.nc``, ``greens.nc`` and ``bounds.nc`` aggregate them.

Provenance chain (docs/results_format.md): a dataset must carry the study's data hash and
design; a training ``metrics.nc`` the study's data hash, the config's model entry and, per
train_space, the checksum of the current dataset; every ``.pt`` the same checksum and entry;
an evaluation file the data hash and the analysis params' hash (``cfg.step_hash``). Every
function checks all its inputs before it computes anything, and a mismatch names the file, the
attribute and both values.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from greenbench import io, paths
from greenbench.analysis import greens as gr
from greenbench.analysis.checks import ResultsMismatch, check_provenance, check_results
from greenbench.analysis.config import AnalysisConfig
from greenbench.analysis.crossval import Predictor, TestBank, crossval_part
from greenbench.analysis.scorecard import scorecard
from greenbench.provenance import provenance

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


def read_datasets(paths: Mapping[str, PathLike], cfg: AnalysisConfig,
                  N: int) -> dict[str, io.Dataset]:
    """Read ``{space: path}`` at resolution ``N``, each checked against the study's design."""
    out = {}
    for space, path in paths.items():
        io.check_dataset(path, expect=cfg.dataset_expect(space, N))
        out[space] = io.read_dataset(path, check=False)
    return out


def load_test_bank(paths: Mapping[str, PathLike], cfg: AnalysisConfig, N: int) -> TestBank:
    """The test splits of every study space at ``N``, stacked (the datasets are released)."""
    data = read_datasets(paths, cfg, N)
    return TestBank.from_splits({s: data[s].split("test") for s in cfg.spaces})


def check_metrics_data(metrics: xr.Dataset, path: PathLike,
                       checksums: Mapping[str, str], dataset_paths: Mapping[str, PathLike]
                       ) -> None:
    """Refuse a training ``metrics.nc`` whose per-train_space ``data_checksum`` differs from
    the current dataset's (a space with no trained member records ``""`` and passes)."""
    if "data_checksum" not in metrics:
        raise ResultsMismatch(path, ["no data_checksum variable (trained before greenbench "
                                     "recorded the data of each member)"])
    problems = []
    for space, want in checksums.items():
        have = str(metrics["data_checksum"].sel(train_space=space).item())
        if have and have != want:
            problems.append(f"data_checksum of train_space {space} is {have!r}, but "
                            f"{dataset_paths[space]} has {want!r}")
    if problems:
        raise ResultsMismatch(path, problems)


def _module_predictor(path: Path, x: np.ndarray, entry: Mapping, model: str, N: int,
                      checksum: str, dataset: PathLike, device: str = "cpu") -> Predictor:
    from greenbench import train

    module = train.load_trained(path, entry, model=model, N=N, data_checksum=checksum,
                                full_entry=True, dataset=dataset)
    module = module.to(train.resolve_device(device))
    return lambda f: train.predict(module, f, x)


def evaluate_model(model: str, N: int, metrics_path: PathLike,
                   dataset_paths: Mapping[str, PathLike], cfg: AnalysisConfig,
                   entry: Mapping) -> xr.Dataset:
    """Cross-validation and impulse responses of every trained member of ``(model, N)``.

    ``entry`` is the config's model entry: the modules are built from it, and the training
    files must have been made from it on the current datasets (``metrics.nc``: ``data_hash``,
    ``entry``, ``data_checksum``; every ``.pt``: class, params, entry, N, data checksum),
    else :class:`ResultsMismatch` / ``train.CheckpointMismatch`` naming the file and both
    values. A member whose ``.pt`` file is absent is marked ``missing`` (its values ``nan``).

    Returns
    -------
    Dataset with the :func:`~greenbench.analysis.crossval.crossval_part` variables,
    ``u_mean_square (test_space, resolution)`` and ``response (model, train_space, resolution,
    seed, x, source)``: the ``(N-1, N+1)`` matrix of :func:`greens.response_matrix`.
    """
    metrics = io.read_netcdf(metrics_path)
    check_results(metrics, metrics_path, model=model, pde=cfg.pde, N=N, spaces=cfg.spaces,
                  seeds=cfg.seeds)
    if metrics.attrs.get("kind", "operator") != "operator" or "train_mse" not in metrics:
        raise ResultsMismatch(metrics_path, [f"model {model!r} is not an operator model "
                                             f"(kind {metrics.attrs.get('kind')!r}); fd and pinn "
                                             f"are analysed in convergence.nc"])
    check_provenance(metrics, metrics_path, data_hash=cfg.data_hash, entry=entry)
    bank = load_test_bank(dataset_paths, cfg, N)
    checksums = {s: io.dataset_checksum(dataset_paths[s]) for s in cfg.spaces}
    check_metrics_data(metrics, metrics_path, checksums, dataset_paths)
    x = cfg.operator.grid(N)
    predictors: dict[tuple[str, int], Predictor | None] = {}
    for space in cfg.spaces:
        for seed in cfg.seeds:
            path = paths.member_beside(metrics_path, space, seed)
            if path.exists():
                predictors[(space, seed)] = _module_predictor(
                    path, x, entry, model, N, checksums[space], dataset_paths[space], cfg.device)
            else:
                log.warning("%s: no trained member %s; marked missing", model, path)
                predictors[(space, seed)] = None
    order = dict(train_space=list(cfg.spaces), seed=list(cfg.seeds))
    train_mse = metrics["train_mse"].sel(order).transpose("train_space", "seed").values
    diverged = metrics["diverged"].sel(order).transpose("train_space", "seed").values
    part = crossval_part(model, str(metrics.attrs.get("class", model)), N, cfg.spaces,
                         cfg.seeds, bank, predictors, train_mse, diverged)
    R = np.full((len(cfg.spaces), len(cfg.seeds), N - 1, N + 1), np.nan)
    for a, space in enumerate(cfg.spaces):
        for b, seed in enumerate(cfg.seeds):
            pred = predictors[(space, seed)]
            if pred is not None:
                with np.errstate(all="ignore"):
                    R[a, b] = gr.response_matrix(pred, N, cfg.impulse_amplitude)
    part["response"] = (("model", "train_space", "resolution", "seed", "x", "source"),
                        R[None, :, None])
    part["u_mean_square"] = (("test_space", "resolution"), bank.mean_square()[:, None])
    part = part.assign_coords(x=x[1:-1], source=x)
    part.attrs.update(provenance(cfg.step_hash), pde=cfg.pde, data_hash=cfg.data_hash,
                      impulse_amplitude=float(cfg.impulse_amplitude), n_test=int(bank.f.shape[0]))
    return part


def check_part(part: xr.Dataset, path: PathLike, cfg: AnalysisConfig) -> None:
    """Refuse an evaluation file of another study: pde, spaces, seeds, resolutions, the data
    hash and the analysis params' hash (``config_hash`` = ``cfg.step_hash``)."""
    check_results(part, path, pde=cfg.pde, spaces=cfg.spaces, seeds=cfg.seeds)
    check_provenance(part, path, data_hash=cfg.data_hash, config_hash=cfg.step_hash)
    bad = [int(r) for r in part["resolution"].values if int(r) not in cfg.resolutions]
    if bad:
        raise ResultsMismatch(path, [f"resolution {bad} not in the study's {cfg.resolutions}"])


def crossval_dataset(part_paths: Sequence[PathLike], cfg: AnalysisConfig) -> xr.Dataset:
    """``crossval.nc``: every evaluation file on one grid, plus the scorecard.

    Models are ordered as the parts come; a (model, N) without a part is all ``missing``."""
    parts = [(p, io.read_netcdf(p)) for p in part_paths]
    for p, part in parts:
        check_part(part, p, cfg)
    models = list(dict.fromkeys(str(m) for _, part in parts for m in part["model"].values))
    res, sp, seeds = list(cfg.resolutions), list(cfg.spaces), list(cfg.seeds)
    nm, nt, nr, ns = len(models), len(sp), len(res), len(seeds)
    mse = np.full((nm, nt, nt, nr, ns), np.nan)
    rel = np.full_like(mse, np.nan)
    tmse = np.full((nm, nt, nr, ns), np.nan)
    div = np.zeros((nm, nt, nr, ns), dtype=bool)
    miss = np.ones((nm, nt, nr, ns), dtype=bool)
    ums = np.full((nt, nr), np.nan)
    classes = np.array([""] * nm, dtype=object)
    for _, part in parts:
        sel = dict(train_space=sp, test_space=sp, seed=seeds)
        for m in part["model"].values:
            i = models.index(str(m))
            classes[i] = str(part["model_class"].sel(model=m).item())
            for N in part["resolution"].values:
                r = res.index(int(N))
                one = part.sel(model=m, resolution=N).sel(sel)
                mse[i, :, :, r] = one["mse"].transpose("train_space", "test_space", "seed")
                rel[i, :, :, r] = one["rel_l2"].transpose("train_space", "test_space", "seed")
                for arr, name in ((tmse, "train_mse"), (div, "diverged"), (miss, "missing")):
                    arr[i, :, r] = one[name].transpose("train_space", "seed").values
                ums[:, r] = one["u_mean_square"].sel(test_space=sp).values
    d5 = ("model", "train_space", "test_space", "resolution", "seed")
    d4 = ("model", "train_space", "resolution", "seed")
    cv = xr.Dataset(
        dict(mse=(d5, mse), rel_l2=(d5, rel), train_mse=(d4, tmse), diverged=(d4, div),
             missing=(d4, miss), model_class=(("model",), classes),
             u_mean_square=(("test_space", "resolution"), ums)),
        coords=dict(model=models, train_space=sp, test_space=sp, resolution=res, seed=seeds))
    cv = cv.merge(scorecard(cv, cfg.scorecard_factor, cfg.scorecard_floor))
    cv.attrs.update(provenance(cfg.config_hash), pde=cfg.pde, k=float(cfg.k),
                    **cfg.coefficients, data_hash=cfg.data_hash,
                    scorecard_factor=float(cfg.scorecard_factor),
                    scorecard_floor=float(cfg.scorecard_floor))
    return cv


def greens_datasets(part_paths: Sequence[PathLike], cfg: AnalysisConfig
                    ) -> tuple[xr.Dataset, dict[int, xr.Dataset]]:
    """``greens.nc`` and ``{N: greens/N{res}.nc}`` from the evaluation files."""
    parts = [(p, io.read_netcdf(p)) for p in part_paths]
    for p, part in parts:
        check_part(part, p, cfg)
    models = list(dict.fromkeys(str(m) for _, part in parts for m in part["model"].values))
    res, sp, seeds = list(cfg.resolutions), list(cfg.spaces), list(cfg.seeds)
    h = cfg.stencil_halfwidth
    shape = (len(models), len(sp), len(res), len(seeds))
    err, inv_err, cond = (np.full(shape, np.nan) for _ in range(3))
    stencil = np.full(shape + (2 * h + 1,), np.nan)
    ref_stencil = np.full((len(res), 2 * h + 1), np.nan)
    fields = {}
    op = cfg.operator
    for r, N in enumerate(res):
        G = op.greens_matrix(N)
        A_int = gr.reference_interior_operator(N, op, cfg.fem_mass)
        A_inv, ref_stencil[r], _ = gr.inverse_and_stencil(A_int, op, h, max_cond=np.inf)
        G_hat = np.full((len(models), len(sp), len(seeds), N - 1, N - 1), np.nan)
        for _, part in parts:
            if N not in part["resolution"].values:
                continue
            for m in part["model"].values:
                i = models.index(str(m))
                R = part["response"].sel(model=m, resolution=N).sel(
                    train_space=sp, seed=seeds).transpose("train_space", "seed", "x", "source")
                G_hat[i] = R.values[..., 1:-1] * N
                for a in range(len(sp)):
                    for b in range(len(seeds)):
                        W_int = R.values[a, b, :, 1:-1]
                        err[i, a, r, b] = gr.greens_rel_error(G_hat[i, a, b], N, op)
                        inv, stencil[i, a, r, b], cond[i, a, r, b] = gr.inverse_and_stencil(
                            W_int, op, h, max_cond=1.0 / cfg.rank_tol)
                        if inv is not None:
                            inv_err[i, a, r, b] = np.linalg.norm(inv - A_inv) / np.linalg.norm(
                                A_inv)
        xi = op.grid(N)[1:-1]
        fields[N] = xr.Dataset(
            dict(G_hat=(("model", "train_space", "seed", "x", "s"), G_hat), G=(("x", "s"), G)),
            coords=dict(model=models, train_space=sp, seed=seeds, x=xi, s=xi),
            attrs={**provenance(cfg.config_hash), "pde": cfg.pde, "N": int(N),
                   "data_hash": cfg.data_hash,
                   "k": float(cfg.k), **cfg.coefficients,
                   "impulse_amplitude": float(cfg.impulse_amplitude)})
    fd3 = op.reference_stencil(h)
    d4 = ("model", "train_space", "resolution", "seed")
    deviation, tail = gr.stencil_measures(stencil, ref_stencil[None, None, :, None, :])
    ds = xr.Dataset(
        dict(greens_rel_error=(d4, err), inverse_rel_error=(d4, inv_err),
             interior_cond=(d4, cond), stencil=(d4 + ("offset",), stencil),
             stencil_deviation=(d4, deviation), stencil_tail=(d4, tail),
             stencil_reference=(("resolution", "offset"), ref_stencil),
             fd_stencil_reference=(("offset",), fd3)),
        coords=dict(model=models, train_space=sp, resolution=res, seed=seeds,
                    offset=np.arange(-h, h + 1)),
        attrs={**provenance(cfg.config_hash), "pde": cfg.pde, "k": float(cfg.k),
               **cfg.coefficients, "data_hash": cfg.data_hash, "fem_mass": cfg.fem_mass,
               "impulse_amplitude": float(cfg.impulse_amplitude),
               "max_cond": 1.0 / cfg.rank_tol})
    return ds, fields
