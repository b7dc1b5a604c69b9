"""Cross-validation and scorecard: loop oracles, missing/diverged bookkeeping, category counts."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from greenbench.analysis import crossval, scorecard
from greenbench.spaces import ALL_SPACES


def _bank(rng, sizes=(3, 5, 2), N=6):
    splits = {f"sin{i + 1}": (rng.standard_normal((n, N + 1)), rng.standard_normal((n, N + 1)))
              for i, n in enumerate(sizes)}
    return crossval.TestBank.from_splits(splits), splits


def test_evaluate_matches_a_per_sample_loop():
    rng = np.random.default_rng(0)
    bank, splits = _bank(rng)
    W = rng.standard_normal((7, 7))
    predict = lambda f: f @ W.T  # noqa: E731
    mse, rel = crossval.evaluate(predict, bank, chunk=4)   # chunks cut across spaces
    for j, (f, u) in enumerate(splits.values()):
        per = [np.mean((W @ fi - ui) ** 2) for fi, ui in zip(f, u, strict=True)]
        rl = [np.linalg.norm(W @ fi - ui) / np.linalg.norm(ui) for fi, ui in zip(f, u, strict=True)]
        assert mse[j] == pytest.approx(np.mean(per), rel=1e-12)
        assert rel[j] == pytest.approx(np.mean(rl), rel=1e-12)
    ms = bank.mean_square()
    assert ms[1] == pytest.approx(np.mean(splits["sin2"][1] ** 2))


def test_bank_refuses_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        crossval.TestBank.from_splits({})
    with pytest.raises(ValueError, match="grid sizes"):
        crossval.TestBank.from_splits({"a": (np.zeros((2, 5)), np.zeros((2, 5))),
                                       "b": (np.zeros((2, 6)), np.zeros((2, 6)))})
    with pytest.raises(ValueError, match="empty test split.*'b'"):
        crossval.TestBank.from_splits({"a": (np.zeros((2, 5)), np.zeros((2, 5))),
                                       "b": (np.zeros((0, 5)), np.zeros((0, 5)))})
    bank = crossval.TestBank.from_splits({"a": (np.ones((2, 5)), np.ones((2, 5)))})
    with pytest.raises(ValueError, match="shape"):
        crossval.evaluate(lambda f: f[:, :3], bank)


def test_part_marks_missing_and_diverged_cells():
    rng = np.random.default_rng(1)
    bank, _ = _bank(rng)
    preds = {("sin1", 0): lambda f: 0 * f, ("sin1", 1): lambda f: f * np.nan,
             ("sin2", 0): lambda f: f, ("sin2", 1): None}
    part = crossval.crossval_part(
        "m", "mlp", 6, ["sin1", "sin2"], [0, 1], bank, preds,
        train_mse=np.array([[1e-3, np.nan], [1e-4, 1e-4]]),
        diverged=np.array([[False, False], [False, False]]))
    assert part.mse.dims == ("model", "train_space", "test_space", "resolution", "seed")
    miss = part.missing.sel(model="m", resolution=6)
    div = part.diverged.sel(model="m", resolution=6)
    assert miss.values.tolist() == [[False, False], [False, True]]
    assert div.values.tolist() == [[False, True], [False, False]]      # nan output -> diverged
    assert np.all(np.isnan(part.mse.sel(train_space="sin2", seed=1)))
    assert np.all(np.isfinite(part.mse.sel(train_space="sin1", seed=0)))
    assert part.model_class.values.tolist() == ["mlp"]


def _cv(mse, rel, spaces, diverged=None, missing=None):
    nt = len(spaces)
    d5 = ("model", "train_space", "test_space", "resolution", "seed")
    d4 = ("model", "train_space", "resolution", "seed")
    flags = np.zeros((1, nt, 1, 1), dtype=bool)
    return xr.Dataset(
        dict(mse=(d5, mse[None, :, :, None, None]), rel_l2=(d5, rel[None, :, :, None, None]),
             diverged=(d4, flags if diverged is None else diverged),
             missing=(d4, flags if missing is None else missing),
             u_mean_square=(("test_space", "resolution"), np.ones((nt, 1)))),
        coords=dict(model=["m"], train_space=spaces, test_space=spaces, resolution=[16],
                    seed=[0]))


def test_cell_masks_count_the_25_spaces():
    m = scorecard.cell_masks(ALL_SPACES, ALL_SPACES)
    assert m["in_distribution"].sum() == 25
    assert m["nested"].sum() == 3 * 28               # p' < p within each family of 8
    assert m["in_span"].sum() == 25 + 84 + 24        # diagonal, nested, the fem row
    assert m["out_of_span"].sum() == 625 - 133
    assert m["cross_family"].sum() == 625 - 3 * 64 - 1
    assert not m["in_span"][ALL_SPACES.index("poly8"), ALL_SPACES.index("cos1")]


def test_scorecard_of_an_ideal_subspace_learner():
    spaces = ["poly1", "poly2", "sin1", "fem"]
    inside = scorecard.cell_masks(spaces, spaces)["in_span"]
    rel = np.where(inside, 1e-14, 0.3)
    mse = np.where(inside, 1e-30, 1e-3)
    sc = scorecard.scorecard(_cv(mse, rel, spaces), factor=100, floor=1e-6)
    s = sc.scorecard.sel(model="m", resolution=16)
    assert s.sel(metric="span_consistency") == 1.0
    assert s.sel(metric="in_distribution") == pytest.approx(1e-30)
    assert s.sel(metric="nested") == pytest.approx(1e-30)
    assert s.sel(metric="out_of_span") == pytest.approx(1e-3)
    # cross-family cells: fem row in span (1e-30, 3 cells), the rest out (1e-3, 7 cells)
    assert s.sel(metric="cross_family") == pytest.approx(np.exp((3 * np.log(1e-30)
                                                                 + 7 * np.log(1e-3)) / 10))
    assert sc.small_threshold.item() == 1e-6
    assert sc.scorecard_cells.sel(model="m", resolution=16, metric="nested").item() == 1


def test_scorecard_of_a_diagonal_learner_and_flags():
    spaces = ["poly1", "poly2", "sin1", "fem"]
    eye = np.eye(4, dtype=bool)
    rel = np.where(eye, 1e-3, 0.5)
    mse = np.where(eye, 1e-8, 1e-3)
    mse[0, 0] = 0.0                                   # exact zero: clipped, not -inf
    div = np.zeros((1, 4, 1, 1), dtype=bool)
    div[0, 3] = True                                   # fem training diverged
    miss = np.zeros_like(div)
    miss[0, 2] = True                                  # sin1 model missing
    sc = scorecard.scorecard(_cv(mse, rel, spaces, div, miss))
    s = sc.scorecard.sel(model="m", resolution=16)
    # counted: rows poly1, poly2, fem (sin1 missing). Small: the poly1, poly2 diagonal only.
    # Agree: row poly1 4/4; row poly2 3/4 (poly1 in span but not small); row fem 0/4 (all in
    # span, diverged, never small) -> 7 of 12
    assert s.sel(metric="span_consistency") == pytest.approx(7 / 12)
    cnt = sc.scorecard_cells.sel(model="m", resolution=16)
    assert cnt.sel(metric="in_distribution") == 2     # poly1, poly2 (sin1 missing, fem diverged)
    assert sc.scorecard_missing.sel(model="m", resolution=16, metric="in_distribution") == 1
    assert sc.scorecard_diverged.sel(model="m", resolution=16, metric="in_distribution") == 1
    assert sc.scorecard_diverged.sel(model="m", resolution=16, metric="span_consistency") == 4
    eps = np.finfo(float).eps
    assert s.sel(metric="in_distribution") == pytest.approx(np.sqrt(eps**2 * 1e-8))


def test_scorecard_all_missing_is_nan_not_dropped():
    spaces = ["sin1", "sin2"]
    miss = np.ones((1, 2, 1, 1), dtype=bool)
    nan = np.full((2, 2), np.nan)
    sc = scorecard.scorecard(_cv(nan, nan, spaces, missing=miss))
    assert np.all(np.isnan(sc.scorecard))
    assert sc.scorecard_missing.sel(metric="span_consistency").item() == 4
