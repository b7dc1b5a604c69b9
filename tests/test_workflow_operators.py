"""A config naming several operators runs them all in one invocation (issue 10): each operator
gets its own datasets, training, analysis and figures under results/{pde}/, and the one report
reads every operator's results (one section per operator)."""

from __future__ import annotations

import os
import re
import subprocess

import yaml

from greenbench.report.html import FigureItem, RunInfo, SectionItem, render_html
from greenbench.report.verdicts import Finding

SNAKEMAKE = os.path.join(os.path.dirname(os.sys.executable), "snakemake")
PDES = ["poisson1d", "biharmonic1d"]


def test_dry_run_of_two_operators_plans_both_and_one_report(repo_root, tmp_path):
    study = {"pde": PDES, "spaces": {"sin": [1, 2]}, "resolutions": [8], "n_samples": 20,
             "noise": [0.0, 1e-4], "analysis": {"fd_orders": [2, 4], "quantity_model": ""},
             "models": {"linear": {"class": "linear", "train": {"optimizer": "exact"}}}}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    cmd = [SNAKEMAKE, "-n", "--cores", "1", "--directory", str(tmp_path / "run"),
           "--configfile", str(tmp_path / "study.yaml")]
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, env=env,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out, flags=re.M))
    # per operator: one dataset job, the linear model at both noise levels, its evaluations
    assert stats["generate_datasets"] == "2" and stats["train"] == "4", stats
    assert stats["evaluate_model"] == "4" and stats["crossval"] == "2", stats
    assert stats["report"] == "1", stats
    # two noise levels: the noise-floor figure, drawn by the scorecard job (no job of its own)
    assert stats["plot_scorecard"] == "2" and "plot_noise_floor" not in stats, stats
    for pde in PDES:
        for f in ("crossval.nc", "bounds.nc", "convergence.nc", "greens.nc",
                  "figures/heatmap_linear.png", "figures/noise_floor.png"):
            assert f"results/{pde}/{f}" in out, (pde, f)
        assert f"data/{pde}/sin2/N8.h5" in out


def test_report_page_has_a_titled_section_per_operator():
    run = RunInfo(versions={"python": "3.11"}, git_commit="abc", config_hash="h1, h2",
                  created="2023-11-14T22:13:20+00:00", config_text="pde: [a, b]\n")
    sections = [SectionItem(p, None, [Finding("8.1 Linear", "claim", f"measured {p}",
                                              "reproduced")],
                            [FigureItem("bounds", "Bounds", "caption", None)], [])
                for p in PDES]
    html = render_html(title="t", question="q", run=run, sections=sections, titled=True)
    for p in PDES:
        assert f'id="{p}-operator"' in html and f'id="{p}-findings"' in html
        assert f'id="fig-{p}-bounds"' in html and f"measured {p}" in html
    assert html.count("<h2 id=\"run\">") == 1
    # one section, untitled: the ids of a single-operator report are unchanged
    one = render_html(title="t", question="q", run=run, sections=sections[:1])
    assert 'id="findings"' in one and 'id="fig-bounds"' in one and "operator" not in one
