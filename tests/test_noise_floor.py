"""The noise-floor view of the report (issue 10 item 5): with several noise levels the report has
a table (model x level: median in-span and out-of-span test MSE, their ratio) whose numbers are
crossval.nc's medians, recomputed here cell by cell, and a figure drawn by the scorecard job
(tests/test_workflow_operators.py: no job of its own); with one level neither exists
(tests/test_report.py: the report rules draw the same figures as before)."""

from __future__ import annotations

import os
import re
import runpy
import types

import numpy as np
import pytest
import xarray as xr

from greenbench.analysis.stage import noise_block_medians
from greenbench.config import validate_config
from greenbench.io import write_netcdf
from greenbench.plots.noise import has_noise_axis, noise_floor_frame
from greenbench.report import build_report
from greenbench.report.html import png_size
from synthetic import synthetic_results

NAMES = ["poly1", "poly2", "poly8", "cos1", "sin1", "sin2", "sin8", "fem"]
SPACES = {"poly": [1, 2, 8], "cos": [1], "sin": [1, 2, 8], "fem": True}
CLASSES = {"linear": "linear", "mlp": "mlp", "fno": "fno"}
RES, SEEDS, LEVELS = [16, 32], [0, 1], [0.0, 1e-8, 1e-4]


def config(levels=LEVELS) -> dict:
    return validate_config({"spaces": SPACES, "resolutions": RES, "train_seeds": SEEDS,
                            "noise": list(levels),
                            "models": {m: {"class": c} for m, c in CLASSES.items()}})


def noisy_crossval(cv: xr.Dataset, levels=LEVELS) -> xr.Dataset:
    """``cv`` with a noise axis of several levels, as the analysis writes it: level ``s`` adds
    ``s^2 * 1e-2`` (the noise excess of a model that fits the noise) times a factor per model
    (0 for mlp: its floor is set by training), and its medians recomputed."""
    out = cv.drop_vars([v for v in cv.data_vars if str(v).startswith("noise_")])
    out = out.drop_dims("noise", errors="ignore")
    fit = xr.DataArray([0.0 if c == "mlp" else 1.0 for c in cv["model_class"].values],
                       dims="model", coords={"model": cv["model"]})
    level = xr.DataArray(list(levels), dims="noise", coords={"noise": list(levels)})
    out["noise_mse"] = cv["mse"] + fit * level ** 2 * 1e-2
    out["noise_rel_l2"] = np.sqrt(out["noise_mse"]) / 0.1
    for name in ("train_mse", "missing", "diverged"):
        out[f"noise_{name}"] = cv[name].expand_dims(noise=list(levels)).copy()
    return out.merge(noise_block_medians(out))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("noisefloor")
    r = synthetic_results(NAMES, RES, SEEDS, CLASSES, config_hash="")
    r["crossval"] = noisy_crossval(r["crossval"])
    paths = {}
    for key in ("crossval", "bounds", "convergence", "quantity", "measures", "greens"):
        paths[key] = tmp / f"{key}.nc"
        write_netcdf(r[key], paths[key])
    return tmp, paths, r


def median_by_hand(cv: xr.Dataset, model: str, level: float, N: int, inside: bool) -> float:
    """The oracle: the median of noise_mse over the (train, test, seed) cells of ``model`` at
    ``level`` and N whose test space is (not) in the training span, skipping missing or
    diverged members and NaN cells, one cell at a time."""
    at = dict(noise=level, model=model, resolution=N)
    mse = cv["noise_mse"].sel(at).transpose("train_space", "test_space", "seed").values
    bad = (cv["noise_missing"] | cv["noise_diverged"]).sel(at).transpose(
        "train_space", "seed").values
    span = cv["in_span"].transpose("train_space", "test_space").values
    vals = []
    for a in range(mse.shape[0]):
        for b in range(mse.shape[1]):
            for c in range(mse.shape[2]):
                if bool(span[a, b]) == inside and not bad[a, c] and np.isfinite(mse[a, b, c]):
                    vals.append(float(mse[a, b, c]))
    return float(np.median(vals)) if vals else float("nan")


def test_noise_floor_table_holds_the_crossval_medians(results, tmp_path):
    _, paths, r = results
    cv = r["crossval"]
    assert bool(cv["noise_diverged"].any())      # synthetic fno diverges on one space: skipped
    frame = noise_floor_frame(cv, models=list(CLASSES))
    assert frame.attrs["resolution"] == max(RES) and len(frame) == len(CLASSES) * len(LEVELS)
    for row in frame.itertuples(index=False):
        i = median_by_hand(cv, row.model, row.noise, max(RES), True)
        o = median_by_hand(cv, row.model, row.noise, max(RES), False)
        assert row.in_span_mse == pytest.approx(i, rel=1e-12)
        assert row.out_of_span_mse == pytest.approx(o, rel=1e-12)
        assert row.ratio == pytest.approx(o / i, rel=1e-12)
    # the floor of a model that fits the noise rises with the level; mlp's stays
    lin = frame[frame.model == "linear"].in_span_mse.to_numpy()
    assert lin[0] < 1e-20 < lin[1] < lin[2]
    assert np.ptp(frame[frame.model == "mlp"].in_span_mse) == 0

    summary = build_report(tmp_path / "r.html", config=config(), results=paths)
    page = (tmp_path / "r.html").read_text()
    section = page[page.index('<h2 id="noise">'):page.index('<h2 id="figures">')]
    assert f"at N = {max(RES)}" in section and '<a href="#noise">' in page
    rows = re.findall(r"<tr><td>(\w+)</td><td>([^<]+)</td>((?:<td class=\"num\">[^<]*</td>)+)"
                      r"</tr>", section)
    assert len(rows) == len(CLASSES) * len(LEVELS)
    for model, level, cells in rows:
        nums = re.findall(r'<td class="num">([^<]*)</td>', cells)
        i = median_by_hand(cv, model, float(level), max(RES), True)
        o = median_by_hand(cv, model, float(level), max(RES), False)
        assert nums[:3] == [f"{i:.2e}", f"{o:.2e}", f"{o / i:.2e}"], (model, level)
        assert nums[3] == ("yes" if o / i >= 100 else "no")
    noise = next(f for f in summary.findings if f.source.startswith("8.1 noise"))
    assert noise.verdict != "not measurable", noise.measured


def test_one_noise_level_has_no_noise_floor_view(tmp_path):
    r = synthetic_results(NAMES, RES, SEEDS, CLASSES, config_hash="")
    assert not has_noise_axis(r["crossval"])
    path = tmp_path / "crossval.nc"
    write_netcdf(r["crossval"], path)
    summary = build_report(tmp_path / "r.html", config=config([0.0]),
                           results={"crossval": path})
    page = (tmp_path / "r.html").read_text()
    assert 'id="noise"' not in page and "Noise floor" not in page
    noise = next(f for f in summary.findings if f.source.startswith("8.1 noise"))
    assert "one noise level" in noise.measured       # the report says so once, in the finding


def _plot(tmp, crossval, outputs):
    sm = types.SimpleNamespace(
        input=types.SimpleNamespace(crossval=str(crossval)), output=[str(o) for o in outputs],
        params=types.SimpleNamespace(models=list(CLASSES), resolution=max(RES)),
        log=[str(tmp / "plot.log")])
    runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "scripts",
                                "plot_scorecard.py"),
                   init_globals={"snakemake": sm}, run_name="__snakemake__")


def test_scorecard_job_draws_the_noise_floor_figure(results, tmp_path):
    _, paths, _ = results
    score, floor = tmp_path / "scorecard.png", tmp_path / "noise_floor.png"
    _plot(tmp_path, paths["crossval"], [score, floor])
    w, h = png_size(floor.read_bytes())
    assert (w, h) == (990, 396)                      # the two-panel figure, not a placeholder
    assert "noise floor: 9 rows" in (tmp_path / "plot.log").read_text()
    # one output (one noise level): the scorecard alone, as before
    only = tmp_path / "only"
    only.mkdir()
    _plot(only, paths["crossval"], [only / "scorecard.png"])
    assert sorted(p.name for p in only.glob("*.png")) == ["scorecard.png"]
