"""The theory side of the analysis stage: ``bounds.nc``, ``convergence.nc``, ``quantity.nc``.

Like :mod:`greenbench.analysis.stage`, these read the study's files and return datasets.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from greenbench import io, pde
from greenbench.analysis import bounds as bd
from greenbench.analysis import convergence as cvg
from greenbench.analysis import quantity as qt
from greenbench.analysis.checks import ResultsMismatch, check_results
from greenbench.analysis.config import AnalysisConfig
from greenbench.analysis.crossval import Predictor
from greenbench.analysis.stage import PathLike, load_test_bank, read_datasets
from greenbench.provenance import provenance
from greenbench.seeding import derive_seed

log = logging.getLogger(__name__)


def _n_test(data: Mapping[str, io.Dataset]) -> int:
    sizes = {int(d.attrs["n_test"]) for d in data.values()}
    if len(sizes) != 1:
        raise ValueError(f"datasets disagree on n_test: {sorted(sizes)}")
    return sizes.pop()


def bounds_dataset(dataset_paths: Mapping[int, Mapping[str, PathLike]], crossval: xr.Dataset,
                   linear_model: str | None, linear_part: Mapping[int, PathLike],
                   cfg: AnalysisConfig) -> xr.Dataset:
    """``bounds.nc``: Thm 3.2 predicted vs measured for the linear model.

    Parameters
    ----------
    dataset_paths
        ``{N: {space: path}}``.
    crossval
        ``crossval.nc`` (measured MSE of ``linear_model``).
    linear_model
        Name of the config's linear model (``None``: predictions only, measurements ``nan``).
    linear_part
        ``{N: evaluation file of linear_model}`` (its response matrix gives the trained ``W``).
    """
    tables, w_err, n_test = [], [], None
    for N in cfg.resolutions:
        data = read_datasets(dataset_paths[N], cfg, N)
        n_test = _n_test(data)
        train = {s: data[s].split("train") for s in cfg.spaces}
        table, w_stars = bd.bounds_table(
            train, cfg.spaces, N, k=cfg.k, mass=cfg.fem_mass, distribution=cfg.distribution,
            scale=cfg.scale, noise=cfg.noise, rank_tol=cfg.rank_tol)
        tables.append(table)
        err = np.full((len(cfg.spaces), len(cfg.seeds)), np.nan)
        if linear_model is not None and N in linear_part:
            part = io.read_netcdf(linear_part[N])
            check_results(part, linear_part[N], spaces=cfg.spaces, seeds=cfg.seeds)
            R = part["response"].sel(model=linear_model, resolution=N).sel(
                train_space=list(cfg.spaces), seed=list(cfg.seeds)).transpose(
                "train_space", "seed", "x", "source").values
            for a, s in enumerate(cfg.spaces):
                err[a] = bd.w_star_rel_error(R[a], w_stars[s])
        w_err.append(err)
    table = xr.concat(tables, dim="resolution")
    mse = None
    if linear_model is not None:
        if linear_model not in crossval["model"].values:
            raise ResultsMismatch("crossval.nc", [f"linear model {linear_model!r} absent "
                                                  f"(models: {list(crossval['model'].values)})"])
        mse = crossval["mse"].sel(model=linear_model)
    out = bd.measured_columns(table, mse, n_test)
    out["w_star_rel_error"] = (("train_space", "resolution", "seed"),
                               np.stack(w_err, axis=1))
    out.attrs.update(provenance(cfg.config_hash), pde=cfg.pde, k=float(cfg.k),
                     linear_model=linear_model or "", rank_tol=float(cfg.rank_tol),
                     n_test=int(n_test), init="zero (W0 = 0)", fem_mass=cfg.fem_mass)
    return out


def _parameter_metrics(path: PathLike, cfg: AnalysisConfig, model: str, N: int,
                       var: str, q: bool) -> xr.DataArray:
    ds = io.read_netcdf(path)
    check_results(ds, path, model=model, pde=cfg.pde, N=N, spaces=cfg.spaces, seeds=cfg.seeds,
                  q_orders=cfg.fd_orders if q else None)
    if var not in ds:
        raise ResultsMismatch(path, [f"model {model!r} has no variable {var!r}"])
    da = ds[var].sel(train_space=list(cfg.spaces), seed=list(cfg.seeds))
    return da.sel(q=list(cfg.fd_orders)).transpose("q", "train_space", "seed") if q else \
        da.transpose("train_space", "seed")


def convergence_dataset(dataset_paths: Mapping[int, Mapping[str, PathLike]],
                        fd: tuple[str, Mapping[int, PathLike]] | None,
                        pinn: tuple[str, Mapping[int, PathLike]] | None,
                        quantity: xr.Dataset | None, cfg: AnalysisConfig) -> xr.Dataset:
    """``convergence.nc``: Thm 3.1 predictions, learned FD and PINN errors, rates, quantity.

    ``fd`` / ``pinn``: ``(model name, {N: metrics.nc})`` or ``None`` when not trained."""
    nq, ns, nr, nd = len(cfg.fd_orders), len(cfg.spaces), len(cfg.resolutions), len(cfg.seeds)
    pred = np.full((nq, ns, nr), np.nan)
    lead = np.full_like(pred, np.nan)
    fd_w = None if fd is None else np.full((nq, ns, nr, nd), np.nan)
    pinn_rel = None if pinn is None else np.full((ns, nr, nd), np.nan)
    for r, N in enumerate(cfg.resolutions):
        data = read_datasets(dataset_paths[N], cfg, N)
        train = {}
        for s in cfg.spaces:
            idx = data[s].train_index
            train[s] = (data[s].coefficients[idx], *data[s].split("train"))
        pred[:, :, r], lead[:, :, r] = cvg.fd_theory(train, N, cfg.fd_orders, cfg.k)
        if fd is not None:
            fd_w[:, :, r] = _parameter_metrics(fd[1][N], cfg, fd[0], N, "w", q=True).values
        if pinn is not None:
            pinn_rel[:, r] = _parameter_metrics(pinn[1][N], cfg, pinn[0], N, "rel_error",
                                                q=False).values
    out = cvg.convergence_dataset(cfg.spaces, cfg.resolutions, cfg.seeds, cfg.fd_orders, pred,
                                  lead, fd_w, pinn_rel, k=cfg.k, exact_tol=cfg.fd_exact_tol,
                                  level=cfg.confidence)
    if quantity is not None:
        out = out.merge(quantity, combine_attrs="override")
    out.attrs.update(provenance(cfg.config_hash), pde=cfg.pde, k=float(cfg.k),
                     fd_model="" if fd is None else fd[0],
                     pinn_model="" if pinn is None else pinn[0])
    if quantity is not None:
        out.attrs.update({k: v for k, v in quantity.attrs.items() if k.startswith("quantity_")})
    return out


def _neural_trainer(name: str, entry: Mapping, N: int, x: np.ndarray, k: float,
                    cfg: AnalysisConfig) -> qt.Trainer:
    """Train ``entry`` on ``(f, u)`` in-process (``cfg.device``) through greenbench.train."""
    from greenbench import train
    from greenbench.models.registry import TrainConfig
    from greenbench.train import fit, make_problem

    tcfg = TrainConfig.from_entry(name, entry)

    def trainer(f: np.ndarray, u: np.ndarray) -> Predictor:
        seed = derive_seed(cfg.master_seed, cfg.pde, "quantity", name, N, f.shape[0])
        problem = make_problem(name, entry, N, [seed], f[None], u[None], x, k, tcfg,
                               train.resolve_device(cfg.device))
        result = fit(problem, tcfg)
        if bool(result.diverged[0]):
            log.warning("quantity study: %s on %d samples diverged", name, f.shape[0])
        module = problem.member_modules()[0].eval()
        return lambda g: train.predict(module, g, x)

    return trainer


def quantity_dataset(dataset_paths: Mapping[str, PathLike], cfg: AnalysisConfig) -> xr.Dataset:
    """Data-quantity study at ``cfg.quantity_N``: the closed-form linear model and every model
    of ``cfg.quantity_models`` trained on subsets of the ``cfg.quantity_space`` training split,
    evaluated on every test split."""
    N = cfg.quantity_N
    bank = load_test_bank(dataset_paths, cfg, N)
    f, u = read_datasets({cfg.quantity_space: dataset_paths[cfg.quantity_space]}, cfg,
                         N)[cfg.quantity_space].split("train")
    trainers: dict[str, qt.Trainer] = {"linear": qt.linear_trainer(cfg.rank_tol)}
    x = pde.grid(N)
    for name, entry in cfg.quantity_models.items():
        trainers[name] = _neural_trainer(name, entry, N, x, cfg.k, cfg)
    out = qt.quantity_errors(trainers, f, u, cfg.sample_sizes, bank)
    out.attrs.update(provenance(cfg.config_hash), quantity_train_space=cfg.quantity_space,
                     quantity_resolution=int(N),
                     quantity_dropped_sizes=np.asarray(cfg.dropped_sample_sizes, dtype=np.int64))
    return out


def model_names_by_class(models: Mapping[str, Mapping], classes: Sequence[str]) -> list[str]:
    """Enabled config models whose class is one of ``classes``, in config order."""
    return [m for m, e in models.items() if e.get("enabled", True) and e["class"] in classes]
