"""Dataset generation: sample forcings of one function space, solve, split.

Arrays in, arrays out; the only file I/O is in :mod:`greenbench.io`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from greenbench.io import FORMAT_VERSION, Dataset
from greenbench.operators import OPERATORS, Operator, get_operator
from greenbench.provenance import dataset_provenance
from greenbench.seeding import dataset_seed, dataset_seed_names, noise_seed, rng_for
from greenbench.spaces import DISTRIBUTIONS, parse_space, sample


@dataclass(frozen=True)
class DataSpec:
    """Everything that determines one dataset. Built from the config through ``params:``."""

    pde: str
    space: str
    N: int
    n_samples: int
    master_seed: int = 0
    k: float = 1.0
    distribution: str = "uniform"
    scale: float = 1.0
    test_fraction: float = 0.2
    fem_mass: str = "consistent"
    # the operator's coefficients other than k, e.g. {"c": 10.0} (a mapping is kept sorted)
    coefficients: Any = ()

    def __post_init__(self):
        if self.pde not in OPERATORS:
            raise ValueError(f"unknown pde {self.pde!r}; allowed: {tuple(OPERATORS)}")
        extra = (self.coefficients.items() if isinstance(self.coefficients, Mapping)
                 else self.coefficients)
        object.__setattr__(self, "coefficients",
                           tuple(sorted((str(c), float(v)) for c, v in extra)))
        parse_space(self.space, dim=OPERATORS[self.pde].dim)  # a 1D space for a 2D pde: error
        if self.N < 4:
            raise ValueError(f"resolution N must be >= 4, got {self.N}")
        if self.n_samples < 2:
            raise ValueError(f"n_samples must be >= 2, got {self.n_samples}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if not self.k > 0:
            raise ValueError(f"material coefficient k must be > 0, got {self.k}")
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"unknown coefficient distribution {self.distribution!r}; "
                             f"allowed: {DISTRIBUTIONS}")
        if not self.scale > 0:
            raise ValueError(f"coefficient scale must be > 0, got {self.scale}")
        self.operator.check_mass(self.fem_mass)

    @property
    def operator(self) -> Operator:
        """The operator with this dataset's coefficients bound."""
        return get_operator(self.pde, k=self.k, **dict(self.coefficients))

    @property
    def seed(self) -> int:
        """Seed of the coefficients (:func:`greenbench.seeding.dataset_seed`): independent of
        ``N`` for poly/cos/sin, so every resolution samples the same functions."""
        return dataset_seed(self.master_seed, self.pde, self.space, self.N)


def split_sizes(n_samples: int, test_fraction: float) -> tuple[int, int]:
    """``(n_train, n_test)`` with at least one sample in each."""
    n_test = min(max(1, int(round(n_samples * test_fraction))), n_samples - 1)
    return n_samples - n_test, n_test


def noise_draw(seed: int, shape: tuple[int, int]) -> np.ndarray:
    """The one standard-normal draw of a dataset's measurement noise, ``shape = (n, N+1)``
    rows of the training split in order, from the stream seeded by the dataset's
    ``noise_seed`` attribute (:func:`greenbench.seeding.noise_seed`, names
    ``(pde, space, N, "noise")``). Rows are filled in order, so the first ``n`` rows of a
    larger draw are the draw of ``n`` rows. Every noise level scales this same draw."""
    return np.random.Generator(np.random.PCG64(int(seed))).standard_normal(shape)


def noise_sigma(level: float, u_train: np.ndarray) -> float:
    """The absolute standard deviation of noise level ``level``: ``level`` times the RMS of the
    training split's ``u`` over every sample and every node (docs/decisions.md, "Measurement
    noise")."""
    u_train = np.asarray(u_train, dtype=np.float64)
    return float(level) * float(np.sqrt(np.mean(u_train * u_train)))


def noisy_targets(u_train: np.ndarray, level: float, seed: int) -> np.ndarray:
    """The training targets at noise level ``level``: ``u_train + sigma Z`` with
    ``sigma = noise_sigma(level, u_train)`` and ``Z = noise_draw(seed, u_train.shape)``, on all
    ``N + 1`` nodes (boundary nodes too: a measurement). Level 0 returns ``u_train`` itself,
    untouched (results at level 0 are those of exact data, bit for bit)."""
    if level == 0:
        return u_train
    if not (np.isfinite(level) and level > 0):
        raise ValueError(f"noise level must be a finite number >= 0, got {level!r}")
    u_train = np.asarray(u_train, dtype=np.float64)
    return u_train + noise_sigma(level, u_train) * noise_draw(seed, u_train.shape)


def generate(spec: DataSpec, config_hash: str = "") -> Dataset:
    """Generate one dataset. Deterministic in ``spec`` alone (seed from the names, not the order).

    For poly/cos/sin the coefficients are drawn from a stream that does not depend on ``N``
    (:func:`greenbench.seeding.dataset_seed_names`): sample ``i`` is the same function at every
    resolution. The split is the first ``n_train`` samples for training, the rest for test:
    samples are i.i.d., so this is a random split, and it stays the same when ``n_samples``
    grows.

    ``config_hash`` is the hash of the study's data keys (:func:`greenbench.provenance.data_hash`).
    The attributes hold no clock time, so regenerating a dataset with the same code gives a
    byte-identical file."""
    op = spec.operator
    space = parse_space(spec.space, dim=op.dim)
    x = op.grid(spec.N)
    rng = rng_for(spec.master_seed, *dataset_seed_names(spec.pde, spec.space, spec.N))
    coefficients, f = sample(space, x, spec.n_samples, rng=rng,
                             distribution=spec.distribution, scale=spec.scale)
    u = op.solve(space, coefficients, f, x, mass=spec.fem_mass)
    n_train, n_test = split_sizes(spec.n_samples, spec.test_fraction)
    attrs = {
        "format_version": FORMAT_VERSION, "pde": spec.pde, **op.coefficients,
        "space": space.name, "family": space.family, "p": -1 if space.p is None else space.p,
        "N": spec.N, "n_samples": spec.n_samples, "n_train": n_train, "n_test": n_test,
        "seed": spec.seed, "master_seed": spec.master_seed, "distribution": spec.distribution,
        "scale": float(spec.scale),
        "noise_seed": noise_seed(spec.master_seed, spec.pde, spec.space, spec.N),
        "test_fraction": float(spec.test_fraction), "fem_mass": spec.fem_mass,
        **dataset_provenance(config_hash),
    }
    return Dataset(x=x, f=f, u=u, coefficients=coefficients,
                   train_index=np.arange(n_train, dtype=np.int64),
                   test_index=np.arange(n_train, spec.n_samples, dtype=np.int64), attrs=attrs)
