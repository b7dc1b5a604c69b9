"""Rate fits: known slopes, interval coverage, exact cells; Thm 3.1 rates on real data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from greenbench import pde, theory
from greenbench.analysis import convergence, rates
from greenbench.operators import get_operator

P1 = get_operator("poisson1d")


def test_noiseless_slope_is_recovered():
    dx = 1.0 / np.array([16, 32, 64, 128])
    fit = rates.fit_loglog(dx, 0.3 * dx**4)
    assert fit.slope == pytest.approx(4.0, abs=1e-12)
    assert fit.intercept == pytest.approx(np.log(0.3), abs=1e-10)
    assert fit.dof == 2 and fit.n == 4
    assert fit.ci_low == pytest.approx(4.0, abs=1e-9)
    assert fit.ci_high == pytest.approx(4.0, abs=1e-9)


def test_interval_coverage_is_nominal():
    """Gaussian noise in log error: the 95% t-interval covers the true slope ~95% of the time."""
    rng = np.random.default_rng(0)
    dx = 1.0 / np.array([8, 16, 32, 64, 128])
    n_rep, slope = 2000, 2.0
    covered = 0
    for _ in range(n_rep):
        err = np.exp(np.log(0.1) + slope * np.log(dx) + rng.normal(0, 0.2, dx.size))
        fit = rates.fit_loglog(dx, err)
        covered += fit.ci_low <= slope <= fit.ci_high
    # binomial standard error at p = 0.95 and 2000 replicates is 0.005
    assert abs(covered / n_rep - 0.95) < 0.02


def test_three_points_have_one_degree_of_freedom():
    dx = np.array([1 / 16, 1 / 32, 1 / 64])
    err = np.array([1e-3, 2.6e-4, 6.1e-5])
    fit = rates.fit_loglog(dx, err)
    X, Y = np.log(dx), np.log(err)
    res = stats.linregress(X, Y)
    assert fit.dof == 1
    assert fit.slope == pytest.approx(res.slope)
    half = stats.t.ppf(0.975, 1) * res.stderr          # 12.71 standard errors
    assert fit.ci_high - fit.slope == pytest.approx(half, rel=1e-9)


def test_two_points_and_fewer():
    f2 = rates.fit_loglog([0.1, 0.05], [1e-2, 2.5e-3])
    assert f2.slope == pytest.approx(2.0) and np.isnan(f2.ci_low) and f2.dof == 0
    f1 = rates.fit_loglog([0.1, 0.05], [1e-2, 0.0])
    assert np.isnan(f1.slope) and f1.n == 1


def test_fit_rates_flags_exact_and_roundoff_cells():
    N = np.array([16, 32, 64])
    err = np.array([
        [1e-2, 2.5e-3, 6.25e-4],          # clean slope 2
        [3e-15, 2e-14, 5e-14],            # round-off: exact, not fitted
        [1e-6, 1e-8, 1e-16],              # last point at round-off: fitted on two points
        [1e-3, 1e-4, 1e-5],               # theory says exact (e.g. poly p < q) -> not fitted
    ])
    out = rates.fit_rates(err, N, exact_tol=1e-12,
                          theory_exact=np.array([False, False, False, True]))
    assert out["rate"][0] == pytest.approx(2.0) and out["dof"][0] == 1
    assert out["exact"].tolist() == [False, True, False, True]
    assert np.isnan(out["rate"][1]) and np.isnan(out["rate"][3])
    assert out["n_points"][2] == 2 and out["rate"][2] == pytest.approx(np.log2(100))


def test_roundoff_floor_grows_like_n_squared():
    f = rates.roundoff_floor(np.array([16, 1024]), exact_tol=1e-12)
    assert f[0] == 1e-12 and f[1] == pytest.approx(10 * np.finfo(float).eps * 1024**2)


def test_thm31_rates_from_real_data():
    """The exact least-squares FD bias of sin3 / poly8 data converges at rate q (4 grids)."""
    rng = np.random.default_rng(1)
    res = [16, 32, 64, 128]
    spaces = ["sin3", "poly8", "poly1"]
    qs = [2, 4]
    pred = np.empty((len(qs), len(spaces), len(res)))
    lead = np.empty_like(pred)
    for r, N in enumerate(res):
        data = {}
        for s in spaces:
            B, S = pde.data_operator(s, N)
            c = rng.uniform(-1, 1, (100, B.shape[1]))
            u = np.zeros((100, N + 1))
            u[:, 1:-1] = c @ S.T
            data[s] = (c, c @ B.T, u)
        pred[:, :, r], lead[:, :, r] = convergence.fd_theory(data, N, qs, P1)
    ds = convergence.convergence_dataset(spaces, res, [0], qs, pred, lead, None, None)
    for a, q in enumerate(qs):
        for b in range(2):
            assert ds.fd_predicted_rate.values[a, b] == pytest.approx(q, abs=0.15)
            assert ds.fd_predicted_rate_ci_low.values[a, b] < ds.fd_predicted_rate_ci_high.values[
                a, b]
        assert bool(ds.fd_predicted_exact.values[a, 2])          # poly1 with q >= 2: exact
    assert np.all(ds.fd_predicted_rel_error.sel(train_space="poly1") < 1e-11)
    # learned values absent: nan, never invented
    assert np.all(np.isnan(ds.fd_rel_error)) and np.all(np.isnan(ds.fd_rate))
    assert theory.fd_leading_bias("poly1", np.ones((1, 2)), 16, 2, P1) == 0.0


def test_measured_floor_is_ten_times_the_exact_cells_error():
    err = np.array([[[1e-15, 4e-15], [1e-3, 2e-4], [np.nan, np.nan]],   # q: space 0 is exact
                    [[5e-4, 6e-5], [1e-3, 2e-4], [1e-2, 1e-3]]])        # q: no exact cell
    exact = np.array([[True, False, True], [False, False, False]])
    floor = rates.measured_floor(err, exact)
    np.testing.assert_allclose(floor[0], [1e-14, 4e-14])
    assert np.isnan(floor[1]).all()
    # a point above the measured floor (but below the conservative one) is fitted
    out = rates.fit_rates(np.array([[1e-9, 3e-11, 8e-13]]), np.array([16, 32, 64]), 1e-12,
                          floor=np.array([[1e-15, 1e-14, 3e-13]]))
    assert out["n_points"][0] == 3
    out = rates.fit_rates(np.array([[1e-9, 3e-11, 8e-13]]), np.array([16, 32, 64]), 1e-12)
    assert out["n_points"][0] == 2  # the conservative floor max(1e-12, 10 eps N^2) drops it


@pytest.mark.slow
def test_default_study_fd_rates_are_within_0p7_of_q():
    """Issue 7: with every N sampling the same functions, the Thm 3.1 rates fitted on the default
    study's data (250 samples, N = 16, 32, 64) lie within 0.7 of q for every smooth space with
    p >= q (before: poly6 gave 2.59 for q = 6)."""
    from greenbench.data import DataSpec, generate

    res, qs = [16, 32, 64], [2, 4, 6]
    spaces = [f"{fam}{p}" for fam in ("poly", "cos", "sin") for p in range(1, 9)]
    pred, lead = [], []
    for N in res:
        data = {}
        for s in spaces:
            ds = generate(DataSpec("poisson1d", s, N, 250))
            i = ds.train_index
            data[s] = (ds.coefficients[i], ds.f[i], ds.u[i])
        p, lt = convergence.fd_theory(data, N, qs, P1)
        pred.append(p)
        lead.append(lt)
    cv = convergence.convergence_dataset(spaces, res, [0], qs, np.stack(pred, -1),
                                         np.stack(lead, -1), None, None)
    off = {(s, q): float(cv.fd_predicted_rate.sel(q=q, train_space=s))
           for q in qs for s in spaces if int(s[-1]) >= q
           and not abs(float(cv.fd_predicted_rate.sel(q=q, train_space=s)) - q) <= 0.7}
    assert off == {}
