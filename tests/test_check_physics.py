"""The dataset checker verifies the physics, the path and the content checksum (issue 7), and
every resolution of a smooth space samples the same functions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from greenbench import check
from greenbench.data import DataSpec, generate
from greenbench.io import DatasetError, check_dataset, read_dataset, write_dataset
from greenbench.operators.poisson1d import Poisson1D

SPACES = ["poly3", "cos2", "sin4", "fem"]


def _copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dst)
    return dst


def _scale_entry(path: Path, name: str, index: tuple[int, int], factor: float) -> float:
    """Multiply one entry of array ``name`` in place (attributes, checksum untouched)."""
    with h5py.File(path, "r+") as h:
        arr = h[name][()]
        arr[index] *= factor
        h[name][...] = arr
        return float(arr[index])


@pytest.mark.parametrize("space", SPACES)
def test_one_corrupt_u_entry_is_named_with_its_deviation(make_dataset, tmp_path, space):
    good = make_dataset(space, N=16, n_samples=12)
    check_dataset(good)
    bad = _copy(good, tmp_path / "bad.h5")
    value = _scale_entry(bad, "u", (5, 7), 3.0)  # the case seen in issue 7
    with pytest.raises(DatasetError) as info:
        check_dataset(bad)
    msg = str(info.value)
    assert info.value.path == str(bad)
    assert "array 'u'" in msg and "largest deviation" in msg and "sample 5, node 7" in msg
    # the deviation reported is the one introduced: 2/3 of the new value
    reported = float(msg.split("largest deviation ")[1].split()[0])
    assert reported == pytest.approx(abs(value) * 2 / 3, rel=5e-3)  # 3 digits
    assert check.main([str(bad)]) == 1


def test_check_command_line_reports_corrupt_u(make_dataset, tmp_path):
    good = make_dataset("sin3", N=8, n_samples=10)
    bad = _copy(good, tmp_path / "bad.h5")
    _scale_entry(bad, "u", (0, 3), 3.0)
    proc = subprocess.run([sys.executable, "-m", "greenbench.check", str(good), str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert f"ok    {good}" in proc.stdout
    assert f"BAD   {bad}: array 'u'" in proc.stdout and "largest deviation" in proc.stdout


def test_tiny_u_corruption_below_physics_tolerance_is_caught_by_the_checksum(make_dataset,
                                                                             tmp_path):
    bad = _copy(make_dataset("sin2", N=8, n_samples=10), tmp_path / "bad.h5")
    _scale_entry(bad, "u", (1, 4), 1.0 + 1e-14)
    with pytest.raises(DatasetError, match="checksum"):
        check_dataset(bad)


def test_swapped_split_is_caught_by_the_checksum(make_dataset, tmp_path):
    """Still a partition, still the right physics: only the checksum sees it."""
    bad = _copy(make_dataset("cos2", N=8, n_samples=10), tmp_path / "bad.h5")
    with h5py.File(bad, "r+") as h:
        tr, te = h["train_index"][()], h["test_index"][()]
        tr[0], te[0] = te[0], tr[0]
        h["train_index"][...], h["test_index"][...] = tr, te
    with pytest.raises(DatasetError) as info:
        check_dataset(bad)
    assert "checksum" in str(info.value) and str(bad) in str(info.value)


def test_consistent_f_and_u_change_is_caught_by_the_checksum(make_dataset, tmp_path):
    """Another function of the same space (f, c and u all consistent): physics holds, the
    recorded checksum does not."""
    good = make_dataset("sin2", N=8, n_samples=10)
    bad = _copy(good, tmp_path / "bad.h5")
    with h5py.File(bad, "r+") as h:
        for name in ("f", "u", "coefficients"):
            h[name][...] = 2.0 * h[name][()]
    with pytest.raises(DatasetError, match="arrays changed after the file was written"):
        check_dataset(bad)


def test_fem_residual_catches_a_wrong_solver(make_dataset, tmp_path, monkeypatch):
    """If the reference solve were itself wrong (here: it echoes the stored u), the residual of
    K u = M f still fails the file."""
    bad = _copy(make_dataset("fem", N=12, n_samples=6), tmp_path / "bad.h5")
    _scale_entry(bad, "u", (2, 6), 1.5)
    stored = read_dataset(bad, check=False).u
    monkeypatch.setattr(Poisson1D, "solve", lambda *args, **kwargs: stored.copy())
    with pytest.raises(DatasetError) as info:
        check_dataset(bad)
    msg = str(info.value)
    assert "K u = M f" in msg and "largest residual" in msg and "sample 2, node 6" in msg


@pytest.mark.parametrize("mass", ["consistent", "lumped"])
def test_fem_residual_holds_for_both_mass_matrices(make_dataset, mass):
    check_dataset(make_dataset("fem", N=32, n_samples=20, fem_mass=mass))


def test_wrong_noise_seed_is_named(make_dataset, tmp_path):
    """The noise seed is derived from the names (pde, space, N, "noise"): another is refused."""
    good = make_dataset("sin2", N=8, n_samples=10)
    bad = _copy(good, tmp_path / "bad.h5")
    with h5py.File(bad, "r+") as h:
        h.attrs["noise_seed"] = int(h.attrs["noise_seed"]) + 1
    with pytest.raises(DatasetError, match="attribute noise_seed is .*'noise'"):
        check_dataset(bad)


# ------------------------------------------------------------------------ path grammar
@pytest.mark.parametrize("target, needle", [
    ("data/poisson1d/sin3/N16.h5", "attribute N is 8, but its name N16.h5 says 16"),
    ("data/poisson1d/sin4/N8.h5", "attribute space is 'sin3', but its folder sin4/ says 'sin4'"),
    ("data/biharmonic1d/sin3/N8.h5", "attribute pde is 'poisson1d'"),
])
def test_attributes_are_checked_against_the_path(make_dataset, tmp_path, target, needle):
    good = make_dataset("sin3", N=8, n_samples=10)
    check_dataset(good)  # data/poisson1d/sin3/N8.h5: consistent
    moved = _copy(good, tmp_path / "elsewhere" / target)
    with pytest.raises(DatasetError) as info:
        check_dataset(moved)
    assert needle in str(info.value) and str(moved) in str(info.value)


# ------------------------------------------------------------------------ the writer checks
def test_write_dataset_never_places_a_file_that_fails_its_check(tmp_path):
    ds = generate(DataSpec("poisson1d", "cos3", 8, 10))
    u = ds.u.copy()
    u[3, 4] *= 3.0
    wrong = type(ds)(x=ds.x, f=ds.f, u=u, coefficients=ds.coefficients,
                     train_index=ds.train_index, test_index=ds.test_index, attrs=ds.attrs)
    path = tmp_path / "data" / "poisson1d" / "cos3" / "N8.h5"
    with pytest.raises(DatasetError) as info:
        write_dataset(path, wrong)
    assert str(path) in str(info.value) and "array 'u'" in str(info.value)
    assert not path.exists() and list(path.parent.iterdir()) == []
    with pytest.raises(DatasetError, match="its name N16.h5"):
        write_dataset(path.with_name("N16.h5"), ds)  # misplaced: checked against its path


def test_old_format_is_named_with_a_hint(make_dataset, tmp_path):
    bad = _copy(make_dataset("sin1", N=8, n_samples=10), tmp_path / "old.h5")
    with h5py.File(bad, "r+") as h:
        del h.attrs["checksum"]
        h.attrs["format_version"] = 1
    with pytest.raises(DatasetError, match="format_version 1; this greenbench writes 3"):
        check_dataset(bad)


# ------------------------------------------------------------------------ same functions
@pytest.mark.parametrize("space", ["poly5", "cos4", "sin6"])
def test_every_resolution_samples_the_same_functions(space):
    """Sample i is the same function at every N: equal coefficients, and f and u agree on the
    nodes the grids share (x = j/8 is node j of N=8, node 2j of N=16, 4j of N=32)."""
    data = {N: generate(DataSpec("poisson1d", space, N, 20)) for N in (8, 16, 32)}
    for N, ds in data.items():
        np.testing.assert_array_equal(ds.coefficients, data[8].coefficients)
        step = N // 8
        np.testing.assert_allclose(ds.f[:, ::step], data[8].f, rtol=0, atol=1e-13)
        np.testing.assert_allclose(ds.u[:, ::step], data[8].u, rtol=0, atol=1e-14)
        assert ds.attrs["seed"] == data[8].attrs["seed"]


def test_fem_draws_its_own_nodal_values_per_grid():
    """fem functions live on their grid (docs/decisions.md): each N has its own stream."""
    a = generate(DataSpec("poisson1d", "fem", 8, 20))
    b = generate(DataSpec("poisson1d", "fem", 16, 20))
    assert a.attrs["seed"] != b.attrs["seed"]
    assert not np.allclose(b.f[:, ::2], a.f)


def test_noise_differs_per_grid_but_functions_do_not():
    from greenbench.data import noise_draw

    a = generate(DataSpec("poisson1d", "sin2", 8, 20))
    b = generate(DataSpec("poisson1d", "sin2", 16, 20))
    np.testing.assert_array_equal(a.coefficients, b.coefficients)
    assert a.attrs["noise_seed"] != b.attrs["noise_seed"]
    za = noise_draw(a.attrs["noise_seed"], (16, 9))
    zb = noise_draw(b.attrs["noise_seed"], (16, 17))
    assert not np.allclose(zb[:, ::2], za, atol=1e-6)
