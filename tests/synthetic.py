"""A synthetic results set that follows the results contract (DESIGN.md, docs/results_format.md).

A test fake (it lives under tests/, not in the package): for tests of the figures and the
report without training anything. Every file goes through
:func:`greenbench.results_contract.apply_contract`, and
``tests/test_analysis_workflow.py::test_synthetic_results_match_a_real_study`` checks that it
has exactly the variables, dims, dtype kinds and attributes of a real tiny study's files. The
numbers mimic the paper's qualitative findings with known ground truth: a ``linear`` model is
exact in span (MSE ~1e-30) and fails outside it; ``mlp`` is good only on the diagonal; the
neural operators are block lower-triangular with a ~1e-6 floor; ``fno`` diverges on one training
space; FD errors are at machine precision for poly p < q and ``mu dx^q`` otherwise. Green's
functions of linear-class models are the exact Thm 3.2 projections ``A U U^T``.

Also :func:`linear_predictor`, a fake trained model of the linear family (``u_int = W f``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from greenbench.analysis import greens as gr
from greenbench.analysis import measures as ms
from greenbench.analysis import quantity as qt
from greenbench.analysis import training as trn
from greenbench.analysis.convergence import _p_trends
from greenbench.analysis.convergence import coefficient_variables as _coefficient_variables
from greenbench.analysis.scorecard import scorecard
from greenbench.analysis.stage import noise_block_medians
from greenbench.config import validate_config
from greenbench.operators import get_operator
from greenbench.pde import fem_operator, greens_matrix, grid
from greenbench.provenance import data_hash as study_data_hash
from greenbench.provenance import provenance
from greenbench.results_contract import apply_contract
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


def linear_predictor(W: np.ndarray, bias: np.ndarray | float | None = None):
    """``u_int = W f (+ bias)``, zero boundary: the linear family's forward map, as a predictor
    ``f (n, N+1) -> u (n, N+1)``."""

    def predict(f: np.ndarray) -> np.ndarray:
        u = np.zeros_like(f)
        u[:, 1:-1] = f @ W.T if bias is None else f @ W.T + bias
        return u

    return predict


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
    master_seed: int = 0, config_hash: str = "synthetic", data_hash: str | None = None,
    unconverged: Mapping[str, Sequence[str]] | None = None, steps: int = 400,
) -> dict[str, object]:
    """Build every results file of one study in memory.

    Parameters
    ----------
    spaces, resolutions, seeds
        The study's axes (space names, grid resolutions N, training seeds).
    models
        Model name -> class (``linear``, ``mlp``, ``fno``, ..., ``fd``, ``pinn``). Operator
        classes appear in ``crossval``/``greens``; ``linear`` drives ``bounds``.
    data_hash
        The ``data_hash`` attribute (default: that of the default study on these spaces and
        resolutions, what the report checks it against).
    unconverged
        Model -> training spaces whose members (every seed and N) ran all ``steps`` with a
        loss still falling at the end: not converged by
        :func:`greenbench.analysis.training.converged_members`; every other iterative member
        stopped on a plateau, and ``linear`` is a closed-form fit. ``measures`` leaves the
        unconverged members out, as the analysis does.

    Returns
    -------
    dict with ``crossval``, ``bounds``, ``convergence``, ``quantity``, ``measures``, ``greens``,
    ``training`` (xarray.Dataset) and ``greens_fields`` (dict resolution -> Dataset of
    ``G_hat``, ``G``).
    """
    spaces, res, seeds = list(spaces), [int(r) for r in resolutions], [int(s) for s in seeds]
    op_models = {m: c for m, c in models.items() if c not in ("fd", "pinn")}
    names = list(op_models)
    rng = rng_for(master_seed, "synthetic-results")
    if data_hash is None:
        families = {f: [parse_space(s).p for s in spaces if parse_space(s).family == f]
                    for f in ("poly", "cos", "sin")}
        data_hash = study_data_hash(validate_config(
            {"spaces": {**families, "fem": "fem" in spaces}, "resolutions": res}))
    attrs = {**provenance(config_hash), "pde": "poisson1d", "data_hash": data_hash}
    fd_model = next((m for m, c in models.items() if c == "fd"), "")
    pinn_model = next((m for m, c in models.items() if c == "pinn"), "")
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
    crossval = xr.Dataset(
        dict(mse=(dims5, mse), rel_l2=(dims5, np.sqrt(mse) / 0.1),
             train_mse=(dims4, train_mse), diverged=(dims4, diverged),
             missing=(dims4, np.zeros_like(diverged)),
             model_class=(("model",), np.array([op_models[m] for m in names], dtype=object)),
             u_mean_square=(("test_space", "resolution"), np.full((nt, nr), 0.01))),
        coords=coords, attrs={**attrs, "k": k, "scorecard_factor": 10.0,
                              "scorecard_floor": 1e-6})
    crossval = crossval.merge(scorecard(crossval, 10.0, 1e-6))
    # one noise level (exact data): the noise axis repeats the lowest level, as the analysis
    for name in ("mse", "rel_l2", "train_mse", "missing", "diverged"):
        crossval[f"noise_{name}"] = crossval[name].expand_dims(noise=[0.0])
    crossval = crossval.merge(noise_block_medians(crossval))
    crossval.attrs["noise_level"] = 0.0

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
    ranks = np.array([[parse_space(s).n_coefficients(N + 1) for N in res] for s in spaces])
    bounds = xr.Dataset(
        dict(predicted_mse=(d3b, predicted), predicted_mse_std=(d3b, std),
             bound_mse=(d3b, 2.0 * predicted), consistency_mse=(d3b, np.zeros(predicted.shape)),
             bound_holds=(d3b, np.ones(predicted.shape, bool)),
             out_of_span=(d3b, np.broadcast_to(~inside[:, :, None], predicted.shape) * 0.5),
             span_rank=(("train_space", "resolution"), ranks.astype(np.int64)),
             u_mean_square=(("test_space", "resolution"), np.full((nt, nr), 0.01)),
             measured_mse=(("train_space", "test_space", "resolution", "seed"), lin),
             measured_z=(("train_space", "test_space", "resolution", "seed"), z),
             w_star_rel_error=(("train_space", "resolution", "seed"),
                               10.0 ** rng.uniform(-12, -9, (nt, nr, ns)))),
        coords=dict(train_space=spaces, test_space=spaces, resolution=res, seed=seeds),
        attrs={**attrs, "k": k, "linear_model": linear[0] if linear else "", "n_test": 50,
               "rank_tol": 1e-10, "init": "zero (W0 = 0)", "fem_mass": "consistent",
               "noise_level": 0.0})
    for name in ("predicted_mse", "predicted_mse_std", "measured_mse", "measured_z"):
        bounds[f"noise_{name}"] = bounds[name].expand_dims(noise=[0.0])
    bounds["noise_expected_excess_mse"] = xr.zeros_like(bounds["predicted_mse"]).expand_dims(
        noise=[0.0])
    bounds["noise_sigma"] = xr.zeros_like(bounds["span_rank"], dtype=float).expand_dims(
        noise=[0.0])

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
    level = np.where(span[None, :] & (np.array(sizes) >= n_home)[:, None],
                     1e-30, 1e-4 * (1 + np.arange(len(spaces))[None, :]))      # (size, test)
    q_models = ["linear"]
    qmse = np.broadcast_to(level[None, :, :, None], (1, len(sizes), nt, ns)).copy()
    flags = np.zeros((1, len(sizes), ns), dtype=bool)
    quantity = qt.quantity_table(q_models, sizes, spaces, seeds, qmse, np.sqrt(qmse) / 0.1,
                                 flags, flags.copy(), home)
    quantity.attrs.update(attrs, quantity_train_space=home, quantity_resolution=res[0],
                          quantity_dropped_sizes=np.zeros(0, dtype=np.int64))
    d2, d3 = ("q", "train_space"), ("q", "train_space", "resolution")
    convergence = xr.Dataset(
        dict(fd_w=(d3 + ("seed",), k * (1 + fd)),
             fd_rel_error=(d3 + ("seed",), fd),
             fd_predicted_rel_error=(d3, fd.mean(axis=-1)),
             fd_leading_term=(d3, fd.mean(axis=-1)),
             fd_rate=(d2, rate),
             fd_rate_ci_low=(d2, rate - 0.1),
             fd_rate_ci_high=(d2, rate + 0.1),
             fd_rate_dof=(d2, np.full(rate.shape, max(nr - 2, 0), dtype=np.int64)),
             fd_rate_points=(d2, np.full(rate.shape, nr, dtype=np.int64)),
             fd_exact=(d2, exact),
             fd_predicted_rate=(d2, rate),
             fd_predicted_rate_ci_low=(d2, rate - 0.1),
             fd_predicted_rate_ci_high=(d2, rate + 0.1),
             fd_predicted_exact=(d2, exact),
             pinn_rel_error=(("train_space", "resolution", "seed"),
                             np.broadcast_to(pinn[:, None, None], (len(fam_spaces), nr, ns))),
             dx=(("resolution",), dx),
             fd_roundoff_floor=(("q", "resolution"), np.full((len(q_orders), nr), 1e-12)),
             **_p_trends(fam_spaces, list(q_orders), fd,
                         np.broadcast_to(pinn[:, None, None], (len(fam_spaces), nr, ns)))),
        coords=dict(q=list(q_orders), train_space=fam_spaces, resolution=res, seed=seeds,
                    family=["poly", "cos", "sin"]),
        attrs={**attrs, "k": k, "confidence_level": 0.95, "fd_exact_tol": 1e-12,
               "fd_model": fd_model, "pinn_model": pinn_model})
    # the per-coefficient variables (poisson1d learns k only): the same bias as fd_rel_error
    fd_k = fd[None]                                   # (coefficient, q, space, res, seed)
    for var, (dims, values) in _coefficient_variables(
            ["k"], [k], res, fd_k.mean(axis=-1), fd_k.mean(axis=-1), k * (1 + fd_k)).items():
        convergence[var] = (dims, values)
    convergence = convergence.assign_coords(coefficient=["k"])
    # like the analysis: every study space on the train_space axis (fem: no p, no FD values)
    convergence = convergence.reindex(train_space=spaces)
    for var in ("fd_exact", "fd_predicted_exact", "fd_coef_exact"):
        convergence[var] = convergence[var].fillna(False).astype(bool)
    for var in ("fd_rate_dof", "fd_rate_points"):
        convergence[var] = convergence[var].fillna(0).astype(np.int64)

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
            attrs={**attrs, "N": N, "k": k, "impulse_amplitude": 1.0})
    offsets = np.arange(-3, 4)
    op = get_operator("poisson1d", k=k)
    reference = np.array([gr.inverse_and_stencil(gr.reference_interior_operator(N, op), op, 3,
                                                  max_cond=np.inf)[1] for N in res])
    stencil = np.broadcast_to(reference[None, None, :, None, :], (nm, nt, nr, ns, 7)).copy()
    deviation, tail = gr.stencil_measures(stencil, reference[None, None, :, None, :])
    greens = xr.Dataset(
        dict(greens_rel_error=(dims4, rel), inverse_rel_error=(dims4, rel),
             interior_cond=(dims4, np.full(rel.shape, 1e3)),
             stencil=(dims4 + ("offset",), stencil),
             stencil_reference=(("resolution", "offset"), reference),
             fd_stencil_reference=(("offset",), np.array([0, 0, -1, 2, -1, 0, 0.0])),
             stencil_deviation=(dims4, deviation), stencil_tail=(dims4, tail)),
        coords=dict(model=names, train_space=spaces, resolution=res, seed=seeds,
                    offset=offsets),
        attrs={**attrs, "k": k, "fem_mass": "consistent", "impulse_amplitude": 1.0,
               "max_cond": 1e10})
    training = trn.training_dataset(
        {(m, N): _fake_metrics(op_models[m], spaces, seeds, train_mse[i, :, r],
                               diverged[i, :, r], (unconverged or {}).get(m, ()), steps)
         for i, m in enumerate(names) for r, N in enumerate(res)},
        spaces, res, seeds, tail=0.1, rel_tol=0.05, floor=1e-8)
    training.attrs.update(attrs)
    measures = ms.measures_dataset(crossval, spaces, trn.unconverged(training))
    measures.attrs.update(attrs)
    out = dict(crossval=crossval, bounds=bounds, convergence=convergence, quantity=quantity,
               measures=measures, greens=greens, training=training)
    out = {kind: apply_contract(ds, kind) for kind, ds in out.items()}
    out["greens_fields"] = {N: apply_contract(ds, "greens_fields") for N, ds in fields.items()}
    return out


def _fake_metrics(cls: str, spaces: Sequence[str], seeds: Sequence[int], train_mse: np.ndarray,
                  diverged: np.ndarray, unconverged: Sequence[str], steps: int) -> xr.Dataset:
    """A training ``metrics.nc`` of one (model, N) with the variables the training analysis
    reads: ``linear`` is a closed-form fit (steps 0, 1); another member decays geometrically
    from 1 to its ``train_mse`` and stops on a plateau at 3/4 of ``steps``, unless its space is
    in ``unconverged`` (it runs all ``steps``, still falling 10x over the last tenth)."""
    exact = cls == "linear"
    step = np.array([0, 1]) if exact else np.arange(0, steps + 1, max(1, steps // 100))
    ns = len(seeds)
    loss = np.full((len(spaces), ns, step.size), np.nan)
    final = np.zeros((len(spaces), ns), dtype=np.int64)
    stopped = np.zeros((len(spaces), ns), dtype=bool)
    for a, space in enumerate(spaces):
        for b in range(ns):
            target = float(train_mse[a, b]) if np.isfinite(train_mse[a, b]) else 1e-6
            if exact:
                loss[a, b], final[a, b] = [1.0, target], 1
            elif space in unconverged:     # log-linear all the way: 10x in the last tenth
                loss[a, b] = 10.0 ** (np.log10(target) * step / steps)
                final[a, b] = steps
            else:                          # reaches target at steps/2, stops at 3/4
                t = np.minimum(step / (steps / 2), 1.0)
                stop = int(0.75 * steps)
                loss[a, b] = np.where(step <= stop, 10.0 ** (np.log10(target) * t), np.nan)
                loss[a, b, np.searchsorted(step, stop)] = target
                final[a, b], stopped[a, b] = stop, True
            if diverged[a, b]:
                loss[a, b, step.size // 2:] = np.nan
    best = np.nanmin(loss, axis=-1)
    ts = ("train_space", "seed")
    return xr.Dataset(
        dict(final_step=(ts, final), diverged=(ts, np.asarray(diverged, bool)),
             stopped=(ts, stopped), loss=(ts + ("step",), loss), final_loss=(ts, best),
             best_loss=(ts, best)),
        coords=dict(train_space=list(spaces), seed=list(seeds), step=step),
        attrs=dict(optimizer="exact" if exact else "adam", **{"class": cls}))
