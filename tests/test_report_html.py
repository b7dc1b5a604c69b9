"""The report page is the jinja2 template greenbench/report/templates/report.html.j2 (package
data), rendered with autoescaping on.

Oracles: hostile text (markup in a model name, a claim, a note, the config) comes out escaped;
the template and its stylesheet are shipped with the package (pyproject's package-data)."""

from __future__ import annotations

import base64
import importlib.resources
import io
import re
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from greenbench.report.html import TEMPLATE, FigureItem, RunInfo, environment, render_html  # noqa: E402
from greenbench.report.missing import Gap  # noqa: E402
from greenbench.report.verdicts import Finding  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EVIL = "<script>alert('x')</script> & \"q\""


def _png() -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig = plt.figure(figsize=(2, 1), dpi=50)
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def page(**over) -> str:
    png = _png()
    kw = dict(
        title="greenbench report: poisson1d", question="Has a model learned G?",
        run=RunInfo(versions={"python": "3.11"}, git_commit="abc", config_hash="h1",
                    created="2023-11-14T22:13:20+00:00", config_text=f"models: {EVIL}\n",
                    inputs=[("crossval.nc", f"config h1 {EVIL}")]),
        scorecard=(("model", "N", "in-distribution MSE"), [(EVIL, "8", "1.0e-30")]),
        findings=[Finding("8.1 Linear", EVIL, "5/5", "reproduced"),
                  Finding("8.1 MLP", "c", "m", "not measurable")],
        figures=[FigureItem("heatmap_evil", f"Heatmap: {EVIL}", EVIL, png),
                 FigureItem("bounds", "Bounds", "caption", None)],
        gaps=[Gap("model", EVIL, "absent from crossval.nc")], notes=[EVIL])
    kw.update(over)
    return render_html(**kw)


def test_everything_is_escaped_and_nothing_is_fetched():
    html = page()
    assert "<script" not in html
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;q&#34;"
    # config, input, scorecard, claim, figure title and alt, caption, gap, note
    assert html.count(escaped) == 9
    assert not re.search(r'(src|href)="(?!data:|#)', html)


def test_figures_are_embedded_with_their_size_or_said_missing():
    html = page()
    png = _png()
    m = re.search(r'<figure id="fig-heatmap_evil"><img src="data:image/png;base64,'
                  r'([A-Za-z0-9+/=]+)" width="(\d+)" height="(\d+)"', html)
    assert m and base64.b64decode(m.group(1)) == png
    assert (int(m.group(2)), int(m.group(3))) == (100, 50)
    assert ('<p class="missing">Figure not available: bounds.png is missing (see Missing).</p>'
            '<figcaption><b>Bounds.</b> caption</figcaption>') in html


def test_sections_verdict_classes_and_empty_states():
    html = page()
    for anchor in ("run", "scorecard", "findings", "figures", "missing"):
        assert f'<h2 id="{anchor}">' in html and f'href="#{anchor}"' in html
    assert '<span class="verdict reproduced">reproduced</span>' in html
    assert '<span class="verdict not-measurable">not measurable</span>' in html
    assert '<td class="num">1.0e-30</td>' in html and "<td>8</td>" in html
    empty = page(scorecard=None, gaps=[], notes=[])
    assert "No scorecard: no cross-validation results." in empty
    assert "Nothing missing: every model" in empty


def test_template_is_package_data_with_autoescape_on():
    files = importlib.resources.files("greenbench.report") / "templates"
    assert (files / TEMPLATE).is_file() and (files / "report.css").is_file()
    assert environment().autoescape is True        # on for any template name (".j2" too)
    with open(ROOT / "pyproject.toml", "rb") as fh:
        data = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["greenbench"]
    assert "report/templates/*" in data
    deps = tomllib.load(open(ROOT / "pyproject.toml", "rb"))["project"]["dependencies"]
    assert any(d.replace(" ", "").startswith("jinja2>=3.1") for d in deps)


def test_captions_have_one_source_in_package_data():
    """captions.py reads greenbench/report/figure_captions/{key}.rst; the workflow's
    workflow/report/{key}.rst (snakemake's report(caption=...)) are symlinks to those files."""
    from greenbench.report.captions import CAPTION_DIR, CAPTIONS, TITLES

    files = importlib.resources.files("greenbench.report") / CAPTION_DIR
    assert sorted(p.name for p in files.iterdir() if p.name.endswith(".rst")) == sorted(
        f"{key}.rst" for key in TITLES)
    workflow = ROOT / "workflow" / "report"
    assert sorted(p.name for p in workflow.glob("*.rst")) == sorted(f"{k}.rst" for k in TITLES)
    for key, (title, text) in CAPTIONS.items():
        link = workflow / f"{key}.rst"
        assert link.is_symlink(), f"{link} must be a symlink to the package data"
        assert link.resolve() == (ROOT / "lib" / "greenbench" / "report" / CAPTION_DIR
                                  / f"{key}.rst").resolve()
        assert title == TITLES[key] and text and "\n" not in text
    rules = (ROOT / "workflow" / "rules" / "report.smk").read_text()
    used = set(re.findall(r'caption="\.\./report/([a-z_]+)\.rst"', rules))
    assert used == set(TITLES), used ^ set(TITLES)
    with open(ROOT / "pyproject.toml", "rb") as fh:
        data = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["greenbench"]
    assert f"report/{CAPTION_DIR}/*.rst" in data
