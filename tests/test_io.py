"""HDF5 datasets (greenbench.io): roundtrip, validation, atomic writes.

Oracles: byte-for-byte equality of what was written and what is read back; every kind of
damage (truncation, shapes, attributes, dtypes, non-finite values, split, inconsistent
coefficients) is rejected with an error naming the file and the field; a write interrupted by
an exception or by SIGKILL never leaves a file at the final path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from greenbench import check
from greenbench.data import DataSpec, generate
from greenbench.io import (
    ARRAYS,
    REQUIRED_ATTRS,
    Dataset,
    DatasetError,
    atomic_path,
    check_dataset,
    content_checksum,
    read_dataset,
    read_netcdf,
    read_yaml,
    write_dataset,
    write_netcdf,
)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# ------------------------------------------------------------------------ roundtrip
@pytest.mark.parametrize("space", ["poly2", "cos3", "sin1", "fem"])
def test_roundtrip_is_bit_identical_and_checks(tmp_path, space):
    ds = generate(DataSpec("poisson1d", space, 8, 12))
    path = tmp_path / f"{space}.h5"
    write_dataset(path, ds)
    check_dataset(path, expect={"space": space, "N": 8, "n_samples": 12})
    back = read_dataset(path)
    for name in ARRAYS:
        assert _same_bits(getattr(ds, name), getattr(back, name)), name
    assert {k: v for k, v in back.attrs.items() if k != "checksum"} == dict(ds.attrs)
    assert back.attrs["checksum"] == content_checksum({n: getattr(ds, n) for n in ARRAYS})
    assert set(REQUIRED_ATTRS) <= set(back.attrs)
    f_tr, u_tr = back.split("train")
    f_te, u_te = back.split("test")
    assert f_tr.shape[0] + f_te.shape[0] == 12 and u_tr.shape == f_tr.shape
    assert back.N == 8


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True, width=64)


@given(
    f=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
                 elements=finite_or_not),
    idx=hnp.arrays(np.int64, st.integers(0, 5), elements=st.integers(-(2**63), 2**63 - 1)),
    attr=st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
                   st.text(st.characters(exclude_characters="\x00"), max_size=20)),
)
@settings(max_examples=40, deadline=None)
def test_roundtrip_any_arrays_bit_for_bit(f, idx, attr):
    """Whatever float64/int64 bits go in (NaN payloads, -0.0, subnormals) come out unchanged."""
    ds = Dataset(x=f[0].copy(), f=f, u=-f, coefficients=f.T.copy(), train_index=idx,
                 test_index=idx[::-1].copy(), attrs={"anything": attr})
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "d.h5"
        write_dataset(path, ds, check=False)
        back = read_dataset(path, check=False)
    for name in ARRAYS:
        assert _same_bits(getattr(ds, name), getattr(back, name)), name
    assert back.attrs["anything"] == attr


# ------------------------------------------------------------------------ damage
@pytest.fixture
def good(make_dataset) -> Path:
    return make_dataset("cos2", N=8, n_samples=10)


def _damaged(src: Path, edit) -> Path:
    dst = src.with_name("damaged.h5")
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as h:
        edit(h)
    return dst


def _replace(name, value):
    def edit(h):
        del h[name]
        h[name] = value
    return edit


def _set_attr(key, value):
    def edit(h):
        h.attrs[key] = value
    return edit


def _del_attr(key):
    def edit(h):
        del h.attrs[key]
    return edit


def _poke(name, index, value):
    def edit(h):
        arr = h[name][()]
        arr[index] = value
        h[name][...] = arr
    return edit


N_, n_ = 8, 10  # the `good` dataset
DAMAGE = {
    # attributes
    "missing attribute k": (_del_attr("k"), ["missing attribute", "k"]),
    "missing provenance": (_del_attr("git_commit"), ["missing attribute", "git_commit"]),
    "attribute of wrong type": (_set_attr("N", "8"), ["attribute N", "integer"]),
    "bool is not an integer": (_set_attr("n_samples", True), ["attribute n_samples"]),
    "float where int": (_set_attr("p", 2.0), ["attribute p", "integer"]),
    "unknown distribution": (_set_attr("distribution", "cauchy"), ["attribute distribution"]),
    "unknown pde": (_set_attr("pde", "heat1d"), ["attribute pde", "poisson1d"]),
    "unknown space": (_set_attr("space", "cos9"), ["attribute space", "cos9"]),
    "family disagrees": (_set_attr("family", "sin"), ["attribute family", "cos2"]),
    "p disagrees": (_set_attr("p", 3), ["attribute p"]),
    "seed not derived": (_set_attr("seed", 12345), ["attribute seed", "derive_seed"]),
    "split sizes": (_set_attr("n_train", 7), ["n_train"]),
    "non-positive k": (_set_attr("k", 0.0), ["attribute k", "> 0"]),
    "format version": (_set_attr("format_version", 99), ["attribute format_version"]),
    # arrays
    "missing array": (lambda h: h.__delitem__("u"), ["missing array 'u'"]),
    "group not array": (lambda h: (h.__delitem__("x"), h.create_group("x")), ["'x'", "Group"]),
    "wrong shape f": (_replace("f", np.zeros((n_, N_))), ["array 'f'", "shape", "(10, 9)"]),
    "wrong shape coefficients": (_replace("coefficients", np.zeros((n_, 4))),
                                 ["array 'coefficients'", "shape", "(10, 3)"]),
    "wrong shape x": (_replace("x", np.zeros(N_)), ["array 'x'", "shape"]),
    "float32 f": (_replace("f", np.zeros((n_, N_ + 1), np.float32)),
                  ["array 'f'", "dtype float32", "float64"]),
    "int u": (_replace("u", np.zeros((n_, N_ + 1), np.int64)), ["array 'u'", "dtype"]),
    "int32 index": (_replace("train_index", np.arange(8, dtype=np.int32)),
                    ["array 'train_index'", "int32", "int64"]),
    "float index": (_replace("test_index", np.array([8.0, 9.0])), ["array 'test_index'", "dtype"]),
    "nan in f": (_poke("f", (3, 4), np.nan), ["array 'f'", "non-finite"]),
    "inf in u": (_poke("u", (0, 2), np.inf), ["array 'u'", "non-finite"]),
    "nan in coefficients": (_poke("coefficients", (1, 1), np.nan),
                            ["array 'coefficients'", "non-finite"]),
    "x not the grid": (_poke("x", 3, 0.3), ["array 'x'", "grid"]),
    "f disagrees with coefficients": (_poke("f", (2, 5), 0.5), ["'f'", "'coefficients'"]),
    "boundary condition": (_poke("u", (4, -1), 1e-3), ["array 'u'", "boundary"]),
    "duplicate index": (_poke("test_index", 0, 0), ["train_index", "test_index", "partition"]),
    "index out of range": (_poke("test_index", 1, 10), ["train_index", "test_index", "partition"]),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damage_is_named(good, case):
    edit, needles = DAMAGE[case]
    check_dataset(good)  # the original is fine
    bad = _damaged(good, edit)
    with pytest.raises(DatasetError) as info:
        check_dataset(bad)
    msg = str(info.value)
    assert str(bad) in msg and info.value.path == str(bad)
    for needle in needles:
        assert needle in msg, (case, msg)


@pytest.mark.parametrize("keep", [0, 7, 100, 0.5, 0.9, -1])
def test_truncated_file_is_rejected(good, keep):
    data = good.read_bytes()
    n = {0.5: len(data) // 2, 0.9: int(len(data) * 0.9), -1: len(data) - 1}.get(keep, keep)
    bad = good.with_name("truncated.h5")
    bad.write_bytes(data[:n])
    with pytest.raises(DatasetError, match="truncated") as info:
        check_dataset(bad)
    assert str(bad) in str(info.value)


def test_missing_and_non_hdf5_files(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        check_dataset(tmp_path / "nope.h5")
    txt = tmp_path / "text.h5"
    txt.write_text("not hdf5\n" * 100)
    with pytest.raises(DatasetError, match="not a readable HDF5 file") as info:
        check_dataset(txt)
    assert str(txt) in str(info.value)
    with pytest.raises(DatasetError):
        read_dataset(txt)


def test_expect_names_the_mismatched_attribute(good):
    check_dataset(good, expect={"space": "cos2", "N": 8})
    with pytest.raises(DatasetError, match="attribute N is 8, expected 16"):
        check_dataset(good, expect={"N": 16})


def test_check_command_line(good, tmp_path, capsys):
    bad = _damaged(good, _del_attr("scale"))
    assert check.main([str(good)]) == 0
    assert check.main([str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"ok    {good}" in out and f"BAD   {bad}: missing attribute(s) scale" in out
    assert check.main([]) == 2
    proc = subprocess.run([sys.executable, "-m", "greenbench.check", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "scale" in proc.stdout


# ------------------------------------------------------------------------ atomic writes
def _fail_on(monkeypatch, array_name: str):
    original = h5py.Group.create_dataset

    def create_dataset(self, name, *args, **kwargs):
        if name == array_name:
            raise RuntimeError(f"simulated failure while writing {name}")
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", create_dataset)


@pytest.mark.parametrize("array_name", ["x", "u", "test_index"])
def test_exception_during_write_leaves_nothing(tmp_path, monkeypatch, array_name):
    ds = generate(DataSpec("poisson1d", "sin2", 8, 10))
    path = tmp_path / "sub" / "N8.h5"
    _fail_on(monkeypatch, array_name)
    with pytest.raises(RuntimeError, match="simulated"):
        write_dataset(path, ds)
    assert not path.exists()
    assert list(path.parent.iterdir()) == []  # the temporary file is gone too


def test_exception_during_rewrite_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "N8.h5"
    write_dataset(path, generate(DataSpec("poisson1d", "sin2", 8, 10)))
    before = path.read_bytes()
    _fail_on(monkeypatch, "u")
    with pytest.raises(RuntimeError):
        write_dataset(path, generate(DataSpec("poisson1d", "sin2", 8, 10, master_seed=1)))
    assert path.read_bytes() == before
    check_dataset(path)


KILLER = """
import os, signal, sys
import h5py
from greenbench.data import DataSpec, generate
from greenbench.io import write_dataset

original = h5py.Group.create_dataset
def create_dataset(self, name, *args, **kwargs):
    out = original(self, name, *args, **kwargs)
    if name == sys.argv[2]:
        self.file.flush()  # what is written so far is on disk, then the process dies
        os.kill(os.getpid(), signal.SIGKILL)
    return out
h5py.Group.create_dataset = create_dataset
write_dataset(sys.argv[1], generate(DataSpec("poisson1d", "fem", 8, 10)))
"""


@pytest.mark.parametrize("array_name", ["f", "test_index"])
def test_sigkill_during_write_leaves_no_acceptable_file(tmp_path, array_name):
    path = tmp_path / "N8.h5"
    proc = subprocess.run([sys.executable, "-c", KILLER, str(path), array_name],
                          capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    assert not path.exists()
    leftovers = list(tmp_path.iterdir())
    assert [p.name.startswith(".N8.h5.tmp-") for p in leftovers] == [True]
    with pytest.raises(DatasetError):
        check_dataset(leftovers[0])


def test_atomic_path_renames_only_on_success(tmp_path):
    target = tmp_path / "a" / "b.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"
    with pytest.raises(ZeroDivisionError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise ZeroDivisionError
    assert target.read_text() == "done" and len(list(target.parent.iterdir())) == 1


# ------------------------------------------------------------------------ netCDF, YAML
def test_netcdf_roundtrip(tmp_path):
    import xarray as xr

    ds = xr.Dataset({"mse": (("model", "seed"), np.arange(6.0).reshape(2, 3))},
                    coords={"model": ["linear", "fno"], "seed": [0, 1, 2]},
                    attrs={"git_commit": "abc"})
    path = tmp_path / "r" / "crossval.nc"
    write_netcdf(ds, path)
    back = read_netcdf(path)
    xr.testing.assert_identical(back, ds)
    assert [p.name for p in path.parent.iterdir()] == ["crossval.nc"]


def test_read_yaml_empty_is_empty_dict(tmp_path):
    (tmp_path / "e.yaml").write_text("")
    (tmp_path / "x.yaml").write_text("a: 1\n")
    assert read_yaml(tmp_path / "e.yaml") == {}
    assert read_yaml(tmp_path / "x.yaml") == {"a": 1}
