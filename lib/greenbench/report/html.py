"""Render the report as one self-contained HTML page (no server, no network, no scripts).

The page is the jinja2 template ``greenbench/report/templates/report.html.j2`` (package data,
with its stylesheet ``report.css``), rendered with autoescaping on: every value is escaped, so a
model name or config value can never inject markup. Images are embedded as
``data:image/png;base64`` URIs, so the single file opens from a ``file://`` URL and can be
mailed or archived alone. Pure: strings and bytes in, a string out (the I/O is in
:mod:`greenbench.report.build`).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import jinja2

if TYPE_CHECKING:
    from greenbench.report.missing import Gap
    from greenbench.report.verdicts import Finding

TEMPLATE = "report.html.j2"

_VERDICT_CLASS = {"reproduced": "reproduced", "partly reproduced": "partly",
                  "not reproduced": "not-reproduced", "not measurable": "not-measurable"}


@dataclass(frozen=True)
class FigureItem:
    """One figure of the report: file stem, title, caption, PNG bytes (None: not drawn)."""

    stem: str
    title: str
    caption: str
    png: bytes | None


@dataclass(frozen=True)
class RunInfo:
    """What was run: versions, provenance, the config as YAML, and the input files."""

    versions: Mapping[str, str]
    git_commit: str
    config_hash: str
    created: str
    config_text: str
    inputs: Sequence[tuple[str, str]] = field(default_factory=list)   # (file, status/provenance)


@dataclass(frozen=True)
class SectionItem:
    """One operator's part of the page: scorecard (header, rows) or None, findings, figures,
    gaps, budget table (header, rows) or None, noise-floor table (N, header, rows) or None
    (only with several noise levels)."""

    pde: str
    scorecard: tuple[Sequence[str], Sequence[Sequence[str]]] | None
    findings: Sequence[Finding]
    figures: Sequence[FigureItem]
    gaps: Sequence[Gap]
    budget: tuple[Sequence[str], Sequence[Sequence[str]]] | None = None
    noise: tuple[int, Sequence[str], Sequence[Sequence[str]]] | None = None


def png_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` in pixels from a PNG's IHDR chunk; raises ``ValueError`` if ``data``
    is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image (bad signature or missing IHDR chunk)")
    return struct.unpack(">II", data[16:24])


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment of the report templates (package data, read with the package
    loader; autoescaping on for every template, whatever its name; an undefined name is an
    error, not an empty string)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("greenbench.report", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)


def _figure(fig: FigureItem) -> dict[str, object]:
    if fig.png is None:
        return {"stem": fig.stem, "title": fig.title, "caption": fig.caption, "src": None}
    w, h = png_size(fig.png)
    return {"stem": fig.stem, "title": fig.title, "caption": fig.caption, "width": w,
            "height": h, "src": "data:image/png;base64," + base64.b64encode(fig.png).decode()}


def render_html(*, title: str, question: str, run: RunInfo,
                scorecard: tuple[Sequence[str], Sequence[Sequence[str]]] | None = None,
                findings: Sequence[Finding] = (), figures: Sequence[FigureItem] = (),
                gaps: Sequence[Gap] = (), notes: Sequence[str] = (),
                budget: tuple[Sequence[str], Sequence[Sequence[str]]] | None = None,
                sections: Sequence[SectionItem] | None = None, titled: bool = False) -> str:
    """The whole report page.

    Sections: what was run, scorecard, findings (one row per claim with its verdict),
    budget robustness (``budget``: header and rows, only with ``budget_check``), figures
    (embedded, each with its caption), missing (everything the study asked for that the
    results lack, and diverged runs). With ``sections`` (one per operator) everything but
    "what was run" is repeated per section, each under a heading naming its operator when
    ``titled`` (element ids prefixed with the operator's name); otherwise one section from
    ``scorecard``, ``findings``, ``figures``, ``gaps`` and ``budget``."""
    if sections is None:
        sections = [SectionItem("", scorecard, findings, figures, gaps, budget)]
    provenance = [("greenbench git commit", run.git_commit), ("config hash", run.config_hash),
                  ("report written", run.created)]
    provenance += [(f"{name} version", v) for name, v in run.versions.items()]
    return environment().get_template(TEMPLATE).render(
        title=title, question=question, run=run, provenance=provenance, notes=list(notes),
        verdict_class=_VERDICT_CLASS, titled=titled,
        sections=[dict(pde=sec.pde, id=f"{sec.pde}-" if titled else "",
                       scorecard=sec.scorecard, findings=sec.findings,
                       figures=[_figure(f) for f in sec.figures],
                       gaps=[(g.kind, g.what, g.detail) for g in sec.gaps], budget=sec.budget,
                       noise=sec.noise)
                  for sec in sections])
