"""Seeds derived from names, never from the order of execution.

Every random stream in greenbench comes from ``derive_seed(master, *names)``: a SHA-256 of the
master seed and the names of the thing being made (pde, space, resolution, model, ...). Any one
dataset or training task can therefore be regenerated alone, bit for bit.
"""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(master: int, *names: object) -> int:
    """A 63-bit seed from a master seed and a sequence of names.

    >>> derive_seed(0, "poisson1d", "sin3", 32) == derive_seed(0, "poisson1d", "sin3", 32)
    True
    """
    text = "\x1f".join([str(int(master)), *(str(n) for n in names)])
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def rng_for(master: int, *names: object) -> np.random.Generator:
    """A numpy Generator seeded by :func:`derive_seed`."""
    return np.random.Generator(np.random.PCG64(derive_seed(master, *names)))


def dataset_seed_names(pde: str, space: str, N: int) -> tuple[object, ...]:
    """The names that seed one dataset's coefficients: ``(pde, space)`` for the smooth spaces
    (poly, cos, sin), so that sample ``i`` is the same function at every resolution ``N`` and
    a change of ``N`` changes only the discretization; ``(pde, "fem", N)`` for ``fem``, whose
    functions are nodal values on the grid itself (docs/decisions.md, "Same functions at every
    resolution")."""
    return (pde, space, int(N)) if space == "fem" else (pde, space)


def dataset_seed(master: int, pde: str, space: str, N: int) -> int:
    """The ``seed`` attribute of a dataset: :func:`derive_seed` of its
    :func:`dataset_seed_names`."""
    return derive_seed(master, *dataset_seed_names(pde, space, N))


def noise_seed_names(pde: str, space: str, N: int) -> tuple[object, ...]:
    """The names of a dataset's measurement-noise stream: ``(pde, space, N, "noise")`` for every
    space (noise lives on the nodes of one grid, so it depends on ``N`` even where the functions
    do not)."""
    return (pde, space, int(N), "noise")


def noise_seed(master: int, pde: str, space: str, N: int) -> int:
    """The ``noise_seed`` attribute of a dataset: :func:`derive_seed` of
    :func:`noise_seed_names`."""
    return derive_seed(master, *noise_seed_names(pde, space, N))
