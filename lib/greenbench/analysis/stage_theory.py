"""The theory side of the analysis stage: ``bounds.nc``, ``convergence.nc``, ``quantity.nc``.

Like :mod:`greenbench.analysis.stage`, these read the study's files and return datasets. No
training happens here: the data-quantity study's neural members are trained by the training
stage (rule ``train_quantity``) and only loaded and evaluated.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from greenbench import io, paths
from greenbench.analysis import bounds as bd
from greenbench.analysis import convergence as cvg
from greenbench.analysis import measures as ms
from greenbench.analysis import quantity as qt
from greenbench.analysis.checks import (
    ResultsMismatch,
    check_noise,
    check_provenance,
    check_results,
)
from greenbench.analysis.config import AnalysisConfig
from greenbench.analysis.crossval import Predictor, evaluate
from greenbench.analysis.stage import (
    PathLike,
    check_metrics_data,
    check_part,
    load_test_bank,
    read_datasets,
)
from greenbench.data import noisy_targets
from greenbench.provenance import provenance

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
            check_noise(parts[N], path, cfg.noise_min)
            check_part(parts[N], path, cfg)
    tables, noise_tables, w_err, n_test = [], [], [], None
    for N in cfg.resolutions:
        data = read_datasets(dataset_paths[N], cfg, N)
        n_test = _n_test(data, dataset_paths[N])
        train = {s: data[s].split("train") for s in cfg.spaces}
        # the lowest level's targets (exact when it is 0): what crossval.mse was trained on
        lowest = {s: (f, noisy_targets(u, cfg.noise_min, int(data[s].attrs["noise_seed"])))
                  for s, (f, u) in train.items()}
        table, w_stars = bd.bounds_table(
            lowest, cfg.spaces, N, operator=cfg.operator, mass=cfg.fem_mass,
            distribution=cfg.distribution, scale=cfg.scale, rank_tol=cfg.rank_tol)
        tables.append(table)
        noise_tables.append(bd.noise_table(
            train, {s: int(data[s].attrs["noise_seed"]) for s in cfg.spaces}, cfg.spaces, N,
            cfg.noise, operator=cfg.operator, mass=cfg.fem_mass, distribution=cfg.distribution,
            scale=cfg.scale, rank_tol=cfg.rank_tol))
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
    noise = xr.concat(noise_tables, dim="resolution")
    noise["u_mean_square"] = table["u_mean_square"]
    noise_mse = None
    if linear_model is not None and "noise_mse" in crossval:
        if [float(v) for v in crossval["noise"].values] != list(cfg.noise):
            raise ResultsMismatch(cv_name, [f"noise levels {list(crossval['noise'].values)}, "
                                            f"the study's are {list(cfg.noise)}"])
        noise_mse = crossval["noise_mse"].sel(model=linear_model)
    noise = bd.noise_measured_columns(noise, noise_mse, n_test).drop_vars("u_mean_square")
    out = out.merge(noise)
    out.attrs.update(provenance(cfg.config_hash), pde=cfg.pde, k=float(cfg.k),
                     **cfg.coefficients,
                     data_hash=cfg.data_hash, linear_model=linear_model or "",
                     rank_tol=float(cfg.rank_tol),
                     n_test=int(n_test), init="zero (W0 = 0)", fem_mass=cfg.fem_mass,
                     noise_level=float(cfg.noise_min))
    return out


def _parameter_metrics(path: PathLike, cfg: AnalysisConfig, model: str, N: int,
                       var: str, q: bool, entry: Mapping | None) -> xr.Dataset:
    """A parameter learner's ``metrics.nc`` checked against the study: axes, the data hash,
    the config's model entry (``entry``; ``None``: not checked)."""
    ds = io.read_netcdf(path)
    check_results(ds, path, model=model, pde=cfg.pde, N=N, spaces=cfg.spaces, seeds=cfg.seeds,
                  q_orders=cfg.fd_orders if q else None)
    check_provenance(ds, path, data_hash=cfg.data_hash, entry=entry)
    check_noise(ds, path, cfg.noise_min)
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
                        cfg: AnalysisConfig,
                        entries: Mapping[str, Mapping] | None = None) -> xr.Dataset:
    """``convergence.nc``: Thm 3.1 predictions, learned FD and PINN errors, rates, and the
    Spearman trends of the parameter errors with p (the data-quantity study is ``quantity.nc``).

    ``fd`` / ``pinn``: ``(model name, {N: metrics.nc})`` or ``None`` when not trained;
    ``entries``: ``{model name: config entry}`` their metrics must have been trained from
    (a model absent from it: entry not checked). The metrics are checked first, the datasets
    before they are used."""
    entries = entries or {}
    learned = {}
    for key, spec, var, q in (("fd", fd, "w", True), ("pinn", pinn, "rel_error", False)):
        if spec is not None:
            learned[key] = {N: _parameter_metrics(spec[1][N], cfg, spec[0], N, var, q,
                                                  entries.get(spec[0]))
                            for N in cfg.resolutions}
            _check_learned_data({N: (spec[1][N], ds) for N, ds in learned[key].items()},
                                dataset_paths, cfg)
    nq, ns, nr, nd = len(cfg.fd_orders), len(cfg.spaces), len(cfg.resolutions), len(cfg.seeds)
    pred = np.full((nq, ns, nr), np.nan)
    lead = np.full_like(pred, np.nan)
    fd_w = None if fd is None else np.full((nq, ns, nr, nd), np.nan)
    pinn_rel = None if pinn is None else np.full((ns, nr, nd), np.nan)
    # every learned coefficient (k, and c or b): bias vs dx and rates (fd_coef_*)
    op = cfg.operator
    coefs = list(op.COEFFICIENTS)
    c_pred = np.full((len(coefs), nq, ns, nr), np.nan)
    c_lead = np.full_like(c_pred, np.nan)
    c_w = None if fd is None else np.full((len(coefs), nq, ns, nr, nd), np.nan)
    for r, N in enumerate(cfg.resolutions):
        data = read_datasets(dataset_paths[N], cfg, N)
        train = {}
        for s in cfg.spaces:
            idx = data[s].train_index
            train[s] = (data[s].coefficients[idx], *data[s].split("train"))
        pred[:, :, r], lead[:, :, r] = cvg.fd_theory(train, N, cfg.fd_orders, cfg.operator)
        c_pred[..., r], c_lead[..., r] = cvg.fd_theory_coefficients(train, N, cfg.fd_orders, op)
        if fd is not None:
            fd_w[:, :, r] = _parameter_values(learned["fd"][N], cfg, "w", q=True).values
            for j, c in enumerate(coefs):
                name = "w" if j == 0 else f"w_{c}"
                if name in learned["fd"][N]:
                    c_w[j, :, :, r] = _parameter_values(learned["fd"][N], cfg, name,
                                                        q=True).values
        if pinn is not None:
            pinn_rel[:, r] = _parameter_values(learned["pinn"][N], cfg, "rel_error",
                                               q=False).values
    out = cvg.convergence_dataset(cfg.spaces, cfg.resolutions, cfg.seeds, cfg.fd_orders, pred,
                                  lead, fd_w, pinn_rel, k=cfg.k, exact_tol=cfg.fd_exact_tol,
                                  level=cfg.confidence, order=cfg.operator.order)
    for var, (dims, values) in cvg.coefficient_variables(
            coefs, [op.coefficients[c] for c in coefs], cfg.resolutions, c_pred, c_lead, c_w,
            exact_tol=cfg.fd_exact_tol, level=cfg.confidence, order=op.order).items():
        out[var] = (dims, values)
    out = out.assign_coords(coefficient=coefs)
    out.attrs.update(provenance(cfg.config_hash), pde=cfg.pde, k=float(cfg.k),
                     **cfg.coefficients,
                     data_hash=cfg.data_hash, fd_model="" if fd is None else fd[0],
                     pinn_model="" if pinn is None else pinn[0])
    return out


def _quantity_members(name: str, metrics_path: PathLike, dataset_path: PathLike,
                      cfg: AnalysisConfig, sizes: Sequence[int], x: np.ndarray
                      ) -> tuple[dict[tuple[int, int], Predictor | None], np.ndarray]:
    """Predictors of the trained quantity members ``{(sample_size, seed): predictor or None}``
    (``None``: no ``.pt`` file) and ``diverged (sample_size, seed)``, from the training job's
    ``metrics.nc`` (rule ``train_quantity``), checked against the study first: the model, pde,
    N, quantity space, seeds and sample sizes, the data hash, the config's entry
    (``cfg.quantity_models[name]``) and the checksum of the current dataset."""
    from greenbench import train

    entry = cfg.quantity_models[name]
    space, N = cfg.quantity_space, cfg.quantity_N
    metrics = io.read_netcdf(metrics_path)
    check_results(metrics, metrics_path, model=name, pde=cfg.pde, N=N, spaces=[space],
                  seeds=cfg.seeds)
    check_provenance(metrics, metrics_path, data_hash=cfg.data_hash, entry=entry)
    check_noise(metrics, metrics_path, cfg.noise_min)
    have = [int(n) for n in metrics["sample_size"].values] if "sample_size" in metrics else []
    if have != list(sizes):
        raise ResultsMismatch(metrics_path, [f"sample_size is {have}, the study's "
                                             f"analysis.sample_sizes give {list(sizes)}"])
    checksum = io.dataset_checksum(dataset_path)
    check_metrics_data(metrics, metrics_path, {space: checksum}, {space: dataset_path})
    diverged = metrics["diverged"].sel(train_space=space, seed=list(cfg.seeds)).transpose(
        "sample_size", "seed").values.astype(bool)
    out_dir = Path(metrics_path).parent
    predictors: dict[tuple[int, int], Predictor | None] = {}
    for n in sizes:
        for seed in cfg.seeds:
            path = paths.member_in(out_dir, space, seed, n)
            if not path.exists():
                log.warning("quantity study: no trained member %s; marked missing", path)
                predictors[(n, seed)] = None
                continue
            module = train.load_trained(path, entry, model=name, N=N, data_checksum=checksum,
                                        full_entry=True, dataset=dataset_path)
            module = module.to(train.resolve_device(cfg.device))
            predictors[(n, seed)] = (lambda m: lambda g: train.predict(m, g, x))(module)
    return predictors, diverged


def quantity_dataset(dataset_paths: Mapping[str, PathLike], cfg: AnalysisConfig,
                     trained: Mapping[str, PathLike] | None = None) -> xr.Dataset:
    """``quantity.nc``: the data-quantity study at ``cfg.quantity_N``.

    Rows of ``quantity_model``: ``linear`` -- the closed-form gradient-descent limit ``W*`` of
    the first n samples (:func:`greenbench.theory.w_star`, a least-squares solve, no training
    loop; the same for every seed) -- and every model of ``trained`` (``{name: metrics.nc of
    the train_quantity job}``; its members were trained in the training stage and are only
    loaded and evaluated here). Every member is evaluated on the test split of every space.
    """
    trained = dict(trained or {})
    N, space = cfg.quantity_N, cfg.quantity_space
    unknown = sorted(set(trained) - set(cfg.quantity_models))
    if unknown:
        raise ValueError(f"quantity study: {unknown} not among the configured quantity models "
                         f"{sorted(cfg.quantity_models)}")
    x = cfg.operator.grid(N)
    members = {name: _quantity_members(name, path, dataset_paths[space], cfg,
                                       list(cfg.sample_sizes), x)
               for name, path in trained.items()}
    bank = load_test_bank(dataset_paths, cfg, N)
    f, u = read_datasets({space: dataset_paths[space]}, cfg, N)[space].split("train")
    sizes = qt.check_sizes(cfg.sample_sizes, f.shape[0])
    closed = qt.quantity_errors({"linear": qt.linear_trainer(cfg.rank_tol)}, f, u, sizes, bank)
    names = ["linear", *members]
    shape = (len(names), len(sizes), len(bank.spaces), len(cfg.seeds))
    mse, rel = np.full(shape, np.nan), np.full(shape, np.nan)
    mse[0] = closed["quantity_mse"].values[0][..., None]
    rel[0] = closed["quantity_rel_l2"].values[0][..., None]
    missing = np.zeros((len(names), len(sizes), len(cfg.seeds)), dtype=bool)
    diverged = np.zeros_like(missing)
    for a, name in enumerate(names[1:], start=1):
        predictors, diverged[a] = members[name]
        for b, n in enumerate(sizes):
            for c, seed in enumerate(cfg.seeds):
                predict = predictors[(n, seed)]
                if predict is None:
                    missing[a, b, c] = True
                    continue
                with np.errstate(all="ignore"):
                    mse[a, b, :, c], rel[a, b, :, c] = evaluate(predict, bank)
    out = qt.quantity_table(names, sizes, list(bank.spaces), list(cfg.seeds), mse, rel,
                            missing, diverged, space)
    out.attrs.update(provenance(cfg.config_hash), pde=cfg.pde, data_hash=cfg.data_hash,
                     quantity_train_space=space, quantity_resolution=int(N),
                     quantity_dropped_sizes=np.asarray(cfg.dropped_sample_sizes, dtype=np.int64))
    return out


def measures_file_dataset(crossval: xr.Dataset | PathLike, cfg: AnalysisConfig,
                          training: xr.Dataset | PathLike | None = None) -> xr.Dataset:
    """``measures.nc``: the reductions of ``crossval.nc`` the report's findings read
    (:func:`greenbench.analysis.measures.measures_dataset`); ``crossval`` and ``training``
    (``training.nc``: its non-converged members are left out and counted) are checked first
    (the study's hash)."""
    from greenbench.analysis.training import unconverged

    crossval, _ = _read_checked(crossval, "crossval.nc", cfg, cfg.config_hash)
    exclude = None
    if training is not None:
        training, _ = _read_checked(training, "training.nc", cfg, cfg.config_hash)
        exclude = unconverged(training)
    out = ms.measures_dataset(crossval, cfg.spaces, exclude,
                              scorecard_factor=cfg.scorecard_factor,
                              scorecard_floor=cfg.scorecard_floor)
    out.attrs.update(provenance(cfg.config_hash), pde=cfg.pde, data_hash=cfg.data_hash)
    return out
