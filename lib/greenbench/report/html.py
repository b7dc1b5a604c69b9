"""Render the report as one self-contained HTML page (no server, no network, no scripts).

Images are embedded as ``data:image/png;base64`` URIs, so the single file opens from a
``file://`` URL and can be mailed or archived alone. All text is escaped. Pure: strings and
bytes in, a string out (the I/O is in :mod:`greenbench.report.build`).
"""

from __future__ import annotations

import base64
import html
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from greenbench.report.findings import Finding
from greenbench.report.missing import Gap

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1180px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.88em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.5em 0;padding:.5em;border:1px solid #eee}figure img{max-width:100%;height:auto}
figcaption{font-size:.9em;color:#444;margin-top:.4em}
.verdict{font-weight:bold;white-space:nowrap;padding:.1em .4em;border-radius:.3em}
.reproduced{background:#d8f0d8}.partly{background:#fbefc8}.not-reproduced{background:#f6d0d0}
.not-measurable{background:#e4e4e4}
.missing{color:#a00}pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}
nav a{margin-right:1em}.lead{color:#555}
"""

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


def png_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` in pixels from a PNG's IHDR chunk; raises ``ValueError`` if ``data``
    is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image (bad signature or missing IHDR chunk)")
    return struct.unpack(">II", data[16:24])


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 0) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{_e(c)}</td>' if i >= numeric_from and numeric_from
                         else f"<td>{_e(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(fig: FigureItem) -> str:
    anchor = f'id="fig-{_e(fig.stem)}"'
    if fig.png is None:
        return (f"<figure {anchor}><p class=\"missing\">Figure not available: {_e(fig.stem)}.png "
                f"is missing (see Missing).</p><figcaption><b>{_e(fig.title)}.</b> "
                f"{_e(fig.caption)}</figcaption></figure>")
    w, h = png_size(fig.png)
    data = base64.b64encode(fig.png).decode("ascii")
    return (f'<figure {anchor}><img src="data:image/png;base64,{data}" width="{w}" '
            f'height="{h}" alt="{_e(fig.title)}"><figcaption><b>{_e(fig.title)}.</b> '
            f"{_e(fig.caption)}</figcaption></figure>")


def render_html(*, title: str, question: str, run: RunInfo,
                scorecard: tuple[Sequence[str], Sequence[Sequence[str]]] | None,
                findings: Sequence[Finding], figures: Sequence[FigureItem],
                gaps: Sequence[Gap], notes: Sequence[str] = ()) -> str:
    """The whole report page.

    Sections: what was run, scorecard, findings (one row per claim with its verdict),
    figures (embedded, each with its caption), missing (everything the study asked for that
    the results lack, and diverged runs)."""
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<meta name=\"viewport\" content=\"width=device-width\"><title>{_e(title)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1><p class=\"lead\">{_e(question)}</p>",
             '<nav><a href="#run">What was run</a><a href="#scorecard">Scorecard</a>'
             '<a href="#findings">Findings</a><a href="#figures">Figures</a>'
             '<a href="#missing">Missing</a></nav>']
    for note in notes:
        parts.append(f'<p class="missing">{_e(note)}</p>')

    prov = [("greenbench git commit", run.git_commit), ("config hash", run.config_hash),
            ("report written", run.created)]
    prov += [(f"{name} version", v) for name, v in run.versions.items()]
    parts.append('<h2 id="run">What was run</h2>' + _table(("item", "value"), prov))
    if run.inputs:
        parts.append("<p>Results files read:</p>" + _table(("file", "provenance"), run.inputs))
    parts.append(f"<details><summary>Configuration (validated, defaults filled)</summary>"
                 f"<pre>{_e(run.config_text)}</pre></details>")

    parts.append('<h2 id="scorecard">Scorecard</h2>')
    if scorecard is None or not scorecard[1]:
        parts.append('<p class="missing">No scorecard: no cross-validation results.</p>')
    else:
        parts.append("<p>Geometric means of the test MSE over the cells of each category "
                     "(in-distribution: the diagonal; nested: same family, smaller p; "
                     "out-of-span: test space outside the training span; cross-family), and "
                     "the fraction of cells whose error is small exactly when in span.</p>")
        parts.append(_table(scorecard[0], scorecard[1], numeric_from=2))

    parts.append('<h2 id="findings">Findings</h2><p>Each claim of the paper (as reconstructed '
                 "in paper-notes section 8) beside what this study measured; verdicts are "
                 "computed from the results with the thresholds of docs/report.md.</p>")
    rows = []
    for f in findings:
        cls = _VERDICT_CLASS.get(f.verdict, "not-measurable")
        rows.append(f"<tr><td>{_e(f.source)}</td><td>{_e(f.claim)}</td><td>{_e(f.measured)}"
                    f'</td><td><span class="verdict {cls}">{_e(f.verdict)}</span></td></tr>')
    parts.append("<table><thead><tr><th>source</th><th>claim</th><th>measured</th>"
                 "<th>verdict</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")

    parts.append('<h2 id="figures">Figures</h2>')
    parts.extend(_figure(fig) for fig in figures)

    parts.append('<h2 id="missing">Missing</h2>')
    if not gaps:
        parts.append("<p>Nothing missing: every model, resolution, seed and file the study "
                     "asked for is present, and no training run diverged.</p>")
    else:
        parts.append(_table(("kind", "what", "detail"),
                            [(g.kind, g.what, g.detail) for g in gaps]))
    parts.append("</body></html>\n")
    return "\n".join(parts)
