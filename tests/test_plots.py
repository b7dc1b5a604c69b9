"""Figures render from contract data: valid PNGs of the expected size, one colour scale across
models, cell reduction and status, canonical ordering, stencil oracles, determinism."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import PathCollection

from greenbench import plots
from greenbench.operators import get_operator
from greenbench.pde import greens_matrix
from greenbench.plots._common import DPI, family_groups
from greenbench.plots.heatmap import DIVERGED, MISSING, OK, heatmap_cells, own_limits
from greenbench.report.html import png_size
from synthetic import synthetic_results

P1 = get_operator("poisson1d")

SPACES = ["poly1", "poly2", "poly8", "cos1", "cos2", "sin1", "sin2", "sin8", "fem"]
MODELS = {"linear": "linear", "mlp": "mlp", "fno": "fno", "fd": "fd", "pinn": "pinn"}


@pytest.fixture(scope="module")
def results():
    return synthetic_results(SPACES, [16, 32], [0, 1], MODELS)


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def test_heatmap_png_valid_and_sized(results, tmp_path):
    path = tmp_path / "figures" / "heatmap_linear.png"
    plots.save_figure(plots.plot_heatmap(results["crossval"], "linear"), path)
    w, h = png_size(path.read_bytes())
    # three panels side by side, and the seed spread: the fixture has two seeds
    assert (w, h) == (round(20.5 * DPI), round(5.1 * DPI))
    assert not list(tmp_path.glob("figures/.*tmp*"))          # atomic write left nothing


def test_heatmap_colour_scale_shared_across_models(results):
    cv = results["crossval"]
    # oracle: floor/ceil of the extreme per-cell mean log10 MSE over all models, computed here
    # directly from the raw array (seeds not diverged, finite)
    mse = cv["mse"].sel(resolution=32).transpose("model", "train_space", "test_space", "seed")
    div = cv["diverged"].sel(resolution=32).transpose("model", "train_space", "seed").values
    logs = np.log10(np.maximum(mse.values, plots.FLOOR))
    logs = np.where(div[:, :, None, :] | ~np.isfinite(logs), np.nan, logs)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="Mean of empty"):
        cell = np.nanmean(logs, axis=-1)                       # fully diverged rows -> NaN
    want = (np.floor(np.nanmin(cell)), np.ceil(np.nanmax(cell)))
    assert plots.heatmap_limits(cv, 32) == want
    norms = set()
    for model in ("linear", "mlp", "fno"):
        for limits in (None, want):
            fig = plots.plot_heatmap(cv, model, limits=limits)
            norm = fig.axes[0].images[0].norm
            norms.add((norm.vmin, norm.vmax))
    assert norms == {want}


def test_heatmap_shared_panel_unchanged_by_own_range_panels(results):
    """The first panel is today's heatmap: shared colour limits and the same cells, whatever the
    model's own range."""
    cv = results["crossval"]
    shared = plots.heatmap_limits(cv, 32)
    for model in ("linear", "mlp", "fno"):
        fig = plots.plot_heatmap(cv, model)
        image = fig.axes[0].images[0]
        assert (image.norm.vmin, image.norm.vmax) == shared
        want = heatmap_cells(cv, model, 32).log10_mse
        got = image.get_array()
        np.testing.assert_array_equal(got.mask, np.isnan(want))
        np.testing.assert_array_equal(got.filled(np.nan), want)
        own = fig.axes[1].images[0]
        assert (own.norm.vmin, own.norm.vmax) == own_limits(want)
        np.testing.assert_array_equal(own.get_array().filled(np.nan), want)
        assert (own.norm.vmin, own.norm.vmax) != shared          # a narrower range of its own


def test_own_limits_percentiles_by_hand():
    # 101 values -5.00, -4.97, ..., -2.00 (step 0.03) plus two outliers and a NaN
    values = np.concatenate([-5.0 + 0.03 * np.arange(101), [-30.0, 5.0, np.nan]])
    # 103 finite values, sorted: -30, -5.00, ..., -2.00, 5. Percentile q (linear) sits at
    # rank q/100 * 102: 1st -> rank 1.02, between -5.00 (rank 1) and -4.97 (rank 2): -4.9994;
    # 99th -> rank 100.98, between -2.03 (100) and -2.00 (101): -2.0006. Outwards to 0.1.
    assert own_limits(values) == (-5.0, -2.0)
    values = np.array([-7.26, -7.24, -6.52, -6.48, -6.15])       # 5 values: rank q/100 * 4
    lo = -7.26 + 0.04 * (-7.24 + 7.26)                           # -7.2592
    hi = -6.48 + 0.96 * (-6.15 + 6.48)                           # -6.1632
    assert (lo, hi) == pytest.approx((-7.2592, -6.1632))
    assert own_limits(values) == (-7.3, -6.1)
    assert own_limits(values, percentiles=(0, 100)) == (-7.3, -6.1)
    # narrower than one decade: widened about the centre to one decade, then rounded out
    assert own_limits(np.array([-4.02, -3.98, -4.0])) == (-4.5, -3.5)
    assert own_limits(np.array([-4.12, -3.98])) == (-4.6, -3.5)    # centre -4.05 +- 0.5
    assert own_limits(np.array([-3.0])) == (-3.5, -2.5)
    assert own_limits(np.array([np.nan, np.inf, -np.inf])) is None
    assert own_limits(np.empty((0, 3))) is None


def test_heatmap_own_range_shows_neural_block_structure():
    """A neural-like model (MSE 1e-4 in span, 1e-1 outside) next to a linear one at 1e-33:
    on the shared scale its cells use under a tenth of the colours; on its own range the
    in-span and out-of-span cells take the two ends of the colour map."""
    spaces = ["sin1", "sin2", "sin3", "sin4"]
    n = len(spaces)
    inside = np.tril(np.ones((n, n), dtype=bool))                # test p' <= train p
    mse = np.empty((2, n, n, 1, 1))
    mse[0, ..., 0, 0] = np.where(inside, 1e-33, 1e-4)            # linear
    mse[1, ..., 0, 0] = np.where(inside, 1e-4, 1e-1)             # neural
    dims4 = ("model", "train_space", "resolution", "seed")
    cv = xr.Dataset(
        dict(mse=(("model", "train_space", "test_space", "resolution", "seed"), mse),
             rel_l2=(("model", "train_space", "test_space", "resolution", "seed"),
                     np.sqrt(mse) / 0.1),
             diverged=(dims4, np.zeros((2, n, 1, 1), bool))),
        coords=dict(model=["linear", "neural"], train_space=spaces, test_space=spaces,
                    resolution=[16], seed=[0]))
    fig = plots.plot_heatmap(cv, "neural")
    shared, own = (fig.axes[k].images[0] for k in (0, 1))
    assert (shared.norm.vmin, shared.norm.vmax) == (-32.0, -1.0)   # floor 1e-32
    colours = [np.unique(im.norm(im.get_array()).filled(np.nan)) for im in (shared, own)]
    assert np.ptp(colours[0]) < 0.1                               # uniform on the shared scale
    assert (own.norm.vmin, own.norm.vmax) == (-4.0, -1.0)
    np.testing.assert_allclose(colours[1], [0.0, 1.0])            # both ends on its own range


def test_heatmap_rel_l2_panel_uses_rel_l2(results):
    """The third panel holds the seed-mean log10 rel_l2 (not MSE), on its own range."""
    cv = results["crossval"].copy(deep=True)
    # rel_l2 independent of mse: a known pattern per cell and seed
    rng = np.random.default_rng(3)
    cv["rel_l2"] = cv["rel_l2"].copy(data=10.0 ** rng.uniform(-6, 0, cv["rel_l2"].shape))
    fig = plots.plot_heatmap(cv, "linear", resolution=16)
    image = fig.axes[2].images[0]
    raw = cv["rel_l2"].sel(model="linear", resolution=16).transpose(
        "train_space", "test_space", "seed")
    order = plots.sort_spaces(SPACES)
    want = np.log10(raw.sel(train_space=order, test_space=order).values).mean(axis=-1)
    np.testing.assert_allclose(image.get_array().filled(np.nan), want, rtol=1e-12)
    assert (image.norm.vmin, image.norm.vmax) == own_limits(want)
    mse = heatmap_cells(cv, "linear", 16).log10_mse
    assert not np.allclose(want, mse)


def test_heatmap_of_a_model_with_no_usable_cell_renders(results):
    """Every cell missing (or NaN): all three panels draw, hatched, without warnings; the own
    ranges fall back (shared MSE range; -16..0 for rel_l2) and the titles say why."""
    cv = results["crossval"].copy(deep=True)
    cv["mse"].loc[dict(model="mlp")] = np.nan
    cv["rel_l2"].loc[dict(model="mlp")] = np.nan
    for data in (cv, cv.assign(missing=cv["missing"] | (cv["model"] == "mlp"))):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig = plots.plot_heatmap(data, "mlp")
            png = png_bytes(fig)
        assert png_size(png) == (round(20.5 * DPI), round(5.1 * DPI))   # 2 seeds: 4 panels
        images = [fig.axes[k].images[0] for k in range(3)]
        assert all(im.get_array().mask.all() for im in images)
        shared = plots.heatmap_limits(data, 32)
        assert [(im.norm.vmin, im.norm.vmax) for im in images] == [shared, shared, (-16, 0)]
        assert "no usable cell" in fig.axes[1].get_title()
        assert "no usable cell" in fig.axes[2].get_title()
        # hatched patches: one per cell per panel
        assert all(len(fig.axes[k].patches) == len(SPACES) ** 2 for k in range(3))


def _tiny_crossval(mse: np.ndarray, diverged: np.ndarray, missing: np.ndarray) -> xr.Dataset:
    dims4 = ("model", "train_space", "resolution", "seed")
    return xr.Dataset(
        dict(mse=(("model", "train_space", "test_space", "resolution", "seed"), mse),
             diverged=(dims4, diverged), missing=(dims4, missing)),
        coords=dict(model=["m"], train_space=["sin1", "sin2"], test_space=["sin1", "sin2"],
                    resolution=[16], seed=[0, 1]))


def test_heatmap_cells_geometric_mean_status():
    mse = np.empty((1, 2, 2, 1, 2))
    mse[0, 0, :, 0] = [[1e-4, 1e-2], [1e-6, 1e-8]]             # row sin1: seeds (1e-4, 1e-2)...
    mse[0, 1, :, 0] = [[1e-3, np.nan], [1e-5, np.nan]]         # row sin2: seed 1 diverged
    div = np.zeros((1, 2, 1, 2), dtype=bool)
    div[0, 1, 0, 1] = True
    miss = np.zeros_like(div)
    cells = heatmap_cells(_tiny_crossval(mse, div, miss), "m", 16)
    np.testing.assert_allclose(cells.log10_mse, [[-3.0, -7.0], [-3.0, -5.0]])
    assert (cells.status == OK).all()
    assert cells.n_diverged.tolist() == [0, 1]

    div[0, 1, 0, 0] = True                                      # every seed of sin2 diverged
    miss[0, 0, 0, :] = True                                     # sin1 never trained
    cells = heatmap_cells(_tiny_crossval(mse, div, miss), "m", 16, spaces=["sin2", "sin1", "fem"])
    assert cells.train_spaces == ["sin1", "sin2", "fem"]        # canonical order, fem added
    assert (cells.status[0] == MISSING).all() and (cells.status[1, :2] == DIVERGED).all()
    assert (cells.status[2] == MISSING).all()                   # fem: not in the file
    assert cells.status[:, 2].tolist() == [MISSING, DIVERGED, MISSING]   # a diverged row stays
    assert np.isnan(cells.log10_mse).all()
    absent = heatmap_cells(_tiny_crossval(mse, div, miss), "other", 16)
    assert (absent.status == MISSING).all()


def test_canonical_space_order_and_groups():
    names = plots.sort_spaces(["fem", "sin1", "poly2", "cos8", "poly1", "cos1"])
    assert names == ["poly1", "poly2", "cos1", "cos8", "sin1", "fem"]
    assert family_groups(names) == [("poly", 0, 2), ("cos", 2, 4), ("sin", 4, 5), ("fem", 5, 6)]
    with pytest.raises(ValueError, match="unknown function space 'tan3'"):
        plots.sort_spaces(["tan3"])


def test_figures_are_deterministic(results):
    a = png_bytes(plots.plot_heatmap(results["crossval"], "fno"))
    b = png_bytes(plots.plot_heatmap(results["crossval"], "fno"))
    assert a == b


def test_bounds_plots_every_finite_cell(results):
    b = results["bounds"]
    fig = plots.plot_bounds(b, model="linear")
    points = sum(len(c.get_offsets()) for c in fig.axes[0].collections
                 if isinstance(c, PathCollection))
    assert points == int(np.isfinite(b["measured_mse"].values).sum())
    empty = b.assign(measured_mse=b["measured_mse"] * np.nan)
    assert len(plots.plot_bounds(empty).axes[0].texts) == 2      # placeholder says why


def test_convergence_reference_lines_have_slope_q(results):
    fig = plots.plot_convergence(results["convergence"])
    qs = [int(q) for q in results["convergence"]["q"].values]
    slopes = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_label().startswith("slope"):
                x, y = line.get_data()
                slopes.setdefault(int(line.get_label().split()[1]), []).append(
                    np.polyfit(np.log(x), np.log(y), 1)[0])
    assert sorted(slopes) == qs
    for q, got in slopes.items():
        np.testing.assert_allclose(got, q, rtol=1e-12)
    labels = [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("p=1: exact") for lab in labels)   # poly1, q=2 is exact


def test_parameter_error_and_placeholders(results):
    fig = plots.plot_parameter_error(results["convergence"])
    assert len(fig.axes) == 2 and fig.axes[1].get_yscale() == "log"
    nothing = xr.Dataset(coords=dict(resolution=[16]))
    assert "no FD or PINN" in plots.plot_parameter_error(nothing).axes[0].texts[1].get_text()


def test_convergence_without_fd_model_draws_the_prediction(results):
    conv = results["convergence"]
    only_theory = conv.assign(fd_rel_error=conv["fd_rel_error"] * np.nan)
    fig = plots.plot_convergence(only_theory)
    assert "Thm 3.1 prediction only" in fig.get_suptitle()
    line = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("p=2")][0]
    want = conv["fd_predicted_rel_error"].sel(q=2, train_space="poly2").values
    np.testing.assert_allclose(line.get_ydata(), want)
    both = plots.plot_convergence(conv)
    assert "learned (solid) and Thm 3.1 predicted" in both.get_suptitle()


def test_quantity_lines_coloured_by_span(results):
    conv = results["quantity"]                                # quantity.nc
    fig = plots.plot_quantity(conv)
    lines = fig.axes[0].get_lines()
    assert len(lines) == conv.sizes["test_space"]
    blue = [ln for ln in lines if ln.get_color() == "tab:blue"]
    # synthetic study trains on sin2: its span holds sin1 and sin2
    assert len(blue) == 2
    assert blue[0].get_ydata()[-1] == pytest.approx(1e-30)   # synthetic in-span level
    assert min(min(ln.get_ydata()) for ln in lines if ln not in blue) >= 1e-4
    gone = conv.drop_vars("quantity_mse")
    assert "no quantity_mse" in plots.plot_quantity(gone).axes[0].texts[1].get_text()


def test_greens_gallery_layout(results):
    fields = results["greens_fields"][32]
    fig = plots.plot_greens_gallery(fields, results["greens"], models=["linear", "absent"])
    image_axes = [ax for ax in fig.axes if ax.images]
    # linear: exact + sin8, poly8, fem; absent: exact only (its three panels say "missing")
    assert len(image_axes) == 4 + 1
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("missing") == 3
    norms = {(ax.images[0].norm.vmin, ax.images[0].norm.vmax) for ax in image_axes}
    assert norms == {(-0.25, 0.25)}                             # max G = 1/4 at x = s = 1/2


def test_stencil_oracles():
    N = 32
    row = plots.inverse_middle_row(greens_matrix(N), 1.0 / N, P1)
    mid = row.size // 2
    np.testing.assert_allclose(row[mid - 1:mid + 2], [-1, 2, -1], atol=1e-9)
    np.testing.assert_allclose(np.delete(row, [mid - 1, mid, mid + 1]), 0, atol=1e-9)
    np.testing.assert_allclose(plots.generating_stencil(N, P1, mass="lumped"), row, atol=1e-9)
    # consistent mass: dx^2 M^{-1} K away from the boundary is the Fourier series of the symbol
    # 6 (2 - 2 cos t) / (4 + 2 cos t); its coefficients are the stencil (quadrature oracle)
    N = 64
    t = 2 * np.pi * np.arange(4096) / 4096
    symbol = 6 * (2 - 2 * np.cos(t)) / (4 + 2 * np.cos(t))
    coef = [np.mean(symbol * np.cos(j * t)) for j in range(4)]
    got = plots.generating_stencil(N, P1)
    mid = got.size // 2
    np.testing.assert_allclose(got[mid:mid + 4], coef, atol=1e-10)
    np.testing.assert_allclose(got[mid - 3:mid][::-1], coef[1:], atol=1e-10)


def test_recovered_stencil_figure(results):
    fields = results["greens_fields"][32]
    fig = plots.plot_recovered_stencil(fields, ["linear"])
    red = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "recovered (learned W)"][0]
    blue = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("generating")][0]
    np.testing.assert_allclose(red.get_ydata(), blue.get_ydata(), atol=1e-8)
    missing = plots.plot_recovered_stencil(fields, [])
    assert "no linear model" in missing.axes[0].texts[1].get_text()
    broken = fields.copy(deep=True)
    broken["G_hat"].loc[dict(model="linear", train_space="fem")] = 0.0   # singular
    fig = plots.plot_recovered_stencil(broken, ["linear"])
    assert "singular or not finite" in fig.axes[0].texts[1].get_text()


def test_scorecard_frame_and_table(results):
    cv = results["crossval"]
    frame = plots.scorecard_frame(cv, resolution=32, models=["fno", "nope", "linear"])
    assert frame["model"].tolist() == ["fno", "linear"]
    assert frame.loc[1, "out_of_span"] == float(
        cv["scorecard"].sel(model="linear", resolution=32, metric="out_of_span"))
    assert frame.loc[0, "diverged cells"] > 0                  # synthetic fno diverges once
    fig = plots.plot_scorecard(frame)
    table = fig.axes[0].tables[0]
    assert table.get_celld()[(0, 0)].get_text().get_text() == "model"
    with pytest.raises(KeyError, match="no 'scorecard' variable"):
        plots.scorecard_frame(cv.drop_vars("scorecard"))


FIGURES = {
    "heatmap": ("crossval", lambda r, d: plots.plot_heatmap(d, "linear"),
                ("mse", "rel_l2", "diverged", "missing")),
    "scorecard": ("crossval", lambda r, d: plots.plot_scorecard(plots.scorecard_frame(d)),
                  ("scorecard_missing", "scorecard_diverged")),
    "bounds": ("bounds", lambda r, d: plots.plot_bounds(d),
               ("predicted_mse", "measured_mse", "w_star_rel_error", "bound_holds")),
    "convergence": ("convergence", lambda r, d: plots.plot_convergence(d),
                    ("fd_rel_error", "fd_rate_ci_high", "fd_exact")),
    "parameter_error": ("convergence", lambda r, d: plots.plot_parameter_error(d),
                        ("fd_rel_error", "pinn_rel_error")),
    "quantity": ("quantity", lambda r, d: plots.plot_quantity(d), ("quantity_mse",)),
    "gallery": ("fields", lambda r, d: plots.plot_greens_gallery(d, r["greens"]),
                ("G_hat", "G")),
    "stencil": ("fields", lambda r, d: plots.plot_recovered_stencil(d, ["linear"]), ("G_hat",)),
}


@pytest.fixture(scope="module")
def tiny():
    return synthetic_results(["poly1", "poly8", "sin1", "sin8", "fem"], [8, 16], [0],
                             {"linear": "linear", "fd": "fd", "pinn": "pinn"})


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figures_draw_with_any_variable_absent_or_nan(tiny, name):
    """A figure never fails on a gap in its input: it draws what there is, or a placeholder."""
    key, draw, variables = FIGURES[name]
    results = tiny
    ds = results["greens_fields"][16] if key == "fields" else results[key]
    for var in variables:
        nan = ds.assign({var: ds[var].astype(float) * np.nan})
        for bad in (ds.drop_vars(var), nan):
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                fig = draw(results, bad)
                fig.canvas.draw()
            assert fig.axes, (name, var)
