"""Function spaces of the forcing ``f`` (DESIGN.md, "Conventions").

Twenty-five spaces, ``p = 1..8``, with i.i.d. coefficients:

* ``poly{p}``: ``f = sum_{i=0..p} c_i x^i``          (p + 1 coefficients)
* ``cos{p}``:  ``f = sum_{i=0..p} c_i cos(i pi x)``  (p + 1 coefficients)
* ``sin{p}``:  ``f = sum_{i=1..p} c_i sin(i pi x)``  (p coefficients)
* ``fem``:     piecewise-linear ``f`` with i.i.d. nodal values on the data grid (N + 1 coefficients)

Every sample is ``f = B c`` for the grid-sampled basis matrix ``B`` of :func:`basis_matrix`.

Two-dimensional spaces (2D operators, e.g. ``poisson2d``; docs/data_format.md, "2D datasets"):

* ``{family}{px}x{py}``: tensor products ``f(x, y) = sum_ij c_ij phi_i(x) psi_j(y)`` of the 1D
  bases of ``{family}{px}`` in x and ``{family}{py}`` in y; coefficients of shape
  ``(px', py')`` (``px' = px + 1`` for poly/cos, ``px`` for sin);
* ``fem`` of a 2D operator: piecewise-bilinear ``f`` with i.i.d. nodal values on the
  ``(N+1) x (N+1)`` grid (coefficients ``(N+1, N+1)``).

``fem`` is one name in both dimensions: its dimension is the operator's (``parse_space(name,
dim=...)``). Inclusion (:meth:`Space.contains`) is computed from the basis functions each space
spans (:meth:`Space.atoms`), never from the names.
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
_NAME_2D = re.compile(r"^(poly|cos|sin)(0|[1-9][0-9]*)x(0|[1-9][0-9]*)$")
DIMS: tuple[int, ...] = (1, 2)


@dataclass(frozen=True)
class Space:
    """A function space: a family and, except for ``fem``, its order ``p`` (1D) or orders
    ``(p, py)`` per direction (2D tensor product). ``dim`` is 2 for a tensor product and for
    the 2D ``fem`` space, 1 otherwise."""

    family: str
    p: int | None = None
    py: int | None = None
    dim: int = 1

    def __post_init__(self):
        if self.py is not None and self.dim != 2:
            object.__setattr__(self, "dim", 2)

    @property
    def name(self) -> str:
        if self.p is None:
            return self.family
        return f"{self.family}{self.p}" if self.dim == 1 else f"{self.family}{self.p}x{self.py}"

    @property
    def orders(self) -> tuple[int, ...]:
        """The order per direction: ``(p,)`` or ``(px, py)``; ``()`` for fem."""
        if self.p is None:
            return ()
        return (self.p,) if self.dim == 1 else (self.p, self.py)

    def factors(self) -> tuple[Space, ...]:
        """The 1D factor spaces of a tensor product (``(self,)`` for a smooth 1D space)."""
        if self.family == "fem":
            raise ValueError(f"space {self.name!r} ({self.dim}D fem) has no 1D factors")
        return tuple(Space(self.family, p) for p in self.orders)

    def coefficient_shape(self, n_nodes: int) -> tuple[int, ...]:
        """Shape of one sample's coefficients for ``n_nodes = N + 1`` nodes per direction:
        ``(m,)`` in 1D, ``(px', py')`` for a tensor product, ``(N+1,) * dim`` for fem."""
        if self.family == "fem":
            return (n_nodes,) * self.dim
        return tuple(p if self.family == "sin" else p + 1 for p in self.orders)

    def n_coefficients(self, n_nodes: int) -> int:
        """Number of coefficients for a grid of ``n_nodes = N + 1`` nodes (per direction)."""
        return int(np.prod(self.coefficient_shape(n_nodes)))

    def atoms(self) -> frozenset | None:
        """The basis functions the space spans, as hashable atoms (``None`` for fem: every
        nodal vector). A 1D atom is ``("1",)`` for the constant (``x^0 = cos(0 pi x)``, shared
        by poly and cos), ``("poly", i)``, ``("cos", i)``, ``("sin", i)``; a 2D atom is the pair
        of its factors' atoms. Distinct atoms are linearly independent functions, so span
        inclusion is atom inclusion."""
        if self.family == "fem":
            return None
        per_dir = [_atoms_1d(f.family, f.p) for f in self.factors()]
        if self.dim == 1:
            return frozenset(per_dir[0])
        return frozenset((a, b) for a in per_dir[0] for b in per_dir[1])

    def contains(self, other: Space) -> bool:
        """Exact inclusion of the continuous spaces, from the basis functions they span
        (:meth:`atoms`): nested within a family, componentwise ``(px', py') <= (px, py)`` in 2D;
        fem holds none of the smooth ones exactly, but every nodal vector is in ``fem``'s
        discrete span. Spaces of different dimensions contain nothing of each other."""
        if self.dim != other.dim:
            return False
        if self.family == "fem":
            return True
        if other.family == "fem":
            return False
        return other.atoms() <= self.atoms()

    def overlaps(self, other: Space) -> bool:
        """Whether the two spans share a nonzero function (fem overlaps everything of its
        dimension; poly and cos share the constant)."""
        if self.dim != other.dim:
            return False
        if "fem" in (self.family, other.family):
            return True
        return bool(self.atoms() & other.atoms())


def _atoms_1d(family: str, p: int) -> list[tuple]:
    if family == "sin":
        return [("sin", i) for i in range(1, p + 1)]
    return [("1",)] + [(family, i) for i in range(1, p + 1)]


def _allowed(dim: int | None) -> str:
    one = f"poly{P_MIN}..poly{P_MAX}, cos{P_MIN}..cos{P_MAX}, sin{P_MIN}..sin{P_MAX}, fem"
    two = (f"{{poly|cos|sin}}{{px}}x{{py}} with px, py in {P_MIN}..{P_MAX} (e.g. sin2x3), fem")
    if dim == 1:
        return f"allowed for a 1D operator: {one}"
    if dim == 2:
        return f"allowed for a 2D operator: {two}"
    return f"allowed: {one} (1D); {two} (2D)"


def parse_space(name: str, dim: int | None = None) -> Space:
    """Parse ``'poly3'``, ``'sin8'``, ``'sin2x3'``, ``'fem'``; raise ``ValueError`` naming the
    allowed values. ``dim`` (the operator's dimension, 1 or 2) makes a space of the other
    dimension an error and gives ``fem`` its dimension; ``None``: inferred from the name
    (``fem`` is then 1D)."""
    if dim is not None and dim not in DIMS:
        raise ValueError(f"space dimension must be one of {DIMS}, got {dim!r}")
    if name == "fem":
        return Space("fem", dim=dim or 1)
    m1 = _NAME.match(name) if isinstance(name, str) else None
    m2 = _NAME_2D.match(name) if isinstance(name, str) else None
    if m1 is None and m2 is None:
        raise ValueError(f"unknown function space {name!r}; {_allowed(dim)}")
    m = m1 or m2
    orders = [int(g) for g in m.groups()[1:]]
    bad = [o for o in orders if not P_MIN <= o <= P_MAX]
    if bad:
        fam = m.group(1)
        per = "order" if m1 else "order in each direction"
        raise ValueError(f"{name} is not a function space: the {fam} family has {per} "
                         f"p {P_MIN}..{P_MAX}; {_allowed(dim)}")
    got = 1 if m1 else 2
    if dim is not None and got != dim:
        raise ValueError(f"space {name!r} is {got}D but the operator is {dim}D; {_allowed(dim)}")
    if m1:
        return Space(m.group(1), orders[0])
    return Space(m.group(1), orders[0], orders[1])


def is_space_name(name: str, dim: int | None = None) -> bool:
    """Whether ``name`` parses as a space (of dimension ``dim`` when given)."""
    try:
        parse_space(name, dim)
    except (ValueError, TypeError):
        return False
    return True


def space_names(spaces_config: dict, dim: int = 1) -> list[str]:
    """Expand the config's ``spaces`` mapping ``{poly: [p...], cos: [...], sin: [...], fem: bool}``
    into names in the canonical order (poly, cos, sin by increasing p, then fem).

    ``dim = 2`` (a 2D operator): each family's list is the set of orders per direction, and the
    names are the tensor products ``{family}{px}x{py}`` for every pair, ``px``-major (``poly1x1,
    poly1x2, ..., poly3x3``): the order that shows the product structure in a heatmap. An entry
    may also be an explicit pair ``[px, py]``."""
    if dim not in DIMS:
        raise ValueError(f"space dimension must be one of {DIMS}, got {dim!r}")
    names = []
    for fam in FAMILIES:
        entries = spaces_config.get(fam, [])
        if dim == 1:
            for p in sorted(set(entries)):
                names.append(parse_space(f"{fam}{p}", dim).name)
            continue
        pairs = [tuple(e) for e in entries if isinstance(e, (list, tuple))]
        single = sorted({e for e in entries if not isinstance(e, (list, tuple))})
        pairs += [(a, b) for a in single for b in single]
        for a, b in sorted(set(pairs)):
            names.append(parse_space(f"{fam}{a}x{b}", dim).name)
    if spaces_config.get("fem", False):
        names.append("fem")
    return names


def names_dim(names) -> int:
    """The dimension of a list of space names: 2 if one of them is a tensor product
    (``{family}{px}x{py}``), else 1 (``fem`` alone has no dimension of its own: 1)."""
    return 2 if any(isinstance(n, str) and _NAME_2D.match(n) for n in names) \
        or any(isinstance(n, Space) and n.dim == 2 for n in names) else 1


def relation_masks(train_spaces, test_spaces, dim: int | None = None) -> dict[str, np.ndarray]:
    """Boolean ``(n_train, n_test)`` masks from the space definitions (not the names):
    ``in_span`` (:meth:`Space.contains`), ``nested`` (in span, same non-fem family, not the same
    space: componentwise ``(px', py') <= (px, py)`` in 2D), ``diagonal`` (the same space),
    ``cross_family`` (different families; fem is its own family), ``overlap``
    (:meth:`Space.overlaps`). ``dim`` None: :func:`names_dim` of all the names (so that
    ``fem`` among 2D spaces is the 2D fem)."""
    if dim is None:
        dim = names_dim([*train_spaces, *test_spaces])
    tr = [parse_space(s, dim) if isinstance(s, str) else s for s in train_spaces]
    te = [parse_space(s, dim) if isinstance(s, str) else s for s in test_spaces]
    out = {k: np.zeros((len(tr), len(te)), dtype=bool)
           for k in ("in_span", "nested", "diagonal", "cross_family", "overlap")}
    for i, a in enumerate(tr):
        for j, b in enumerate(te):
            inside = a.contains(b)
            out["in_span"][i, j] = inside
            out["diagonal"][i, j] = a == b
            out["nested"][i, j] = (inside and a.family == b.family and a.family != "fem"
                                   and a != b)
            out["cross_family"][i, j] = a.family != b.family
            out["overlap"][i, j] = a.overlaps(b)
    return out


def basis_matrix_1d(space: Space, x: np.ndarray) -> np.ndarray:
    """``(len(x), m)`` basis of a smooth 1D space (the factor of a tensor product)."""
    x = np.asarray(x, dtype=np.float64)
    if space.family == "poly":
        return x[:, None] ** np.arange(space.p + 1)[None, :]
    if space.family == "cos":
        return np.cos(np.pi * x[:, None] * np.arange(space.p + 1)[None, :])
    return np.sin(np.pi * x[:, None] * np.arange(1, space.p + 1)[None, :])


def evaluate(space: Space | str, coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Forcings ``f`` on the grid from coefficients: ``(n, len(x))`` in 1D, ``(n, len(x),
    len(x))`` indexed ``[sample, i_x, i_y]`` for a 2D space (fem: the coefficients are the
    nodal values)."""
    space = parse_space(space) if isinstance(space, str) else space
    c = np.asarray(coefficients, dtype=np.float64)
    if space.family == "fem":
        return c.copy()
    if space.dim == 1:
        return c @ basis_matrix(space, x).T
    Bx, By = (basis_matrix_1d(s, x) for s in space.factors())
    return np.einsum("nab,ia,jb->nij", c, Bx, By, optimize=True)


def basis_matrix(space: Space | str, x: np.ndarray) -> np.ndarray:
    """Grid-sampled basis ``B`` of shape ``(len(x), n_coefficients)``: ``f = B @ c``.

    2D: over the flattened grid and flattened coefficients (C order, ``[i_x, i_y]`` and
    ``[a, b]``), ``B = kron(B_x, B_y)`` of shape ``(len(x)^2, px' py')`` (fem: the identity)."""
    space = parse_space(space) if isinstance(space, str) else space
    x = np.asarray(x, dtype=np.float64)
    if space.family == "fem":
        return np.eye(x.size**space.dim)
    if space.dim == 2:
        Bx, By = (basis_matrix_1d(s, x) for s in space.factors())
        return np.kron(Bx, By)
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
    ``O(n N^2)`` cost).

    2D spaces: coefficients ``(n, px', py')`` (fem: ``(n, N+1, N+1)``), drawn in C order from
    the same stream (the first ``n`` samples of a larger draw are the draw of ``n``), and
    ``f (n, N+1, N+1)`` (:func:`evaluate`)."""
    space = parse_space(space) if isinstance(space, str) else space
    x = np.asarray(x, dtype=np.float64)
    if space.dim == 2:
        shape = space.coefficient_shape(x.size)
        c = sample_coefficients(n_samples, int(np.prod(shape)), rng=rng,
                                distribution=distribution, scale=scale)
        c = c.reshape((n_samples,) + shape)
        return c, evaluate(space, c, x)
    if space.family == "fem":
        c = sample_coefficients(n_samples, x.size, rng=rng, distribution=distribution,
                                scale=scale)
        return c, c.copy()
    B = basis_matrix(space, x)
    c = sample_coefficients(n_samples, B.shape[1], rng=rng, distribution=distribution, scale=scale)
    return c, c @ B.T
