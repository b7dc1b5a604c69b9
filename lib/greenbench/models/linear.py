"""The linear family: ``u = W f`` (Thm 3.2 of arXiv 2506.15199) and the deep linear model.

Both map ``f`` at all ``N + 1`` nodes to ``u`` at the ``N - 1`` interior nodes; the boundary
output is exactly zero. The (effective) weight ``W`` has shape ``(N - 1, N + 1)`` and its interior
columns divided by ``dx`` approximate the Green's function ``G(x_i, x_j)``. With ``dim = 2`` (a 2D
operator, ``f (batch, N+1, N+1)``) the nodes are flattened in C order (``Operator.flat_nodes``) and
``W`` is ``((N - 1)^2, (N + 1)^2)``; its interior columns divided by ``dx^2`` approximate
``G(x_i, y_j; s_k, t_l)``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from greenbench.models.layers import check_dim, check_positive_int, flatten_nodes, pad_interior


def _check_scale(value: object, model: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{model}: parameter init_scale must be a number >= 0, got {value!r}")
    return float(value)


class Linear(nn.Module):
    """``u_interior = W f``, ``W`` of shape ``(N - 1, N + 1)``, no bias.

    Parameters
    ----------
    N
        Grid resolution (``N + 1`` nodes).
    init_scale
        ``W0`` has i.i.d. ``Normal(0, (init_scale / sqrt(N + 1))^2)`` entries; 0 (the default)
        gives the zero initialisation the paper's theory assumes. Gradient descent from ``W0``
        converges to ``W* = A U U^T + W0 (I - U U^T)`` (U: orthonormal basis of the training
        forcings); the ``exact`` optimizer computes that limit in closed form.
    dim
        Spatial dimension (set by the trainer from the operator's ``dim``): 2 flattens the grid.
    """

    kind: ClassVar[str] = "operator"
    default_dtype: ClassVar[str] = "float64"

    def __init__(self, N: int, init_scale: float = 0.0, dim: int = 1):
        super().__init__()
        check_positive_int(N, "N", "linear", minimum=2)
        scale = _check_scale(init_scale, "linear")
        self.N, self.dim = N, check_dim(dim, "linear")
        n_out, n_in = (N - 1) ** self.dim, (N + 1) ** self.dim
        w = torch.randn(n_out, n_in) * (scale / math.sqrt(n_in)) if scale else \
            torch.zeros(n_out, n_in)
        self.weight = nn.Parameter(w)

    def effective_weight(self) -> torch.Tensor:
        """``W``, shape ``((N - 1)^dim, (N + 1)^dim)``."""
        return self.weight

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``f (batch, N+1), x (N+1,) -> u (batch, N+1)`` with ``u[:, 0] = u[:, -1] = 0``;
        2D: ``f (batch, N+1, N+1), x (N+1, N+1, 2) -> u (batch, N+1, N+1)``, zero boundary."""
        return pad_interior(flatten_nodes(f, self.dim) @ self.weight.T, self.N, self.dim)


class DeepLinear(nn.Module):
    """``u_interior = W_L ... W_2 W_1 f``: a product of ``depth`` matrices, no nonlinearity.

    Parameters
    ----------
    N
        Grid resolution.
    depth
        Number of factors ``L >= 2``.
    width
        Inner dimension of every factor; default ``(N + 1)^dim`` (no bottleneck).
    init_scale
        Factor ``W_l`` of shape ``(out, in)`` has i.i.d. ``Normal(0, (init_scale / sqrt(in))^2)``
        entries. A zero start is a saddle point of a deep linear net, so the default is 1.
    dim
        Spatial dimension (set by the trainer from the operator): 2 flattens the grid.
    """

    kind: ClassVar[str] = "operator"
    default_dtype: ClassVar[str] = "float64"

    def __init__(self, N: int, depth: int = 3, width: int | None = None,
                 init_scale: float = 1.0, dim: int = 1):
        super().__init__()
        check_positive_int(N, "N", "deep_linear", minimum=2)
        check_positive_int(depth, "depth", "deep_linear", minimum=2)
        self.N, self.dim = N, check_dim(dim, "deep_linear")
        n_out, n_in = (N - 1) ** self.dim, (N + 1) ** self.dim
        width = n_in if width is None else check_positive_int(width, "width", "deep_linear")
        scale = _check_scale(init_scale, "deep_linear")
        sizes = [n_in] + [width] * (depth - 1) + [n_out]
        self.factors = nn.ParameterList(
            nn.Parameter(torch.randn(b, a) * (scale / math.sqrt(a)))
            for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    def effective_weight(self) -> torch.Tensor:
        """The product ``W = W_L ... W_1``, shape ``((N - 1)^dim, (N + 1)^dim)``."""
        w = self.factors[0]
        for factor in self.factors[1:]:
            w = factor @ w
        return w

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``f (batch, N+1), x (N+1,) -> u (batch, N+1)``, zero at the boundary (2D as
        :class:`Linear`)."""
        h = flatten_nodes(f, self.dim)
        for factor in self.factors:
            h = h @ factor.T
        return pad_interior(h, self.N, self.dim)
