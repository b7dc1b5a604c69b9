"""Refuse results that belong to another study: the analysis never mixes configs.

A training ``metrics.nc`` (or an intermediate evaluation file) is compared with what the analysis
config expects -- model name, pde, resolution ``N``, the set of training spaces and seeds (and
the FD orders) -- and a mismatch raises :class:`ResultsMismatch` naming the file and every
difference. A failed training task is represented *inside* a matching file (``diverged``, NaN);
a different set of spaces or seeds means the file was made for another config.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import xarray as xr


class ResultsMismatch(ValueError):
    """A results file does not match the config of this analysis."""

    def __init__(self, path: str | os.PathLike, problems: Sequence[str]):
        self.path, self.problems = str(path), list(problems)
        super().__init__(f"{path}: results from another config ({'; '.join(problems)}); "
                         f"rerun the training for this config or point the analysis at the "
                         f"matching results")


def _coord_problem(ds: xr.Dataset, dim: str, expected: Sequence[object]) -> str | None:
    if dim not in ds.coords:
        return f"no {dim!r} coordinate"
    have = [v.item() if hasattr(v, "item") else v for v in ds[dim].values]
    want = list(expected)
    if sorted(map(str, have)) == sorted(map(str, want)):
        return None
    extra = [v for v in have if v not in want]
    missing = [v for v in want if v not in have]
    parts = []
    if extra:
        parts.append(f"unexpected {extra}")
    if missing:
        parts.append(f"missing {missing}")
    return f"{dim} differs: {', '.join(parts)} (expected {want})"


def check_results(ds: xr.Dataset, path: str | os.PathLike, *, model: str | None = None,
                  pde: str | None = None, N: int | None = None,
                  spaces: Sequence[str] | None = None, seeds: Sequence[int] | None = None,
                  q_orders: Sequence[int] | None = None) -> None:
    """Raise :class:`ResultsMismatch` unless ``ds`` matches every given expectation.

    ``model``, ``pde`` and ``N`` are compared with the attributes of the same names (a training
    ``metrics.nc``); ``spaces`` with the ``train_space`` coordinate, ``seeds`` with ``seed``,
    ``q_orders`` with ``q`` (only the orders the analysis asks for must be present).
    """
    problems = []
    for key, want in (("model", model), ("pde", pde), ("N", N)):
        if want is None:
            continue
        have = ds.attrs.get(key)
        have = have.item() if hasattr(have, "item") else have
        if have is None:
            problems.append(f"attribute {key} missing (expected {want!r})")
        elif str(have) != str(want):
            problems.append(f"attribute {key} is {have!r}, expected {want!r}")
    for dim, want in (("train_space", spaces), ("seed", seeds)):
        if want is not None:
            p = _coord_problem(ds, dim, want)
            if p:
                problems.append(p)
    if q_orders is not None:
        have_q = [int(q) for q in ds["q"].values] if "q" in ds.coords else []
        absent = [q for q in q_orders if q not in have_q]
        if absent:
            why = (f"FD orders {absent} of analysis.fd_orders are not trained: the fd model's "
                   f"params.orders do not include them (file has q = {have_q}); add them to "
                   f"the fd model's params.orders or drop them from analysis.fd_orders")
            if not problems:  # a config choice, not results of another config: no "rerun"
                exc = ResultsMismatch(path, [why])
                exc.args = (f"{path}: {why}",)
                raise exc
            problems.append(why)
    if problems:
        raise ResultsMismatch(path, problems)
