"""Claims of paper-notes 8.1 about the operator models (linear, deep linear, MLP, DeepONet, FNO,
PI-DeepONet), judged on the cross-validation results."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from greenbench.report.findings import (
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
    grade,
    of_class,
    per_resolution,
)
from greenbench.report.measures import (
    cell_mse,
    finite_max,
    finite_min,
    fraction,
    gmean,
    masks,
    nested_ratio,
)
from greenbench.spaces import FAMILIES


def linear_blocks(ev: Evidence) -> Finding:
    src, claim = "8.1 Linear", ("Linear u = W f generalizes to subspaces: three lower-triangular "
                                "blocks (test p' <= train p at machine precision, p' > p fails), "
                                "as Thm 3.2 predicts")
    models = of_class(ev, "linear")
    if not models:
        return absent(src, claim, "model of class linear", ev, "linear")
    good = total = 0
    worst_in, best_out = 0.0, np.inf
    for model in models:
        for _, mse, _, m in per_resolution(ev, model):
            a, na = fraction(mse < IN_SPAN_MAX, m["family_in"], mse)
            b, nb = fraction(mse > OUT_OF_SPAN_MIN, m["family_out"], mse)
            good, total = good + a + b, total + na + nb
            worst_in = max(worst_in, finite_max(np.where(m["family_in"], mse, np.nan)))
            best_out = min(best_out, finite_min(np.where(m["family_out"], mse, np.nan)))
    frac = good / total if total else float("nan")
    return Finding(src, claim, f"{good}/{total} same-family cells agree (in span < "
                               f"{IN_SPAN_MAX:.0e}: worst {worst_in:.1e}; out of span > "
                               f"{OUT_OF_SPAN_MIN:.0e}: best {best_out:.1e})", grade(frac))


def linear_cross_family(ev: Evidence) -> Finding:
    src, claim = "8.1 Linear", "The linear model fails across families (e.g. poly -> sin)"
    models = of_class(ev, "linear")
    if not models:
        return absent(src, claim, "model of class linear", ev, "linear")
    good = total = 0
    vals = []
    for model in models:
        for _, mse, _, m in per_resolution(ev, model):
            a, n = fraction(mse > OUT_OF_SPAN_MIN, m["cross_family"], mse)
            good, total = good + a, total + n
            vals.append(gmean(mse, m["cross_family"]))
    frac = good / total if total else float("nan")
    return Finding(src, claim, f"{good}/{total} cross-family cells above {OUT_OF_SPAN_MIN:.0e} "
                               f"(geometric mean {gmean(np.array(vals)):.1e})", grade(frac))


def linear_train_mse(ev: Evidence) -> Finding:
    src, claim = "8.1 Linear", "The linear model's training MSE reaches ~1e-20 (float64)"
    models = of_class(ev, "linear")
    if not models or "train_mse" not in ev.crossval:
        return absent(src, claim, "training MSE of a linear model", ev, "linear")
    tm = ev.crossval["train_mse"].sel(model=models).values
    if not np.isfinite(tm).any():
        return Finding(src, claim, "no finite training MSE", NOT_MEASURABLE)
    g, worst = gmean(tm), finite_max(tm)
    verdict = REPRODUCED if g <= 1e-18 else PARTLY if g <= 1e-12 else NOT_REPRODUCED
    return Finding(src, claim, f"geometric mean {g:.1e}, worst {worst:.1e}", verdict)


def _family_generalization(ev: Evidence, cls: str) -> tuple[dict[str, float], str | None] | None:
    """Nested/diagonal MSE ratio per family at the finest N (geometric mean over the models of
    ``cls``), and why generalization cannot be judged (``None`` if it can): a model whose
    diagonal is not at least :data:`FIT_MARGIN` below its out-of-span error did not learn its
    own training spaces, so the ratios say nothing about generalization."""
    models = of_class(ev, cls)
    if not models:
        return None
    N = ev.expected.finest
    ratios: dict[str, list[float]] = {f: [] for f in FAMILIES}
    diag, out = [], []
    for model in models:
        mse, spaces = cell_mse(ev.crossval, model, N, ev.expected.spaces)
        m = masks(spaces)
        diag.append(gmean(mse, m["diagonal"]))
        out.append(gmean(mse, ~m["in_span"]))
        for fam in FAMILIES:
            ratios[fam].append(nested_ratio(mse, spaces, fam))
    d, o = gmean(np.array(diag)), gmean(np.array(out))
    why = None
    if not d * FIT_MARGIN <= o:
        why = (f"{', '.join(models)} did not fit its own training spaces at N={N} (diagonal "
               f"MSE {d:.1e} vs out-of-span {o:.1e}; needs a margin of {FIT_MARGIN:g}): "
               f"train longer to judge generalization")
    return {f: gmean(np.array(v)) for f, v in ratios.items()}, why


def _ratio_text(r: dict[str, float]) -> str:
    return ", ".join(f"{f} {v:.1e}" for f, v in r.items())


def deep_linear_partial(ev: Evidence) -> Finding:
    src, claim = "8.1 Deep linear", ("Deep linear models generalize to subspaces only partly: "
                                     "on sin/cos but not on poly")
    got = _family_generalization(ev, "deep_linear")
    if got is None:
        return absent(src, claim, "model of class deep_linear", ev, "deep_linear")
    r, why = got
    text = (f"nested/diagonal MSE ratio at N={ev.expected.finest} ({_ratio_text(r)}; "
            f"<= {GENERALIZES_RATIO:g} counts as generalizing)")
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
    r, why = got
    text = (f"nested/diagonal MSE ratio ({_ratio_text(r)}; > {GENERALIZES_RATIO:g} means "
            f"diagonal-only)")
    if why:
        return Finding(src, claim, f"{why}; {text}", NOT_MEASURABLE)
    diag = sum(v > GENERALIZES_RATIO for v in r.values() if np.isfinite(v))
    verdict = REPRODUCED if diag == 3 else PARTLY if diag >= 1 else NOT_REPRODUCED
    return Finding(src, claim, text, verdict)


def _block_structure(ev: Evidence, cls: str) -> tuple[float, float, float] | None:
    """(nested, out-of-span, diagonal) geometric-mean MSE of a class at the finest N."""
    models = of_class(ev, cls)
    if not models:
        return None
    vals = []
    for model in models:
        mse, spaces = cell_mse(ev.crossval, model, ev.expected.finest, ev.expected.spaces)
        m = masks(spaces)
        vals.append((gmean(mse, m["nested"]), gmean(mse, ~m["in_span"]),
                     gmean(mse, m["diagonal"])))
    return tuple(gmean(np.array(v)) for v in zip(*vals, strict=True))


def _operator_claim(ev: Evidence, cls: str, src: str, claim: str,
                    extra: Callable[[], tuple[bool, str]] | None = None) -> Finding:
    got = _block_structure(ev, cls)
    if got is None:
        return absent(src, claim, f"model of class {cls}", ev, cls)
    nested, out, diag = got
    block = out / nested >= SEPARATION
    checks = [block]
    text = (f"nested {nested:.1e} vs out-of-span {out:.1e} (block structure needs a ratio >= "
            f"{SEPARATION:g}); diagonal {diag:.1e}")
    if extra is not None:
        ok, more = extra()
        checks.append(ok)
        text += f"; {more}"
    verdict = REPRODUCED if all(checks) else PARTLY if any(checks) else NOT_REPRODUCED
    return Finding(src, claim, text, verdict)


def deeponet_blocks(ev: Evidence) -> Finding:
    def lower_diag() -> tuple[bool, str]:
        nested, _, diag = _block_structure(ev, "deeponet")
        return diag < nested, f"diagonal below nested: {diag < nested}"

    return _operator_claim(ev, "deeponet", "8.1 DeepONet",
                           "DeepONet is block lower-triangular, with lower diagonal values "
                           "(slight overfitting to its training distribution)", lower_diag)


def _diverged_fraction(ev: Evidence, cls: str) -> float:
    models = of_class(ev, cls)
    if not models or "diverged" not in ev.crossval:
        return float("nan")
    return float(ev.crossval["diverged"].sel(model=models).values.mean())


def fno_unstable(ev: Evidence) -> Finding:
    def unstable() -> tuple[bool, str]:
        f = _diverged_fraction(ev, "fno")
        return f > 0, f"{100 * f:.0f}% of training runs diverged"

    return _operator_claim(ev, "fno", "8.1 FNO",
                           "FNO behaves like DeepONet (block lower-triangular) but trains "
                           "unstably: some function classes fail to train", unstable)


def pideeponet_floor(ev: Evidence) -> Finding:
    def floor() -> tuple[bool, str]:
        tm = ev.crossval["train_mse"].sel(model=of_class(ev, "pideeponet")).values \
            if "train_mse" in ev.crossval else np.array([np.nan])
        g = gmean(tm)
        return 1e-8 <= g <= 1e-4, f"training MSE {g:.1e} (paper ~1e-6)"

    return _operator_claim(ev, "pideeponet", "8.1 PI-DeepONet",
                           "PI-DeepONet is block lower-triangular with a higher baseline; "
                           "training MSE ~1e-6 (the PDE loss raises the floor)", floor)
