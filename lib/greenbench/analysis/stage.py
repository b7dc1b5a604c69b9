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
from greenbench.analysis.checks import (
    ResultsMismatch,
    check_noise,
    check_provenance,
    check_results,
)
from greenbench.analysis.config import AnalysisConfig
from greenbench.analysis.crossval import Predictor, TestBank, crossval_part
from greenbench.analysis.scorecard import scorecard
from greenbench.models.layers import grid_points
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
                      checksum: str, dataset: PathLike, device: str = "cpu",
                      noise: float | None = None) -> Predictor:
    from greenbench import train

    module = train.load_trained(path, entry, model=model, N=N, data_checksum=checksum,
                                full_entry=True, dataset=dataset, noise=noise)
    module = module.to(train.resolve_device(device))
    return lambda f: train.predict(module, f, x)


def evaluate_model(model: str, N: int, metrics_path: PathLike,
                   dataset_paths: Mapping[str, PathLike], cfg: AnalysisConfig,
                   entry: Mapping, noise: float | None = None) -> xr.Dataset:
    """Cross-validation and impulse responses of every trained member of ``(model, N)`` at
    noise level ``noise`` of the training targets (default: the lowest, ``cfg.noise_min``),
    on the exact test data. The level must be the one recorded in ``metrics.nc`` and in
    every ``.pt`` (attribute / key ``noise``), and it is recorded in the result.

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
    noise = cfg.noise_min if noise is None else float(noise)
    if noise not in cfg.noise:
        raise ValueError(f"noise level {noise!r} is not one of the study's {list(cfg.noise)}")
    check_noise(metrics, metrics_path, noise)
    bank = load_test_bank(dataset_paths, cfg, N)
    checksums = {s: io.dataset_checksum(dataset_paths[s]) for s in cfg.spaces}
    check_metrics_data(metrics, metrics_path, checksums, dataset_paths)
    op = cfg.operator
    x = op.grid(N)
    x_model = grid_points(x, op.dim)  # what the model receives: (N+1,), 2D (N+1, N+1, 2)
    predictors: dict[tuple[str, int], Predictor | None] = {}
    for space in cfg.spaces:
        for seed in cfg.seeds:
            path = paths.member_beside(metrics_path, space, seed)
            if path.exists():
                predictors[(space, seed)] = _module_predictor(
                    path, x_model, entry, model, N, checksums[space], dataset_paths[space],
                    cfg.device, noise)
            else:
                log.warning("%s: no trained member %s; marked missing", model, path)
                predictors[(space, seed)] = None
    order = dict(train_space=list(cfg.spaces), seed=list(cfg.seeds))
    train_mse = metrics["train_mse"].sel(order).transpose("train_space", "seed").values
    diverged = metrics["diverged"].sel(order).transpose("train_space", "seed").values
    part = crossval_part(model, str(metrics.attrs.get("class", model)), N, cfg.spaces,
                         cfg.seeds, bank, predictors, train_mse, diverged)
    R = np.full((len(cfg.spaces), len(cfg.seeds), (N - 1) ** op.dim, (N + 1) ** op.dim),
                np.nan)
    for a, space in enumerate(cfg.spaces):
        for b, seed in enumerate(cfg.seeds):
            pred = predictors[(space, seed)]
            if pred is not None:
                with np.errstate(all="ignore"):
                    R[a, b] = gr.response_matrix(pred, N, cfg.impulse_amplitude, operator=op)
    part["response"] = (("model", "train_space", "resolution", "seed", "x", "source"),
                        R[None, :, None])
    part["u_mean_square"] = (("test_space", "resolution"), bank.mean_square()[:, None])
    if op.dim == 1:  # 2D: x, source index the flattened nodes (C order), no coordinate values
        part = part.assign_coords(x=x[1:-1], source=x)
    part.attrs.update(provenance(cfg.step_hash), pde=cfg.pde, data_hash=cfg.data_hash,
                      impulse_amplitude=float(cfg.impulse_amplitude), n_test=int(bank.f.shape[0]),
                      noise=float(noise))
    return part


def check_part(part: xr.Dataset, path: PathLike, cfg: AnalysisConfig) -> None:
    """Refuse an evaluation file of another study: pde, spaces, seeds, resolutions, the data
    hash and the analysis params' hash (``config_hash`` = ``cfg.step_hash``)."""
    check_results(part, path, pde=cfg.pde, spaces=cfg.spaces, seeds=cfg.seeds)
    check_provenance(part, path, data_hash=cfg.data_hash, config_hash=cfg.step_hash)
    bad = [int(r) for r in part["resolution"].values if int(r) not in cfg.resolutions]
    if bad:
        raise ResultsMismatch(path, [f"resolution {bad} not in the study's {cfg.resolutions}"])


def _part_noise(part: xr.Dataset, path: PathLike, cfg: AnalysisConfig) -> float:
    """The noise level an evaluation file records; it must be one of the study's levels."""
    if "noise" not in part.attrs:
        raise ResultsMismatch(path, ["attribute noise missing (an evaluation file from before "
                                     "greenbench recorded the noise level)"])
    level = float(part.attrs["noise"])
    if level not in cfg.noise:
        raise ResultsMismatch(path, [f"attribute noise is {level!r}, not one of the study's "
                                     f"levels {list(cfg.noise)}"])
    return level


def _stack_parts(parts: Sequence[xr.Dataset], models: list[str], cfg: AnalysisConfig
                 ) -> dict[str, np.ndarray]:
    """The evaluation files of one noise level on the crossval grid (absent: ``missing``)."""
    res, sp, seeds = list(cfg.resolutions), list(cfg.spaces), list(cfg.seeds)
    nm, nt, nr, ns = len(models), len(sp), len(res), len(seeds)
    out = dict(mse=np.full((nm, nt, nt, nr, ns), np.nan),
               rel_l2=np.full((nm, nt, nt, nr, ns), np.nan),
               train_mse=np.full((nm, nt, nr, ns), np.nan),
               diverged=np.zeros((nm, nt, nr, ns), dtype=bool),
               missing=np.ones((nm, nt, nr, ns), dtype=bool),
               u_mean_square=np.full((nt, nr), np.nan),
               model_class=np.array([""] * nm, dtype=object))
    for part in parts:
        sel = dict(train_space=sp, test_space=sp, seed=seeds)
        for m in part["model"].values:
            i = models.index(str(m))
            out["model_class"][i] = str(part["model_class"].sel(model=m).item())
            for N in part["resolution"].values:
                r = res.index(int(N))
                one = part.sel(model=m, resolution=N).sel(sel)
                for name in ("mse", "rel_l2"):
                    out[name][i, :, :, r] = one[name].transpose("train_space", "test_space",
                                                                "seed")
                for name in ("train_mse", "diverged", "missing"):
                    out[name][i, :, r] = one[name].transpose("train_space", "seed").values
                out["u_mean_square"][:, r] = one["u_mean_square"].sel(test_space=sp).values
    return out


def crossval_dataset(part_paths: Sequence[PathLike], cfg: AnalysisConfig) -> xr.Dataset:
    """``crossval.nc``: every evaluation file on one grid, plus the scorecard.

    Models are ordered as the parts come; a (model, N) without a part is all ``missing``.
    ``mse``, ``rel_l2``, ``train_mse``, ``diverged``, ``missing`` and the scorecard are those of
    the lowest noise level (``cfg.noise_min``, attribute ``noise_level``): what every analysis
    that does not concern noise reads. ``noise_mse``, ``noise_rel_l2``, ``noise_train_mse``,
    ``noise_missing`` and ``noise_diverged`` hold every level of the study along ``noise``
    (the lowest included)."""
    parts = [(p, io.read_netcdf(p)) for p in part_paths]
    by_level: dict[float, list[xr.Dataset]] = {level: [] for level in cfg.noise}
    for p, part in parts:
        check_part(part, p, cfg)
        by_level[_part_noise(part, p, cfg)].append(part)
    models = list(dict.fromkeys(str(m) for _, part in parts for m in part["model"].values))
    res, sp, seeds = list(cfg.resolutions), list(cfg.spaces), list(cfg.seeds)
    stacks = {level: _stack_parts(by_level[level], models, cfg) for level in cfg.noise}
    low = stacks[cfg.noise_min]
    classes = low["model_class"]
    for st in stacks.values():  # a model evaluated only at another level still has a class
        classes = np.where(classes == "", st["model_class"], classes)
    ums = low["u_mean_square"]
    for st in stacks.values():
        ums = np.where(np.isnan(ums), st["u_mean_square"], ums)
    d5 = ("model", "train_space", "test_space", "resolution", "seed")
    d4 = ("model", "train_space", "resolution", "seed")
    levels = list(cfg.noise)

    def over_noise(name: str) -> np.ndarray:
        return np.stack([stacks[level][name] for level in levels])

    cv = xr.Dataset(
        dict(mse=(d5, low["mse"]), rel_l2=(d5, low["rel_l2"]),
             train_mse=(d4, low["train_mse"]), diverged=(d4, low["diverged"]),
             missing=(d4, low["missing"]), model_class=(("model",), classes),
             u_mean_square=(("test_space", "resolution"), ums),
             noise_mse=(("noise",) + d5, over_noise("mse")),
             noise_rel_l2=(("noise",) + d5, over_noise("rel_l2")),
             noise_train_mse=(("noise",) + d4, over_noise("train_mse")),
             noise_diverged=(("noise",) + d4, over_noise("diverged")),
             noise_missing=(("noise",) + d4, over_noise("missing"))),
        coords=dict(model=np.array(models, dtype=str), train_space=sp, test_space=sp,
                    resolution=res, seed=seeds,
                    noise=np.asarray(levels, dtype=np.float64)))
    cv = cv.merge(scorecard(cv, cfg.scorecard_factor, cfg.scorecard_floor))
    cv = cv.merge(noise_block_medians(cv))
    cv.attrs.update(provenance(cfg.config_hash), pde=cfg.pde, k=float(cfg.k),
                    **cfg.coefficients, data_hash=cfg.data_hash,
                    scorecard_factor=float(cfg.scorecard_factor),
                    scorecard_floor=float(cfg.scorecard_floor),
                    noise_level=float(cfg.noise_min))
    return cv


def noise_block_medians(cv: xr.Dataset) -> xr.Dataset:
    """``noise_in_span_mse`` and ``noise_out_of_span_mse`` (noise, model, resolution): the
    median ``noise_mse`` over the in-span / out-of-span cells (``in_span`` mask; every train
    and test space and seed of members neither missing nor diverged; NaN when none). The
    in-span median is the error floor of a level; their ratio measures the block structure
    (the report's noise finding)."""
    mse = cv["noise_mse"].transpose("noise", "model", "resolution", "train_space",
                                    "test_space", "seed").values
    bad = (cv["noise_missing"] | cv["noise_diverged"]).transpose(
        "noise", "model", "resolution", "train_space", "seed").values[:, :, :, :, None, :]
    inside = cv["in_span"].transpose("train_space", "test_space").values[:, :, None]
    usable = np.isfinite(mse) & ~bad
    out = {}
    for name, mask in (("noise_in_span_mse", inside), ("noise_out_of_span_mse", ~inside)):
        cells = int(np.prod(mse.shape[3:]))  # explicit: a study without models has size 0
        vals = np.where(usable & mask, mse, np.nan).reshape(mse.shape[:3] + (cells,))
        med = np.full(mse.shape[:3], np.nan)
        have = np.isfinite(vals).any(axis=-1)
        med[have] = np.nanmedian(vals[have], axis=-1)
        out[name] = (("noise", "model", "resolution"), med)
    return xr.Dataset(out)


def greens_datasets(part_paths: Sequence[PathLike], cfg: AnalysisConfig
                    ) -> tuple[xr.Dataset, dict[int, xr.Dataset]]:
    """``greens.nc`` and ``{N: greens/N{res}.nc}`` from the evaluation files of the lowest
    noise level (``cfg.noise_min``; another level is refused)."""
    parts = [(p, io.read_netcdf(p)) for p in part_paths]
    for p, part in parts:
        check_part(part, p, cfg)
        check_noise(part, p, cfg.noise_min)
    models = list(dict.fromkeys(str(m) for _, part in parts for m in part["model"].values))
    names = np.array(models, dtype=str)  # str even when there are no models
    res, sp, seeds = list(cfg.resolutions), list(cfg.spaces), list(cfg.seeds)
    h = cfg.stencil_halfwidth
    shape = (len(models), len(sp), len(res), len(seeds))
    err, inv_err, cond = (np.full(shape, np.nan) for _ in range(3))
    stencil = np.full(shape + (2 * h + 1,), np.nan)
    ref_stencil = np.full((len(res), 2 * h + 1), np.nan)
    fields = {}
    op = cfg.operator
    dim = op.dim
    for r, N in enumerate(res):
        G = op.greens_matrix(N)
        A_int = gr.reference_interior_operator(N, op, cfg.fem_mass)
        A_inv, ref_stencil[r], _ = gr.inverse_and_stencil(A_int, op, h, max_cond=np.inf)
        cols = gr.interior_columns(N, dim)
        # 1D: the whole G_hat (x, s); 2D: slices G_hat(x, y; s_j, t_j) at the gallery's sources
        src, src_nodes = gr.gallery_sources(N, dim)

        def field(g: np.ndarray, src=src, N=N) -> np.ndarray:
            return g if dim == 1 else g[..., src].reshape(g.shape[:-2] + (N - 1,) * dim
                                                          + (len(src),))

        G_hat = np.full((len(models), len(sp), len(seeds)) + field(G).shape, np.nan)
        for _, part in parts:
            if N not in part["resolution"].values:
                continue
            for m in part["model"].values:
                i = models.index(str(m))
                R = part["response"].sel(model=m, resolution=N).sel(
                    train_space=sp, seed=seeds).transpose("train_space", "seed", "x", "source")
                for a in range(len(sp)):
                    for b in range(len(seeds)):
                        W_int = R.values[a, b][:, cols]
                        G_ab = W_int * N**dim
                        G_hat[i, a, b] = field(G_ab)
                        err[i, a, r, b] = gr.greens_rel_error(G_ab, N, op)
                        inv, stencil[i, a, r, b], cond[i, a, r, b] = gr.inverse_and_stencil(
                            W_int, op, h, max_cond=1.0 / cfg.rank_tol)
                        if inv is not None:
                            inv_err[i, a, r, b] = np.linalg.norm(inv - A_inv) / np.linalg.norm(
                                A_inv)
        xi = op.grid(N)[1:-1]
        if dim == 1:
            variables = dict(G_hat=(("model", "train_space", "seed", "x", "s"), G_hat),
                             G=(("x", "s"), G))
            coords = dict(model=names, train_space=sp, seed=seeds, x=xi, s=xi)
        else:  # slices at the gallery's source points (docs/results_format.md)
            variables = dict(
                G_hat_slices=(("model", "train_space", "seed", "x", "y", "point"), G_hat),
                G_slices=(("x", "y", "point"), field(G)),
                source_s=(("point",), op.grid(N)[src_nodes[:, 0]]),
                source_t=(("point",), op.grid(N)[src_nodes[:, 1]]))
            coords = dict(model=names, train_space=sp, seed=seeds, x=xi, y=xi,
                          point=np.arange(len(src)))
        fields[N] = xr.Dataset(
            variables, coords=coords,
            attrs={**provenance(cfg.config_hash), "pde": cfg.pde, "N": int(N),
                   "data_hash": cfg.data_hash,
                   "k": float(cfg.k), **cfg.coefficients,
                   "impulse_amplitude": float(cfg.impulse_amplitude)})
    fd3 = gr.axis_slice(op.reference_stencil(h))
    d4 = ("model", "train_space", "resolution", "seed")
    deviation, tail = gr.stencil_measures(stencil, ref_stencil[None, None, :, None, :],
                                          radius=op.order // 2)
    ds = xr.Dataset(
        dict(greens_rel_error=(d4, err), inverse_rel_error=(d4, inv_err),
             interior_cond=(d4, cond), stencil=(d4 + ("offset",), stencil),
             stencil_deviation=(d4, deviation), stencil_tail=(d4, tail),
             stencil_reference=(("resolution", "offset"), ref_stencil),
             fd_stencil_reference=(("offset",), fd3)),
        coords=dict(model=names, train_space=sp, resolution=res, seed=seeds,
                    offset=np.arange(-h, h + 1)),
        attrs={**provenance(cfg.config_hash), "pde": cfg.pde, "k": float(cfg.k),
               **cfg.coefficients, "data_hash": cfg.data_hash, "fem_mass": cfg.fem_mass,
               "impulse_amplitude": float(cfg.impulse_amplitude),
               "max_cond": 1.0 / cfg.rank_tol})
    return ds, fields
