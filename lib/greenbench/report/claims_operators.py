"""Claims of paper-notes 8.1 about the operator models (linear, deep linear, MLP, DeepONet, FNO,
PI-DeepONet), judged on ``measures.nc`` (the cross-validation's reductions, computed by the
analysis). A class with several models is judged on its first model with results."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from greenbench.report.verdicts import (
    FIT_MARGIN,
    GENERALIZES_RATIO,
    IN_SPAN_MAX,
    NOT_MEASURABLE,
    NOT_REPRODUCED,
    OUT_OF_SPAN_MIN,
    PARTLY,
    REPRODUCED,
    SEPARATION,
    Evidence,
    Finding,
    absent,
    finite_max,
    finite_min,
    fraction,
    grade,
    left_out,
    of_class,
    relative_cells,
)


def _ready(ev: Evidence, *names: str) -> bool:
    """``measures.nc`` is there with every variable of ``names``."""
    return ev.measures is not None and all(n in ev.measures for n in names)


def _cells(ev: Evidence, model: str, category: str):
    """``(cell MSE (train, test, resolution), category mask (train, test, 1))`` of a model."""
    m = ev.measures
    cells = m["cell_mse"].sel(model=model).transpose("train_space", "test_space",
                                                     "resolution").values
    mask = m["category_mask"].sel(category=category).transpose("train_space",
                                                               "test_space").values
    mask = np.nan_to_num(mask.astype(float)) > 0       # a NaN mask (unusable file) is empty
    return cells, mask[:, :, None]


def _category(ev: Evidence, model: str, category: str, N: int | None = None) -> float:
    N = ev.expected.finest if N is None else N
    return float(ev.measures["category_mse"].sel(model=model, resolution=N, category=category))


def _no_scale(src: str, claim: str) -> Finding:
    return Finding(src, claim, "no u_mean_square in crossval.nc (the test spaces' scale the "
                               "thresholds are relative to)", NOT_MEASURABLE)


def linear_blocks(ev: Evidence) -> Finding:
    src, claim = "8.1 Linear", ("Linear u = W f generalizes to subspaces: three lower-triangular "
                                "blocks (test p' <= train p at machine precision, p' > p fails), "
                                "as Thm 3.2 predicts")
    models = of_class(ev, "linear")
    if not models or not _ready(ev, "cell_mse", "category_mask"):
        return absent(src, claim, "model of class linear", ev, "linear")
    good = total = 0
    worst_in, best_out = [], []
    for model in models:
        # relative MSE: cell_mse over the test space's mean square of u (crossval.nc)
        cin, min_ = _cells(ev, model, "family_in")
        cout, mout = _cells(ev, model, "family_out")
        cin, cout = relative_cells(ev, cin), relative_cells(ev, cout)
        if cin is None:
            return _no_scale(src, claim)
        mask_in = np.broadcast_to(min_, cin.shape)
        mask_out = np.broadcast_to(mout, cout.shape)
        a, na = fraction(cin < IN_SPAN_MAX, mask_in, cin)
        b, nb = fraction(cout > OUT_OF_SPAN_MIN, mask_out, cout)
        good, total = good + a + b, total + na + nb
        worst_in.append(finite_max(cin[mask_in]))
        best_out.append(finite_min(cout[mask_out]))
    frac = good / total if total else float("nan")
    return Finding(src, claim, f"{good}/{total} same-family cells agree (MSE relative to the "
                               f"test space's mean square of u: in span < {IN_SPAN_MAX:.0e}: "
                               f"worst {finite_max(worst_in):.1e}; out of span > "
                               f"{OUT_OF_SPAN_MIN:.0e}: best {finite_min(best_out):.1e})",
                   grade(frac))


def linear_cross_family(ev: Evidence) -> Finding:
    src, claim = "8.1 Linear", "The linear model fails across families (e.g. poly -> sin)"
    models = of_class(ev, "linear")
    if not models or not _ready(ev, "cell_mse", "category_mask", "category_mse"):
        return absent(src, claim, "model of class linear", ev, "linear")
    good = total = 0
    means = []
    for model in models:
        cells, mask = _cells(ev, model, "cross_family")
        cells = relative_cells(ev, cells)
        if cells is None:
            return _no_scale(src, claim)
        a, n = fraction(cells > OUT_OF_SPAN_MIN, np.broadcast_to(mask, cells.shape), cells)
        good, total = good + a, total + n
        means += list(ev.measures["category_mse"].sel(model=model, category="cross_family")
                      .values)
    frac = good / total if total else float("nan")
    return Finding(src, claim, f"{good}/{total} cross-family cells above {OUT_OF_SPAN_MIN:.0e} "
                               f"relative to the test space's mean square of u (geometric mean "
                               f"MSE per model and N {finite_min(means):.1e}.."
                               f"{finite_max(means):.1e})", grade(frac))


def linear_train_mse(ev: Evidence) -> Finding:
    src, claim = "8.1 Linear", "The linear model's training MSE reaches ~1e-20 (float64)"
    models = of_class(ev, "linear")
    if not models or not _ready(ev, "train_mse_gmean_all", "train_mse_max"):
        return absent(src, claim, "training MSE of a linear model", ev, "linear")
    g = finite_max(ev.measures["train_mse_gmean_all"].sel(model=models).values)
    worst = finite_max(ev.measures["train_mse_max"].sel(model=models).values)
    if not np.isfinite(g):
        return Finding(src, claim, "no finite training MSE", NOT_MEASURABLE)
    verdict = REPRODUCED if g <= 1e-18 else PARTLY if g <= 1e-12 else NOT_REPRODUCED
    return Finding(src, claim, f"geometric mean {g:.1e}, worst {worst:.1e}", verdict)


def _family_generalization(ev: Evidence, cls: str) -> tuple[str, dict[str, float],
                                                            str | None] | None:
    """The first model of ``cls``, its nested/diagonal MSE ratio per family at the finest N
    (``measures.nc``), and why generalization cannot be judged (``None`` if it can): a model
    whose diagonal is not at least :data:`FIT_MARGIN` below its out-of-span error did not
    learn its own training spaces, so the ratios say nothing about generalization."""
    models = of_class(ev, cls)
    if not models or not _ready(ev, "nested_ratio", "category_mse"):
        return None
    model, N = models[0], ev.expected.finest
    r = ev.measures["nested_ratio"].sel(model=model, resolution=N)
    ratios = {str(f): float(v) for f, v in zip(r["family"].values, r.values, strict=True)}
    d, o = _category(ev, model, "diagonal"), _category(ev, model, "out_of_span")
    why = None
    if left_out(ev, model)[1]:
        why = (f"no member of {model} converged at N={N}: train longer to judge "
               f"generalization")
    elif not d * FIT_MARGIN <= o:
        why = (f"{model} did not fit its own training spaces at N={N} (diagonal "
               f"MSE {d:.1e} vs out-of-span {o:.1e}; needs a margin of {FIT_MARGIN:g}): "
               f"train longer to judge generalization")
    return model, ratios, why


def _ratio_text(r: dict[str, float]) -> str:
    return ", ".join(f"{f} {v:.1e}" for f, v in r.items())


def _with_note(ev: Evidence, model: str, text: str) -> str:
    """``text`` and how many members the finding left out as not converged."""
    note = left_out(ev, model)[0]
    return f"{text}; {note}" if note else text


def deep_linear_partial(ev: Evidence) -> Finding:
    src, claim = "8.1 Deep linear", ("Deep linear models generalize to subspaces only partly: "
                                     "on sin/cos but not on poly")
    got = _family_generalization(ev, "deep_linear")
    if got is None:
        return absent(src, claim, "model of class deep_linear", ev, "deep_linear")
    model, r, why = got
    text = _with_note(ev, model, f"{model}: nested/diagonal MSE ratio at N={ev.expected.finest} "
                      f"({_ratio_text(r)}; <= {GENERALIZES_RATIO:g} counts as generalizing)")
    if why:
        return Finding(src, claim, f"{why}; {text}", NOT_MEASURABLE)
    gen = {f: v <= GENERALIZES_RATIO for f, v in r.items() if np.isfinite(v)}
    want = {"poly": False, "cos": True, "sin": True}
    agree = sum(gen.get(f) == w for f, w in want.items())
    verdict = REPRODUCED if agree == 3 else PARTLY if agree == 2 else NOT_REPRODUCED
    return Finding(src, claim, text, verdict)


def mlp_diagonal(ev: Evidence) -> Finding:
    src, claim = "8.1 MLP", "A shallow MLP does not generalize: its heatmap is strongly diagonal"
    got = _family_generalization(ev, "mlp")
    if got is None:
        return absent(src, claim, "model of class mlp", ev, "mlp")
    model, r, why = got
    text = _with_note(ev, model, f"{model}: nested/diagonal MSE ratio ({_ratio_text(r)}; > "
                      f"{GENERALIZES_RATIO:g} means diagonal-only)")
    if why:
        return Finding(src, claim, f"{why}; {text}", NOT_MEASURABLE)
    diag = sum(v > GENERALIZES_RATIO for v in r.values() if np.isfinite(v))
    verdict = REPRODUCED if diag == 3 else PARTLY if diag >= 1 else NOT_REPRODUCED
    return Finding(src, claim, text, verdict)


def _block_structure(ev: Evidence, cls: str) -> tuple[float, float, float] | None:
    """(nested, out-of-span, diagonal) geometric-mean MSE of the first model of a class at the
    finest N (``measures.nc``)."""
    models = of_class(ev, cls)
    if not models or not _ready(ev, "category_mse"):
        return None
    return tuple(_category(ev, models[0], c) for c in ("nested", "out_of_span", "diagonal"))


def _operator_claim(ev: Evidence, cls: str, src: str, claim: str,
                    extra: Callable[[], tuple[bool, str]] | None = None) -> Finding:
    got = _block_structure(ev, cls)
    if got is None:
        return absent(src, claim, f"model of class {cls}", ev, cls)
    nested, out, diag = got
    model = of_class(ev, cls)[0]
    if left_out(ev, model)[1]:
        return Finding(src, claim, _with_note(ev, model, f"no member of {model} converged at "
                                              f"N={ev.expected.finest}: train longer to judge"),
                       NOT_MEASURABLE)
    block = out >= SEPARATION * nested
    checks = [block]
    text = (f"nested {nested:.1e} vs out-of-span {out:.1e} (block structure needs a ratio >= "
            f"{SEPARATION:g}); diagonal {diag:.1e}")
    if extra is not None:
        ok, more = extra()
        checks.append(ok)
        text += f"; {more}"
    verdict = REPRODUCED if all(checks) else PARTLY if any(checks) else NOT_REPRODUCED
    return Finding(src, claim, _with_note(ev, model, text), verdict)


def deeponet_blocks(ev: Evidence) -> Finding:
    def lower_diag() -> tuple[bool, str]:
        nested, _, diag = _block_structure(ev, "deeponet")
        return diag < nested, f"diagonal below nested: {diag < nested}"

    return _operator_claim(ev, "deeponet", "8.1 DeepONet",
                           "DeepONet is block lower-triangular, with lower diagonal values "
                           "(slight overfitting to its training distribution)", lower_diag)


def fno_unstable(ev: Evidence) -> Finding:
    def unstable() -> tuple[bool, str]:
        if not _ready(ev, "diverged_fraction"):
            return False, "no diverged_fraction in measures.nc"
        f = float(ev.measures["diverged_fraction"].sel(model=of_class(ev, "fno")[0]))
        return f > 0, f"{100 * f:.0f}% of training runs diverged"

    return _operator_claim(ev, "fno", "8.1 FNO",
                           "FNO behaves like DeepONet (block lower-triangular) but trains "
                           "unstably: some function classes fail to train", unstable)


def pideeponet_floor(ev: Evidence) -> Finding:
    def floor() -> tuple[bool, str]:
        if not _ready(ev, "train_mse_gmean_all"):
            return False, "no train_mse_gmean_all in measures.nc"
        g = float(ev.measures["train_mse_gmean_all"].sel(model=of_class(ev, "pideeponet")[0]))
        return 1e-8 <= g <= 1e-4, f"training MSE {g:.1e} (paper ~1e-6)"

    return _operator_claim(ev, "pideeponet", "8.1 PI-DeepONet",
                           "PI-DeepONet is block lower-triangular with a higher baseline; "
                           "training MSE ~1e-6 (the PDE loss raises the floor)", floor)
