"""Claims of paper-notes 8 about theory, parameter learning, Green's functions and extensions:
Thm 3.2 agreement, Thm 3.1 bias and rates, PINN trend, the span-vs-complexity contrast, FEM
data, the recovered stencil, noise, other PDEs and the opposing behaviours of 8.2.

Every number is read from the analysis files (bounds.nc, convergence.nc with its p trends,
quantity.nc, greens.nc with the stencil measures, measures.nc); here it is only compared with
the thresholds of :mod:`greenbench.report.verdicts`."""

from __future__ import annotations

import numpy as np

from greenbench.report.verdicts import (
    FD_EXACT_MAX,
    FULL,
    IN_SPAN_MAX,
    NOT_MEASURABLE,
    NOT_REPRODUCED,
    PARTLY,
    PREDICTED_ZERO,
    QUANTITY_GAIN,
    RATE_TOL,
    REPRODUCED,
    SEPARATION,
    SPREAD_DECADES,
    STENCIL_TOL,
    Z_MAX,
    Evidence,
    Finding,
    absent,
    finite_max,
    finite_min,
    grade,
    left_out_of,
    of_class,
)


def thm32_agreement(ev: Evidence) -> Finding:
    src, claim = "8.3 Thm 3.2", ("The linear model's test error equals the Thm 3.2 prediction "
                                 "(W* = A U U^T): the derived bounds are replicated empirically")
    b = ev.bounds
    if (b is None or "measured_mse" not in b or "predicted_mse" not in b
            or not np.isfinite(b["measured_mse"]).any()):
        return absent(src, claim, "measured linear-model MSE in bounds.nc", ev, "linear")
    meas = b["measured_mse"]
    pred = b["predicted_mse"].broadcast_like(meas).transpose(*meas.dims).values
    meas = meas.values
    ok = np.isfinite(meas) & np.isfinite(pred)
    zero = pred < PREDICTED_ZERO
    if "measured_z" not in b:
        return Finding(src, claim, "no measured_z in bounds.nc", NOT_MEASURABLE)
    # the sampling error of the test set is known: a z-test per cell
    z = np.abs(b["measured_z"].transpose(*b["measured_mse"].dims).values)
    zero |= ~np.isfinite(z)  # the analysis leaves z undefined in span (round-off only)
    close, rule = z <= Z_MAX, f"|z| <= {Z_MAX:g} (test-set sampling error)"
    # "at machine precision" relative to the test space's scale, as in linear_blocks
    scale = (b["u_mean_square"].broadcast_like(b["measured_mse"])
             .transpose(*b["measured_mse"].dims).values if "u_mean_square" in b else 1.0)
    agree = np.where(zero, meas < IN_SPAN_MAX * scale, close) & ok
    n, good = int(ok.sum()), int(agree.sum())
    below = (f"{IN_SPAN_MAX:.0e} x the test space's mean square of u" if "u_mean_square" in b
             else f"{IN_SPAN_MAX:.0e}")
    text = f"{good}/{n} cells agree (predicted 0: measured < {below}; otherwise {rule})"
    if "bound_holds" in b:
        holds = b["bound_holds"].values.astype(float)
        known = np.isfinite(holds)
        text += (f"; the projection bound holds in {int((holds[known] > 0).sum())}/"
                 f"{int(known.sum())} cells")
    if "w_star_rel_error" in b and np.isfinite(b["w_star_rel_error"]).any():
        text += f"; ||W - W*||/||W*|| worst {finite_max(b['w_star_rel_error']):.1e}"
    return Finding(src, claim, text, grade(good / n if n else float("nan")))


def data_quantity(ev: Evidence) -> Finding:
    src = "5 Thm 3.2 data quantity"
    claim = ("The GD limit depends only on the span of the training data, not on its amount: "
             "more samples of the same space do not fix a missing span")
    q = ev.quantity
    need = ("quantity_out_of_span_mse", "quantity_in_span", "quantity_spanning_size")
    if q is None or any(v not in q for v in need) or not np.isfinite(
            q["quantity_out_of_span_mse"]).any():
        return absent(src, claim, "data-quantity study (quantity.nc)")
    home = str(q.attrs.get("quantity_train_space", "?"))
    inside = q["quantity_in_span"].values
    if np.isnan(inside.astype(float)).all() or inside.astype(bool).all():
        return Finding(src, claim, f"every test space lies in the span of {home} (or none is "
                                   f"known)", NOT_MEASURABLE)
    # Fewer samples than the space's dimension span only part of it: the analysis names the
    # first size that can span the whole training space (quantity_spanning_size).
    sizes = [int(n) for n in q["sample_size"].values]
    first = float(q["quantity_spanning_size"])
    if not np.isfinite(first) or int(first) not in sizes:
        return Finding(src, claim, "no usable quantity_spanning_size", NOT_MEASURABLE)
    first, last = int(first), sizes[-1]
    parts, checks = [], []
    for model in (str(m) for m in q["quantity_model"].values):
        out = q["quantity_out_of_span_mse"].sel(quantity_model=model)
        few, many = float(out.sel(sample_size=first)), float(out.sel(sample_size=last))
        checks.append(many >= few / QUANTITY_GAIN)
        parts.append(f"{model}: out-of-span MSE {few:.1e} with {first} samples, "
                     f"{many:.1e} with {last}")
    text = (f"trained on {home}: " + "; ".join(parts)
            + f" (a drop by less than {QUANTITY_GAIN:g}x counts as not fixed)")
    return Finding(src, claim, text, grade(sum(checks) / len(checks)))


def linear_not_greens(ev: Evidence) -> Finding:
    src, claim = "8.3 Fig. 1", ("A linear model trained on a restricted space has W that looks "
                                "like the Green's function, yet W != A despite tiny training error")
    models = of_class(ev, "linear")
    g = ev.greens
    if not models or g is None or "greens_rel_error" not in g:
        return absent(src, claim, "Green's function error of a linear model", ev, "linear")
    err = g["greens_rel_error"].sel(model=[m for m in models if m in g["model"]],
                                    resolution=ev.expected.finest)
    spaces = [str(s) for s in err["train_space"].values]
    restricted = [s for s in spaces if s != "fem"]
    worst_fit = finite_min(err.sel(train_space=restricted).values) if restricted else np.nan
    fem = finite_max(err.sel(train_space="fem").values) if "fem" in spaces else np.nan
    text = (f"at N={ev.expected.finest}: smallest ||G_hat - G||/||G|| over restricted training "
            f"spaces {worst_fit:.1e}; trained on fem {fem:.1e}")
    if not np.isfinite(worst_fit):
        return Finding(src, claim, text, NOT_MEASURABLE)
    verdict = REPRODUCED if worst_fit > 1e-3 and not fem >= worst_fit else NOT_REPRODUCED
    return Finding(src, claim, text, verdict)


def _fd_growth(conv) -> tuple[int, int]:
    """(#(family, q) where the error grows with p at the finest N, #(family, q) measured),
    from ``fd_p_trend`` (Spearman, convergence.nc)."""
    if "fd_p_trend" not in conv:
        return 0, 0
    rho = conv["fd_p_trend"].values
    known = np.isfinite(rho)
    return int((rho[known] > 0).sum()), int(known.sum())


def fd_bias(ev: Evidence) -> Finding:
    src, claim = "8.1 FD / Thm 3.1", ("FD parameter learning: w = k exactly when p < q, a bias "
                                      "~ mu_q dx^q when p >= q, growing with p")
    conv = ev.convergence
    if conv is None or "fd_rel_error" not in conv or not np.isfinite(conv["fd_rel_error"]).any():
        return absent(src, claim, "FD parameter learning", ev, "fd")
    err = conv["fd_rel_error"]
    qs = [int(v) for v in conv["q"].values]
    spaces = [str(s) for s in conv["train_space"].values]
    exact = np.zeros((len(qs), len(spaces)), dtype=bool)
    if "fd_exact" in conv:      # the analysis's exact cells (poly p < q, or all at round-off)
        exact = conv["fd_exact"].transpose("q", "train_space").values.astype(bool)
    worst = err.max(dim=[d for d in err.dims if d not in ("q", "train_space")]).transpose(
        "q", "train_space").values
    n_exact, ok_exact = int(exact.sum()), int((exact & (worst < FD_EXACT_MAX)).sum())
    parts, checks = [f"exact cells (p < q) below {FD_EXACT_MAX:.0e}: {ok_exact}/{n_exact}"], []
    checks.append(ok_exact == n_exact)
    if "fd_rate" in conv and conv.sizes["resolution"] >= 2:
        rate = conv["fd_rate"].transpose("q", "train_space").values
        q_arr = np.array(qs, dtype=float)[:, None]
        hit = np.abs(rate - q_arr) <= RATE_TOL
        if "fd_rate_ci_low" in conv and "fd_rate_ci_high" in conv:
            lo = conv["fd_rate_ci_low"].transpose("q", "train_space").values
            hi = conv["fd_rate_ci_high"].transpose("q", "train_space").values
            hit |= (lo <= q_arr) & (q_arr <= hi)
        fitted = ~exact & np.isfinite(rate)
        n_fit, n_hit = int(fitted.sum()), int((hit & fitted).sum())
        parts.append(f"fitted rates matching q (within {RATE_TOL} or CI): {n_hit}/{n_fit}")
        checks.append(n_fit > 0 and n_hit / n_fit >= FULL)
    grows, total = _fd_growth(conv)
    parts.append(f"error grows with p (Spearman > 0, finest N): {grows}/{total} (family, q)")
    checks.append(total > 0 and grows / total >= FULL)
    parts += _further_coefficients(conv, checks)
    verdict = REPRODUCED if all(checks) else PARTLY if any(checks) else NOT_REPRODUCED
    return Finding(src, claim, "; ".join(parts), verdict)


def _further_coefficients(conv, checks: list[bool]) -> list[str]:
    """The rates of every further learned coefficient (c, b: convergence.nc ``fd_coef_*``),
    judged like k's; appends to ``checks``. [] for an operator with k only."""
    if "fd_coef_rate" not in conv or conv.sizes.get("coefficient", 0) < 2 \
            or conv.sizes["resolution"] < 2:
        return []
    qs = np.array([int(v) for v in conv["q"].values], dtype=float)[:, None]
    parts = []
    for c in [str(v) for v in conv["coefficient"].values][1:]:
        rate = conv["fd_coef_rate"].sel(coefficient=c).transpose("q", "train_space").values
        exact = conv["fd_coef_exact"].sel(coefficient=c).transpose("q", "train_space").values
        fitted = ~exact.astype(bool) & np.isfinite(rate)
        hit = fitted & (np.abs(rate - qs) <= RATE_TOL)
        n_fit, n_hit = int(fitted.sum()), int(hit.sum())
        med = (", ".join(f"q={int(q)}: {np.nanmedian(np.where(fitted[i], rate[i], np.nan)):.2f}"
                         for i, q in enumerate(qs[:, 0]) if fitted[i].any()))
        parts.append(f"coefficient {c}: fitted rates matching q (within {RATE_TOL}) "
                     f"{n_hit}/{n_fit} (median {med})")
        checks.append(n_fit > 0 and n_hit / n_fit >= FULL)
    return parts


def pinn_trend(ev: Evidence) -> Finding:
    src, claim = "8.1 PINN inverse", "PINN learning of k: same trend as FD, error grows with p"
    conv = ev.convergence
    if conv is None or "pinn_rel_error" not in conv or not np.isfinite(
            conv["pinn_rel_error"]).any():
        return absent(src, claim, "PINN parameter learning", ev, "pinn")
    if "pinn_p_trend" not in conv:
        return Finding(src, claim, "no pinn_p_trend in convergence.nc", NOT_MEASURABLE)
    t = conv["pinn_p_trend"]
    rhos = {str(f): float(v) for f, v in zip(t["family"].values, t.values, strict=True)}
    fin = {f: r for f, r in rhos.items() if np.isfinite(r)}
    if not fin:
        return Finding(src, claim, "fewer than 3 training orders per family", NOT_MEASURABLE)
    frac = sum(r > 0 for r in fin.values()) / len(fin)
    text = "Spearman(p, |k_hat - k|/|k|): " + ", ".join(f"{f} {r:+.2f}" for f, r in fin.items())
    return Finding(src, claim, text, grade(frac))


def span_over_complexity(ev: Evidence) -> Finding:
    src, claim = "8.1 key contrast", ("Training errors differ by ~14 orders of magnitude across "
                                      "models, yet out-of-span test error jumps to a similar level "
                                      "(~1e-2) for all: the span matters more than the model")
    models = [m for m in ev.expected.operator_models if m in of_class(ev, ev.expected.models[m])]
    ms = ev.measures
    need = ("train_mse_spread", "out_of_span_spread", "train_mse_gmean", "category_mse")
    if ms is None or len(models) < 2 or any(v not in ms for v in need):
        return absent(src, claim, "results of two or more operator models")
    t_spread, o_spread = float(ms["train_mse_spread"]), float(ms["out_of_span_spread"])
    if not (np.isfinite(t_spread) and np.isfinite(o_spread)):
        return Finding(src, claim, "fewer than two models with finite training and out-of-span "
                                   "errors", NOT_MEASURABLE)
    N = ev.expected.finest
    t = ms["train_mse_gmean"].sel(model=models, resolution=N).values
    o = ms["category_mse"].sel(model=models, resolution=N, category="out_of_span").values
    text = (f"training MSE spans {t_spread:.1f} decades ({finite_min(t):.0e}.."
            f"{finite_max(t):.0e}); out-of-span MSE spans {o_spread:.1f} decades "
            f"({finite_min(o):.0e}..{finite_max(o):.0e}; the level scales with the "
            f"coefficient scale)")
    verdict = (REPRODUCED if o_spread <= SPREAD_DECADES and o_spread < t_spread else
               PARTLY if o_spread < t_spread else NOT_REPRODUCED)
    return Finding(src, claim, text + left_out_of(ev, models), verdict)


def noise_floor(ev: Evidence) -> Finding:
    """The floor per model and level is crossval.nc's ``noise_in_span_mse`` (median test MSE
    over the in-span cells, finest N); a model shows blocks at a level when its out-of-span
    median is :data:`SEPARATION` times its in-span median. Reproduced when every model with
    blocks at the lowest level keeps them at every level and the floor rises with the level;
    partly when some keep them or the floor does not rise."""
    src = "8.1 noise (Fig. 7)"
    claim = ("With measurement noise the error floor rises (~1e-20 -> ~1e-9) and the "
             "lower-triangular structure stays")
    cv = ev.crossval
    if cv is None or "noise_in_span_mse" not in cv:
        return absent(src, claim, "noise levels in crossval.nc")
    levels = [float(v) for v in cv["noise"].values]
    if len(levels) < 2:
        return Finding(src, claim, f"this study has one noise level (noise = {levels[0]:g}); "
                       "the claim compares levels (config noise: a list such as "
                       "[0, 1e-8, 1e-4])", NOT_MEASURABLE)
    N = ev.expected.finest
    models = [m for m in ev.expected.operator_models if m in set(map(str, cv["model"].values))]
    rows, blocks, stays, rises = [], 0, 0, 0
    for m in models:
        inside = cv["noise_in_span_mse"].sel(model=m, resolution=N).values
        outside = cv["noise_out_of_span_mse"].sel(model=m, resolution=N).values
        if not (np.isfinite(inside).all() and np.isfinite(outside).all()):
            continue
        ratio = outside / np.maximum(inside, 1e-300)
        rows.append(f"{m} " + ", ".join(f"{v:.0e}" for v in inside)
                    + f" (out/in {ratio[0]:.0e} -> {ratio[-1]:.0e})")
        if ratio[0] >= SEPARATION:
            blocks += 1
            stays += bool(np.all(ratio >= SEPARATION))
            rises += bool(inside[-1] > inside[0])
    level_text = ", ".join(f"{s:g}" for s in levels)
    text = (f"median in-span test MSE (the floor) at N={N} for noise levels {level_text}: "
            + ("; ".join(rows) if rows else "no model with finite cells at every level"))
    if blocks == 0:
        return Finding(src, claim, text + f"; no model shows blocks (out/in >= "
                       f"{SEPARATION:g}) at the lowest level", NOT_MEASURABLE)
    text += (f"; blocks (out/in >= {SEPARATION:g}) stay at every level for {stays} of "
             f"{blocks} model(s) with blocks at the lowest level, whose floor rises for "
             f"{rises} of {blocks}")
    verdict = (REPRODUCED if stays == blocks and rises == blocks else
               NOT_REPRODUCED if stays == 0 else PARTLY)
    return Finding(src, claim, text, verdict)


def fem_broadest(ev: Evidence) -> Finding:
    src, claim = "8.1 FEM data", ("Models trained on FEM (piecewise-linear) data generalize most "
                                  "broadly, across all families")
    models = [m for m in ev.expected.operator_models if m in of_class(ev, ev.expected.models[m])]
    if not models or "fem" not in ev.expected.spaces:
        return absent(src, claim, "operator model trained on fem")
    best = []
    ms = ev.measures
    for m in models if ms is not None and "row_worst_mse" in ms else []:
        worst = ms["row_worst_mse"].sel(model=m, resolution=ev.expected.finest)
        fem = float(worst.sel(train_space="fem"))
        if np.isfinite(fem):
            best.append((m, bool(fem <= finite_min(worst.values)), fem))
    if not best:
        return Finding(src, claim, "no usable fem row", NOT_MEASURABLE)
    wins = [m for m, ok, _ in best if ok]
    text = (f"fem row has the smallest worst-case test MSE for {len(wins)}/{len(best)} models "
            f"({', '.join(f'{m}: {w:.1e}' for m, _, w in best)})")
    return Finding(src, claim, text + left_out_of(ev, models), grade(len(wins) / len(best)))


def fem_stencil(ev: Evidence) -> Finding:
    src, claim = "8.1 FEM data", ("A linear model trained on FEM data learns the full operator A; "
                                  "its inverse gives the local (tridiagonal) stencil")
    g, N = ev.greens, ev.expected.finest
    stored = (g is not None and "stencil_deviation" in g and "stencil_tail" in g
              and "fem" in g["train_space"]
              and N in g["resolution"])
    models = [m for m in ev.expected.models_of_class("linear")
              if stored and m in g["model"]]
    if not models:
        return absent(src, claim, "stencil of a linear model trained on fem", ev, "linear")
    model = models[0]
    one = g.sel(model=model, train_space="fem", resolution=N).isel(seed=0)
    dev, tail = float(one["stencil_deviation"]), float(one["stencil_tail"])
    if not (np.isfinite(dev) and np.isfinite(tail)):
        return absent(src, claim, "stencil of a linear model trained on fem", ev, "linear")
    op = ev.expected.operator()
    r = op.order // 2       # the radius of the operator's 2nd-order stencil (3 or 5 points)
    offsets = [o for o in range(-r, r + 1) if "stencil" in one and o in one["offset"].values]
    centre = one["stencil"].sel(offset=offsets).values if offsets else np.full(1, np.nan)
    ref = np.asarray(op.reference_stencil(r))  # 2D: the slice along x, as greens.nc's
    ref = ref[(slice(None),) + (r,) * (ref.ndim - 1)]
    text = (f"{op.name}, {model} at N={N}: inverse of the learned operator vs the inverse of "
            f"the generating operator (the exact fem solution operator): relative max "
            f"deviation {dev:.1e}; centre (offsets -{r}..{r}, units of "
            f"{max(op.terms, key=lambda t: t.derivative).coefficient} N^{op.order}) "
            f"{' '.join(f'{v:.3f}' for v in centre)}, largest entry beyond distance {r} "
            f"{tail:.1e} of the largest (the local stencil {' '.join(f'{v:g}' for v in ref)} "
            f"only for lumped-mass FEM data of a second-order operator; this study: "
            f"{ev.expected.fem_mass} mass)")
    # two parts: the model learned the generating operator; that operator's inverse is local
    # (tridiagonal) -- true for lumped-mass FEM data, not for consistent mass (M^-1 K)
    learned, tridiagonal = dev < STENCIL_TOL, tail < STENCIL_TOL
    verdict = (REPRODUCED if learned and tridiagonal else
               PARTLY if learned or tridiagonal else NOT_REPRODUCED)
    return Finding(src, claim, text, verdict)


def other_pdes(ev: Evidence) -> Finding:
    """The block structure of the linear model (:func:`~greenbench.report.claims_operators.
    linear_blocks`, the same cells and thresholds) judged on this section's operator, with the
    in-span / out-of-span medians of every operator model (crossval.nc, lowest noise level):
    in a study of several operators each operator's section answers the claim for itself."""
    from greenbench.report.claims_operators import linear_blocks

    src = "8.1 other operators (Fig. 8a)"
    claim = ("The same three-block structure appears for other operators (the paper: the "
             "biharmonic equation; a Sierpinski-like pattern for 2D Poisson)")
    blocks = linear_blocks(ev)
    pde = ev.expected.pde
    if blocks.verdict == NOT_MEASURABLE:
        return Finding(src, claim, f"{pde}: {blocks.measured}", NOT_MEASURABLE)
    text = f"{pde}, linear model: {blocks.measured}"
    cv, N = ev.crossval, ev.expected.finest
    if cv is not None and "noise_in_span_mse" in cv and "noise_out_of_span_mse" in cv:
        rows = []
        for m in ev.expected.operator_models:
            if m not in set(map(str, cv["model"].values)):
                continue
            inside = float(cv["noise_in_span_mse"].sel(model=m, resolution=N).isel(noise=0))
            outside = float(cv["noise_out_of_span_mse"].sel(model=m, resolution=N)
                            .isel(noise=0))
            if np.isfinite(inside) and np.isfinite(outside):
                rows.append(f"{m} {inside:.0e}/{outside:.0e}")
        if rows:
            text += (f"; median test MSE in span / out of span at N={N}: " + ", ".join(rows))
    return Finding(src, claim, text, blocks.verdict)


def opposing_behaviours(ev: Evidence) -> Finding:
    src, claim = "8.2", ("Opposing behaviours: richer training data makes white-box FD/PINN "
                         "parameter learning worse but black-box linear learners generalize to "
                         "more test spaces")
    parts, checks = [], []
    conv = ev.convergence
    if conv is not None and "fd_rel_error" in conv and np.isfinite(conv["fd_rel_error"]).any():
        grows, total = _fd_growth(conv)
        parts.append(f"FD error grows with p in {grows}/{total} (family, q)")
        checks.append(total > 0 and grows / total >= FULL)
    lin = of_class(ev, "linear")
    if lin and ev.measures is not None and "coverage_trend" in ev.measures:
        t = ev.measures["coverage_trend"].sel(model=lin[0], resolution=ev.expected.finest)
        rhos = [float(v) for v in t.values]
        judged = [r for r in rhos if np.isfinite(r)]   # families with >= 3 distinct orders
        ok = bool(judged) and all(r > 0 for r in judged)
        parts.append(f"{lin[0]}: test spaces at machine precision grow with p in every family: "
                     f"{ok} (Spearman {', '.join(f'{r:+.2f}' for r in rhos)})")
        checks.append(ok)
    if not checks:
        return absent(src, claim, "FD parameter learning or a linear model")
    verdict = (REPRODUCED if all(checks) and len(checks) == 2 else
               PARTLY if any(checks) else NOT_REPRODUCED)
    return Finding(src, claim, "; ".join(parts), verdict)
