"""Build ``results/report.html`` from the results files and the figures (the report stage).

Missing pieces never stop the build: a missing results file or figure becomes a line in the
report's "Missing" section and the parts that needed it say "not available". A results file
from another config (spaces, resolutions, seeds or models the study did not ask for, another
``config_hash`` than the report's or another ``data_hash`` than the config's) is refused with
:class:`~greenbench.analysis.checks.ResultsMismatch` (the report's name for it:
``ResultsMismatchError``) naming the file and the mismatch, before anything is written.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

import yaml

from greenbench.analysis import checks
from greenbench.io import read_bytes, read_netcdf, write_text
from greenbench.plots.table import (
    annotate_scorecard,
    formatted_noise_floor,
    formatted_scorecard,
    has_noise_axis,
    noise_floor_frame,
    scorecard_frame,
)
from greenbench.provenance import created_time, git_commit
from greenbench.report.budget import HEADER as BUDGET_HEADER
from greenbench.report.budget import budget_rows, budget_view
from greenbench.report.captions import caption_for
from greenbench.report.expected import Expected
from greenbench.report.findings import Evidence, Finding, all_findings
from greenbench.report.html import FigureItem, RunInfo, SectionItem, render_html
from greenbench.report.missing import Gap, find_gaps
from greenbench.report.verdicts import SEPARATION

RESULT_KEYS: tuple[str, ...] = (
    "crossval", "bounds", "convergence", "quantity", "measures", "greens", "greens_fields",
    "scorecard")
"""Keys of the ``results`` mapping: the analysis outputs (``greens_fields`` is
``greens/N{finest}.nc``; ``scorecard`` is optional, else the scorecard is read from crossval)."""

VERSIONED = ("greenbench", "numpy", "scipy", "xarray", "matplotlib", "torch", "h5py",
             "snakemake", "submitit")

TITLE = "greenbench report"
QUESTION = ("Has a model learned the Green's function of -k u'' = f on (0, 1), u(0) = u(1) = 0, "
            "or only the function space of its training data? (a reproduction of arXiv "
            "2506.15199)")
QUESTION_SEVERAL = ("Has a model learned the Green's function of each operator, or only the "
                    "function space of its training data? (arXiv 2506.15199, extended to "
                    "further operators: one section per operator)")


@dataclass(frozen=True)
class ReportSummary:
    """What went into a report: its findings and gaps (for logs and tests)."""

    path: str
    findings: list[Finding]
    gaps: list[Gap]
    budget: list[tuple[str, ...]] = field(default_factory=list)   # budget table rows
    by_operator: dict[str, list[Finding]] = field(default_factory=dict)  # findings per section


def versions() -> dict[str, str]:
    """Versions of Python and the packages the study ran with (``not installed`` if absent);
    read from package metadata, so nothing heavy (torch) is imported."""
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _load(results: Mapping[str, str | os.PathLike | None]):
    loaded, names = {}, {}
    for key, path in results.items():
        if key not in RESULT_KEYS:
            raise ValueError(f"unknown results key {key!r}; allowed: {', '.join(RESULT_KEYS)}")
        names[key] = str(path) if path else f"{key}.nc"
        loaded[key] = read_netcdf(path) if path and Path(path).exists() else None
    return loaded, names


def _provenance_line(ds) -> str:
    if ds is None:
        return "missing"
    a = ds.attrs
    return (f"config {a.get('config_hash', '?')}, commit {a.get('git_commit', '?')}, "
            f"greenbench {a.get('greenbench_version', '?')}, created {a.get('created', '?')}")


def check_provenance(name: str, ds, config_hash: str, data_hash_value: str) -> None:
    """Refuse a results file of another study: its ``config_hash`` attribute must equal the
    report's ``config_hash`` (when given) and its ``data_hash`` (when recorded) the config's
    (:func:`greenbench.analysis.checks.check_provenance`, naming the file, the attribute and
    both values)."""
    recorded = ds.attrs.get("data_hash") is not None
    checks.check_provenance(ds, name, config_hash=config_hash or None,
                            data_hash=data_hash_value if recorded else None,
                            hint=checks.REPORT_HINT)


def build_report(out: str | os.PathLike, *, config: Mapping,
                 results: Mapping[str, str | os.PathLike | None] | None = None,
                 figures: Sequence[str | os.PathLike] = (), config_hash: str = "",
                 sections: Mapping[str, Mapping] | None = None) -> ReportSummary:
    """Read the results and figures, judge the findings, and write the HTML report atomically.

    Parameters
    ----------
    out : path
        ``results/report.html``.
    config : mapping
        The validated study config (what was run; the expected models/spaces/N/seeds).
    results : mapping
        :data:`RESULT_KEYS` -> path (a path that does not exist, or None, counts as missing).
    figures : sequence of paths
        PNG files ``{stem}.png`` in report order; captions from
        :mod:`greenbench.report.captions`. A missing file is reported, not fatal.
    config_hash : str
        The study's hash (:func:`greenbench.provenance.study_hash` of ``config``; the
        ``CONFIG_HASH`` of the workflow): every results file must carry it (``""``: not
        checked).
    sections : mapping, optional
        One section per operator of a config naming several (``pde``): ``{pde: {"results":
        ..., "figures": ..., "config_hash": ...}}`` in report order (each as the three
        arguments above, for that operator's study); ``None``: one section from ``results``,
        ``figures`` and ``config_hash``.
    """
    if sections is None:
        sections = {Expected.from_config(config).pde: dict(results=results, figures=figures,
                                                          config_hash=config_hash)}
    parts = [_section(config, pde, sec["results"], sec["figures"],
                      sec.get("config_hash", ""))
             for pde, sec in sections.items()]
    several = len(parts) > 1
    plain = json.loads(json.dumps(dict(config), default=str))
    run = RunInfo(versions=versions(), git_commit=git_commit(),
                  config_hash=", ".join(p["config_hash"] for p in parts), created=created_time(),
                  config_text=yaml.safe_dump(plain, sort_keys=False, default_flow_style=None),
                  inputs=[row for p in parts for row in p["inputs"]])
    notes = []
    if not parts[0]["expected"].models:
        notes.append("This study trains no models (models: {} in the config): the report shows "
                     "the theory side only; add models to measure the claims.")
    page = render_html(title=f"{TITLE}: {', '.join(p['pde'] for p in parts)}",
                       question=QUESTION_SEVERAL if several else QUESTION, run=run,
                       sections=[SectionItem(p["pde"], p["scorecard"], p["findings"],
                                             p["figures"], p["gaps"], p["budget"],
                                             noise=p["noise"])
                                 for p in parts],
                       notes=notes, titled=several)
    write_text(out, page)
    return ReportSummary(str(out), [f for p in parts for f in p["findings"]],
                         [g for p in parts for g in p["gaps"]],
                         [r for p in parts for r in p["budget_rows"]],
                         {p["pde"]: p["findings"] for p in parts})


def _section(config: Mapping, pde: str, results: Mapping[str, str | os.PathLike | None],
             figures: Sequence[str | os.PathLike], config_hash: str) -> dict:
    """One operator's part of the report: its findings, scorecard, figures, gaps, budget."""
    expected = Expected.from_config(config, pde)
    loaded, names = _load(results)
    for key, ds in loaded.items():
        if ds is not None:
            expected.check_results(ds, names[key])
            check_provenance(names[key], ds, config_hash, expected.data_hash)
    gaps = find_gaps({k: v for k, v in loaded.items() if k != "scorecard"}, expected, names)
    ev = Evidence(expected, loaded.get("crossval"), loaded.get("bounds"),
                  loaded.get("convergence"), loaded.get("greens"), loaded.get("greens_fields"),
                  quantity=loaded.get("quantity"), measures=loaded.get("measures"))
    # the findings at 1x (budget_check's longer-trained variants hidden), and the budget table
    findings = all_findings(replace(ev, expected=budget_view(expected)))
    budget = [row.cells() for row in budget_rows(ev, all_findings)]

    score_src = loaded.get("scorecard") or loaded.get("crossval")
    scorecard = None
    if score_src is not None and "scorecard" in score_src:
        scorecard = formatted_scorecard(annotate_scorecard(
            scorecard_frame(score_src, models=expected.operator_models),
            loaded.get("measures")))

    # the noise floor per model and level (finest N), only with several noise levels: with
    # one, the noise finding says so and there is nothing to tabulate
    cv = loaded.get("crossval")
    noise = None
    if has_noise_axis(cv) and expected.finest in set(map(int, cv["resolution"].values)):
        frame = noise_floor_frame(cv, resolution=expected.finest,
                                  models=expected.operator_models)
        noise = (expected.finest, *formatted_noise_floor(frame, separation=SEPARATION))

    items = []
    for path in figures:
        path = Path(path)
        title, caption = caption_for(path.stem)
        png = read_bytes(path)
        if png is None:
            gaps.append(Gap("figure", path.name, "not drawn"))
        items.append(FigureItem(path.stem, title, caption, png))

    return dict(pde=pde, expected=expected, scorecard=scorecard, findings=findings, noise=noise,
                figures=items, gaps=gaps, budget=(BUDGET_HEADER, budget) if budget else None,
                budget_rows=budget, config_hash=config_hash,
                inputs=[(names[k], _provenance_line(ds)) for k, ds in loaded.items()])
