"""A user model for a 2D operator (poisson2d): a small 2D convolutional network mapping f to u.

The model protocol is the same as in 1D (examples/my_model.py), with 2D shapes:

* constructed as ``Class(N=N, **params)``;
* ``forward(f, x)`` maps ``f`` of shape ``(batch, N+1, N+1)`` (indexed ``[sample, i_x, i_y]``,
  the datasets' layout) and the node coordinates ``x`` of shape ``(N+1, N+1, 2)`` with
  ``x[i, j] = (x_i, y_j)`` to ``u`` of shape ``(batch, N+1, N+1)``.

A model returning another shape is refused at its first forward, naming the model, the shape it
returned and the expected ``(batch, N+1, N+1)``. A model that takes a ``dim`` constructor
argument is told the operator's dimension (the built-in models do); this one reads it from the
shapes. Config entry (config/poisson2d.yaml), with the repository root on ``PYTHONPATH``::

    models:
      convnet2d:
        class: examples.my_model_2d:ConvNet2d
        params: {channels: 8, layers: 3}
        train: {optimizer: adam, lr: 3.0e-3, steps: 300, vectorize: true}
"""

from __future__ import annotations

import torch
from torch import nn


class ConvNet2d(nn.Module):
    """``u = x (1 - x) y (1 - y) * CNN([f, x, y])``: ``layers`` same-padded 3x3 convolutions.

    Parameters
    ----------
    N
        Grid resolution (unused: the network works at any resolution).
    channels
        Hidden channels.
    layers
        Number of convolutions (>= 2).
    """

    def __init__(self, N: int, channels: int = 8, layers: int = 3):
        super().__init__()
        if layers < 2:
            raise ValueError(f"ConvNet2d: need layers >= 2, got layers={layers}")
        sizes = [3] + [channels] * (layers - 1) + [1]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1)
                                   for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        coords = torch.movedim(x, -1, 0)  # (2, N+1, N+1)
        h = torch.cat([f[:, None], coords[None].expand(f.shape[0], -1, -1, -1)], dim=1)
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if i < len(self.convs) - 1:
                h = torch.tanh(h)
        bubble = (coords * (1.0 - coords)).prod(dim=0)  # zero on the boundary
        return bubble * h[:, 0]
