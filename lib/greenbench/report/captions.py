"""Captions of the figures: what each shows and what to look for.

One source: the caption text of figure ``{key}`` is the package-data file
``greenbench/report/figure_captions/{key}.rst`` (read with :mod:`importlib.resources`, so an
installed greenbench builds the report alone); ``workflow/report/{key}.rst``, which the rules
pass to ``report(caption=...)`` for ``snakemake --report``, is a relative symlink to it (as
``workflow/schemas/config.schema.yaml`` is to the packaged schema). Only the short titles live
here. A figure file ``results/{pde}/figures/{stem}.png`` takes the caption of the longest key
that ``stem`` starts with (``heatmap_mlp`` -> ``heatmap``). Decision: docs/decisions.md.
"""

from __future__ import annotations

import importlib.resources

CAPTION_DIR = "figure_captions"

TITLES: dict[str, str] = {
    "scorecard": "Scorecard",
    "training": "Training loss per model",
    "heatmap": "Cross-validation heatmap",
    "noise_floor": "Noise floor per model and level",
    "bounds": "Thm 3.2: predicted vs measured (linear model)",
    "convergence": "Thm 3.1: FD parameter error vs dx",
    "parameter_error": "White-box parameter error vs training order p",
    "quantity": "Data quantity",
    "greens": "Green's function gallery",
    "stencil": "Recovered stencil",
}
"""Figure key -> title, in report order; every key has a caption file ``{key}.rst``."""


def caption_text(key: str) -> str:
    """The caption of figure ``key`` from its package-data ``.rst`` file, as one line."""
    path = importlib.resources.files("greenbench.report") / CAPTION_DIR / f"{key}.rst"
    return " ".join(path.read_text(encoding="utf-8").split())


CAPTIONS: dict[str, tuple[str, str]] = {key: (title, caption_text(key))
                                        for key, title in TITLES.items()}
"""Figure key -> ``(title, caption)``."""


def caption_for(stem: str) -> tuple[str, str]:
    """``(title, caption)`` of a figure file stem; raises ``KeyError`` naming the known keys."""
    keys = sorted((k for k in CAPTIONS if stem == k or stem.startswith(f"{k}_")),
                  key=len, reverse=True)
    if not keys:
        raise KeyError(f"no caption for figure {stem!r}; known figures: {', '.join(CAPTIONS)}")
    title, text = CAPTIONS[keys[0]]
    suffix = stem[len(keys[0]) + 1:]
    return (f"{title}: {suffix}" if suffix else title), text
