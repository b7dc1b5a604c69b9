"""Function spaces of the forcing ``f`` (DESIGN.md, "Conventions").

Twenty-five spaces, ``p = 1..8``, with i.i.d. coefficients:

* ``poly{p}``: ``f = sum_{i=0..p} c_i x^i``          (p + 1 coefficients)
* ``cos{p}``:  ``f = sum_{i=0..p} c_i cos(i pi x)``  (p + 1 coefficients)
* ``sin{p}``:  ``f = sum_{i=1..p} c_i sin(i pi x)``  (p coefficients)
* ``fem``:     piecewise-linear ``f`` with i.i.d. nodal values on the data grid (N + 1 coefficients)

Every sample is ``f = B c`` for the grid-sampled basis matrix ``B`` of :func:`basis_matrix`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

FAMILIES: tuple[str, ...] = ("poly", "cos", "sin")
P_MIN, P_MAX = 1, 8
DISTRIBUTIONS: tuple[str, ...] = ("uniform", "normal")
ALL_SPACES: tuple[str, ...] = tuple(
    f"{fam}{p}" for fam in FAMILIES for p in range(P_MIN, P_MAX + 1)
) + ("fem",)

_NAME = re.compile(r"^(poly|cos|sin)(0|[1-9][0-9]*)$")


@dataclass(frozen=True)
class Space:
    """A function space: a family and, except for ``fem``, its order ``p``."""

    family: str
    p: int | None = None

    @property
    def name(self) -> str:
        return self.family if self.p is None else f"{self.family}{self.p}"

    def n_coefficients(self, n_nodes: int) -> int:
        """Number of coefficients for a grid of ``n_nodes = N + 1`` nodes."""
        if self.family == "fem":
            return n_nodes
        if self.family == "sin":
            return self.p
        return self.p + 1

    def contains(self, other: Space) -> bool:
        """Exact inclusion of the continuous spaces (nested within a family; fem holds none
        of the smooth ones exactly, but every nodal vector is in ``fem``'s discrete span)."""
        if self.family == "fem":
            return True
        if other.family == "fem":
            return False
        if self.family == other.family:
            return other.p <= self.p
        # cos_0 = 1 = x^0: poly{p} contains no cos{q >= 1}, and vice versa; sin never overlaps.
        return False


def parse_space(name: str) -> Space:
    """Parse ``'poly3'``, ``'sin8'``, ``'fem'``; raise ``ValueError`` naming the allowed values."""
    if name == "fem":
        return Space("fem")
    m = _NAME.match(name) if isinstance(name, str) else None
    if m is not None and not P_MIN <= int(m.group(2)) <= P_MAX:
        raise ValueError(
            f"{name} is not a function space: the {m.group(1)} family has p {P_MIN}..{P_MAX} "
            f"({m.group(1)}{P_MIN}..{m.group(1)}{P_MAX})"
        )
    if m is None:
        raise ValueError(
            f"unknown function space {name!r}; allowed: poly1..poly8, cos1..cos8, "
            f"sin1..sin8, fem"
        )
    return Space(m.group(1), int(m.group(2)))


def space_names(spaces_config: dict) -> list[str]:
    """Expand the config's ``spaces`` mapping ``{poly: [p...], cos: [...], sin: [...], fem: bool}``
    into names in the canonical order (poly, cos, sin by increasing p, then fem)."""
    names = []
    for fam in FAMILIES:
        for p in sorted(set(spaces_config.get(fam, []))):
            names.append(parse_space(f"{fam}{p}").name)
    if spaces_config.get("fem", False):
        names.append("fem")
    return names


def basis_matrix(space: Space | str, x: np.ndarray) -> np.ndarray:
    """Grid-sampled basis ``B`` of shape ``(len(x), n_coefficients)``: ``f = B @ c``."""
    space = parse_space(space) if isinstance(space, str) else space
    x = np.asarray(x, dtype=np.float64)
    if space.family == "fem":
        return np.eye(x.size)
    if space.family == "poly":
        return x[:, None] ** np.arange(space.p + 1)[None, :]
    if space.family == "cos":
        return np.cos(np.pi * x[:, None] * np.arange(space.p + 1)[None, :])
    return np.sin(np.pi * x[:, None] * np.arange(1, space.p + 1)[None, :])


def coefficient_variance(distribution: str, scale: float) -> float:
    """Variance of one coefficient: ``scale^2 / 3`` for U[-scale, scale], ``scale^2`` for
    N(0, scale^2)."""
    if distribution == "uniform":
        return scale**2 / 3.0
    if distribution == "normal":
        return scale**2
    raise ValueError(f"unknown coefficient distribution {distribution!r}; allowed: {DISTRIBUTIONS}")


def sample_coefficients(
    n_samples: int, n_coef: int, *, rng: np.random.Generator, distribution: str = "uniform",
    scale: float = 1.0,
) -> np.ndarray:
    """I.i.d. zero-mean coefficients of shape ``(n_samples, n_coef)``, float64.

    ``uniform``: U[-scale, scale]; ``normal``: N(0, scale^2). ``scale`` must be > 0."""
    if not scale > 0:
        raise ValueError(f"coefficient scale must be > 0, got {scale!r}")
    if n_samples < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    if distribution == "uniform":
        return rng.uniform(-scale, scale, size=(n_samples, n_coef))
    if distribution == "normal":
        return rng.normal(0.0, scale, size=(n_samples, n_coef))
    raise ValueError(f"unknown coefficient distribution {distribution!r}; allowed: {DISTRIBUTIONS}")


def sample(
    space: Space | str, x: np.ndarray, n_samples: int, *, rng: np.random.Generator,
    distribution: str = "uniform", scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_samples`` forcings. Returns ``(coefficients (n, n_coef), f (n, len(x)))``.

    Vectorized: one matrix product ``f = c @ B.T``, no loop over samples. For ``fem``,
    ``B = I`` and ``f`` is a copy of ``c`` (bit-identical to the product, without its
    ``O(n N^2)`` cost)."""
    space = parse_space(space) if isinstance(space, str) else space
    x = np.asarray(x, dtype=np.float64)
    if space.family == "fem":
        c = sample_coefficients(n_samples, x.size, rng=rng, distribution=distribution,
                                scale=scale)
        return c, c.copy()
    B = basis_matrix(space, x)
    c = sample_coefficients(n_samples, B.shape[1], rng=rng, distribution=distribution, scale=scale)
    return c, c @ B.T
