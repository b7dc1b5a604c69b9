"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def make_dataset(tmp_path: Path):
    """Factory: ``make_dataset(space="sin3", N=8, n_samples=10, **DataSpec_fields) -> Path``.

    Generates a tiny dataset with greenbench.data and writes it under ``tmp_path`` at
    ``data/{pde}/{space}/N{N}.h5`` (tests never depend on the study's data/)."""
    from greenbench.data import DataSpec, generate
    from greenbench.io import write_dataset

    def make(space: str = "sin3", N: int = 8, n_samples: int = 10, **fields) -> Path:
        spec = DataSpec(pde=fields.pop("pde", "poisson1d"), space=space, N=N,
                        n_samples=n_samples, **fields)
        path = tmp_path / "data" / spec.pde / space / f"N{N}.h5"
        write_dataset(path, generate(spec))
        return path

    return make


@pytest.fixture(scope="module")
def torch_one_thread():
    """Tiny tensors: extra threads only add contention on a shared CI machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
