"""The linear family: ``u = W f`` (Thm 3.2 of arXiv 2506.15199) and the deep linear model.

Both map ``f`` at all ``N + 1`` nodes to ``u`` at the ``N - 1`` interior nodes; the boundary
output is exactly zero. The (effective) weight ``W`` has shape ``(N - 1, N + 1)`` and its interior
columns divided by ``dx`` approximate the Green's function ``G(x_i, x_j)``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from greenbench.models.layers import check_positive_int, pad_boundary


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
    """

    kind: ClassVar[str] = "operator"
    default_dtype: ClassVar[str] = "float64"

    def __init__(self, N: int, init_scale: float = 0.0):
        super().__init__()
        check_positive_int(N, "N", "linear", minimum=2)
        scale = _check_scale(init_scale, "linear")
        w = torch.randn(N - 1, N + 1) * (scale / math.sqrt(N + 1)) if scale else \
            torch.zeros(N - 1, N + 1)
        self.weight = nn.Parameter(w)

    def effective_weight(self) -> torch.Tensor:
        """``W``, shape ``(N - 1, N + 1)``."""
        return self.weight

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``f (batch, N+1), x (N+1,) -> u (batch, N+1)`` with ``u[:, 0] = u[:, -1] = 0``."""
        return pad_boundary(f @ self.weight.T)


class DeepLinear(nn.Module):
    """``u_interior = W_L ... W_2 W_1 f``: a product of ``depth`` matrices, no nonlinearity.

    Parameters
    ----------
    N
        Grid resolution.
    depth
        Number of factors ``L >= 2``.
    width
        Inner dimension of every factor; default ``N + 1`` (no bottleneck).
    init_scale
        Factor ``W_l`` of shape ``(out, in)`` has i.i.d. ``Normal(0, (init_scale / sqrt(in))^2)``
        entries. A zero start is a saddle point of a deep linear net, so the default is 1.
    """

    kind: ClassVar[str] = "operator"
    default_dtype: ClassVar[str] = "float64"

    def __init__(self, N: int, depth: int = 3, width: int | None = None,
                 init_scale: float = 1.0):
        super().__init__()
        check_positive_int(N, "N", "deep_linear", minimum=2)
        check_positive_int(depth, "depth", "deep_linear", minimum=2)
        width = N + 1 if width is None else check_positive_int(width, "width", "deep_linear")
        scale = _check_scale(init_scale, "deep_linear")
        sizes = [N + 1] + [width] * (depth - 1) + [N - 1]
        self.factors = nn.ParameterList(
            nn.Parameter(torch.randn(b, a) * (scale / math.sqrt(a)))
            for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    def effective_weight(self) -> torch.Tensor:
        """The product ``W = W_L ... W_1``, shape ``(N - 1, N + 1)``."""
        w = self.factors[0]
        for factor in self.factors[1:]:
            w = factor @ w
        return w

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``f (batch, N+1), x (N+1,) -> u (batch, N+1)``, zero at the boundary."""
        h = f
        for factor in self.factors:
            h = h @ factor.T
        return pad_boundary(h)
