"""Measurement noise as a study axis (issue 10, item 5).

Oracles: the config refuses a bad level before any job, naming the key; the expected extra
test MSE of Thm 3.2 with noise (``theory.noise_excess_mse``) is the mean over noise draws
(Monte Carlo within its standard error); a linear model trained on noisy targets by the
training stage (``run_task``) has the measured test MSE ``noise_table`` predicts, within the
test-set sampling error the project uses (|z| <= 5); the trained level is recorded and a
consumer asking for another level is refused; the report's verdict follows the block
medians.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from greenbench import io, pde, theory
from greenbench.analysis import bounds as bd
from greenbench.analysis.crossval import TestBank, evaluate
from greenbench.config import ConfigError, validate_config
from greenbench.data import DataSpec, generate, noisy_targets
from greenbench.report.claims_theory import noise_floor
from greenbench.report.expected import Expected
from greenbench.report.verdicts import (
    NOT_MEASURABLE,
    NOT_REPRODUCED,
    PARTLY,
    REPRODUCED,
    Evidence,
)
from greenbench.spaces import coefficient_variance
from greenbench.train import (
    CheckpointMismatch,
    TrainTask,
    dataset_checksums,
    load_trained,
    metrics_dataset,
    predict,
    run_task,
)


# ------------------------------------------------------------------ config
@pytest.mark.parametrize("value, needle", [
    (-1e-3, "config key noise"), ([0, -1e-8], "config key noise[1]"),
    ([0, float("inf")], "config key noise[1]"), (float("nan"), "config key noise"),
    ([1e-4, 1e-4], "config key noise"), ([], "config key noise"), ("loud", "config key noise"),
])
def test_bad_noise_level_is_refused_naming_the_key(value, needle):
    with pytest.raises(ConfigError) as info:
        validate_config({"noise": value})
    assert needle in str(info.value)


def test_noise_levels_are_sorted_floats():
    assert validate_config({"noise": [1e-4, 0, 1e-8]})["noise"] == [0.0, 1e-8, 1e-4]
    assert validate_config({"noise": "1e-4"})["noise"] == [1e-4]  # --config noise=1e-4
    assert validate_config({})["noise"] == [0.0]


# ------------------------------------------------------------------ Thm 3.2 with noise
def test_expected_excess_is_the_mean_over_noise_draws():
    """E_E[var ||(Y + E)^T (F^T)^+ B - S||^2 / (N+1)] - clean = noise_excess_mse, by Monte
    Carlo over 4000 draws of E (the cross term averages out)."""
    N, sigma, rank_tol = 8, 1e-3, 1e-10
    ds = generate(DataSpec("poisson1d", "sin3", N, 40))
    F, u = ds.split("train")
    var = coefficient_variance("uniform", 1.0)
    rng = np.random.default_rng(1)
    clean = theory.w_star(F, u[:, 1:-1], rank_tol)
    for test in ("sin2", "sin5", "poly2"):
        B, S = pde.data_operator(test, N)
        base = theory.expected_mse(clean, B, S, var)
        draws = np.array([theory.expected_mse(
            theory.w_star(F, u[:, 1:-1] + sigma * rng.standard_normal(u[:, 1:-1].shape),
                          rank_tol), B, S, var) - base for _ in range(4000)])
        want = theory.noise_excess_mse(F, B, sigma, var, rank_tol)
        se = draws.std() / np.sqrt(draws.size)
        assert abs(draws.mean() - want) < 5 * se, (test, draws.mean(), want, se)
        assert want > 0
    # linear in sigma^2; an empty training span amplifies nothing
    B, _ = pde.data_operator("sin2", N)
    assert theory.noise_excess_mse(F, B, 2 * sigma, var, rank_tol) == pytest.approx(
        4 * theory.noise_excess_mse(F, B, sigma, var, rank_tol), rel=1e-12)
    assert theory.noise_excess_mse(np.zeros_like(F), B, sigma, var, rank_tol) == 0.0


def _operator() -> dict:
    """``operator=poisson1d`` where the analysis takes the operator (the operator registry),
    nothing where it does not yet."""
    import inspect

    if "operator" not in inspect.signature(bd.noise_table).parameters:
        return {}
    from greenbench.operators import get_operator

    return {"operator": get_operator("poisson1d")}


N, LEVEL, SPACES = 8, 1e-3, ("sin1", "sin3", "poly2")
ENTRY = {"class": "linear", "params": {"init_scale": 0.0}, "enabled": True,
         "train": {"optimizer": "exact", "dtype": "float64", "rank_tol": 1e-10}}


@pytest.fixture(scope="module")
def noisy_linear(tmp_path_factory):
    """The linear model trained by run_task on each space at noise level LEVEL."""
    root = tmp_path_factory.mktemp("noisy_linear")
    datasets = {}
    for s in SPACES:
        datasets[s] = str(root / "data" / "poisson1d" / s / f"N{N}.h5")
        io.write_dataset(datasets[s], generate(DataSpec("poisson1d", s, N, 400,
                                                        test_fraction=0.5)))
    task = TrainTask(model="linear", entry=ENTRY, pde="poisson1d", N=N,
                     members=tuple((s, 0) for s in SPACES), datasets=datasets,
                     out_dir=str(root / "out"), checksums=dataset_checksums(datasets),
                     noise=LEVEL)
    result = run_task(task)
    return task, result, {s: io.read_dataset(p) for s, p in datasets.items()}


def test_measured_mse_at_a_noise_level_matches_thm32_with_noise(noisy_linear):
    task, _, data = noisy_linear
    train = {s: d.split("train") for s, d in data.items()}
    seeds = {s: int(d.attrs["noise_seed"]) for s, d in data.items()}
    table = bd.noise_table(train, seeds, SPACES, N, [0.0, LEVEL], **_operator())
    bank = TestBank.from_splits({s: d.split("test") for s, d in data.items()})
    n_test = int(next(iter(data.values())).attrs["n_test"])
    x = pde.grid(N)
    for a, tr in enumerate(SPACES):
        module = load_trained(task.member_path(tr, 0), ENTRY, noise=LEVEL)
        mse, _ = evaluate(lambda f, m=module: predict(m, f, x), bank)
        pred = table["noise_predicted_mse"].sel(noise=LEVEL, train_space=tr).values[:, 0]
        se = table["noise_predicted_mse_std"].sel(noise=LEVEL, train_space=tr).values[:, 0]
        z = (mse - pred) / (se / np.sqrt(n_test))
        assert np.all(np.abs(z) < 5), (tr, mse, pred, z)
        # noise raises the in-span cells from round-off to about the expected excess
        clean = table["noise_predicted_mse"].sel(noise=0.0, train_space=tr).values[:, 0]
        excess = table["noise_expected_excess_mse"].sel(noise=LEVEL, train_space=tr)
        assert clean[a] < 1e-25 < mse[a]
        assert 0.1 < mse[a] / float(excess.sel(test_space=tr).item()) < 10
    # the absolute noise is the level times the RMS of the training u
    f, u = train["sin3"]
    sigma = float(table["noise_sigma"].sel(noise=LEVEL, train_space="sin3").item())
    assert sigma == pytest.approx(LEVEL * np.sqrt(np.mean(u**2)), rel=1e-12)
    np.testing.assert_array_equal(noisy_targets(u, LEVEL, seeds["sin3"]),
                                  u + sigma * np.random.Generator(np.random.PCG64(
                                      seeds["sin3"])).standard_normal(u.shape))


def test_the_level_is_recorded_and_checked(noisy_linear):
    task, result, _ = noisy_linear
    content = io.load_torch(task.member_path("sin1", 0))
    assert content["noise"] == LEVEL
    assert "/noise0.001/" in task.name and task.fingerprint() != TrainTask(
        **{**task.__dict__, "noise": 0.0}).fingerprint()
    ds = metrics_dataset("linear", ENTRY, N, "poisson1d", [result])
    assert ds.attrs["noise"] == LEVEL
    with pytest.raises(CheckpointMismatch, match="trained at noise level 0.001, 0.0 expected"):
        load_trained(task.member_path("sin1", 0), ENTRY, noise=0.0)


def test_level_zero_task_is_the_task_without_noise():
    """Level 0: the same name, fingerprint and targets as before noise existed."""
    kw = dict(model="m", entry=ENTRY, pde="poisson1d", N=8, members=(("sin1", 0),),
              datasets={}, out_dir="out")
    a, b = TrainTask(**kw), TrainTask(**kw, noise=0.0)
    assert (a.name, a.fingerprint()) == (b.name, b.fingerprint())
    assert a.name == "m/N8/sin1/seed0"


# ------------------------------------------------------------------ report verdict
def _crossval(inside: list[float], outside: list[float], levels=(0.0, 1e-4)) -> xr.Dataset:
    shape = (len(levels), 1, 1)
    return xr.Dataset(
        {"noise_in_span_mse": (("noise", "model", "resolution"), np.reshape(inside, shape)),
         "noise_out_of_span_mse": (("noise", "model", "resolution"),
                                   np.reshape(outside, shape))},
        coords=dict(noise=list(levels), model=["lin"], resolution=[8]))


@pytest.mark.parametrize("inside, outside, verdict", [
    ([1e-32, 1e-12], [1e-4, 1e-4], REPRODUCED),       # floor rises, blocks stay
    ([1e-32, 1e-5], [1e-4, 1e-4], NOT_REPRODUCED),    # the noise swamps the blocks
    ([1e-32, 1e-32], [1e-4, 1e-4], PARTLY),           # blocks stay but the floor does not rise
    ([1e-5, 1e-5], [1e-4, 1e-4], NOT_MEASURABLE),     # no blocks at the lowest level
])
def test_noise_verdict_is_computed_from_the_block_medians(inside, outside, verdict):
    ex = Expected.from_config(validate_config({
        "spaces": {"sin": [1]}, "resolutions": [8], "noise": [0, 1e-4],
        "models": {"lin": {"class": "linear"}}}))
    found = noise_floor(Evidence(ex, crossval=_crossval(inside, outside)))
    assert found.verdict == verdict, found.measured
    assert "lin 1e-32" in found.measured or verdict == NOT_MEASURABLE


def test_one_noise_level_is_not_measurable():
    ex = Expected.from_config(validate_config({
        "spaces": {"sin": [1]}, "resolutions": [8], "models": {"lin": {"class": "linear"}}}))
    found = noise_floor(Evidence(ex, crossval=_crossval([1e-32], [1e-4], levels=(0.0,))))
    assert found.verdict == NOT_MEASURABLE and "one noise level" in found.measured
