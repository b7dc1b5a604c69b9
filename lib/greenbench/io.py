"""All file I/O of greenbench: HDF5 datasets, netCDF results, torch checkpoints.

Every writer is atomic: it writes ``<name>.tmp-<pid>`` beside the target and renames it into
place, so an interrupted run never leaves a file that looks finished. The dataset layout is
documented in docs/data_format.md and enforced by :func:`check_dataset`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from greenbench.provenance import DATASET_PROVENANCE_KEYS

# 2: poly/cos/sin seeds without N (the same functions at every N), content checksum, no clock.
# 3: u is always the exact solution; the noise level is a training-time axis, the file stores
#    the noise stream's seed (`noise_seed`) instead of a level (`noise`).
FORMAT_VERSION = 3


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
    "seed", "master_seed", "distribution", "scale", "noise_seed", "test_fraction", "fem_mass",
    "checksum",
) + DATASET_PROVENANCE_KEYS


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


def content_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """``sha256:<hex>`` of the dataset arrays :data:`ARRAYS`, in that order: for each, its name,
    dtype and shape, then its bytes (C order, little-endian). Attributes are not included, so
    the checksum names the numbers alone and survives a change of provenance stamp."""
    h = hashlib.sha256()
    for name in ARRAYS:
        a = np.ascontiguousarray(arrays[name])
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return "sha256:" + h.hexdigest()


def dataset_checksum(path: str | os.PathLike) -> str:
    """The ``checksum`` attribute of a dataset file (read without loading the arrays; the full
    recomputation is :func:`check_dataset`'s). Raises :class:`DatasetError` when absent."""
    try:
        with h5py.File(path, "r") as h:
            value = _attr(h.attrs.get("checksum", ""))
    except OSError as exc:
        raise DatasetError(path, f"not a readable HDF5 file: {exc}") from exc
    if not isinstance(value, str) or not value.startswith("sha256:"):
        raise DatasetError(path, "no content checksum (attribute checksum); regenerate it")
    return value


def write_dataset(path: str | os.PathLike, ds: Dataset, *, check: bool = True) -> None:
    """Write a dataset atomically (temp file, then rename), stamped with its content
    ``checksum`` (:func:`content_checksum`).

    With ``check`` (default) the temporary file is validated by :func:`check_dataset` (the
    physics included, and the attributes against ``path``) before it is renamed into place: a
    dataset that fails its own check never appears at ``path``."""
    checksum = content_checksum({name: getattr(ds, name) for name in ARRAYS})
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h:
            for name in ("x", "f", "u", "coefficients", "train_index", "test_index"):
                h.create_dataset(name, data=getattr(ds, name), track_times=False)
            h["x"].attrs["description"] = "grid nodes x_i = i/N, i = 0..N"
            h["f"].attrs["description"] = "forcing at all N+1 nodes, one sample per row"
            h["u"].attrs["description"] = "solution of -k u'' = f, u(0)=u(1)=0, at all nodes"
            h["coefficients"].attrs["description"] = (
                "coefficients c with f = B c (docs/data_format.md)")
            for key, value in ds.attrs.items():
                h.attrs[key] = value
            h.attrs["checksum"] = checksum
        if check:
            check_dataset(tmp, as_path=path)


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
        arrays = {name: h[name][()] for name in ARRAYS}
        attrs = {key: _attr(v) for key, v in h.attrs.items()}
    return Dataset(attrs=attrs, **arrays)


_INT, _REAL, _STR = "integer", "real number", "string"
ATTR_KINDS: dict[str, str] = {
    "format_version": _INT, "pde": _STR, "k": _REAL, "space": _STR, "family": _STR, "p": _INT,
    "N": _INT, "n_samples": _INT, "n_train": _INT, "n_test": _INT, "seed": _INT,
    "master_seed": _INT, "distribution": _STR, "scale": _REAL, "noise_seed": _INT,
    "test_fraction": _REAL, "fem_mass": _STR, "greenbench_version": _STR, "git_commit": _STR,
    "config_hash": _STR, "checksum": _STR,
}
ARRAYS: tuple[str, ...] = ("x", "f", "u", "coefficients", "train_index", "test_index")


def _kind_ok(value: object, kind: str) -> bool:
    if isinstance(value, bool):
        return False
    if kind == _INT:
        return isinstance(value, int)
    if kind == _REAL:
        return isinstance(value, int | float)
    return isinstance(value, str)


def _check_attrs(path: Path, a: Mapping[str, object]) -> None:
    """Types and values of the generation attributes, and their mutual consistency."""
    from greenbench.operators import OPERATORS
    from greenbench.seeding import dataset_seed, noise_seed
    from greenbench.spaces import DISTRIBUTIONS, parse_space

    for key, kind in ATTR_KINDS.items():
        if not _kind_ok(a[key], kind):
            raise DatasetError(path, f"attribute {key} is {a[key]!r} "
                                     f"({type(a[key]).__name__}), expected a {kind}")
    if a["format_version"] != FORMAT_VERSION:
        raise DatasetError(path, f"attribute format_version is {a['format_version']}, "
                                 f"this greenbench reads {FORMAT_VERSION}")
    if a["pde"] not in OPERATORS:
        raise DatasetError(path, f"attribute pde is {a['pde']!r}; allowed: {tuple(OPERATORS)}")
    op = OPERATORS[a["pde"]]
    for key in op.COEFFICIENTS:  # one attribute per coefficient of the operator (k, c, b)
        if key not in a:
            raise DatasetError(path, f"missing attribute {key} (a coefficient of {a['pde']})")
        if not _kind_ok(a[key], _REAL) or not np.isfinite(a[key]):
            raise DatasetError(path, f"attribute {key} is {a[key]!r}, expected a finite "
                                     f"{_REAL}")
    allowed = {"distribution": DISTRIBUTIONS, "fem_mass": op.MASS_KINDS}
    for key, values in allowed.items():
        if a[key] not in values:
            raise DatasetError(path, f"attribute {key} is {a[key]!r}; allowed: {values}")
    try:
        space = parse_space(a["space"], dim=op.dim)
    except ValueError as exc:
        raise DatasetError(path, f"attribute space: {exc}") from exc
    if a["family"] != space.family:
        raise DatasetError(path, f"attribute family is {a['family']!r} but space "
                                 f"{space.name!r} is of family {space.family!r}")
    if a["p"] != (-1 if space.p is None else space.p):
        raise DatasetError(path, f"attribute p is {a['p']!r} but space is {space.name!r}")
    positive = {"N": 2, "n_samples": 2, "n_train": 1, "n_test": 1}
    for key, low in positive.items():
        if a[key] < low:
            raise DatasetError(path, f"attribute {key} is {a[key]}, must be >= {low}")
    if a["n_train"] + a["n_test"] != a["n_samples"]:
        raise DatasetError(path, f"attributes n_train + n_test = {a['n_train']} + {a['n_test']}"
                                 f" != n_samples = {a['n_samples']}")
    for key in ("k", "scale"):
        if not a[key] > 0:
            raise DatasetError(path, f"attribute {key} is {a[key]}, must be > 0")
    if not 0 < a["test_fraction"] < 1:
        raise DatasetError(path, f"attribute test_fraction is {a['test_fraction']}, "
                                 f"must be in (0, 1)")
    seed = dataset_seed(a["master_seed"], a["pde"], space.name, a["N"])
    if a["seed"] != seed:
        names = "pde, space, N" if space.family == "fem" else "pde, space"
        raise DatasetError(path, f"attribute seed is {a['seed']}, but derive_seed(master_seed, "
                                 f"{names}) = {seed}")
    want_noise = noise_seed(a["master_seed"], a["pde"], space.name, a["N"])
    if a["noise_seed"] != want_noise:
        raise DatasetError(path, f"attribute noise_seed is {a['noise_seed']}, but "
                                 f"derive_seed(master_seed, pde, space, N, 'noise') = "
                                 f"{want_noise}")
    if not a["checksum"].startswith("sha256:"):
        raise DatasetError(path, f"attribute checksum is {a['checksum']!r}, expected "
                                 f"'sha256:<hex>'")


_PATH_GRAMMAR = re.compile(r"^N([0-9]+)\.h5$")


def _check_path(path: Path, a: Mapping[str, object]) -> None:
    """Attributes against the path grammar ``.../{pde}/{space}/N{res}.h5``: ``N`` for a file
    named ``N{res}.h5``; ``space`` and ``pde`` too when its folder is named like a space. A file
    elsewhere (a scratch copy) is checked only as far as its path follows the grammar."""
    from greenbench.spaces import is_space_name

    m = _PATH_GRAMMAR.match(path.name)
    if m is None:
        return
    checks = [("N", int(m.group(1)), f"its name {path.name}")]
    if is_space_name(path.parent.name):
        checks += [("space", path.parent.name, f"its folder {path.parent.name}/"),
                   ("pde", path.parent.parent.name,
                    f"the folder {path.parent.parent.name}/ above")]
    for key, from_path, where in checks:
        if a[key] != from_path:
            raise DatasetError(path, f"attribute {key} is {a[key]!r}, but {where} says "
                                     f"{from_path!r} (path grammar "
                                     f"data/{{pde}}/{{space}}/N{{res}}.h5)")


def _where(at: tuple[int, ...]) -> str:
    """``sample i, node j`` (1D) or ``sample i, node (j_x, j_y)`` (2D) of a ``_largest`` index."""
    node = at[1] if len(at) == 2 else tuple(at[1:])
    return f"sample {at[0]}, node {node}"


def _largest(dev: np.ndarray) -> tuple[float, tuple[int, ...]]:
    at = np.unravel_index(int(np.argmax(dev)), dev.shape)
    return float(dev[at]), tuple(int(i) for i in at)


def _check_physics(path: Path, a: Mapping[str, object], arrays: Mapping[str, np.ndarray]) -> None:
    """``u`` against the solution recomputed from the stored coefficients (closed form for
    poly/cos/sin, the FEM solve for fem; the stored u is always exact), and for
    fem the residual of the operator's discrete equation (poisson1d: ``K u = M f``) on the
    interior nodes, where it has one (``Operator.discrete_residual``)."""
    from greenbench.operators import from_attrs
    from greenbench.spaces import parse_space

    op = from_attrs(a)
    space = parse_space(a["space"], dim=op.dim)
    x, f, u, c = arrays["x"], arrays["f"], arrays["u"], arrays["coefficients"]
    with np.errstate(all="ignore"):
        ref = op.solve(space, c, f, x, mass=a["fem_mass"])
        how = "the FEM solve" if space.family == "fem" else "the closed form"
        scale = max(float(np.abs(ref).max(initial=0.0)), np.finfo(float).tiny)
        dev, at = _largest(np.abs(u - ref))
    if not dev <= 1e-10 * scale:
        coef = ", ".join(f"{n}={v:g}" for n, v in op.coefficients.items())
        raise DatasetError(path, f"array 'u' is not the solution of {op.name} for the stored "
                                 f"coefficients ({how}, {coef}): largest deviation {dev:.3g} "
                                 f"at {_where(at)} (u = {u[at]:.6g}, expected "
                                 f"{ref[at]:.6g}; tolerance {1e-10 * scale:.3g})")
    check = op.discrete_residual(f, u, a["fem_mass"]) if space.family == "fem" else None
    if check is not None:
        residual, size = check
        dev, (i, j) = _largest(np.abs(residual))
        if not dev <= 1e-10 * max(size, np.finfo(float).tiny):
            raise DatasetError(path, f"arrays 'u' and 'f' violate the discrete equation K u = M f "
                                     f"({a['fem_mass']} mass): largest residual {dev:.3g} at "
                                     f"sample {i}, node {j + 1}")


def check_dataset(path: str | os.PathLike, expect: Mapping[str, object] | None = None, *,
                  as_path: str | os.PathLike | None = None) -> None:
    """Validate a dataset file; raise :class:`DatasetError` naming the file, the broken array or
    attribute and, for a numerical check, the largest deviation.

    Checks, in order (docs/data_format.md, "Validation"):

    1. the file opens as HDF5 (a truncated or partial file does not);
    2. every attribute of :data:`REQUIRED_ATTRS` is present with the right type (integer, real
       number, string) and an allowed value; ``family``, ``p``, ``seed`` agree with ``space``,
       ``N`` and ``master_seed``, ``noise_seed`` with the noise stream's names;
       ``n_train + n_test = n_samples``; for a file named ``N{res}.h5``, ``N``, ``space``
       and ``pde`` agree with the path
       ``.../{pde}/{space}/N{res}.h5``;
    3. every array is present with the shape and dtype the attributes imply (float64 data,
       int64 indices) and finite values;
    4. ``x`` is the grid ``i / N``; ``f = B c`` (relative 1e-10) for the space's basis ``B``;
       ``u(0) = u(1) = 0`` (relative 1e-12);
    5. the physics: ``u`` equals the solution recomputed from the stored coefficients (closed
       form, or the FEM solve; relative 1e-10), and fem data satisfy ``K u = M f`` (relative 1e-10);
    6. ``train_index`` and ``test_index`` partition ``0 .. n_samples - 1``;
    7. the arrays hash to the recorded ``checksum`` (:func:`content_checksum`).

    ``expect`` maps attribute names to required values (e.g. ``{"N": 32, "space": "sin3"}``):
    a mismatch is an error naming the attribute. ``as_path`` is the path the file is checked as
    (names in messages, path grammar): a temporary file checked before its rename."""
    from greenbench.spaces import evaluate, parse_space

    path = Path(path)
    named = Path(as_path) if as_path is not None else path
    if not path.exists():
        raise DatasetError(named, "file does not exist")
    try:
        h = h5py.File(path, "r")
    except OSError as exc:
        raise DatasetError(named, f"not a readable HDF5 file (truncated or corrupt?): {exc}"
                           ) from exc
    with h:
        try:
            present = set(h.attrs.keys())
            missing = [key for key in REQUIRED_ATTRS if key not in present]
            if missing:
                version = _attr(h.attrs.get("format_version", FORMAT_VERSION))
                hint = (f" (format_version {version}; this greenbench writes {FORMAT_VERSION}: "
                        f"regenerate the dataset)" if version != FORMAT_VERSION else "")
                raise DatasetError(named, f"missing attribute(s) {', '.join(missing)}{hint}")
            a = {key: _attr(h.attrs[key]) for key in REQUIRED_ATTRS}
            from greenbench.operators import coefficient_names
            # the operator's further coefficients (c, b), checked in _check_attrs
            a.update({key: _attr(h.attrs[key]) for key in coefficient_names()
                      if key in present and key not in a})
        except DatasetError:
            raise
        except Exception as exc:  # h5py raises OSError/KeyError/RuntimeError on damaged headers
            raise DatasetError(named, f"attributes unreadable (corrupt?): {exc}") from exc
        _check_attrs(named, a)
        _check_path(named, a)
        for key, want in (expect or {}).items():
            if a.get(key) != want:
                raise DatasetError(named, f"attribute {key} is {a.get(key)!r}, expected {want!r}")
        N, n = a["N"], a["n_samples"]
        from greenbench.operators import OPERATORS
        op_cls = OPERATORS[a["pde"]]
        space = parse_space(a["space"], dim=op_cls.dim)
        grid = op_cls.grid_shape(N)  # (N+1,) or (N+1, N+1): docs/data_format.md
        shapes = {"x": (N + 1,), "f": (n, *grid), "u": (n, *grid),
                  "coefficients": (n, *space.coefficient_shape(N + 1)),
                  "train_index": (a["n_train"],), "test_index": (a["n_test"],)}
        arrays = {}
        for name, shape in shapes.items():
            if name not in h:
                raise DatasetError(named, f"missing array {name!r}")
            if not isinstance(h[name], h5py.Dataset):
                raise DatasetError(named, f"{name!r} is a {type(h[name]).__name__}, not an array")
            if h[name].shape != shape:
                raise DatasetError(named, f"array {name!r} has shape {h[name].shape}, "
                                          f"expected {shape}")
            kind = "i" if name.endswith("_index") else "f"
            dtype = h[name].dtype
            if dtype.kind != kind or dtype.itemsize != 8:
                raise DatasetError(named, f"array {name!r} has dtype {dtype}, expected "
                                          f"{'int64' if kind == 'i' else 'float64'}")
            try:
                arr = h[name][()]
            except Exception as exc:  # damaged chunk / truncated data
                raise DatasetError(named, f"array {name!r} unreadable (truncated?): {exc}"
                                   ) from exc
            if kind == "f" and not np.all(np.isfinite(arr)):
                bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
                raise DatasetError(named, f"array {name!r} has {bad} non-finite value(s)")
            arrays[name] = arr
    x, f, u, c = arrays["x"], arrays["f"], arrays["u"], arrays["coefficients"]
    if not np.allclose(x, np.arange(N + 1) / N, rtol=0, atol=1e-14):
        dev, (j,) = _largest(np.abs(x - np.arange(N + 1) / N))
        raise DatasetError(named, f"array 'x' is not the uniform grid i/N: largest deviation "
                                  f"{dev:.3g} at node {j}")
    fc = evaluate(space, c, x)  # c @ B^T; fem: the nodal values themselves
    dev, at = _largest(np.abs(f - fc))
    if dev > 1e-10 * max(1.0, np.abs(f).max()):
        raise DatasetError(named, f"arrays 'f' and 'coefficients' disagree: f != B c for space "
                                  f"{space.name}: largest deviation {dev:.3g} at {_where(at)}")
    edge = op_cls.boundary_mask(N)  # 1D: nodes 0 and N; 2D: the four sides
    if np.abs(u[:, edge]).max() > 1e-12 * max(1.0, np.abs(u).max()):
        dev, (i, j) = _largest(np.abs(u[:, edge]))
        node = tuple(int(v[j]) for v in np.nonzero(edge))
        node = node[0] if len(node) == 1 else node
        raise DatasetError(named, f"array 'u' violates the boundary condition u = 0 on the "
                                  f"boundary: largest |u| {dev:.3g} at sample {i}, node {node}")
    _check_physics(named, a, arrays)
    idx = np.concatenate([arrays["train_index"], arrays["test_index"]])
    if not np.array_equal(np.sort(idx), np.arange(n)):
        raise DatasetError(named, "arrays 'train_index' and 'test_index' do not partition the "
                                  f"samples 0..{n - 1} (duplicate or out-of-range index)")
    checksum = content_checksum(arrays)
    if checksum != a["checksum"]:
        raise DatasetError(named, f"the arrays changed after the file was written: content "
                                  f"checksum {checksum} != recorded attribute checksum "
                                  f"{a['checksum']}")


# ------------------------------------------------------------------------------ netCDF
def write_netcdf(ds, path: str | os.PathLike, kind: str | None = None) -> None:
    """Write an ``xarray.Dataset`` atomically with the h5netcdf engine.

    ``kind`` (a results-file kind of :mod:`greenbench.results_contract`: ``crossval``,
    ``metrics``, ...; every workflow writer passes one): ``units`` and ``long_name`` are
    attached to every variable and coordinate from the contract table first, and a variable
    the table does not know, or a required one that is absent, is refused
    (:class:`~greenbench.results_contract.ResultsContractError` naming ``path``, the variable
    and where to add it) before anything is written. ``None``: written as given (tests,
    scratch files)."""
    if kind is not None:
        from greenbench.results_contract import apply_contract

        ds = apply_contract(ds, kind, path)
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


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a UTF-8 text file atomically (the HTML report)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_bytes(path: str | os.PathLike) -> bytes | None:
    """The bytes of a file, or ``None`` when it does not exist (a figure to embed)."""
    path = Path(path)
    return path.read_bytes() if path.exists() else None


def read_yaml(path: str | os.PathLike) -> dict:
    import yaml

    with open(path) as fh:
        return yaml.safe_load(fh) or {}
