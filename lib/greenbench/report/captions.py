"""One-line captions of the figures: what each shows and what to look for.

The same text is in ``workflow/report/{key}.rst`` for ``snakemake --report`` (a test keeps the
two in step). A figure file ``results/{pde}/figures/{stem}.png`` takes the caption of the
longest key that ``stem`` starts with (``heatmap_mlp`` -> ``heatmap``).
"""

from __future__ import annotations

CAPTIONS: dict[str, tuple[str, str]] = {
    "scorecard": (
        "Scorecard",
        "Geometric-mean test MSE per model by cell category, and the fraction of cells whose "
        "error is small exactly when the test space lies in the training span: look for a small "
        "in-distribution and nested error with a large out-of-span one (a model that learned the "
        "span) versus small errors everywhere (one that learned the Green's function)."),
    "heatmap": (
        "Cross-validation heatmap",
        "Rows = training space, columns = test space. Left: log10 test MSE on one colour scale "
        "shared by all models, to compare models. Middle: the same cells on the model's own "
        "range (1st..99th percentile of its cells, at least one decade, printed in the title), "
        "to see its structure; right: log10 relative L2 error on its own range. Look for dark "
        "lower-triangular blocks inside each family (the model generalizes to subspaces of its "
        "training data), a bright rest (it fails outside the span), a dark fem row (dense "
        "training data), or only a dark diagonal (overfitting)."),
    "bounds": (
        "Thm 3.2: predicted vs measured (linear model)",
        "Every (training space, test space, N, seed) cell of the linear model: points on the "
        "identity line mean the test error is exactly the Thm 3.2 projection error "
        "A (I - U U^T) f; in-span cells sit at the floor (exact), out-of-span cells high. Right: "
        "the trained weights' distance to the Thm 3.2 limit W*."),
    "convergence": (
        "Thm 3.1: FD parameter error vs dx",
        "Relative error of the learned coefficient, abs(w - k)/k, against the grid spacing, per "
        "family and stencil order q: look for lines parallel to the dashed slope-q reference "
        "when p >= q, and open markers at machine precision (exact) when p < q for poly data."),
    "parameter_error": (
        "White-box parameter error vs training order p",
        "FD and PINN error in k at the finest grid against the richness p of the training data: "
        "look for errors that grow with p, the opposite of the black-box models, whose "
        "generalization improves with p."),
    "quantity": (
        "Data quantity",
        "Test MSE of models trained on one space against the number of training samples: look "
        "for in-span test spaces (blue) dropping to the floor once the samples span the "
        "training space, and out-of-span ones (orange) staying put: more data of the same "
        "space does not fix a missing span (Thm 3.2)."),
    "greens": (
        "Green's function gallery",
        "Exact G(x, s) beside the G_hat extracted from each model by unit impulses, for training "
        "on sin8, poly8 and fem at the finest grid: look for the tent-shaped G everywhere; a "
        "plausible-looking G_hat from a restricted space still differs from G (see its error), "
        "noise or stripes show what the model did not learn."),
    "stencil": (
        "Recovered stencil",
        "Middle row of the inverse of the linear model trained on fem data (scaled by dx^2/k), "
        "against the operator that generated the data and the 3-point stencil [-1, 2, -1]: look "
        "for red dots on the blue squares (the model learned the generating operator) and, "
        "right, how fast the row decays away from the diagonal (locality)."),
}


def caption_for(stem: str) -> tuple[str, str]:
    """``(title, caption)`` of a figure file stem; raises ``KeyError`` naming the known keys."""
    keys = sorted((k for k in CAPTIONS if stem == k or stem.startswith(f"{k}_")),
                  key=len, reverse=True)
    if not keys:
        raise KeyError(f"no caption for figure {stem!r}; known figures: {', '.join(CAPTIONS)}")
    title, text = CAPTIONS[keys[0]]
    suffix = stem[len(keys[0]) + 1:]
    return (f"{title}: {suffix}" if suffix else title), text
