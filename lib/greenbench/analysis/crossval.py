"""Cross-validation: every trained operator model evaluated on the test split of every dataset.

One trained model sees one stacked batch: the test splits of all test spaces concatenated along
the sample axis (:class:`TestBank`). Per-sample errors are taken over all ``N + 1`` nodes, then
averaged within each test space by segment sums -- there is no Python loop over samples.

* ``mse``    = mean_n [ mean_i (u_hat_ni - u_ni)^2 ]            (units of u squared)
* ``rel_l2`` = mean_n [ ||u_hat_n - u_n||_2 / ||u_n||_2 ]        (dimensionless)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

Predictor = Callable[[np.ndarray], np.ndarray]
"""``f (batch, N+1) -> u (batch, N+1)``, float64: a trained operator model on a fixed grid."""

DEFAULT_CHUNK = 16384


@dataclass(frozen=True)
class TestBank:
    """The test splits of several spaces at one resolution, stacked along the sample axis.

    Attributes
    ----------
    spaces : tuple of str
        Test space names, in order.
    f, u : (n_total, N+1) arrays
        Stacked forcings and solutions.
    offsets : (n_spaces + 1,) int array
        Space ``j`` owns rows ``offsets[j]:offsets[j+1]``.
    """

    __test__ = False  # a bank of test data, not a pytest class (tests import it by name)

    spaces: tuple[str, ...]
    f: np.ndarray
    u: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_splits(cls, splits: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> TestBank:
        """Stack ``{space: (f_test, u_test)}`` in the mapping's order."""
        if not splits:
            raise ValueError("TestBank needs at least one test space")
        names = tuple(splits)
        sizes = [np.asarray(splits[s][0]).shape[0] for s in names]
        widths = {np.asarray(splits[s][0]).shape[1] for s in names}
        if len(widths) != 1:
            raise ValueError(f"test splits have different grid sizes {sorted(widths)}: "
                             f"every test space must be at the same resolution")
        empty = [s for s, n in zip(names, sizes, strict=True) if n == 0]
        if empty:
            raise ValueError(f"empty test split for space(s) {empty}")
        f = np.concatenate([np.asarray(splits[s][0], dtype=np.float64) for s in names])
        u = np.concatenate([np.asarray(splits[s][1], dtype=np.float64) for s in names])
        return cls(names, f, u, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))

    @property
    def N(self) -> int:
        return self.f.shape[1] - 1

    def mean_square(self) -> np.ndarray:
        """Per space, the mean over samples of ``mean_i u_i^2`` (the scale of an MSE; over all
        nodes of a 2D grid)."""
        u = self.u.reshape(self.u.shape[0], -1)
        return segment_mean(np.mean(u**2, axis=1), self.offsets)


def segment_mean(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Mean of ``values[offsets[j]:offsets[j+1]]`` for each ``j`` (vectorized segment sums)."""
    sums = np.add.reduceat(values, offsets[:-1])
    return sums / np.diff(offsets)


def sample_errors(u_hat: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample ``(mse, rel_l2)`` over all nodes; ``u_hat``, ``u``: ``(n, N+1)`` or, in 2D,
    ``(n, N+1, N+1)`` (the node axes flattened: the mean over all ``(N+1)^2`` nodes).

    ``rel_l2`` is ``nan`` for a sample with ``||u|| = 0``."""
    u_hat = np.reshape(u_hat, (np.shape(u_hat)[0], -1))
    u = np.reshape(u, (np.shape(u)[0], -1))
    d = u_hat - u
    sq = np.sum(d * d, axis=1)
    norm = np.sqrt(np.sum(u * u, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(norm > 0, np.sqrt(sq) / norm, np.nan)
    return sq / u.shape[1], rel


def evaluate(predict: Predictor, bank: TestBank,
             chunk: int = DEFAULT_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Test errors of one trained model on every space of ``bank``.

    The stacked batch goes through ``predict`` in slices of at most ``chunk`` samples (memory
    bound for large neural models; still one call per slice, not per sample).

    Returns
    -------
    mse, rel_l2 : (n_spaces,) arrays
        Non-finite predictions give non-finite errors; they are kept, never dropped.
    """
    n = bank.f.shape[0]
    u_hat = np.empty_like(bank.u)
    for start in range(0, n, chunk):
        out = np.asarray(predict(bank.f[start:start + chunk]), dtype=np.float64)
        if out.shape != bank.u[start:start + chunk].shape:
            raise ValueError(f"model returned shape {out.shape}, expected "
                             f"{bank.u[start:start + chunk].shape} (batch, N+1)")
        u_hat[start:start + chunk] = out
    with np.errstate(over="ignore", invalid="ignore"):
        mse, rel = sample_errors(u_hat, bank.u)
        return segment_mean(mse, bank.offsets), segment_mean(rel, bank.offsets)


def crossval_part(
    model: str, model_class: str, N: int, train_spaces: Sequence[str], seeds: Sequence[int],
    bank: TestBank, predictors: Mapping[tuple[str, int], Predictor | None],
    train_mse: np.ndarray, diverged: np.ndarray, chunk: int = DEFAULT_CHUNK,
) -> xr.Dataset:
    """Cross-validation of one model at one resolution as an ``xarray.Dataset``.

    Parameters
    ----------
    predictors
        ``(train_space, seed) -> predictor``; a missing key or ``None`` marks the cell missing
        (all its errors ``nan``, ``missing = True``).
    train_mse, diverged : (n_train_spaces, n_seeds) arrays
        From the training metrics (``nan``/``True`` where unknown).

    Returns
    -------
    Dataset with ``mse``, ``rel_l2`` (model, train_space, test_space, resolution, seed) and
    ``train_mse``, ``diverged``, ``missing`` (model, train_space, resolution, seed).
    """
    nt, ns, ne = len(train_spaces), len(seeds), len(bank.spaces)
    mse = np.full((nt, ne, ns), np.nan)
    rel = np.full((nt, ne, ns), np.nan)
    missing = np.zeros((nt, ns), dtype=bool)
    for a, tr in enumerate(train_spaces):
        for b, seed in enumerate(seeds):
            pred = predictors.get((tr, int(seed)))
            if pred is None:
                missing[a, b] = True
                continue
            mse[a, :, b], rel[a, :, b] = evaluate(pred, bank, chunk)
    diverged = np.asarray(diverged, dtype=bool) | (
        ~missing & ~np.all(np.isfinite(mse), axis=1))
    d5 = ("model", "train_space", "test_space", "resolution", "seed")
    d4 = ("model", "train_space", "resolution", "seed")
    return xr.Dataset(
        dict(mse=(d5, mse[None, :, :, None, :]), rel_l2=(d5, rel[None, :, :, None, :]),
             train_mse=(d4, np.asarray(train_mse, dtype=np.float64)[None, :, None, :]),
             diverged=(d4, diverged[None, :, None, :]),
             missing=(d4, missing[None, :, None, :]),
             model_class=(("model",), np.array([model_class], dtype=object))),
        coords=dict(model=[model], train_space=list(train_spaces), test_space=list(bank.spaces),
                    resolution=[int(N)], seed=[int(s) for s in seeds]),
    )
