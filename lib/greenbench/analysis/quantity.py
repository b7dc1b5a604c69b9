"""Data quantity against a missing span: test error as a function of the number of samples.

The paper's claim: more data of the same function space does not fix what lies outside its
span. A model is trained on the first ``n`` samples of one training split for each ``n`` in
``sample_sizes`` and evaluated on the test split of every test space. The linear model uses the
closed-form gradient-descent limit (:func:`greenbench.theory.w_star`, zero initialization); a
neural model is trained through a callable (the stage adapter calls ``greenbench.train``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from greenbench import theory
from greenbench.analysis.crossval import Predictor, TestBank, evaluate

Trainer = Callable[[np.ndarray, np.ndarray], Predictor]
"""``(f (n, N+1), u (n, N+1)) -> predictor``: trains a model on ``n`` samples."""


def check_sizes(sizes: Sequence[int], n_train: int) -> list[int]:
    """Sorted unique sizes; a size above the training split raises ``ValueError``."""
    sizes = sorted({int(n) for n in sizes})
    if not sizes or sizes[0] < 1:
        raise ValueError(f"analysis.sample_sizes must be positive integers, got {sizes}")
    if sizes[-1] > n_train:
        raise ValueError(f"analysis.sample_sizes has {sizes[-1]} but the training split holds "
                         f"only {n_train} samples (n_samples * (1 - test_fraction))")
    return sizes


def linear_trainer(rank_tol: float) -> Trainer:
    """Closed-form linear model: ``u_int = W* f`` with ``W*`` from :func:`theory.w_star`."""

    def train(f: np.ndarray, u: np.ndarray) -> Predictor:
        W = theory.w_star(f, u[:, 1:-1], rank_tol)

        def predict(g: np.ndarray) -> np.ndarray:
            out = np.zeros_like(g, dtype=np.float64)
            out[:, 1:-1] = g @ W.T
            return out

        return predict

    return train


def quantity_errors(trainers: dict[str, Trainer], f: np.ndarray, u: np.ndarray,
                    sizes: Sequence[int], bank: TestBank) -> xr.Dataset:
    """``quantity_mse``, ``quantity_rel_l2`` over ``(quantity_model, sample_size, test_space)``.

    ``f``, ``u``: the training split ``(n_train, N+1)``; subset ``n`` is its first ``n`` rows
    (the samples are i.i.d., so this is a random subset, nested as ``n`` grows).
    """
    sizes = check_sizes(sizes, f.shape[0])
    names = list(trainers)
    mse = np.full((len(names), len(sizes), len(bank.spaces)), np.nan)
    rel = np.full_like(mse, np.nan)
    for a, name in enumerate(names):
        for b, n in enumerate(sizes):
            predict = trainers[name](f[:n], u[:n])
            mse[a, b], rel[a, b] = evaluate(predict, bank)
    d = ("quantity_model", "sample_size", "test_space")
    return xr.Dataset(
        dict(quantity_mse=(d, mse), quantity_rel_l2=(d, rel)),
        coords=dict(quantity_model=names, sample_size=sizes, test_space=list(bank.spaces)),
    )
