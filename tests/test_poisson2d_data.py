"""poisson2d datasets and Thm 3.2 in 2D (issue 11 items 4-5): generation, HDF5 layout and
check_dataset on (n, N+1, N+1) arrays, bad space dimensions, W* and its expected test MSE in
every cell of a small 2D cross-evaluation (analysis.bounds over flattened nodes)."""

from __future__ import annotations

import numpy as np
import pytest

from greenbench.operators import get_operator
from greenbench.spaces import relation_masks, sample


# ------------------------------------------------------------------------------ datasets
@pytest.mark.parametrize("space", ["poly2x3", "sin1x2", "fem"])
def test_dataset_roundtrip_and_check(tmp_path, space):
    import h5py

    from greenbench.data import DataSpec, generate
    from greenbench.io import DatasetError, check_dataset, read_dataset, write_dataset

    N = 6
    ds = generate(DataSpec(pde="poisson2d", space=space, N=N, n_samples=10, k=2.0))
    path = tmp_path / "poisson2d" / space / f"N{N}.h5"
    write_dataset(path, ds)
    back = read_dataset(path)
    shape = (3, 4) if space == "poly2x3" else (1, 2) if space == "sin1x2" else (N + 1, N + 1)
    assert back.x.shape == (N + 1,) and back.f.shape == back.u.shape == (10, N + 1, N + 1)
    assert back.coefficients.shape == (10, *shape) and back.attrs["k"] == 2.0
    # the same functions at every N for the smooth spaces
    if space != "fem":
        ds2 = generate(DataSpec(pde="poisson2d", space=space, N=2 * N, n_samples=10, k=2.0))
        assert np.array_equal(ds2.coefficients, ds.coefficients)
        assert np.abs(ds2.u[:, ::2, ::2] - ds.u).max() < 1e-15
    # a changed u is caught by the physics check (before the checksum)
    with h5py.File(path, "r+") as h:
        u = h["u"][()]
        u[3, 2, 4] += 1e-6 * np.abs(u).max()
        h["u"][...] = u
    with pytest.raises(DatasetError, match=r"array 'u' .*sample 3, node \(2, 4\)"):
        check_dataset(path)
    # a file in the wrong folder
    other = tmp_path / "poisson2d" / "cos1x1" / f"N{N}.h5"
    write_dataset(tmp_path / "scratch.h5", ds)
    other.parent.mkdir(parents=True)
    (tmp_path / "scratch.h5").rename(other)
    with pytest.raises(DatasetError, match="attribute space"):
        check_dataset(other)


def test_dataspec_refuses_space_of_other_dimension():
    from greenbench.data import DataSpec

    with pytest.raises(ValueError, match="'sin2' is 1D but the operator is 2D"):
        DataSpec(pde="poisson2d", space="sin2", N=8, n_samples=4)
    with pytest.raises(ValueError, match="'sin2x3' is 2D but the operator is 1D"):
        DataSpec(pde="poisson1d", space="sin2x3", N=8, n_samples=4)


# ------------------------------------------------------------------------ Thm 3.2 in 2D
def test_thm32_w_star_and_expected_mse_every_cell():
    """Thm 3.2 over flattened nodes (analysis.bounds.bounds_table with a 2D operator): the
    predicted MSE of W* is 0 on cells inside the training span, and equals the mean of fresh
    samples' MSE in every cell (a Monte-Carlo check, 4 standard errors); the bound holds."""
    from greenbench.analysis.bounds import bounds_table
    from greenbench.data import DataSpec, generate

    N = 6
    op = get_operator("poisson2d")
    trains, tests = ["poly2x2", "sin2x1", "fem"], ["poly1x2", "poly2x3", "sin1x1", "cos1x1", "fem"]
    data = {}
    for tr in trains:
        ds = generate(DataSpec(pde="poisson2d", space=tr, N=N, n_samples=80, test_fraction=0.25))
        data[tr] = ds.split("train")
    table, w = bounds_table(data, tests, N, operator=op)
    pred = table["predicted_mse"].values[..., 0]
    assert w["fem"].shape == ((N - 1) ** 2, (N + 1) ** 2)
    masks = relation_masks(trains, tests, dim=2)
    ums = table["u_mean_square"].values[:, 0]
    # W* is exact inside the span; fem's W* = A (full rank) is exact on fem data only: on
    # smooth data it carries the Q1 discretization error
    exact = masks["in_span"].copy()
    exact[2] = masks["diagonal"][2]
    assert (pred[exact] < 1e-20 * ums.max()).all()
    assert (pred[~exact] > 1e-9 * ums.max()).all()
    assert bool(table["bound_holds"].all())
    rng = np.random.default_rng(11)
    x = op.grid(N)
    for b, te in enumerate(tests):
        s = op.space(te)
        c, f = sample(s, x, 400, rng=rng)
        u = op.solve(s, c, f, x)
        for a, tr in enumerate(trains):
            err = op.flat_nodes(f) @ w[tr].T - op.flat_interior(u)
            per = np.sum(err**2, axis=1) / (N + 1) ** 2
            se = per.std() / np.sqrt(per.size) + 1e-30
            assert abs(per.mean() - pred[a, b]) < 4 * se + 1e-12 * ums.max(), (tr, te)


def test_config_poisson2d_expands_tensor_product_spaces():
    from pathlib import Path

    from greenbench.config import ConfigError, validate_config
    from greenbench.io import read_yaml
    from greenbench.study import Study

    root = Path(__file__).resolve().parents[1]
    cfg = validate_config(read_yaml(root / "config" / "poisson2d.yaml"))
    study = Study.from_config(cfg)
    assert len(study.spaces) == 28 and study.spaces[:3] == ("poly1x1", "poly1x2", "poly1x3")
    assert study.spaces[-1] == "fem" and "sin3x3" in study.spaces
    spec = study.data_spec("cos2x3", 8)
    assert spec["pde"] == "poisson2d"
    # operators of different dimensions in one study are refused, naming the key
    raw = read_yaml(root / "config" / "poisson2d.yaml")
    raw["pde"] = ["poisson1d", "poisson2d"]
    with pytest.raises(ConfigError, match="config key pde: operators of different dimensions"):
        validate_config(raw)


def test_noise_excess_mse_in_2d_counts_the_interior_nodes():
    """Thm 3.2 with noisy targets over flattened 2D nodes: the mean over noise draws of the
    extra expected MSE equals theory.noise_excess_mse with n_interior = (N-1)^2."""
    from greenbench import theory

    op = get_operator("poisson2d")
    N, sigma, var = 4, 0.01, 1.0 / 3.0
    x = op.grid(N)
    rng = np.random.default_rng(12)
    c, f = sample("sin2x2", x, 30, rng=rng)
    F, Y = op.flat_nodes(f), op.flat_interior(op.solve("sin2x2", c, f, x))
    B, S = op.data_operator("cos1x1", N)
    clean = theory.expected_mse(theory.w_star(F, Y, 1e-10), B, S, var)
    extra = [theory.expected_mse(theory.w_star(F, Y + sigma * rng.standard_normal(Y.shape),
                                               1e-10), B, S, var) - clean for _ in range(400)]
    predicted = theory.noise_excess_mse(F, B, sigma, var, 1e-10, n_interior=(N - 1) ** 2)
    assert abs(np.mean(extra) / predicted - 1) < 0.1


def test_greens_extraction_2d_through_analysis_chunked():
    """analysis.greens in 2D: impulses through an exact linear model of the fem data (u = A f),
    in chunks, give the operator's discrete Green's function to round-off; a model of the
    wrong output shape is named."""
    from greenbench.analysis import greens

    op = get_operator("poisson2d", k=1.3)
    N = 6
    A = op.fem_operator(N)

    def predict(f):
        u = np.zeros_like(f)
        u[:, 1:-1, 1:-1] = (op.flat_nodes(f) @ A.T).reshape(-1, N - 1, N - 1)
        return u + 0.25  # an affine model: the response to zero is subtracted

    G_hat = greens.extract_greens(predict, N, 0.5, operator=op)
    G = op.greens_matrix(N)
    assert G_hat.shape == ((N - 1) ** 2,) * 2
    assert np.abs(G_hat - G).max() < 1e-12 * np.abs(G).max()
    R = greens.response_matrix(predict, N, operator=op, chunk=7)
    assert np.abs(R - A).max() < 1e-12 * np.abs(A).max()
    with pytest.raises(ValueError, match=r"expected \(1, 7, 7\)"):
        greens.response_matrix(lambda f: f[:, 0], N, operator=op)


def test_config_refuses_1d_space_for_2d_study_naming_the_key():
    from pathlib import Path

    from greenbench.config import ConfigError, validate_config
    from greenbench.io import read_yaml

    raw = read_yaml(Path(__file__).resolve().parents[1] / "config" / "poisson2d.yaml")
    raw["analysis"]["quantity_space"] = "sin2"
    with pytest.raises(ConfigError, match=r"analysis.quantity_space: 'sin2' .*sin2x2"):
        validate_config(raw)
    raw["analysis"]["quantity_space"] = "sin2x2"
    raw["spaces"] = {"sin": [0, 2]}
    with pytest.raises(ConfigError, match="spaces"):
        validate_config(raw)


def test_fd_theory_through_analysis_in_2d():
    """analysis.convergence.fd_theory on 2D training data: the least-squares bias of the
    5-point and the 4th-order fits equal the Thm 3.1 analogue on sin x sin (within 3 %),
    and the leading term is nan for fem."""
    from greenbench.analysis.convergence import fd_theory
    from greenbench.data import DataSpec, generate

    op = get_operator("poisson2d")
    N = 32
    data = {}
    for s in ("sin2x2", "fem"):
        ds = generate(DataSpec(pde="poisson2d", space=s, N=N, n_samples=20))
        data[s] = (ds.coefficients, ds.f, ds.u)
    pred, lead = fd_theory(data, N, [2, 4], op)
    assert np.all(np.abs(pred[:, 0] / lead[:, 0] - 1) < 0.03)
    assert np.isnan(lead[:, 1]).all() and np.isfinite(pred[:, 1]).all()


def test_closed_form_linear_trainer_and_errors_in_2d():
    """analysis.quantity.linear_trainer and crossval.sample_errors on (n, N+1, N+1) arrays: W*
    from sin2x2 data reproduces sin1x2 data (in span) to round-off and misses cos1x1 data."""
    from greenbench.analysis.crossval import sample_errors
    from greenbench.analysis.quantity import linear_trainer

    op = get_operator("poisson2d")
    N = 6
    x = op.grid(N)
    rng = np.random.default_rng(13)
    c, f = sample("sin2x2", x, 12, rng=rng)
    predict = linear_trainer(1e-10)(f, op.solve("sin2x2", c, f, x))
    for space, inside in (("sin1x2", True), ("cos1x1", False)):
        ct, ft = sample(space, x, 5, rng=rng)
        ut = op.solve(space, ct, ft, x)
        mse, rel = sample_errors(predict(ft), ut)
        assert mse.shape == rel.shape == (5,)
        assert (rel.max() < 1e-12) if inside else (rel.min() > 1e-3)
