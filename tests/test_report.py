"""The HTML report: builds from a results set with a missing model and lists it; every figure is
embedded with its caption; results from another config are refused; verdicts follow the data;
the page is self-contained and (in headless Chromium) every image loads."""

from __future__ import annotations

import base64
import os
import re
import runpy
import shutil
import subprocess
import types
from pathlib import Path

import numpy as np
import pytest
from markupsafe import escape

from greenbench import plots
from greenbench.config import validate_config
from greenbench.io import write_netcdf
from greenbench.report import (
    VERDICTS,
    Evidence,
    Expected,
    ResultsMismatchError,
    all_findings,
    build_report,
    find_gaps,
)
from greenbench.report.captions import CAPTIONS, caption_for
from greenbench.report.claims_operators import linear_blocks, mlp_diagonal
from synthetic import synthetic_results

ROOT = Path(__file__).resolve().parents[1]
SPACES = {"poly": [1, 2, 8], "cos": [1, 2], "sin": [1, 2, 8], "fem": True}
NAMES = ["poly1", "poly2", "poly8", "cos1", "cos2", "sin1", "sin2", "sin8", "fem"]
CLASSES = {"linear": "linear", "mlp": "mlp", "fno": "fno", "fd": "fd", "pinn": "pinn"}
RES, SEEDS = [16, 32], [0, 1]


def expected(classes: dict[str, str], names=NAMES, res=RES, seeds=SEEDS, **design) -> Expected:
    """The study of ``classes`` on the spaces ``names``, built (as the report builds it) from a
    validated config."""
    families = {fam: [int(s[len(fam):]) for s in names if s.startswith(fam)]
                for fam in ("poly", "cos", "sin")}
    return Expected.from_config(validate_config(
        {"spaces": {**families, "fem": "fem" in names}, "resolutions": list(res),
         "train_seeds": list(seeds), "models": {m: {"class": c} for m, c in classes.items()},
         **design}))


def study_config() -> dict:
    return validate_config({"spaces": SPACES, "resolutions": RES, "train_seeds": SEEDS,
                            "models": {m: {"class": c} for m, c in CLASSES.items()}})


def write_results(tmp: Path, classes: dict[str, str]) -> dict[str, Path]:
    """Synthetic results of the study for ``classes`` in ``tmp``, like the analysis writes."""
    r = synthetic_results(NAMES, RES, SEEDS, classes, config_hash="h4test")
    paths = {k: tmp / f"{k}.nc" for k in ("crossval", "bounds", "convergence", "quantity",
                                          "measures", "greens")}
    for key, path in paths.items():
        write_netcdf(r[key], path)
    write_netcdf(r["training"], tmp / "training.nc")     # read by the training figure only
    paths["greens_fields"] = tmp / "greens" / "N32.nc"
    write_netcdf(r["greens_fields"][32], paths["greens_fields"])
    return paths


def draw_figures(tmp: Path, paths: dict[str, Path], models: list[str]) -> list[Path]:
    """Every figure of the report, through the same scripts as the Snakemake rules."""
    fig = tmp / "figures"
    run = {"plot_scorecard": dict(input={"crossval": paths["crossval"]},
                                  output=[fig / "scorecard.png"], params={"models": models})}
    run["plot_training"] = dict(input={"training": tmp / "training.nc"},
                                output=[fig / "training.png"], params={"models": models})
    run["plot_heatmap"] = dict(  # rule plot_heatmaps: every model's heatmap in one job
        input={"crossval": paths["crossval"]}, output=[fig / f"heatmap_{m}.png" for m in models],
        params={"models": models, "spaces": NAMES, "resolution": 32})
    run["plot_bounds"] = dict(input={"bounds": paths["bounds"]}, output=[fig / "bounds.png"],
                              params={"models": ["linear"]})
    run["plot_convergence"] = dict(
        input={"convergence": paths["convergence"], "quantity": paths["quantity"]},
        output={"convergence": fig / "convergence.png",
                "parameter_error": fig / "parameter_error.png",
                "quantity": fig / "quantity.png"}, params={"resolution": 32})
    run["plot_greens"] = dict(
        input={"greens": paths["greens"], "fields": paths["greens_fields"]},
        output={"gallery": fig / "greens.png", "stencil": fig / "stencil.png"},
        params={"models": models, "linear_models": ["linear"], "k": 1.0,
                "fem_mass": "consistent"})
    for name, spec in run.items():
        run_script(name.split(":")[0], tmp / "logs" / f"{name}.log", **spec)
    return ([fig / "scorecard.png", fig / "training.png"]
            + [fig / f"heatmap_{m}.png" for m in models]
            + [fig / f"{n}.png" for n in ("bounds", "convergence", "parameter_error", "quantity",
                                          "greens", "stencil")])


class _IO(list):
    """snakemake.input/output/params: positional and named access."""

    def __init__(self, spec):
        named = spec if isinstance(spec, dict) else {}
        super().__init__([str(v) if isinstance(v, Path) else v for v in
                          (named.values() if named else spec)])
        for key, value in named.items():
            setattr(self, key, [str(x) for x in value] if isinstance(value, list) and key ==
                    "figures" else str(value) if isinstance(value, Path) else value)

    def __getitem__(self, key):
        return getattr(self, key) if isinstance(key, str) else super().__getitem__(key)


def run_script(rule: str, log: Path, *, input, output, params) -> None:
    """Run scripts/{rule}.py as Snakemake would: a ``snakemake`` object in its globals."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sm = types.SimpleNamespace(input=_IO(input), output=_IO(output), params=_IO(params),
                               log=[str(log)])
    script = "make_report" if rule == "report" else rule
    runpy.run_path(str(ROOT / "scripts" / f"{script}.py"), init_globals={"snakemake": sm},
                   run_name="__snakemake__")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A report from results where the configured model ``mlp`` is missing."""
    tmp = tmp_path_factory.mktemp("report")
    present = {m: c for m, c in CLASSES.items() if m != "mlp"}
    paths = write_results(tmp, present)
    figures = draw_figures(tmp, paths, ["linear", "mlp", "fno"])
    out = tmp / "report.html"
    run_script("report", tmp / "logs" / "report.log",
               input={**paths, "figures": figures}, output=[out],
               params={"config": study_config(), "config_hash": "h4test"})
    return out, figures, paths


@pytest.mark.slow
def test_report_lists_missing_model(built):
    out, _, _ = built
    page = out.read_text()
    missing = page[page.index('<h2 id="missing">'):]
    assert re.search(r"<td>model</td><td>mlp</td><td>absent from crossval\.nc", missing)
    assert "fno" in missing and "diverged" in missing            # synthetic fno diverges
    assert "configured model(s) mlp of class mlp have no results" in page
    log = (out.parent / "logs" / "report.log").read_text()
    assert "not in the results: model mlp: absent from crossval.nc" in log


@pytest.mark.slow
def test_report_embeds_every_figure_with_caption(built):
    out, figures, _ = built
    page = out.read_text()
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)" '
                        r'height="(\d+)"', page)
    assert len(images) == len(figures) == 3 + 8
    for fig, (data, w, h) in zip(figures, images, strict=True):
        raw = base64.b64decode(data)
        assert raw == fig.read_bytes()                          # in report order, unaltered
        assert (int(w), int(h)) == plots_size(raw)
        title, caption = caption_for(fig.stem)
        assert f"<b>{escape(title)}.</b> {escape(caption)}</figcaption>" in page  # autoescaped
    # self-contained: no scripts, nothing fetched from elsewhere
    assert "<script" not in page
    assert not re.search(r'(src|href)="(?!data:|#)', page)


def plots_size(raw: bytes) -> tuple[int, int]:
    from greenbench.report.html import png_size

    return png_size(raw)


@pytest.mark.slow
def test_report_says_what_was_run(built):
    page = built[0].read_text()
    for needle in ("h4test", "numpy version", "torch version", "python version",
                   "greenbench git commit", "train_seeds", "report written"):
        assert needle in page
    findings = page[page.index('<h2 id="findings">'):page.index('<h2 id="figures">')]
    assert findings.count("<tr><td>") == 19          # every claim of section 8, data quantity
    assert "not measurable" in findings                          # noise, other PDEs


def test_missing_file_and_figure_are_reported(tmp_path):
    paths = write_results(tmp_path, {m: c for m, c in CLASSES.items()})
    paths["bounds"].unlink()
    fig = tmp_path / "figures" / "heatmap_linear.png"
    plots.save_figure(plots.placeholder_figure("x", "y"), fig)
    summary = build_report(tmp_path / "r.html", config=study_config(), results=paths,
                           figures=[fig, tmp_path / "figures" / "bounds.png"])
    page = (tmp_path / "r.html").read_text()
    kinds = {(g.kind, Path(g.what).name) for g in summary.gaps}
    assert ("file", "bounds.nc") in kinds and ("figure", "bounds.png") in kinds
    assert "Figure not available: bounds.png" in page
    thm = [f for f in summary.findings if f.source == "8.3 Thm 3.2"][0]
    assert thm.verdict == "not measurable"


def test_results_from_another_config_are_refused(tmp_path):
    paths = write_results(tmp_path, {"linear": "linear"})
    other = validate_config({"spaces": {"sin": [1, 2, 8], "poly": [1, 2, 8], "cos": [1, 2],
                                        "fem": False}, "resolutions": RES,
                             "train_seeds": SEEDS, "models": {"linear": {"class": "linear"}}})
    with pytest.raises(ResultsMismatchError, match=r"crossval\.nc: results from another config "
                                                   r"\(train_space differs: unexpected \['fem'\]"):
        build_report(tmp_path / "r.html", config=other, results=paths, figures=[])
    wider = validate_config({**study_config(), "spaces": {**SPACES, "cos": [1, 2, 8]}})
    with pytest.raises(ResultsMismatchError, match=r"train_space differs: missing \['cos8'\]"):
        build_report(tmp_path / "r.html", config=wider, results=paths, figures=[])
    coarse = validate_config({**study_config(), "resolutions": [16, 64]})
    with pytest.raises(ResultsMismatchError, match=r"resolution differs: unexpected \[32\], "
                                                   r"missing \[64\].*rerun the analysis"):
        build_report(tmp_path / "r.html", config=coarse, results=paths, figures=[])
    assert not (tmp_path / "r.html").exists()


def test_gaps_name_missing_seed_and_resolution():
    r = synthetic_results(NAMES, RES, SEEDS, {"linear": "linear"})
    ex = expected({"linear": "linear"}, res=(16, 32, 64), seeds=(0, 1, 2))
    gaps = find_gaps({"crossval": r["crossval"]}, ex)
    whats = {(g.kind, g.what) for g in gaps}
    assert ("resolution", "linear N=64") in whats and ("seed", "linear seed 2") in whats
    cv = r["crossval"].copy(deep=True)
    cv["missing"].loc[dict(model="linear", seed=1)] = True
    gaps = find_gaps({"crossval": cv}, expected({"linear": "linear"}))
    assert [(g.kind, g.what) for g in gaps] == [("seed", "linear seed 1")]


def judged(ex: Expected, cv) -> Evidence:
    """Evidence of a (changed) crossval.nc with the measures the analysis derives from it."""
    from greenbench.analysis.measures import measures_dataset

    return Evidence(ex, cv, measures=measures_dataset(cv, NAMES))


def test_linear_block_verdict_follows_the_cells():
    r = synthetic_results(NAMES, RES, SEEDS, {"linear": "linear"})
    ex = expected({"linear": "linear"})
    assert linear_blocks(judged(ex, r["crossval"])).verdict == "reproduced"
    # same-family cells per resolution: poly 3x3 + cos 2x2 + sin 3x3 = 22; 44 in all
    cv = r["crossval"].copy(deep=True)
    cv["mse"].loc[dict(model="linear", train_space="poly8", test_space="poly1")] = 1e-3
    f = linear_blocks(judged(ex, cv))
    assert f.measured.startswith("42/44") and f.verdict == "reproduced"      # 95.5% >= FULL
    cv["mse"].loc[dict(model="linear", train_space="sin1", test_space="sin2")] = 1e-20
    f = linear_blocks(judged(ex, cv))                                         # 40/44 = 91%
    assert f.measured.startswith("40/44") and f.verdict == "partly reproduced"
    for space in ("poly8", "cos2", "sin8", "sin2", "poly2"):
        cv["mse"].loc[dict(model="linear", train_space=space)] = 1e-3
    assert linear_blocks(judged(ex, cv)).verdict == "not reproduced"


def test_linear_verdicts_do_not_depend_on_the_scale_of_u():
    """A biharmonic-like result (u ~ f/(k (p pi)^4): every MSE and the test spaces' mean square
    of u 1e-8 times Poisson's) gets the same linear-model verdicts and counts: the thresholds
    are relative to u_mean_square. Scaling the MSEs alone (u unchanged) does change them."""
    from greenbench.analysis.measures import measures_dataset
    from greenbench.report.claims_operators import linear_cross_family
    from greenbench.report.claims_theory import thm32_agreement

    r = synthetic_results(NAMES, RES, SEEDS, {"linear": "linear"})
    ex = expected({"linear": "linear"})
    cv = r["crossval"].copy(deep=True)       # partly reproduced (40/44), as above
    cv["mse"].loc[dict(model="linear", train_space="poly8", test_space="poly1")] = 1e-3
    cv["mse"].loc[dict(model="linear", train_space="sin1", test_space="sin2")] = 1e-20
    b = r["bounds"]

    def findings(cv, b):
        ev = Evidence(ex, cv, b, measures=measures_dataset(cv, NAMES))
        return [(f.verdict, f.measured.split(" ")[0])
                for f in (linear_blocks(ev), linear_cross_family(ev), thm32_agreement(ev))]

    def scaled(ds, names, factor=1e-8):
        ds = ds.copy(deep=True)
        for n in names:
            if n in ds:
                ds[n] = ds[n] * factor
        return ds

    base = findings(cv, b)
    assert base[0] == ("partly reproduced", "40/44")
    mses = ("mse", "noise_mse", "train_mse", "noise_train_mse", "u_mean_square")
    bmses = ("measured_mse", "predicted_mse", "predicted_mse_std", "bound_mse",
             "consistency_mse", "u_mean_square")
    assert findings(scaled(cv, mses), scaled(b, bmses)) == base
    # the MSEs 1e-8 smaller but u as large: out-of-span errors no longer "fail"
    alone = findings(scaled(cv, mses[:-1]), b)
    assert alone[0] == ("partly reproduced", "28/44")      # 12 more out-of-span cells "pass"
    assert alone[1] == ("not reproduced", "0/84")


def test_mlp_verdict_needs_a_fitted_model():
    r = synthetic_results(NAMES, RES, SEEDS, {"mlp": "mlp"})
    ex = expected({"mlp": "mlp"})
    assert mlp_diagonal(judged(ex, r["crossval"])).verdict == "reproduced"
    cv = r["crossval"].copy(deep=True)
    cv["mse"][:] = 1e-3                     # as bad on its own space as anywhere: no fit
    f = mlp_diagonal(judged(ex, cv))
    assert f.verdict == "not measurable" and "did not fit its own training spaces" in f.measured
    cv["mse"] = cv["mse"].where(~np.eye(len(NAMES), dtype=bool)[None, :, :, None, None], 1e-9)
    for a, b in (("sin2", "sin1"), ("sin8", "sin1"), ("sin8", "sin2")):
        cv["mse"].loc[dict(model="mlp", train_space=a, test_space=b)] = 1e-9
    f = mlp_diagonal(judged(ex, cv))        # poly, cos diagonal-only; sin generalizes
    assert f.verdict == "partly reproduced", f.measured


def test_findings_without_results_are_not_measurable():
    ex = expected({})
    found = all_findings(Evidence(ex))
    assert len(found) == 19
    assert {f.verdict for f in found} == {"not measurable"}


def test_captions_match_workflow_rst():
    for key, (_, text) in CAPTIONS.items():
        rst = ROOT / "workflow" / "report" / f"{key}.rst"
        assert " ".join(rst.read_text().split()) == text, f"{rst} out of step with captions.py"
    with pytest.raises(KeyError, match="no caption for figure 'nonsense'"):
        caption_for("nonsense")


def test_report_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    paths = write_results(tmp_path, {"linear": "linear"})
    a = build_report(tmp_path / "a.html", config=study_config(), results=paths, figures=[])
    build_report(tmp_path / "b.html", config=study_config(), results=paths, figures=[])
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    assert "2023-11-14T22:13:20+00:00" in (tmp_path / "a.html").read_text()
    assert a.findings[0].verdict == "reproduced"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.browser
@pytest.mark.slow
def test_report_images_load_in_headless_chromium(built, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("GREENBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail("GREENBENCH_REQUIRE_BROWSER=1 but no chromium on PATH "
                        "(apt-get install --no-install-recommends chromium)")
        pytest.skip("no chromium on PATH (set GREENBENCH_REQUIRE_BROWSER=1 to fail instead)")
    out, figures, _ = built
    probe = ("<script>window.addEventListener('load', function () {"
             "var im = Array.from(document.images);"
             "var ok = im.filter(function (i) { return i.complete && i.naturalWidth > 0; });"
             "var p = document.createElement('pre'); p.id = 'probe';"
             "p.textContent = 'IMAGES ' + ok.length + '/' + im.length;"
             "document.body.appendChild(p); });</script>")
    page = tmp_path / "probe.html"
    page.write_text(out.read_text().replace("</body>", probe + "</body>"))
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    found = re.search(r"IMAGES (\d+)/(\d+)", dom)
    assert found, f"probe did not run; chromium printed: {dom[:500]!r}"
    assert found.group(1) == found.group(2) == str(len(figures))


def test_empty_study_report_builds(tmp_path):
    """The default config has no models: the report still builds and says so."""
    cfg = validate_config({"spaces": SPACES, "resolutions": RES})
    summary = build_report(tmp_path / "r.html", config=cfg, results={
        "crossval": tmp_path / "none.nc"}, figures=[])
    assert [g.kind for g in summary.gaps] == ["file"]
    assert np.all([f.verdict == "not measurable" for f in summary.findings])
    assert "This study trains no models" in (tmp_path / "r.html").read_text()


REPORT_RULES = ("plot_heatmaps", "plot_scorecard", "plot_training", "plot_bounds",
                "plot_convergence", "plot_greens", "report")


def _snakemake(workdir: Path, repo_root: Path, *args: str) -> subprocess.CompletedProcess:
    import sys

    cmd = [str(Path(sys.executable).with_name("snakemake")), "-s", str(repo_root / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
           "--cores", "2", *args]
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_report_rules_build_the_report_with_a_missing_model(tmp_path, repo_root):
    """The report stage of the DAG on analysis files where the configured ``mlp`` is missing:
    ``rule all`` ends at results/report.html; only the report rules run (the analysis files are
    given); every figure is drawn and embedded; the report names the missing model."""
    import yaml

    from greenbench.provenance import study_hash

    classes = {"linear": "linear", "mlp": "mlp", "fd": "fd"}
    study = {"spaces": SPACES, "resolutions": RES, "train_seeds": SEEDS,
             "models": {m: {"class": c} for m, c in classes.items()}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(study))
    # the analysis stamps the study's hash; the report refuses any other
    r = synthetic_results(NAMES, RES, SEEDS, classes,
                          config_hash=study_hash(validate_config(study)))
    cv = r["crossval"].copy(deep=True)
    cv["missing"].loc[dict(model="mlp")] = True
    cv["mse"].loc[dict(model="mlp")] = np.nan
    results = tmp_path / "results" / "poisson1d"
    from greenbench.analysis.measures import measures_dataset

    measures = r["measures"].copy()
    measures.update(measures_dataset(cv, NAMES))
    for key, ds in (("crossval", cv), ("bounds", r["bounds"]),
                    ("convergence", r["convergence"]), ("quantity", r["quantity"]),
                    ("measures", measures), ("greens", r["greens"]),
                    ("training", r["training"])):
        write_netcdf(ds, results / f"{key}.nc")
    for N, ds in r["greens_fields"].items():
        write_netcdf(ds, results / "greens" / f"N{N}.nc")

    dry = _snakemake(tmp_path, repo_root, "-n")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert re.search(r"^report\s+1\s*$", dry.stdout, flags=re.MULTILINE), dry.stdout[-3000:]

    proc = _snakemake(tmp_path, repo_root, "results/report.html", "--allowed-rules",
                      *REPORT_RULES)
    assert proc.returncode == 0, proc.stderr[-4000:]
    figures = sorted(p.name for p in (results / "figures").glob("*.png"))
    assert figures == sorted(
        ["scorecard.png", "training.png", "heatmap_linear.png", "heatmap_mlp.png", "bounds.png",
         "convergence.png", "parameter_error.png", "quantity.png", "greens.png", "stencil.png"])
    page = (tmp_path / "results" / "report.html").read_text()
    assert page.count('<img src="data:image/png;base64,') == len(figures)
    missing = page[page.index('<h2 id="missing">'):]
    assert "<td>model</td><td>mlp</td><td>in crossval.nc but every cell is missing" in missing
    log = (tmp_path / "logs" / "report.log").read_text()
    assert "19 findings" in log and "not in the results: model mlp" in log


@pytest.mark.parametrize("corrupt", ["nan", "drop"])
def test_findings_survive_any_absent_variable(corrupt):
    """No results variable is load-bearing for the build: with any one of them NaN or absent,
    every claim still gets a verdict (possibly 'not measurable'), never an exception."""
    r = synthetic_results(NAMES, RES, SEEDS, CLASSES)
    ex = expected(CLASSES)
    files = {"crossval": r["crossval"], "bounds": r["bounds"], "convergence": r["convergence"],
             "greens": r["greens"], "fields": r["greens_fields"][32], "quantity": r["quantity"],
             "measures": r["measures"]}
    for key, ds in files.items():
        for var in ds.data_vars:
            if corrupt == "nan" and ds[var].dtype.kind not in "fcbiu":
                continue
            bad = (ds.drop_vars(var) if corrupt == "drop"
                   else ds.assign({var: ds[var].astype(float) * np.nan}))
            ev = Evidence(ex, **{**files, key: bad})
            found = all_findings(ev)
            assert len(found) == 19, (key, var)
            assert {f.verdict for f in found} <= set(VERDICTS), (key, var)


def _greens_of(fields, N: int, k: float, mass: str):
    """greens.nc's stencil variables of the linear model trained on fem, as the analysis
    computes them from G_hat (greenbench.analysis.greens)."""
    import xarray as xr

    from greenbench.analysis import greens as gr
    from greenbench.operators import get_operator

    op = get_operator("poisson1d", k=k)
    G_hat = fields["G_hat"].sel(model="linear", train_space="fem").isel(seed=0).values
    _, stencil, _ = gr.inverse_and_stencil(G_hat / N, op, 3, max_cond=np.inf)
    _, ref, _ = gr.inverse_and_stencil(gr.reference_interior_operator(N, op, mass), op, 3,
                                       max_cond=np.inf)
    dev, tail = gr.stencil_measures(stencil, ref)
    d4 = ("model", "train_space", "resolution", "seed")
    return xr.Dataset(
        dict(stencil=(d4 + ("offset",), stencil[None, None, None, None]),
             stencil_deviation=(d4, np.reshape(dev, (1, 1, 1, 1))),
             stencil_tail=(d4, np.reshape(tail, (1, 1, 1, 1)))),
        coords=dict(model=["linear"], train_space=["fem"], resolution=[N], seed=[0],
                    offset=np.arange(-3, 4)))


def test_fem_stencil_verdict_separates_learning_from_locality():
    """Consistent-mass fem data: the linear model learns the generating operator, whose inverse
    M^-1 K is not tridiagonal (partly). Lumped mass: the inverse is [-1, 2, -1] (reproduced)."""
    from greenbench.report.claims_theory import fem_stencil

    names = ["poly1", "sin1", "fem"]
    r = synthetic_results(names, [16, 32], [0], {"linear": "linear"})
    fields = r["greens_fields"][32]
    consistent = expected({"linear": "linear"}, names, (16, 32), (0,))
    f = fem_stencil(Evidence(consistent, greens=_greens_of(fields, 32, 1.0, "consistent")))
    assert f.verdict == "partly reproduced" and "beyond distance 1 1.7e-01" in f.measured
    lumped = expected({"linear": "linear"}, names, (16, 32), (0,), fem_mass="lumped")
    exact = fields.copy(deep=True)
    exact["G_hat"].loc[dict(model="linear", train_space="fem")] = fields["G"].values
    assert fem_stencil(Evidence(lumped, greens=_greens_of(exact, 32, 1.0, "lumped"))
                       ).verdict == "reproduced"
    assert fem_stencil(Evidence(lumped, greens=_greens_of(fields, 32, 1.0, "lumped"))
                       ).verdict == "not reproduced"


def test_data_quantity_compares_from_the_first_spanning_sample_size():
    """Two samples of sin4 span half of it: the 'more data does not fix a missing span' check
    starts at the first size that can span the training space (4 for sin4); the analysis
    writes it as quantity_spanning_size."""
    from greenbench.analysis.measures import spanning_size

    assert spanning_size([2, 4, 8, 128], "sin4") == 4
    assert spanning_size([2, 4, 8, 128], "poly4") == 8     # 5 coefficients
    assert spanning_size([2, 4, 8, 128], "fem") == 2
    assert spanning_size([2, 3], "sin8") == 2              # none large enough
