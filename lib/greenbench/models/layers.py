"""Building blocks shared by the model zoo: activations by name and a plain feed-forward net.

Everything here is an ordinary ``torch.nn.Module`` made of ``nn.Linear`` layers, so a stack of
independently initialised copies can be trained as one ensemble with ``torch.func.vmap``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

Activation = Callable[[torch.Tensor], torch.Tensor]

ACTIVATIONS: dict[str, Activation] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "gelu": F.gelu,
    "silu": F.silu,
    "sigmoid": torch.sigmoid,
    "softplus": F.softplus,
    "sin": torch.sin,
}
"""Activations selectable by name in the config (``params: {activation: ...}``)."""

SMOOTH_ACTIVATIONS: tuple[str, ...] = ("tanh", "gelu", "silu", "sigmoid", "softplus", "sin")
"""Activations with a non-zero second derivative, usable where ``u_xx`` is taken by autograd."""


def activation(name: str, *, smooth: bool = False, model: str = "") -> Activation:
    """Look up an activation by name; raise ``ValueError`` listing the allowed names.

    With ``smooth`` only activations with a useful second derivative are allowed (a ReLU net
    has ``u_xx = 0`` almost everywhere, so a PDE residual could not train it)."""
    allowed = SMOOTH_ACTIVATIONS if smooth else tuple(ACTIVATIONS)
    if name not in allowed:
        who = f"{model}: " if model else ""
        raise ValueError(f"{who}unknown activation {name!r}; allowed: {list(allowed)}")
    return ACTIVATIONS[name]


def check_positive_int(value: object, name: str, model: str, minimum: int = 1) -> int:
    """Validate an integer hyperparameter, naming the model and the parameter."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{model}: parameter {name} must be an integer >= {minimum}, "
                         f"got {value!r}")
    return value


class FeedForward(nn.Module):
    """``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` with ``act`` between layers.

    Parameters
    ----------
    sizes
        Layer widths, input first; at least two entries.
    act
        Activation applied after every hidden layer (and after the last one when
        ``last_activation``).
    last_activation
        Apply ``act`` to the output too (DeepONet trunk nets do, following DeepXDE).

    Layers are ``nn.Linear`` with PyTorch's default (Kaiming-uniform) initialisation.
    """

    def __init__(self, sizes: Sequence[int], act: Activation, last_activation: bool = False):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"FeedForward needs at least two sizes, got {list(sizes)}")
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:],
                                                                    strict=True))
        self.act = act
        self.last_activation = last_activation

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``h (..., sizes[0]) -> (..., sizes[-1])``."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < last or self.last_activation:
                h = self.act(h)
        return h


def pad_boundary(u_interior: torch.Tensor) -> torch.Tensor:
    """Append the zero boundary values: ``(..., N-1) -> (..., N+1)``."""
    return F.pad(u_interior, (1, 1))


DIMS: tuple[int, ...] = (1, 2)
"""Spatial dimensions the built-in models support (``Operator.dim``)."""


def check_dim(value: object, model: str) -> int:
    """Validate the spatial dimension ``dim`` (1 or 2), naming the model."""
    if isinstance(value, bool) or value not in DIMS:
        raise ValueError(f"{model}: parameter dim must be one of {list(DIMS)}, got {value!r}")
    return int(value)


def flatten_nodes(f: torch.Tensor, dim: int) -> torch.Tensor:
    """``(..., N+1[, N+1]) -> (..., (N+1)^dim)``: the trailing ``dim`` grid axes flattened in C
    order (``[i_x, i_y] -> i_x (N+1) + i_y``, as ``Operator.flat_nodes``); a no-op in 1D."""
    if dim == 1:
        return f
    return f.reshape(f.shape[: f.dim() - dim] + (-1,))


def pad_interior(u_interior: torch.Tensor, N: int, dim: int) -> torch.Tensor:
    """Flattened interior values ``(..., (N-1)^dim)`` -> ``(..., N+1[, N+1])`` with a zero
    boundary (1D: :func:`pad_boundary`)."""
    if dim == 1:
        return pad_boundary(u_interior)
    u = u_interior.reshape(u_interior.shape[:-1] + (N - 1,) * dim)
    return F.pad(u, (1, 1) * dim)


def grid_points(x, dim: int):
    """The ``x`` an operator model receives: the 1D nodes ``(N+1,)`` in 1D; in 2D the node
    coordinates ``(N+1, N+1, 2)`` with ``x[i, j] = (x_i, x_j)`` (``[i_x, i_y]`` indexing, the
    datasets' layout). Accepts numpy arrays or tensors and returns the same kind."""
    if dim == 1:
        return x
    if isinstance(x, torch.Tensor):
        return torch.stack(torch.meshgrid(x, x, indexing="ij"), dim=-1)
    import numpy as np

    x = np.asarray(x)
    return np.stack(np.meshgrid(x, x, indexing="ij"), axis=-1)
