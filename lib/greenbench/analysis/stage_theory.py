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
from greenbench.analysis.checks import ResultsMismatch, check_provenance, check_results
from greenbench.analysis.config import AnalysisConfig
from greenbench.analysis.crossval import Predictor
from greenbench.analysis.stage import (
    PathLike,
    check_metrics_data,
    check_part,
    load_test_bank,
    read_datasets,
)
from greenbench.provenance import provenance
from greenbench.seeding import derive_seed

log = logging.getLogger(__name__)


def _n_test(data: Mapping[str, io.Dataset], paths: Mapping[str, PathLike]) -> int:
    sizes = {space: int(d.attrs["n_test"]) for space, d in data.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError("datasets disagree on n_test: " + ", ".join(
            f"{paths[s]} has {n}" for s, n in sizes.items()))
    return next(iter(sizes.values()))


def _read_checked(source: xr.Dataset | PathLike, name: str, cfg: AnalysisConfig,
                  config_hash: str) -> tuple[xr.Dataset, str]:
    """An analysis file (or its Dataset, named ``name``) checked against the study: pde, the
    data hash and ``config_hash``."""
    if not isinstance(source, xr.Dataset):
        name, source = str(source), io.read_netcdf(source)
    check_results(source, name, pde=cfg.pde)
    check_provenance(source, name, data_hash=cfg.data_hash, config_hash=config_hash)
    return source, name


def bounds_dataset(dataset_paths: Mapping[int, Mapping[str, PathLike]],
                   crossval: xr.Dataset | PathLike, linear_model: str | None,
                   linear_part: Mapping[int, PathLike], cfg: AnalysisConfig) -> xr.Dataset:
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

    ``crossval`` (the study's hash) and the evaluation files are checked first, the datasets
    before they are used.
    """
    crossval, cv_name = _read_checked(crossval, "crossval.nc", cfg, cfg.config_hash)
    parts = {}
    if linear_model is not None:
        for N, path in linear_part.items():
            parts[N] = io.read_netcdf(path)
            check_part(parts[N], path, cfg)
    tables, w_err, n_test = [], [], None
    for N in cfg.resolutions:
        data = read_datasets(dataset_paths[N], cfg, N)
        n_test = _n_test(data, dataset_paths[N])
        train = {s: data[s].split("train") for s in cfg.spaces}
        table, w_stars = bd.bounds_table(
            train, cfg.spaces, N, k=cfg.k, mass=cfg.fem_mass, distribution=cfg.distribution,
            scale=cfg.scale, noise=cfg.noise, rank_tol=cfg.rank_tol)
        tables.append(table)
        err = np.full((len(cfg.spaces), len(cfg.seeds)), np.nan)
        if linear_model is not None and N in parts:
            R = parts[N]["response"].sel(model=linear_model, resolution=N).sel(
                train_space=list(cfg.spaces), seed=list(cfg.seeds)).transpose(
                "train_space", "seed", "x", "source").values
            for a, s in enumerate(cfg.spaces):
                err[a] = bd.w_star_rel_error(R[a], w_stars[s])
        w_err.append(err)
    table = xr.concat(tables, dim="resolution")
    mse = None
    if linear_model is not None:
        if linear_model not in crossval["model"].values:
            raise ResultsMismatch(cv_name, [f"linear model {linear_model!r} absent "
                                                  f"(models: {list(crossval['model'].values)})"])
        mse = crossval["mse"].sel(model=linear_model)
    out = bd.measured_columns(table, mse, n_test)
    out["w_star_rel_error"] = (("train_space", "resolution", "seed"),
                               np.stack(w_err, axis=1))
    out.attrs.update(provenance(cfg.config_hash), pde=cfg.pde, k=float(cfg.k),
                     data_hash=cfg.data_hash, linear_model=linear_model or "",
                     rank_tol=float(cfg.rank_tol),
                     n_test=int(n_test), init="zero (W0 = 0)", fem_mass=cfg.fem_mass)
    return out


def _parameter_metrics(path: PathLike, cfg: AnalysisConfig, model: str, N: int,
                       var: str, q: bool, entry: Mapping | None) -> xr.Dataset:
    """A parameter learner's ``metrics.nc`` checked against the study: axes, the data hash,
    the config's model entry (``entry``; ``None``: not checked)."""
    ds = io.read_netcdf(path)
    check_results(ds, path, model=model, pde=cfg.pde, N=N, spaces=cfg.spaces, seeds=cfg.seeds,
                  q_orders=cfg.fd_orders if q else None)
    check_provenance(ds, path, data_hash=cfg.data_hash, entry=entry)
    if var not in ds:
        raise ResultsMismatch(path, [f"model {model!r} has no variable {var!r}"])
    return ds


def _check_learned_data(learned: Mapping[int, tuple[PathLike, xr.Dataset]],
                        dataset_paths: Mapping[int, Mapping[str, PathLike]],
                        cfg: AnalysisConfig) -> None:
    for N, (path, ds) in learned.items():
        paths = {s: dataset_paths[N][s] for s in cfg.spaces}
        check_metrics_data(ds, path, {s: io.dataset_checksum(p) for s, p in paths.items()},
                           paths)


def _parameter_values(ds: xr.Dataset, cfg: AnalysisConfig, var: str, q: bool) -> xr.DataArray:
    da = ds[var].sel(train_space=list(cfg.spaces), seed=list(cfg.seeds))
    return da.sel(q=list(cfg.fd_orders)).transpose("q", "train_space", "seed") if q else \
        da.transpose("train_space", "seed")


def convergence_dataset(dataset_paths: Mapping[int, Mapping[str, PathLike]],
                        fd: tuple[str, Mapping[int, PathLike]] | None,
                        pinn: tuple[str, Mapping[int, PathLike]] | None,
                        quantity: xr.Dataset | PathLike | None, cfg: AnalysisConfig,
                        entries: Mapping[str, Mapping] | None = None) -> xr.Dataset:
    """``convergence.nc``: Thm 3.1 predictions, learned FD and PINN errors, rates, quantity.

    ``fd`` / ``pinn``: ``(model name, {N: metrics.nc})`` or ``None`` when not trained;
    ``entries``: ``{model name: config entry}`` their metrics must have been trained from
    (a model absent from it: entry not checked). ``quantity``: ``quantity.nc`` (path or
    Dataset; its ``config_hash`` must be ``cfg.step_hash``). The metrics and ``quantity`` are
    checked first, the datasets before they are used."""
    entries = entries or {}
    learned = {}
    for key, spec, var, q in (("fd", fd, "w", True), ("pinn", pinn, "rel_error", False)):
        if spec is not None:
            learned[key] = {N: _parameter_metrics(spec[1][N], cfg, spec[0], N, var, q,
                                                  entries.get(spec[0]))
                            for N in cfg.resolutions}
            _check_learned_data({N: (spec[1][N], ds) for N, ds in learned[key].items()},
                                dataset_paths, cfg)
    if quantity is not None:
        quantity, _ = _read_checked(quantity, "quantity.nc", cfg, cfg.step_hash)
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
            fd_w[:, :, r] = _parameter_values(learned["fd"][N], cfg, "w", q=True).values
        if pinn is not None:
            pinn_rel[:, r] = _parameter_values(learned["pinn"][N], cfg, "rel_error",
                                               q=False).values
    out = cvg.convergence_dataset(cfg.spaces, cfg.resolutions, cfg.seeds, cfg.fd_orders, pred,
                                  lead, fd_w, pinn_rel, k=cfg.k, exact_tol=cfg.fd_exact_tol,
                                  level=cfg.confidence)
    if quantity is not None:
        out = out.merge(quantity, combine_attrs="override")
    out.attrs.update(provenance(cfg.config_hash), pde=cfg.pde, k=float(cfg.k),
                     data_hash=cfg.data_hash, fd_model="" if fd is None else fd[0],
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
    out.attrs.update(provenance(cfg.step_hash), pde=cfg.pde, data_hash=cfg.data_hash,
                     quantity_train_space=cfg.quantity_space,
                     quantity_resolution=int(N),
                     quantity_dropped_sizes=np.asarray(cfg.dropped_sample_sizes, dtype=np.int64))
    return out


def model_names_by_class(models: Mapping[str, Mapping], classes: Sequence[str]) -> list[str]:
    """Enabled config models whose class is one of ``classes``, in config order."""
    return [m for m, e in models.items() if e.get("enabled", True) and e["class"] in classes]
