"""A synthetic results set that follows the results contract (DESIGN.md, docs/results_format.md).

For tests, demos and benchmarks of the figures and the report without training anything. The
numbers mimic the paper's qualitative findings with known ground truth: a ``linear`` model is
exact in span (MSE ~1e-30) and fails outside it; ``mlp`` is good only on the diagonal; the
neural operators are block lower-triangular with a ~1e-6 floor; ``fno`` diverges on one training
space; FD errors are at machine precision for poly p < q and ``mu dx^q`` otherwise. Green's
functions of linear-class models are the exact Thm 3.2 projections ``A U U^T``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from greenbench.pde import fem_operator, greens_matrix, grid
from greenbench.plots.greens import generating_stencil
from greenbench.provenance import provenance
from greenbench.seeding import rng_for
from greenbench.spaces import basis_matrix, parse_space

SCORECARD_METRICS: tuple[str, ...] = (
    "in_distribution", "nested", "out_of_span", "cross_family", "span_consistency",
)

_LEVELS = {  # class -> (log10 MSE in span, log10 MSE out of span, log10 train MSE)
    "linear": (-30.0, -4.0, -22.0),
    "deep_linear": (-9.0, -3.5, -12.0),
    "mlp": (-3.0, -3.0, -7.0),
    "deeponet": (-6.5, -3.0, -7.0),
    "fno": (-6.0, -3.0, -6.5),
    "pideeponet": (-5.5, -3.0, -6.0),
}


def _log_mse(cls: str, train: str, test: str) -> float:
    """Mean log10 MSE of a cell for a model of class ``cls`` (before noise)."""
    tr, te = parse_space(train), parse_space(test)
    inside, out, _ = _LEVELS.get(cls, (-5.0, -3.0, -6.0))
    if cls == "mlp":
        return -6.5 if train == test else out
    if cls == "deep_linear" and tr.family == "poly" and train != test:
        return out
    if tr.family == "fem":
        return -11.0 if cls == "linear" else inside + 1.0
    return inside if tr.contains(te) else out


def _projected_greens(space: str, N: int, k: float) -> np.ndarray:
    """Interior ``G_hat`` of the Thm 3.2 limit ``W* = A U U^T`` (zero init) for one space."""
    dx = 1.0 / N
    G = greens_matrix(N, k)
    A = np.zeros((N - 1, N + 1))
    A[:, 1:-1] = dx * G
    B = basis_matrix(space, grid(N))
    U, s, _ = np.linalg.svd(B, full_matrices=False)
    U = U[:, s > 1e-10 * s[0]]
    return (A @ U @ U.T)[:, 1:-1] / dx


def synthetic_results(
    spaces: Sequence[str], resolutions: Sequence[int], seeds: Sequence[int],
    models: Mapping[str, str], *, q_orders: Sequence[int] = (2, 4, 6), k: float = 1.0,
    master_seed: int = 0, config_hash: str = "synthetic",
) -> dict[str, object]:
    """Build every results file of one study in memory.

    Parameters
    ----------
    spaces, resolutions, seeds
        The study's axes (space names, grid resolutions N, training seeds).
    models
        Model name -> class (``linear``, ``mlp``, ``fno``, ..., ``fd``, ``pinn``). Operator
        classes appear in ``crossval``/``greens``; ``linear`` drives ``bounds``.

    Returns
    -------
    dict with ``crossval``, ``bounds``, ``convergence``, ``greens`` (xarray.Dataset) and
    ``greens_fields`` (dict resolution -> Dataset of ``G_hat``, ``G``).
    """
    spaces, res, seeds = list(spaces), [int(r) for r in resolutions], [int(s) for s in seeds]
    op_models = {m: c for m, c in models.items() if c not in ("fd", "pinn")}
    names = list(op_models)
    rng = rng_for(master_seed, "synthetic-results")
    attrs = provenance(config_hash)
    nt, nr, ns, nm = len(spaces), len(res), len(seeds), len(names)

    base = np.array([[[_log_mse(op_models[m], tr, te) for te in spaces] for tr in spaces]
                     for m in names]).reshape(nm, nt, nt)
    mse = 10.0 ** (base[:, :, :, None, None] + rng.normal(0, 0.3, (nm, nt, nt, nr, ns)))
    train_mse = 10.0 ** (np.array([_LEVELS.get(op_models[m], (0, 0, -6.0))[2] for m in names])
                         [:, None, None, None] + rng.normal(0, 0.3, (nm, nt, nr, ns)))
    diverged = np.zeros((nm, nt, nr, ns), dtype=bool)
    for i, m in enumerate(names):
        if op_models[m] == "fno" and spaces:
            diverged[i, -2 if nt > 1 else 0] = True
    mse = np.where(diverged[:, :, None], np.nan, mse)
    dims5 = ("model", "train_space", "test_space", "resolution", "seed")
    dims4 = ("model", "train_space", "resolution", "seed")
    coords = dict(model=names, train_space=spaces, test_space=spaces, resolution=res, seed=seeds)
    d3 = ("model", "resolution", "metric")
    score = 10.0 ** rng.uniform(-12, -2, (nm, nr, len(SCORECARD_METRICS)))
    score[:, :, -1] = rng.uniform(0.5, 1.0, (nm, nr))
    crossval = xr.Dataset(
        dict(mse=(dims5, mse), rel_l2=(dims5, np.sqrt(mse) / 0.1),
             train_mse=(dims4, train_mse), diverged=(dims4, diverged),
             missing=(dims4, np.zeros_like(diverged)),
             model_class=(("model",), [op_models[m] for m in names]),
             u_mean_square=(("resolution", "test_space"), np.full((nr, nt), 0.01)),
             scorecard=(d3, score),
             scorecard_missing=(d3, np.zeros(score.shape, dtype=np.int64)),
             scorecard_diverged=(d3, np.broadcast_to(
                 diverged.sum(axis=(1, 3))[:, :, None] * nt, score.shape).copy())),
        coords={**coords, "metric": list(SCORECARD_METRICS)}, attrs=attrs)

    linear = [m for m in names if op_models[m] == "linear"]
    lin = mse[names.index(linear[0])] if linear else np.full((nt, nt, nr, ns), np.nan)
    with np.errstate(divide="ignore"):
        logs = np.log(lin)
    count = np.isfinite(logs).sum(axis=-1)
    predicted = np.where(count > 0, np.exp(np.where(np.isfinite(logs), logs, 0).sum(axis=-1)
                                           / np.maximum(count, 1)), np.nan)
    inside = np.array([[parse_space(tr).contains(parse_space(te)) and tr != "fem"
                        for te in spaces] for tr in spaces])
    predicted = np.where(inside[:, :, None], 0.0, predicted)   # theory: exactly 0 in span
    std = 0.5 * predicted
    d3b = ("train_space", "test_space", "resolution")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (lin - predicted[..., None]) / (std[..., None] / np.sqrt(50))
    bounds = xr.Dataset(
        dict(predicted_mse=(d3b, predicted), predicted_mse_std=(d3b, std),
             bound_mse=(d3b, 2.0 * predicted), bound_holds=(d3b, np.ones(predicted.shape, bool)),
             measured_mse=(("train_space", "test_space", "resolution", "seed"), lin),
             measured_z=(("train_space", "test_space", "resolution", "seed"), z),
             w_star_rel_error=(("train_space", "resolution", "seed"),
                               10.0 ** rng.uniform(-12, -9, (nt, nr, ns)))),
        coords=dict(train_space=spaces, test_space=spaces, resolution=res, seed=seeds),
        attrs=attrs)

    fam_spaces = [s for s in spaces if s != "fem"]
    dx = 1.0 / np.array(res, dtype=float)
    fd = np.empty((len(q_orders), len(fam_spaces), nr, ns))
    exact = np.zeros((len(q_orders), len(fam_spaces)), dtype=bool)
    for a, q in enumerate(q_orders):
        for b, s in enumerate(fam_spaces):
            sp = parse_space(s)
            exact[a, b] = sp.family == "poly" and sp.p < q
            level = 1e-16 * np.ones(nr) if exact[a, b] else 0.01 * sp.p * dx ** q
            fd[a, b] = level[:, None] * (1 + 0.01 * rng.normal(size=(nr, ns)))
    rate = np.where(exact, np.nan, np.asarray(q_orders, dtype=float)[:, None] + 0.02)
    pinn = np.array([1e-4 * parse_space(s).p for s in fam_spaces])
    home = "sin2" if "sin2" in spaces else spaces[0]
    sizes = [1, 2, 4, 8, 16]
    span = np.array([parse_space(home).contains(parse_space(t)) for t in spaces])
    n_home = parse_space(home).n_coefficients(res[0] + 1)
    quantity = np.where(span[None, None, :] & (np.array(sizes) >= n_home)[None, :, None],
                        1e-30, 1e-4 * (1 + np.arange(len(spaces))[None, None, :]))
    convergence = xr.Dataset(
        dict(fd_rel_error=(("q", "train_space", "resolution", "seed"), fd),
             fd_predicted_rel_error=(("q", "train_space", "resolution"), fd.mean(axis=-1)),
             fd_rate=(("q", "train_space"), rate),
             fd_rate_ci_low=(("q", "train_space"), rate - 0.1),
             fd_rate_ci_high=(("q", "train_space"), rate + 0.1),
             fd_exact=(("q", "train_space"), exact),
             fd_predicted_rate=(("q", "train_space"), rate),
             fd_predicted_exact=(("q", "train_space"), exact),
             pinn_rel_error=(("train_space", "resolution", "seed"),
                             np.broadcast_to(pinn[:, None, None], (len(fam_spaces), nr, ns))),
             quantity_mse=(("quantity_model", "sample_size", "test_space"), quantity)),
        coords=dict(q=list(q_orders), train_space=fam_spaces, resolution=res, seed=seeds,
                    quantity_model=["linear"], sample_size=sizes, test_space=spaces),
        attrs={**attrs, "quantity_train_space": home, "quantity_resolution": res[0]})
    # like the analysis: every study space on the train_space axis (fem: no p, no FD values)
    convergence = convergence.reindex(train_space=spaces)
    for var in ("fd_exact", "fd_predicted_exact"):
        convergence[var] = convergence[var].fillna(False).astype(bool)

    fields, rel = {}, np.empty((nm, nt, nr, ns))
    for r, N in enumerate(res):
        G = greens_matrix(N, k)
        x = grid(N)[1:-1]
        G_hat = np.empty((nm, nt, ns, N - 1, N - 1))
        for i, m in enumerate(names):
            for j, s in enumerate(spaces):
                if op_models[m] in ("linear", "deep_linear") and s == "fem":
                    G_hat[i, j] = fem_operator(N, k)[:, 1:-1] * N    # W / dx: learns A_fem
                elif op_models[m] in ("linear", "deep_linear"):
                    G_hat[i, j] = _projected_greens(s, N, k)
                else:
                    G_hat[i, j] = G + 0.02 * G.max() * rng.normal(size=(ns, N - 1, N - 1))
                diff = (G_hat[i, j] - G).reshape(ns, -1)
                rel[i, j, r] = np.linalg.norm(diff, axis=1) / np.linalg.norm(G)
        fields[N] = xr.Dataset(
            dict(G_hat=(("model", "train_space", "seed", "x", "s"), G_hat), G=(("x", "s"), G)),
            coords=dict(model=names, train_space=spaces, seed=seeds, x=x, s=x),
            attrs={**attrs, "N": N, "k": k})
    offsets = np.arange(-3, 4)
    reference = np.array([generating_stencil(N, k)[(N - 1) // 2 + offsets] for N in res])
    stencil = np.broadcast_to(reference[None, None, :, None, :], (nm, nt, nr, ns, 7)).copy()
    greens = xr.Dataset(
        dict(greens_rel_error=(dims4, rel), stencil=(dims4 + ("offset",), stencil),
             stencil_reference=(("resolution", "offset"), reference),
             fd_stencil_reference=(("offset",), np.array([0, 0, -1, 2, -1, 0, 0.0]))),
        coords=dict(model=names, train_space=spaces, resolution=res, seed=seeds,
                    offset=offsets), attrs={**attrs, "k": k})
    return dict(crossval=crossval, bounds=bounds, convergence=convergence, greens=greens,
                greens_fields=fields)
