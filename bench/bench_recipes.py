"""Benchmark: the default training recipes (issue 9 item 3), in-distribution error vs CPU time.

Trains one model entry of a config (default config/config.yaml) as ONE training job of the
default study trains it: an ensemble with one member per function space, 200 training samples
each (250 samples, test fraction 0.2, the study's datasets generated in memory), through the
project's own code (``TrainConfig.from_entry``, ``make_problem``, ``fit``). Then each member
predicts its own space's test split and the script prints, per space, the in-distribution
relative L2 error ``mean_n ||u_hat_n - u_n|| / ||u_n||`` (the ``rel_l2`` of crossval.nc on its
diagonal), the median over the spaces (the figure of docs/models.md), the steps taken (plateau
stopping) and the CPU seconds of ``fit`` (one thread, setup excluded).

Overrides change the entry for a probe without editing the config, e.g.::

    .venv/bin/python bench/bench_recipes.py            # every operator model (as make bench)
    .venv/bin/python bench/bench_recipes.py mlp --N 64
    .venv/bin/python bench/bench_recipes.py mlp --N 64 --set train.steps=8000 train.lr=5e-3
    .venv/bin/python bench/bench_recipes.py fno --N 64 --spaces sin4 poly4 fem --set params.width=24

Values are parsed as YAML (``train.batch_size=null``, ``params.orders=[2,4]``).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from greenbench import pde  # noqa: E402
from greenbench.data import DataSpec, generate  # noqa: E402
from greenbench.models import TrainConfig  # noqa: E402
from greenbench.models.registry import model_kind, resolve_class  # noqa: E402
from greenbench.operators import get_operator  # noqa: E402
from greenbench.spaces import ALL_SPACES  # noqa: E402
from greenbench.train import fit, make_problem, predict  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def datasets(N: int, spaces, n_samples: int = 250, test_fraction: float = 0.2):
    """Train and test splits of each space, as the default study generates them."""
    ftr, utr, fte, ute = [], [], [], []
    for space in spaces:
        ds = generate(DataSpec("poisson1d", space, N, n_samples=n_samples,
                               test_fraction=test_fraction))
        f, u = ds.split("train")
        ftr.append(f)
        utr.append(u)
        f, u = ds.split("test")
        fte.append(f)
        ute.append(u)
    return np.stack(ftr), np.stack(utr), fte, ute, pde.grid(N)


def apply_overrides(entry: dict, settings: list[str]) -> dict:
    entry = copy.deepcopy(entry)
    for item in settings:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        if section not in ("train", "params") or not name:
            raise SystemExit(f"--set {item!r}: expected train.KEY=VALUE or params.KEY=VALUE")
        parsed = yaml.safe_load(value)
        if isinstance(parsed, str):  # YAML 1.1 reads 1e-2 as a string
            try:
                parsed = float(parsed)
            except ValueError:
                pass
        entry.setdefault(section, {})[name] = parsed
    return entry


def rel_l2(u_hat: np.ndarray, u: np.ndarray) -> float:
    return float(np.mean(np.linalg.norm(u_hat - u, axis=1) / np.linalg.norm(u, axis=1)))


def run(name: str, entry: dict, N: int, spaces, data=None) -> dict:
    f, u, fte, ute, x = data if data is not None else datasets(N, spaces)
    cfg = TrainConfig.from_entry(name, {**entry, "train": {**entry.get("train", {}),
                                                           "checkpoint_every": 0}})
    problem = make_problem(name, entry, N, [1000 + i for i in range(len(spaces))], f, u, x,
                           get_operator("poisson1d", k=1.0), cfg, torch.device("cpu"))
    t0 = time.process_time()
    result = fit(problem, cfg)
    cpu = time.process_time() - t0
    errors = [rel_l2(predict(m, fte[e], x), ute[e])
              for e, m in enumerate(problem.member_modules())]
    return {"model": name, "N": N, "entry": entry, "spaces": list(spaces), "rel_l2": errors,
            "median_rel_l2": float(np.median(errors)), "cpu_s": cpu,
            "final_step": [int(s) for s in result.final_step],
            "stopped": int(np.sum(result.stopped)), "diverged": int(np.sum(result.diverged))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*",
                    help="names of models entries of the config (default: every operator "
                         "model of the config; `make bench` runs the script without arguments)")
    ap.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    ap.add_argument("--N", type=int, nargs="+", default=[64])
    ap.add_argument("--spaces", nargs="+", default=list(ALL_SPACES))
    ap.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--json", help="append the results, one JSON object a line")
    args = ap.parse_args()
    torch.set_num_threads(1)
    config = yaml.safe_load(Path(args.config).read_text())
    # operator models only: a parameter learner (fd, pinn) predicts no u to take the error of
    operators = [m for m, e in config["models"].items()
                 if model_kind(resolve_class(e["class"], m)) == "operator"]
    for name in args.models:  # every name checked before anything trains
        if name not in operators:
            why = "not in" if name not in config["models"] else "a parameter learner in"
            raise SystemExit(f"model {name!r} is {why} {args.config}; its operator models: "
                             f"{operators}")
    for N in args.N:
        data = datasets(N, args.spaces)
        for name in args.models or operators:
            entry = apply_overrides(config["models"][name], args.set)
            r = run(name, entry, N, args.spaces, data)
            per = " ".join(f"{s}={e:.1e}" for s, e in zip(r["spaces"], r["rel_l2"], strict=True))
            steps = np.asarray(r["final_step"])
            print(f"{name:12s} N={N:3d} median rel_l2 {r['median_rel_l2']:.2e}  "
                  f"cpu {r['cpu_s']:6.1f} s  steps {int(steps.min())}-{int(steps.max())} "
                  f"(stopped {r['stopped']}, diverged {r['diverged']})  "
                  f"train={json.dumps(entry.get('train', {}))}", flush=True)
            if len(r["spaces"]) <= 8:
                print(f"    {per}", flush=True)
            if args.json:
                with open(args.json, "a") as fh:
                    fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
