"""Refuse results that belong to another study: neither the analysis nor the report mixes
configs. :func:`check_results` is the one check of a file's coordinates and design attributes
(the report calls it through :meth:`greenbench.study.Study.check_results`),
:func:`check_provenance` the one check of its recorded hashes and model entry.

A training ``metrics.nc`` (or an intermediate evaluation file) is compared with what the analysis
config expects -- model name, pde, resolution ``N``, the set of training spaces and seeds (and
the FD orders) -- and a mismatch raises :class:`ResultsMismatch` naming the file and every
difference. A failed training task is represented *inside* a matching file (``diverged``, NaN);
a different set of spaces or seeds means the file was made for another config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import xarray as xr


class ResultsMismatch(ValueError):
    """A results file does not match the config of this analysis."""

    def __init__(self, path: str | os.PathLike, problems: Sequence[str],
                 hint: str | None = None):
        self.path, self.problems = str(path), list(problems)
        super().__init__(f"{path}: results from another config ({'; '.join(problems)}); "
                         f"{hint or TRAINING_HINT}")


def plain(obj: Any) -> Any:
    """A JSON round trip: plain dicts, lists, str and numbers (tuples become lists)."""
    return json.loads(json.dumps(obj, default=str))


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    """``{"params.width": 8, ...}``; an empty mapping has no keys (``params: {}`` = none)."""
    if isinstance(obj, Mapping):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): obj}


def entry_differences(recorded: Mapping[str, Any], entry: Mapping[str, Any]) -> list[str]:
    """``params.width is 8 in the file, 16 in the config`` for every key (dotted) where two
    model entries differ; empty when they agree."""
    a, b = _flat(plain(dict(recorded))), _flat(plain(dict(entry)))
    return [f"{key} is {a.get(key, '(absent)')!r} in the file, {b.get(key, '(absent)')!r} "
            f"in the config" for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]


def check_provenance(ds: xr.Dataset, path: str | os.PathLike, *, data_hash: str | None = None,
                     config_hash: str | None = None,
                     entry: Mapping[str, Any] | None = None,
                     hint: str | None = None) -> None:
    """Raise :class:`ResultsMismatch` naming ``path``, the attribute and both values unless the
    file's provenance attributes equal the given ones: ``data_hash`` (the data it was made
    from; a training ``metrics.nc`` or an evaluation file), ``config_hash`` (what determined
    the file: the analysis params of an evaluation file, the study's hash of an aggregate)
    and ``entry`` (a training ``metrics.nc``: the full model entry, JSON). ``None`` or ``""``:
    not checked."""
    problems = []
    for key, want in (("data_hash", data_hash), ("config_hash", config_hash)):
        if want:
            have = ds.attrs.get(key)
            if have is None:
                problems.append(f"attribute {key} missing (expected {want!r})")
            elif str(have) != str(want):
                problems.append(f"attribute {key} is {str(have)!r}, expected {want!r}")
    if entry is not None:
        text = ds.attrs.get("entry")
        if text is None:
            problems.append(f"attribute entry missing (expected the model entry "
                            f"{json.dumps(plain(dict(entry)), sort_keys=True)})")
        else:
            problems += [f"model entry {d}" for d in entry_differences(json.loads(str(text)),
                                                                        entry)]
    if problems:
        raise ResultsMismatch(path, problems, hint=hint)


def check_noise(ds: xr.Dataset, path: str | os.PathLike, noise: float,
                attr: str = "noise") -> None:
    """Raise :class:`ResultsMismatch` naming ``path`` unless the file records noise level
    ``noise`` in attribute ``attr`` (a training ``metrics.nc``, an evaluation file)."""
    have = ds.attrs.get(attr)
    if have is None:
        raise ResultsMismatch(path, [f"attribute {attr} missing (expected noise level "
                                     f"{float(noise)!r}; a file from before greenbench "
                                     f"recorded it)"])
    if float(have) != float(noise):
        raise ResultsMismatch(path, [f"attribute {attr} is {float(have)!r}, expected noise "
                                     f"level {float(noise)!r}"])


def _coord_problem(ds: xr.Dataset, dim: str, expected: Sequence[object], *,
                   may_lack: bool = False, present_only: bool = False) -> str | None:
    """``dim differs: unexpected [...], missing [...] (expected [...])``, or None when the
    coordinate holds exactly ``expected`` (a subset of it with ``may_lack``; anything, when the
    coordinate is absent and ``present_only``)."""
    if dim not in ds.coords:
        return None if present_only else f"no {dim!r} coordinate"
    have = [v.item() if hasattr(v, "item") else v for v in ds[dim].values]
    want = list(expected)
    extra = [v for v in have if str(v) not in set(map(str, want))]
    missing = [] if may_lack else [v for v in want if str(v) not in set(map(str, have))]
    if not extra and not missing:
        return None
    parts = []
    if extra:
        parts.append(f"unexpected {extra}")
    if missing:
        parts.append(f"missing {missing}")
    return f"{dim} differs: {', '.join(parts)} (expected {want})"


TRAINING_HINT = ("rerun the training for this config or point the analysis at the matching "
                 "results")
REPORT_HINT = "rerun the analysis for this config or point the report at the matching results"


def check_results(ds: xr.Dataset, path: str | os.PathLike, *, model: str | None = None,
                  pde: str | None = None, N: int | None = None,
                  spaces: Sequence[str] | None = None, seeds: Sequence[int] | None = None,
                  resolutions: Sequence[int] | None = None,
                  models: Sequence[str] | None = None,
                  q_orders: Sequence[int] | None = None, may_lack: Sequence[str] = (),
                  present_only: bool = False, hint: str = TRAINING_HINT) -> None:
    """Raise :class:`ResultsMismatch` unless ``ds`` matches every given expectation: the one
    check that a results file (training ``metrics.nc``, evaluation file, aggregate) belongs to
    this study's config.

    ``model``, ``pde`` and ``N`` are compared with the attributes of the same names; ``spaces``
    with the ``train_space`` (and, where present, ``test_space``) coordinate, ``seeds`` with
    ``seed``, ``resolutions`` with ``resolution`` (and an ``N`` attribute must be one of them),
    ``models`` with ``model``: values the study did not ask for are refused, and values it did
    ask for must all be there, except in the dimensions named in ``may_lack``.
    ``present_only``: an absent attribute or coordinate is not checked (the report's files).
    ``q_orders`` (with ``q``): only the orders the analysis asks for must be present. A file
    with ``N`` and an ``x`` dimension must have ``N - 1`` interior nodes. ``hint`` ends the
    message (what to rerun).
    """
    problems = []
    for key, want in (("model", model), ("pde", pde), ("N", N)):
        if want is None:
            continue
        have = ds.attrs.get(key)
        have = have.item() if hasattr(have, "item") else have
        if have is None:
            if not present_only:
                problems.append(f"attribute {key} missing (expected {want!r})")
        elif str(have) != str(want):
            problems.append(f"attribute {key} is {have!r}, expected {want!r}")
    lacking = set(may_lack)
    for dim, want in (("train_space", spaces), ("test_space", spaces), ("seed", seeds),
                      ("resolution", resolutions), ("model", models)):
        if want is not None:
            p = _coord_problem(ds, dim, want, may_lack=dim in lacking,
                               present_only=present_only or dim == "test_space")
            if p:
                problems.append(p)
    res = ds.attrs.get("N")
    if res is not None and resolutions is not None and int(res) not in resolutions:
        problems.append(f"attribute N is {int(res)}, expected one of {list(resolutions)}")
    if res is not None and "x" in ds.dims and ds.sizes["x"] != int(res) - 1:
        problems.append(f"x has {ds.sizes['x']} nodes, resolution {int(res)} needs "
                        f"{int(res) - 1}")
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
        raise ResultsMismatch(path, problems, hint=hint)
