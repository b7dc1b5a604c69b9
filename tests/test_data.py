"""Dataset generation (greenbench.data): determinism, seeds from names, split, physics.

Oracles: the solution of every sample equals the closed form (smooth spaces) or the FEM solve
(fem); two generations — in one process in either order, or in two separate processes — give
the same bytes; the seed is the documented hash of the names.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from greenbench import pde
from greenbench.data import DataSpec, generate, split_sizes
from greenbench.io import REQUIRED_ATTRS, check_dataset, read_dataset, write_dataset
from greenbench.provenance import DATASET_PROVENANCE_KEYS, provenance
from greenbench.seeding import derive_seed

EPOCH = "1700000000"  # a SOURCE_DATE_EPOCH: it must not matter to a dataset


@pytest.mark.parametrize("space", ["poly8", "cos8", "sin8", "fem"])
def test_generated_solutions_solve_the_pde(space):
    spec = DataSpec("poisson1d", space, 16, 20, k=1.7)
    ds = generate(spec)
    assert ds.f.shape == ds.u.shape == (20, 17)
    if space == "fem":
        np.testing.assert_array_equal(ds.f, ds.coefficients)
        np.testing.assert_array_equal(ds.u, pde.fem_solve(ds.f, 1.7, "consistent"))
    else:
        np.testing.assert_array_equal(ds.u, pde.exact_solution(space, ds.coefficients, ds.x, 1.7))
        # and independently of pde: -k u'' = f through the order-6 stencil, inside (0, 1)
        r = -1.7 * pde.apply_fd(ds.u, 6, 1 / 16) - ds.f[:, pde.fd_nodes(16, 6)]
        assert np.abs(r).max() < 0.05 * np.abs(ds.f).max()


def test_lumped_fem_dataset_is_the_three_point_fd_solution():
    ds = generate(DataSpec("poisson1d", "fem", 12, 10, fem_mass="lumped"))
    u = np.linalg.solve(pde.laplacian_matrix(12), ds.f[:, 1:-1].T).T
    np.testing.assert_allclose(ds.u[:, 1:-1], u, rtol=1e-12, atol=1e-15)
    assert ds.attrs["fem_mass"] == "lumped"


def test_seed_is_derived_from_the_names():
    spec = DataSpec("poisson1d", "sin3", 32, 10, master_seed=7)
    assert spec.seed == derive_seed(7, "poisson1d", "sin3")  # smooth spaces: no N
    assert generate(spec).attrs["seed"] == spec.seed
    assert DataSpec("poisson1d", "sin3", 16, 10, master_seed=7).seed == spec.seed
    others = {DataSpec("poisson1d", s, n, 10, master_seed=m).seed
              for s, n, m in [("sin3", 32, 8), ("sin4", 32, 7), ("cos3", 32, 7)]}
    assert spec.seed not in others and len(others) == 3
    assert 0 <= spec.seed < 2**63
    fem = [DataSpec("poisson1d", "fem", n, 10, master_seed=7).seed for n in (16, 32)]
    assert fem == [derive_seed(7, "poisson1d", "fem", n) for n in (16, 32)]  # fem: per grid
    assert fem[0] != fem[1]


def test_generation_is_deterministic_and_order_independent(tmp_path, monkeypatch):
    """Byte-identical by default: no SOURCE_DATE_EPOCH needed, datasets carry no clock time."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    specs = [DataSpec("poisson1d", s, 8, 10) for s in ("sin3", "fem", "poly2")]
    for order, folder in ((specs, "a"), (specs[::-1], "b")):
        for spec in order:
            write_dataset(tmp_path / folder / f"{spec.space}.h5", generate(spec))
    for spec in specs:
        a = (tmp_path / "a" / f"{spec.space}.h5").read_bytes()
        b = (tmp_path / "b" / f"{spec.space}.h5").read_bytes()
        assert a == b, spec.space
    assert "created" not in read_dataset(tmp_path / "a" / "sin3.h5").attrs


def test_different_master_seed_gives_different_data():
    a = generate(DataSpec("poisson1d", "sin3", 8, 10, master_seed=0))
    b = generate(DataSpec("poisson1d", "sin3", 8, 10, master_seed=1))
    assert not np.array_equal(a.coefficients, b.coefficients)


# The git commit is part of the provenance; other work committed between the two runs would
# change it, so both processes stamp the same (fake) commit. Everything else is the real path.
GENERATE_IN_SUBPROCESS = """
import runpy, sys
import greenbench.provenance
greenbench.provenance.git_commit = lambda: "0123abcd"
sys.argv = ["generate_dataset.py", *sys.argv[1:]]
runpy.run_path(sys.argv.pop(-1), run_name="__main__")
"""


def test_two_processes_write_identical_bytes(tmp_path, repo_root):
    """The thin script run twice, in separate processes, over a second apart (HDF5 object
    timestamps have 1 s resolution; datasets are written with track_times=False): same bytes."""
    script = str(repo_root / "scripts" / "generate_dataset.py")
    env = {"PATH": "/usr/bin:/bin"}  # byte-identical by default: no SOURCE_DATE_EPOCH
    outs = []
    for name in ("one.h5", "two.h5"):
        out = tmp_path / name
        subprocess.run([sys.executable, "-c", GENERATE_IN_SUBPROCESS, "poisson1d", "cos4", "16",
                        str(out), script], check=True, env=env, capture_output=True)
        outs.append(out.read_bytes())
        time.sleep(1.1)
    assert outs[0] == outs[1]
    check_dataset(tmp_path / "one.h5", expect={"space": "cos4", "N": 16, "n_samples": 250,
                                               "git_commit": "0123abcd"})


def test_split_is_a_deterministic_partition():
    ds = generate(DataSpec("poisson1d", "poly1", 8, 20, test_fraction=0.25))
    np.testing.assert_array_equal(ds.train_index, np.arange(15))
    np.testing.assert_array_equal(ds.test_index, np.arange(15, 20))
    assert ds.train_index.dtype == ds.test_index.dtype == np.int64
    assert (ds.attrs["n_train"], ds.attrs["n_test"]) == (15, 5)
    f_test, u_test = ds.split("test")
    np.testing.assert_array_equal(f_test, ds.f[15:])


def test_growing_n_samples_keeps_the_first_samples():
    small = generate(DataSpec("poisson1d", "cos2", 8, 10))
    big = generate(DataSpec("poisson1d", "cos2", 8, 40))
    np.testing.assert_array_equal(big.coefficients[:10], small.coefficients)
    np.testing.assert_array_equal(big.u[:10], small.u)


@pytest.mark.parametrize("n, frac, expected", [(10, 0.2, (8, 2)), (2, 0.2, (1, 1)),
                                               (10, 0.99, (1, 9)), (250, 0.2, (200, 50)),
                                               (10, 0.01, (9, 1)), (7, 0.5, (3, 4))])
def test_split_sizes(n, frac, expected):
    assert split_sizes(n, frac) == expected


def test_noisy_targets_have_the_requested_size_relative_to_the_rms_of_u():
    """Level s adds s * RMS(u_train) * Z; the datasets themselves stay exact."""
    from greenbench.data import noise_draw, noisy_targets

    ds = generate(DataSpec("poisson1d", "sin2", 64, 250))
    f, u = ds.split("train")
    seed = ds.attrs["noise_seed"]
    rms = np.sqrt(np.mean(u**2))
    eps = noisy_targets(u, 0.01, seed) - u
    assert eps.std() == pytest.approx(0.01 * rms, rel=0.02)  # 13,000 draws: 5 sigma is 3%
    assert abs(eps.mean()) < 5 * 0.01 * rms / np.sqrt(eps.size)
    # levels share the one draw: the noise scales exactly with the level
    np.testing.assert_allclose(noisy_targets(u, 1e-4, seed) - u, eps / 100, rtol=0, atol=1e-16)
    np.testing.assert_allclose(eps, 0.01 * rms * noise_draw(seed, u.shape), rtol=0, atol=1e-16)
    assert noisy_targets(u, 0.0, seed) is u  # level 0: the exact targets, bit for bit
    # the first rows of a larger draw are the draw of fewer rows (nested subsets)
    np.testing.assert_array_equal(noise_draw(seed, (200, 65))[:10], noise_draw(seed, (10, 65)))
    with pytest.raises(ValueError, match="noise level"):
        noisy_targets(u, -1e-3, seed)


def test_datasets_hold_exact_data_and_the_noise_seed():
    from greenbench.seeding import derive_seed

    ds = generate(DataSpec("poisson1d", "sin2", 16, 20))
    assert "noise" not in ds.attrs
    assert ds.attrs["noise_seed"] == derive_seed(0, "poisson1d", "sin2", 16, "noise")


def test_attributes_are_complete(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    ds = generate(DataSpec("poisson1d", "fem", 8, 10, k=2.0, scale=0.5, distribution="normal"),
                  config_hash="feedbeef")
    assert set(REQUIRED_ATTRS) - {"checksum"} == set(ds.attrs)  # checksum: stamped on write
    a = ds.attrs
    assert (a["space"], a["family"], a["p"], a["N"], a["k"]) == ("fem", "fem", -1, 8, 2.0)
    assert (a["distribution"], a["scale"], a["config_hash"]) == ("normal", 0.5, "feedbeef")
    assert set(DATASET_PROVENANCE_KEYS) <= set(a) and "created" not in a
    assert generate(DataSpec("poisson1d", "sin5", 8, 10)).attrs["p"] == 5


def test_bad_source_date_epoch_is_named(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
        provenance("x")  # the results files' `created` (datasets have none)


@pytest.mark.parametrize("field, value, needle", [
    ("pde", "heat1d", "unknown pde 'heat1d'"),
    ("space", "sin9", "sin9 is not a function space"),
    ("space", "tan2", "unknown function space 'tan2'"),
    ("N", 2, "resolution N must be >= 4"),
    ("n_samples", 1, "n_samples must be >= 2"),
    ("test_fraction", 1.0, "test_fraction must be in"),
    ("k", 0.0, "k must be > 0"),
    ("distribution", "cauchy", "distribution 'cauchy'"),
    ("scale", -1.0, "scale must be > 0"),
    ("fem_mass", "diag", "mass matrix 'diag'"),
])
def test_bad_spec_is_named(field, value, needle):
    kwargs = {"pde": "poisson1d", "space": "sin1", "N": 8, "n_samples": 10, field: value}
    with pytest.raises(ValueError, match=needle):
        DataSpec(**kwargs)


def test_script_main_writes_a_checked_file(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    try:
        import generate_dataset
    finally:
        sys.path.pop(0)
    out = tmp_path / "d" / "N8.h5"
    generate_dataset.main(DataSpec("poisson1d", "sin2", 8, 10), str(out), "cafe")
    check_dataset(out, expect={"config_hash": "cafe"})
