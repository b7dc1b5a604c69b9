"""A user model for greenbench: a small 1D convolutional network mapping f to u.

Any ``torch.nn.Module`` plugs into the benchmark when

* it is constructed as ``Class(N=N, **params)`` (``N`` = number of grid intervals; ``params``
  from the config entry), and
* ``forward(f, x)`` maps ``f`` of shape ``(batch, N+1)`` and the grid ``x`` of shape ``(N+1,)``
  to ``u`` of shape ``(batch, N+1)``.

Optionally it may define ``extra_loss(f, x, operator) -> scalar tensor``, added to the data MSE
during training (``operator``: the dataset's ``greenbench.operators.Operator``, e.g.
``operator.coefficients["k"]``), e.g. for a physics term; with ``train.normalize``
(the default) it must accept the keywords ``f_scale`` and ``u_scale`` (docs/models.md).

Config entry (config/config.yaml), with the repository root on ``PYTHONPATH``::

    models:
      convnet:
        class: examples.my_model:ConvNet
        params: {channels: 16, layers: 3, kernel_size: 5}
        train: {optimizer: adam, lr: 3.0e-3, steps: 300, vectorize: true}
"""

from __future__ import annotations

import torch
from torch import nn


class ConvNet(nn.Module):
    """``u = x (1 - x) * CNN([f, x])``: ``layers`` same-padded convolutions with tanh.

    Parameters
    ----------
    N
        Grid resolution (unused by the architecture, which works at any resolution).
    channels
        Hidden channels.
    layers
        Number of convolutions (>= 2).
    kernel_size
        Odd kernel width.
    """

    def __init__(self, N: int, channels: int = 16, layers: int = 3, kernel_size: int = 5):
        super().__init__()
        if layers < 2 or kernel_size % 2 == 0:
            raise ValueError(f"ConvNet: need layers >= 2 and an odd kernel_size, got "
                             f"layers={layers}, kernel_size={kernel_size}")
        sizes = [2] + [channels] * (layers - 1) + [1]
        self.convs = nn.ModuleList(nn.Conv1d(a, b, kernel_size, padding=kernel_size // 2)
                                   for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = torch.stack([f, x.expand_as(f)], dim=1)  # (batch, 2, N+1)
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if i < len(self.convs) - 1:
                h = torch.tanh(h)
        return x * (1.0 - x) * h[:, 0]  # zero boundary values by construction
