"""All file I/O of greenbench: HDF5 datasets, netCDF results, torch checkpoints.

Every writer is atomic: it writes ``<name>.tmp-<pid>`` beside the target and renames it into
place, so an interrupted run never leaves a file that looks finished. The dataset layout is
documented in docs/data_format.md and enforced by :func:`check_dataset`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from greenbench.provenance import PROVENANCE_KEYS

FORMAT_VERSION = 1


class DatasetError(ValueError):
    """A dataset file is missing, corrupt, or does not match what was asked for."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ------------------------------------------------------------------------------ datasets
REQUIRED_ATTRS: tuple[str, ...] = (
    "format_version", "pde", "k", "space", "family", "p", "N", "n_samples", "n_train", "n_test",
    "seed", "master_seed", "distribution", "scale", "noise", "test_fraction", "fem_mass",
) + PROVENANCE_KEYS


@dataclass(frozen=True)
class Dataset:
    """One (pde, space, N) dataset in memory. Arrays are float64 except the index arrays."""

    x: np.ndarray             # (N+1,)
    f: np.ndarray             # (n_samples, N+1)
    u: np.ndarray             # (n_samples, N+1)
    coefficients: np.ndarray  # (n_samples, n_coef)
    train_index: np.ndarray   # (n_train,) int64
    test_index: np.ndarray    # (n_test,) int64
    attrs: Mapping[str, object]

    @property
    def N(self) -> int:
        return self.x.size - 1

    def split(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """``(f, u)`` of the ``train`` or ``test`` split."""
        idx = {"train": self.train_index, "test": self.test_index}[which]
        return self.f[idx], self.u[idx]


def write_dataset(path: str | os.PathLike, ds: Dataset) -> None:
    """Write a dataset atomically (temp file, then rename)."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h:
            for name in ("x", "f", "u", "coefficients", "train_index", "test_index"):
                h.create_dataset(name, data=getattr(ds, name), track_times=False)
            h["x"].attrs["description"] = "grid nodes x_i = i/N, i = 0..N"
            h["f"].attrs["description"] = "forcing at all N+1 nodes, one sample per row"
            h["u"].attrs["description"] = "solution of -k u'' = f, u(0)=u(1)=0, at all nodes"
            h["coefficients"].attrs["description"] = "coefficients c with f = B c (docs/data_format.md)"
            for key, value in ds.attrs.items():
                h.attrs[key] = value


def _attr(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_dataset(path: str | os.PathLike, *, check: bool = True) -> Dataset:
    """Read a dataset; with ``check`` (default) validate it first (:func:`check_dataset`)."""
    if check:
        check_dataset(path)
    with h5py.File(path, "r") as h:
        arrays = {name: h[name][()] for name in
                  ("x", "f", "u", "coefficients", "train_index", "test_index")}
        attrs = {key: _attr(v) for key, v in h.attrs.items()}
    return Dataset(attrs=attrs, **arrays)


def check_dataset(path: str | os.PathLike, expect: Mapping[str, object] | None = None) -> None:
    """Validate a dataset file; raise :class:`DatasetError` naming the file and broken field.

    Checks: opens as HDF5; every required attribute present; every array present with the
    shape and dtype the attributes imply; values finite; boundary values ``u(0) = u(1) = 0``;
    the split a partition of the samples. ``expect`` maps attribute names to required values
    (e.g. ``{"N": 32, "space": "sin3"}``): a mismatch is an error naming the attribute."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(path, "file does not exist")
    try:
        h = h5py.File(path, "r")
    except OSError as exc:
        raise DatasetError(path, f"not a readable HDF5 file (truncated or corrupt?): {exc}") from exc
    with h:
        missing = [a for a in REQUIRED_ATTRS if a not in h.attrs]
        if missing:
            raise DatasetError(path, f"missing attribute(s) {', '.join(missing)}")
        a = {key: _attr(h.attrs[key]) for key in REQUIRED_ATTRS}
        if a["format_version"] != FORMAT_VERSION:
            raise DatasetError(path, f"attribute format_version is {a['format_version']}, "
                                     f"this greenbench reads {FORMAT_VERSION}")
        for key, want in (expect or {}).items():
            if a.get(key) != want:
                raise DatasetError(path, f"attribute {key} is {a.get(key)!r}, expected {want!r}")
        N, n = int(a["N"]), int(a["n_samples"])
        from greenbench.spaces import parse_space

        try:
            n_coef = parse_space(a["space"]).n_coefficients(N + 1)
        except ValueError as exc:
            raise DatasetError(path, f"attribute space: {exc}") from exc
        shapes = {"x": (N + 1,), "f": (n, N + 1), "u": (n, N + 1), "coefficients": (n, n_coef),
                  "train_index": (int(a["n_train"]),), "test_index": (int(a["n_test"]),)}
        for name, shape in shapes.items():
            if name not in h:
                raise DatasetError(path, f"missing array {name!r}")
            try:
                arr = h[name][()]
            except (OSError, KeyError) as exc:
                raise DatasetError(path, f"array {name!r} unreadable (truncated?): {exc}") from exc
            if arr.shape != shape:
                raise DatasetError(path, f"array {name!r} has shape {arr.shape}, expected {shape}")
            kind = "i" if name.endswith("_index") else "f"
            if arr.dtype.kind != kind or arr.dtype.itemsize != 8:
                raise DatasetError(path, f"array {name!r} has dtype {arr.dtype}, expected "
                                         f"{'int64' if kind == 'i' else 'float64'}")
            if kind == "f" and not np.all(np.isfinite(arr)):
                raise DatasetError(path, f"array {name!r} has non-finite values")
        x = h["x"][()]
        if not np.allclose(x, np.arange(N + 1) / N, rtol=0, atol=1e-14):
            raise DatasetError(path, "array 'x' is not the uniform grid i/N")
        u = h["u"][()]
        if float(a["noise"]) == 0 and n and np.abs(u[:, [0, -1]]).max() > 1e-12:
            raise DatasetError(path, "array 'u' violates the boundary condition u(0)=u(1)=0")
        idx = np.concatenate([h["train_index"][()], h["test_index"][()]])
        if not np.array_equal(np.sort(idx), np.arange(n)):
            raise DatasetError(path, "train_index and test_index do not partition the samples")


# ------------------------------------------------------------------------------ netCDF
def write_netcdf(ds, path: str | os.PathLike) -> None:
    """Write an ``xarray.Dataset`` atomically with the h5netcdf engine."""
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")


def read_netcdf(path: str | os.PathLike):
    """Open and load an ``xarray.Dataset`` (the file is closed on return)."""
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


# ------------------------------------------------------------------------------ torch
def save_torch(obj: object, path: str | os.PathLike) -> None:
    """``torch.save`` atomically. Save state dicts and plain containers only."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path: str | os.PathLike, map_location: str = "cpu") -> object:
    """``torch.load(..., weights_only=True)``: never unpickles arbitrary objects."""
    import torch

    return torch.load(path, map_location=map_location, weights_only=True)


def read_yaml(path: str | os.PathLike) -> dict:
    import yaml

    with open(path) as fh:
        return yaml.safe_load(fh) or {}
