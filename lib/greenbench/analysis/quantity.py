"""Data quantity against a missing span: test error as a function of the number of samples.

The paper's claim: more data of the same function space does not fix what lies outside its
span. A model is trained on the first ``n`` samples of one training split for each ``n`` in
``sample_sizes`` and evaluated on the test split of every test space. The linear model uses the
closed-form gradient-descent limit (:func:`greenbench.theory.w_star`, zero initialization): a
least-squares solve, the Thm 3.2 prediction of what gradient descent converges to, not a
training loop. Neural models are trained by the training stage (rule ``train_quantity``,
``greenbench.train.TrainTask.n_train``); the analysis only evaluates them
(:func:`greenbench.analysis.stage_theory.quantity_dataset`) and assembles
:func:`quantity_table`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from greenbench import theory
from greenbench.analysis.crossval import Predictor, TestBank, evaluate
from greenbench.analysis.measures import gmean, spanning_size
from greenbench.spaces import relation_masks

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
    """Closed-form linear model: ``u_int = W* f`` with ``W*`` from :func:`theory.w_star`, over
    the flattened nodes (``f``, ``u``: ``(n, N+1)`` or ``(n, N+1, N+1)``; zero on the
    boundary)."""

    def train(f: np.ndarray, u: np.ndarray) -> Predictor:
        inner = (slice(None),) + (slice(1, -1),) * (np.ndim(u) - 1)
        n = np.shape(f)[0]
        W = theory.w_star(np.reshape(f, (n, -1)), np.reshape(u[inner], (n, -1)), rank_tol)

        def predict(g: np.ndarray) -> np.ndarray:
            out = np.zeros_like(g, dtype=np.float64)
            out[inner] = (np.reshape(g, (g.shape[0], -1)) @ W.T).reshape(out[inner].shape)
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


def quantity_table(models: Sequence[str], sizes: Sequence[int], test_spaces: Sequence[str],
                   seeds: Sequence[int], mse: np.ndarray, rel: np.ndarray, missing: np.ndarray,
                   diverged: np.ndarray, train_space: str) -> xr.Dataset:
    """The variables of ``quantity.nc``.

    ``mse``, ``rel`` ``(model, sample_size, test_space, seed)``; ``missing``, ``diverged``
    ``(model, sample_size, seed)``. Adds the summary the data-quantity finding reads:
    ``quantity_in_span (test_space)`` (inside the span of ``train_space``),
    ``quantity_out_of_span_mse (quantity_model, sample_size)`` (geometric mean over the
    out-of-span test spaces and the usable seeds) and ``quantity_spanning_size`` (scalar: the
    first size that can span ``train_space``, :func:`~greenbench.analysis.measures.spanning_size`).
    """
    # from the space definitions, in the names' dimension (a 2D study's fem is the 2D fem)
    inside = relation_masks([train_space], list(test_spaces))["in_span"][0]
    usable = ~(missing | diverged)
    out_mse = np.full((len(models), len(sizes)), np.nan)
    for a in range(len(models)):
        for b in range(len(sizes)):
            cells = mse[a, b][~inside][:, usable[a, b]]
            out_mse[a, b] = gmean(cells)
    d4 = ("quantity_model", "sample_size", "test_space", "seed")
    d3 = ("quantity_model", "sample_size", "seed")
    return xr.Dataset(
        dict(quantity_mse=(d4, mse), quantity_rel_l2=(d4, rel),
             quantity_missing=(d3, missing), quantity_diverged=(d3, diverged),
             quantity_in_span=(("test_space",), inside),
             quantity_out_of_span_mse=(("quantity_model", "sample_size"), out_mse),
             quantity_spanning_size=((), np.int64(spanning_size(sizes, train_space)))),
        coords=dict(quantity_model=list(models), sample_size=np.asarray(sizes, dtype=np.int64),
                    test_space=list(test_spaces), seed=np.asarray(seeds, dtype=np.int64)),
    )
