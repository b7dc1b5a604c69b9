"""Benchmark: the model classes in 2D (issue 11 item 6) -- CPU cost per training step and of the
2D evaluation (vectorized cross-evaluation, chunked impulse responses).

For each N: a 28-member ensemble (one member per space of config/poisson2d.yaml) of each
iterative model with the recipe of config/poisson2d.yaml, on ``n_train`` samples of sin2x2
(``(N+1)^2 + 31`` by default, so the 2D fem space would span); CPU seconds per step after a
warm-up of 3 steps. The exact linear fit (one SVD per member), the impulse-response matrix of
one linear member (``analysis.greens.response_matrix``, chunks of 256 impulses: memory
``256 (N+1)^2`` floats, not ``(N+1)^4``) and its prediction on 28 x 80 test samples. BLAS pinned
to one thread; CPU time (``time.process_time``) is the figure to compare on a shared machine.

Usage::

    .venv/bin/python bench/bench_poisson2d_models.py            # N = 8, 16, 32
    .venv/bin/python bench/bench_poisson2d_models.py --N 16 --steps 10
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from greenbench.analysis.greens import response_matrix  # noqa: E402
from greenbench.data import DataSpec, generate  # noqa: E402
from greenbench.models.layers import grid_points  # noqa: E402
from greenbench.models.registry import TrainConfig  # noqa: E402
from greenbench.operators import get_operator  # noqa: E402
from greenbench.train import predict  # noqa: E402
from greenbench.train.loop import fit  # noqa: E402
from greenbench.train.problems import make_problem  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config" / "poisson2d.yaml"
MEMBERS = 28


def step_cost(name: str, entry: dict, N: int, f, u, x, op, steps: int) -> float:
    """CPU seconds per step of a MEMBERS-member ensemble (after a 3-step warm-up)."""
    times = []
    for n_steps in (1, 3, 3 + steps):  # the first: one-off costs (jvp tracing, allocator)
        e = copy.deepcopy(entry)
        e.setdefault("train", {})["steps"] = n_steps
        e["train"].pop("warmup_steps", None)
        cfg = TrainConfig.from_entry(name, e)
        problem = make_problem(name, e, N, list(range(MEMBERS)), f, u, x, op, cfg,
                               torch.device("cpu"))
        t = time.process_time()
        fit(problem, cfg)
        times.append(time.process_time() - t)
    return (times[2] - times[1]) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--models", nargs="+", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    models = yaml.safe_load(CONFIG.read_text())["models"]
    op = get_operator("poisson2d")
    for N in args.N:
        n_train = (N + 1) ** 2 + 31
        ds = generate(DataSpec(pde="poisson2d", space="sin2x2", N=N, n_samples=n_train + 80,
                               test_fraction=80 / (n_train + 80)))
        f1, u1 = ds.split("train")
        f = np.repeat(f1[None], MEMBERS, axis=0)
        u = np.repeat(u1[None], MEMBERS, axis=0)
        print(f"N = {N}: n_train = {f1.shape[0]}, {MEMBERS} members, W "
              f"{(N - 1) ** 2} x {(N + 1) ** 2}", flush=True)
        for name, entry in models.items():
            if args.models and name not in args.models:
                continue
            if entry["train"].get("optimizer") in ("exact",) or entry["class"] == "fd":
                e = copy.deepcopy(entry)
                e["train"]["optimizer"] = "exact"
                cfg = TrainConfig.from_entry(name, e)
                t = time.process_time()
                problem = make_problem(name, e, N, list(range(MEMBERS)), f, u, ds.x, op, cfg,
                                       torch.device("cpu"))
                fit(problem, cfg)
                print(f"  {name:12s} exact fit of {MEMBERS} members: "
                      f"{time.process_time() - t:7.2f} CPU s", flush=True)
                if name == "linear":
                    module = problem.member_modules()[0]
                    xg = grid_points(ds.x, 2)
                    t = time.process_time()
                    R = response_matrix(lambda g, m=module, xg=xg: predict(m, g, xg), N,
                                        operator=op)
                    t_r = time.process_time() - t
                    test = np.repeat(ds.split("test")[0], MEMBERS, axis=0)
                    t = time.process_time()
                    predict(module, test, xg)
                    t_p = time.process_time() - t
                    print(f"  {'':12s} impulse responses R {R.shape}: {t_r:.3f} CPU s per "
                          f"member; prediction of {test.shape[0]} test samples: {t_p:.3f} s",
                          flush=True)
                continue
            cost = step_cost(name, entry, N, f, u, ds.x, op, args.steps)
            steps = entry["train"]["steps"]
            print(f"  {name:12s} {cost * 1e3:8.1f} CPU ms/step -> {cost * steps:7.1f} CPU s for "
                  f"the recipe's {steps} steps", flush=True)


if __name__ == "__main__":
    main()
