"""A user model that trains slowly on demand, for the kill -9 test of tests/test_orphans.py.

``u = x (1 - x) * (f @ W)``; every ``forward`` sleeps ``$GREENBENCH_TEST_FORWARD_S`` seconds
(default 0), so a training job is still running when the test kills Snakemake, and the rerun,
started without the variable, finishes at once. Config entry (``tests/`` on ``PYTHONPATH``)::

    slow: {class: orphan_model:SlowLinear, train: {optimizer: adam, steps: 200}}
"""

from __future__ import annotations

import os
import time

import torch
from torch import nn


class SlowLinear(nn.Module):
    """A linear map of ``f`` with zero boundary values; ``forward`` sleeps when asked to.

    Parameters
    ----------
    N
        Grid intervals.
    """

    def __init__(self, N: int):
        super().__init__()
        self.W = nn.Parameter(torch.zeros(N + 1, N + 1))

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        time.sleep(float(os.environ.get("GREENBENCH_TEST_FORWARD_S", "0")))
        return x * (1.0 - x) * (f @ self.W)
