"""The ``metrics.nc`` of one training job (model, N): per-member results as an xarray Dataset.

Layout (docs/architecture.md, docs/results_format.md):

* every model: ``train_mse``, ``diverged``, ``wall_time``, ``final_step``, ``final_loss``,
  ``best_loss``, ``stopped``, ``f_scale``, ``u_scale`` over ``(train_space, seed)`` and ``loss``
  over ``(train_space, seed, step)``;
* ``fd``: ``w``, ``w_lstsq``, ``rel_error`` (= ``|w - k| / |k|``), ``rel_error_lstsq`` over
  ``(q, train_space, seed)``;
* ``pinn``: ``k_hat``, ``rel_error`` (= ``|k_hat - k| / |k|``) over ``(train_space, seed)``.

Members missing from ``results`` are NaN (``diverged`` False, ``final_step`` -1).

Provenance: ``data_checksum (train_space)``, the content checksum of the dataset each space's
members were trained on (``""`` when none was trained), and the attributes ``data_hash`` (the
datasets' data hash) and ``entry`` (the full model entry, JSON): what the analysis compares
with the study before using the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from greenbench.provenance import config_hash, provenance
from greenbench.spaces import ALL_SPACES


def _space_order(spaces: Sequence[str]) -> list[str]:
    known = {s: i for i, s in enumerate(ALL_SPACES)}
    return sorted(dict.fromkeys(spaces), key=lambda s: (known.get(s, len(known)), s))


def metrics_dataset(model: str, entry: Mapping[str, Any], N: int, pde: str,
                    results: Sequence[Mapping[str, Any]]) -> xr.Dataset:
    """Combine :func:`greenbench.train.run_task` results of one (model, N) into a Dataset.

    Raises ``ValueError`` if ``results`` is empty, mixes models or resolutions, or holds the
    same ``(train_space, seed)`` twice."""
    members = [m for r in results for m in r["members"]]
    if not members:
        raise ValueError(f"model {model!r}, N={N}: no training results to combine")
    for r in results:
        if r["model"] != model or int(r["N"]) != int(N):
            raise ValueError(f"result of task {r.get('task')} is model {r['model']!r}, "
                             f"N={r['N']}; expected model {model!r}, N={N}")
    spaces = _space_order([m["train_space"] for m in members])
    seeds = sorted({int(m["seed"]) for m in members})
    steps = np.array(sorted({int(s) for m in members for s in m["step"]}), dtype=np.int64)
    si = {s: i for i, s in enumerate(spaces)}
    ri = {s: i for i, s in enumerate(seeds)}
    ti = {int(s): i for i, s in enumerate(steps)}
    shape = (len(spaces), len(seeds))
    train_mse = np.full(shape, np.nan)
    wall_time = np.full(shape, np.nan)
    diverged = np.zeros(shape, dtype=bool)
    final_step = np.full(shape, -1, dtype=np.int64)
    loss = np.full(shape + (steps.size,), np.nan)
    per_member = {name: np.full(shape, np.nan) for name in _MEMBER_FLOATS}
    stopped = np.zeros(shape, dtype=bool)
    checksums: dict[str, str] = {}
    seen: set[tuple[str, int]] = set()
    kind = results[0].get("kind", "operator")
    q = None
    for m in members:
        key = (m["train_space"], int(m["seed"]))
        if key in seen:
            raise ValueError(f"model {model!r}, N={N}: member {key} appears twice in the results")
        seen.add(key)
        checksum = str(m.get("data_checksum", ""))
        if checksums.setdefault(key[0], checksum) != checksum:
            raise ValueError(f"model {model!r}, N={N}: members of train_space {key[0]!r} were "
                             f"trained on different data (checksums {checksums[key[0]]} and "
                             f"{checksum})")
        i, j = si[key[0]], ri[key[1]]
        train_mse[i, j], wall_time[i, j] = m["train_mse"], m["wall_time"]
        diverged[i, j], final_step[i, j] = bool(m["diverged"]), int(m["final_step"])
        loss[i, j, [ti[int(s)] for s in m["step"]]] = np.asarray(m["loss"], dtype=np.float64)
        for name, arr in per_member.items():  # absent from members trained before they existed
            arr[i, j] = float(m.get(name, np.nan))
        stopped[i, j] = bool(m.get("stopped", False))
        if kind == "parameter" and "q" in m:
            q = np.asarray(m["q"], dtype=np.int64)
    coords = {"train_space": spaces, "seed": np.asarray(seeds, dtype=np.int64), "step": steps}
    dims, dims_t = ("train_space", "seed"), ("train_space", "seed", "step")
    data = {
        "train_mse": (dims, train_mse, {"description": "MSE of the fit on the training split "
                                        "(fd: equation residual; pinn: the nets' data fit)"}),
        "diverged": (dims, diverged, {"description": "training objective became non-finite"}),
        "wall_time": (dims, wall_time, {"units": "s", "description":
                                        "wall time of the ensemble the member was trained in"}),
        "final_step": (dims, final_step, {"description": "optimizer steps completed"}),
        "data_checksum": (("train_space",), np.array([checksums.get(s, "") for s in spaces],
                                                     dtype=object),
                          {"description": "content checksum of the dataset the members of "
                                          "this train_space were trained on"}),
        "loss": (dims_t, loss, {"description": "training objective at the start of each step; "
                                               "the last step holds the final value"}),
        "stopped": (dims, stopped, {"description": "stopped on a plateau of the training "
                                                   "objective (train.stop_patience)"}),
        **{name: (dims, arr, _MEMBER_FLOATS[name]) for name, arr in per_member.items()},
    }
    if q is not None:
        coords["q"] = q
        qi = {int(v): n for n, v in enumerate(q)}
        fd_names = ("w", "w_lstsq", "rel_error", "rel_error_lstsq")
        # the operator's further coefficients: the same names with the suffix _{coefficient}
        more = sorted({key for m in members for key in m
                       if key.rsplit("_", 1)[0] in fd_names and key not in fd_names})
        for name in fd_names + tuple(more):
            arr = np.full((q.size,) + shape, np.nan)
            for m in members:
                vals = np.asarray(m[name], dtype=np.float64)
                for n, qq in enumerate(m["q"]):
                    arr[qi[int(qq)], si[m["train_space"]], ri[int(m["seed"])]] = vals[n]
            data[name] = (("q",) + dims, arr, _FD_DESC[name] if name in _FD_DESC
                          else _fd_more_desc(name))
    elif any("k_hat" in m for m in members):
        more = sorted({key for m in members for key in m
                       if (key.endswith("_hat") or key.startswith("rel_error_"))}
                      - {"k_hat", "rel_error"})
        for name in ("k_hat", "rel_error", *more):
            arr = np.full(shape, np.nan)
            for m in members:
                arr[si[m["train_space"]], ri[int(m["seed"])]] = float(m[name])
            data[name] = (dims, arr, _PINN_DESC.get(name, {"description": (
                f"learned coefficient {name[:-4]} of the inverse-problem PINN"
                if name.endswith("_hat") else f"|{name[10:]}_hat - {name[10:]}| / "
                                              f"|{name[10:]}|")}))
    r0 = results[0]
    hashes = sorted({str(r.get("data_hash", "")) for r in results})
    if len(hashes) > 1:
        raise ValueError(f"model {model!r}, N={N}: tasks trained on data of different studies "
                         f"(data hashes {hashes})")
    levels = sorted({float(r.get("noise", 0.0)) for r in results})
    if len(levels) > 1:
        raise ValueError(f"model {model!r}, N={N}: tasks trained at different noise levels "
                         f"{levels}")
    noise = levels[0]
    attrs = {"model": model, "class": str(entry.get("class")), "kind": kind, "N": int(N),
             "pde": pde, "k": float(r0.get("k", np.nan)), "optimizer": str(r0.get("optimizer")),
             "dtype": str(r0.get("dtype")),
             "params": json.dumps(dict(entry.get("params") or {}), sort_keys=True),
             "train": json.dumps(dict(entry.get("train") or {}), sort_keys=True),
             "entry": json.dumps(dict(entry), sort_keys=True, default=str),
             "data_hash": hashes[0], "noise": noise,
             **provenance(config_hash({"model": model, "entry": dict(entry), "N": N,
                                       "pde": pde}))}
    return xr.Dataset(data, coords=coords, attrs=attrs)


_MEMBER_FLOATS = {
    "final_loss": {"description": "training objective of the parameters training ended with"},
    "best_loss": {"description": "lowest training objective seen (its parameters are kept "
                                 "when train.stop_patience > 0)"},
    "f_scale": {"description": "RMS of f over the member's training split (train.normalize; "
                               "NaN: not normalized)"},
    "u_scale": {"description": "RMS of u over the member's training split (train.normalize; "
                               "NaN: not normalized)"},
}

_FD_DESC = {
    "w": {"description": "learned w_q in -w_q FD_q(u) = f (iterative training)"},
    "w_lstsq": {"description": "exact least-squares w_q"},
    "rel_error": {"description": "|w - k| / |k|"},
    "rel_error_lstsq": {"description": "|w_lstsq - k| / |k|"},
}
def _fd_more_desc(name: str) -> dict[str, str]:
    """Description of an fd variable of a further coefficient (``w_c``, ``rel_error_lstsq_b``)."""
    base, c = name.rsplit("_", 1)
    return {"description": f"{_FD_DESC[base]['description']} (coefficient {c})"}


_PINN_DESC = {
    "k_hat": {"description": "learned coefficient k of the inverse-problem PINN"},
    "rel_error": {"description": "|k_hat - k| / |k|"},
}


def quantity_metrics_dataset(model: str, entry: Mapping[str, Any], N: int, pde: str,
                             results: Sequence[Mapping[str, Any]]) -> xr.Dataset:
    """The ``metrics.nc`` of a data-quantity training job: :func:`metrics_dataset` of the tasks
    of each training-subset size, stacked over a leading ``sample_size`` dimension (every
    per-member variable gains it; ``data_checksum (train_space)`` does not).

    Every member must record its ``n_train`` (:attr:`greenbench.train.TrainTask.n_train`)."""
    by_size: dict[int, list[Mapping[str, Any]]] = {}
    for r in results:
        sizes = {m.get("n_train") for m in r["members"]}
        if len(sizes) != 1 or None in sizes:
            raise ValueError(f"task {r.get('task')}: members need one n_train, got {sizes}")
        by_size.setdefault(int(sizes.pop()), []).append(r)
    if not by_size:
        raise ValueError(f"model {model!r}, N={N}: no training results to combine")
    parts = [metrics_dataset(model, entry, N, pde, by_size[n]) for n in sorted(by_size)]
    checksum = parts[0]["data_checksum"]
    for part in parts[1:]:
        if not part["data_checksum"].equals(checksum):
            raise ValueError(f"model {model!r}, N={N}: sample sizes trained on different data")
    stacked = xr.concat([p.drop_vars("data_checksum") for p in parts], dim="sample_size",
                        coords="minimal", compat="override", combine_attrs="override")
    stacked = stacked.assign_coords(sample_size=np.asarray(sorted(by_size), dtype=np.int64))
    stacked["data_checksum"] = checksum
    stacked.attrs["description"] = ("data-quantity study: each member trained on the first "
                                    "sample_size samples of its training split")
    return stacked
