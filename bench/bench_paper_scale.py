"""Benchmark: paper scale (issue 9 item 7) — convergence at 8,000 training samples and steps/s.

Two measurements, both with the project's own training code (``greenbench.train.make_problem``
+ ``fit``: normalization, schedule, warm-up and plateau stopping exactly as a training task
runs them) and the model entries of ``config/paper.yaml`` (its architecture sizes and recipes):

1. **Throughput** (``--throughput``): CPU seconds per optimizer step of ONE member trained on
   ``--n-samples`` x 0.8 samples (8,000 at paper scale), at each ``--throughput-N``; printed as
   ms/step and steps/s; also the single-thread matmul GFLOP/s and a per-step floor (N = 16,
   200 samples). ``--cost FILE...`` turns such files into the paper study's cost table
   (docs/performance.md, "Paper scale").
2. **Convergence** (``--convergence``): for each model, one ensemble of the ``--spaces`` (one
   member per space, as a training task trains them) at ``--N``, trained with the paper recipe
   but for a shortened budget of ``S`` steps (``--steps model=S``; the schedule, e.g. cosine,
   is over ``S``, and the warm-up keeps its fraction of the budget). Every ``S/8`` steps the
   in-distribution test error is taken (mean over the test split of ``||u_hat - u|| / ||u||``,
   as ``crossval.rel_l2``) with the current parameters, and the training objective is
   recorded; at the end the error of the parameters training ended with. With
   ``--fractions 0.25,0.5`` the same is also run as complete trainings of ``S/4`` and ``S/2``
   steps (each with its full schedule): the trend of the error with the budget. pinn (a
   parameter learner) reports the relative error of its learned ``k``.

Times are CPU seconds of this process (``time.process_time``, user + system) with one torch
and BLAS thread: the machine is shared, CPU time measures the work, wall time the neighbours.

Usage::

    .venv/bin/python bench/bench_paper_scale.py --throughput --throughput-N 32,64,128
    .venv/bin/python bench/bench_paper_scale.py --convergence --models mlp,deeponet \\
        --steps mlp=4000,deeponet=4000 --fractions 0.25,0.5 --json out.json
    .venv/bin/python bench/bench_paper_scale.py --quick     # a minute: the script itself works
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import cpu_model  # noqa: E402

from greenbench import pde  # noqa: E402
from greenbench.data import DataSpec, generate  # noqa: E402
from greenbench.io import read_yaml  # noqa: E402
from greenbench.models import TrainConfig  # noqa: E402
from greenbench.operators import get_operator  # noqa: E402
from greenbench.train import fit, make_problem, predict  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OPERATOR = get_operator("poisson1d", k=1.0)   # the datasets' (DataSpec defaults)
NEURAL = ("deep_linear", "mlp", "deeponet", "fno", "pideeponet", "pinn")


_DATA: dict = {}


def data(space: str, N: int, n_samples: int):
    """``(f_train, u_train, f_test, u_test, x)`` of a dataset as the study generates it
    (``master_seed`` 0, ``test_fraction`` 0.2)."""
    key = (space, N, n_samples)
    if key not in _DATA:
        ds = generate(DataSpec("poisson1d", space, N, n_samples=n_samples, test_fraction=0.2))
        f, u = ds.split("train")
        ft, ut = ds.split("test")
        _DATA[key] = (f, u, ft, ut, pde.grid(N))
    return _DATA[key]


def build(name: str, entry: dict, N: int, spaces: list[str], n_samples: int, steps: int,
          device: str = "cpu", dtype: str | None = None):
    train = {**entry.get("train", {}), "steps": int(steps), "checkpoint_every": 0}
    if dtype:
        train["dtype"] = dtype
    entry = {**entry, "train": train}
    cfg = TrainConfig.from_entry(name, entry)
    ds = [data(s, N, n_samples) for s in spaces]
    f = np.stack([d[0] for d in ds])
    u = np.stack([d[1] for d in ds])
    problem = make_problem(name, entry, N, [1000 + i for i in range(len(spaces))], f, u,
                           ds[0][4], OPERATOR, cfg, torch.device(device))
    return problem, cfg, ds


def rel_l2(u_hat: np.ndarray, u: np.ndarray) -> float:
    return float(np.mean(np.linalg.norm(u_hat - u, axis=1) / np.linalg.norm(u, axis=1)))


def test_errors(problem, name: str, ds) -> list[float]:
    """In-distribution error of every member with its current parameters."""
    if name == "pinn":
        return [float(m["rel_error"]) for m in problem.member_extras(OPERATOR)]
    return [rel_l2(predict(m, d[2], d[4]), d[3])
            for m, d in zip(problem.member_modules(), ds, strict=True)]


def throughput(models: dict, Ns: list[int], n_samples: int, steps: int,
               device: str = "cpu", dtype: str | None = None) -> list[dict]:
    rows = []
    for name, entry in models.items():
        for N in Ns:
            problem, cfg, _ = build(name, entry, N, ["sin4"], n_samples, 2, device, dtype)
            fit(problem, cfg)  # warm-up
            problem, cfg, _ = build(name, entry, N, ["sin4"], n_samples, steps, device, dtype)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            c0, w0 = time.process_time(), time.perf_counter()
            fit(problem, cfg)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            sec = wall if device.startswith("cuda") else cpu
            rows.append({"model": name, "N": N, "device": device, "dtype": cfg.dtype,
                         "batch": cfg.batch_size or problem.n_train, "steps": steps,
                         "cpu_s": cpu, "wall_s": wall, "ms_per_step": 1e3 * sec / steps,
                         "steps_per_s": steps / sec})
            print(f"  {name:12s} N={N:4d} {cfg.dtype:8s} {rows[-1]['ms_per_step']:9.1f} ms/step"
                  f"  {rows[-1]['steps_per_s']:8.2f} steps/s  (cpu {cpu:.1f}s, wall {wall:.1f}s)",
                  flush=True)
    return rows


def shortened(entry: dict, steps: int) -> dict:
    """The entry's recipe compressed to ``steps``: the warm-up keeps its fraction of the
    budget (the cosine decay runs over ``steps`` anyway), so a short run has the schedule's
    shape, not a warm-up that fills it."""
    train = dict(entry.get("train", {}))
    full = int(train.get("steps", steps))
    if train.get("warmup_steps"):
        train["warmup_steps"] = max(1, round(int(train["warmup_steps"]) * steps / full))
    return {**entry, "train": train}


def convergence(name: str, entry: dict, N: int, spaces: list[str], n_samples: int, steps: int,
                points: int = 8) -> dict:
    entry = shortened(entry, steps)
    problem, cfg, ds = build(name, entry, N, spaces, n_samples, steps)
    every = max(1, steps // points)
    curve: list[dict] = []
    clock = {"cpu": 0.0}

    def probe(step: int) -> None:
        c = time.process_time()
        curve.append({"step": step, "test_rel": test_errors(problem, name, ds)})
        clock["cpu"] += time.process_time() - c

    # the checkpoint hook sees the parameters every `every` steps (nothing is written)
    cfg = TrainConfig.from_entry(name, {**entry, "train": {
        **entry.get("train", {}), "steps": int(steps), "checkpoint_every": every}})
    c0 = time.process_time()
    result = fit(problem, cfg, save=lambda state: probe(int(state["step"])))
    cpu = time.process_time() - c0 - clock["cpu"]
    final = test_errors(problem, name, ds)
    loss = result.loss
    idx = {int(s): i for i, s in enumerate(result.step)}
    for row in curve:
        i = idx.get(row["step"]) or max(i for s, i in idx.items() if s <= row["step"])
        row["loss"] = loss[:, i].tolist()
    out = {"model": name, "N": N, "spaces": spaces, "steps": steps, "cpu_s": cpu,
           "steps_per_s": float(np.max(result.final_step)) / cpu if cpu > 0 else float("nan"),
           "lr": cfg.lr, "schedule": cfg.schedule, "warmup_steps": cfg.warmup_steps,
           "batch_size": cfg.batch_size,
           "curve": curve, "final_test_rel": final, "final_loss": result.final_loss.tolist(),
           "best_loss": result.best_loss.tolist(), "train_mse": result.train_mse.tolist(),
           "final_step": result.final_step.tolist(), "stopped": result.stopped.tolist(),
           "diverged": result.diverged.tolist()}
    fmt = " ".join
    print(f"  {name:11s} N={N} S={steps:6d} cpu {cpu:7.1f}s ({out['steps_per_s']:.2f} steps/s)"
          f"  final rel L2 [{fmt(f'{e:.2e}' for e in final)}]  steps "
          f"{result.final_step.tolist()} stopped {result.stopped.tolist()}", flush=True)
    for row in curve:
        print(f"      step {row['step']:6d}  rel L2 [{fmt(f'{e:.2e}' for e in row['test_rel'])}]"
              f"  loss [{fmt(f'{v:.2e}' for v in row['loss'])}]", flush=True)
    return out


def matmul_gflops(dtype: torch.dtype, n: int = 1024, repeat: int = 5) -> float:
    """Single-thread GFLOP/s of an ``n x n`` matrix product in ``dtype`` (CPU seconds): the
    rate that converts a step's CPU time into an upper bound of its floating-point work."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeat):
        c0 = time.process_time()
        a @ b
        best = min(best, time.process_time() - c0)
    return 2 * n**3 / best / 1e9


def cost(config: dict, rows: list[dict], floors: dict[str, float], gflops: dict[str, float],
         gpu_tflops: float, ensemble: int) -> list[dict]:
    """The paper study's training cost per model from measured CPU seconds per step.

    Members per resolution: spaces x ``train_seeds``; steps: the entry's ``train.steps`` (an
    upper bound: plateau stopping ends converged members earlier). CPU: ``members x steps x
    t(N)``, ``t(N)`` the measured CPU seconds of one member-step at 8,000 samples. GPU
    (estimate, no GPU measured): one ensemble of ``ensemble`` members per task, a step costs
    ``max(floor, ensemble x t(N) x G_cpu / R_gpu)``: its floating-point work bounded by the
    CPU time at the measured single-thread matmul rate ``G_cpu`` and done at ``R_gpu``, but
    never less than ``floor``, the CPU time of one step of the model at the smallest size
    (N = 16, 200 samples: per-step dispatch, autograd and optimizer overhead in Python, which
    a GPU does not remove)."""
    spaces = config["spaces"]
    n_spaces = (sum(len(spaces.get(f, [])) for f in ("poly", "cos", "sin"))
                + (1 if spaces.get("fem") else 0))
    members = n_spaces * len(config.get("train_seeds", [0]))
    out = []
    for name in dict.fromkeys(r["model"] for r in rows):
        entry = config["models"][name]
        steps = int(entry["train"]["steps"])
        dtype = entry["train"].get("dtype", "float32")
        per_n = {r["N"]: r["cpu_s"] / r["steps"] for r in rows if r["model"] == name}
        cpu_h = gpu_h = 0.0
        for N in config["resolutions"]:
            t = per_n[N]
            cpu_h += members * steps * t / 3600
            step = max(floors[name], ensemble * t * gflops[dtype] / (gpu_tflops * 1e3))
            gpu_h += (members / ensemble) * steps * step / 3600
        out.append({"model": name, "members": members * len(config["resolutions"]),
                    "steps": steps, "dtype": dtype, "cpu_hours": cpu_h, "gpu_hours": gpu_h,
                    "ms_per_step": {N: 1e3 * per_n[N] for N in sorted(per_n)}})
    return out


def _pairs(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (p.split("=") for p in text.split(",") if p)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "paper.yaml")
    ap.add_argument("--models", default=",".join(NEURAL))
    ap.add_argument("--throughput", action="store_true")
    ap.add_argument("--throughput-N", default="32,64,128")
    ap.add_argument("--throughput-steps", type=int, default=10)
    ap.add_argument("--convergence", action="store_true")
    ap.add_argument("--N", type=int, default=64)
    ap.add_argument("--spaces", default="sin4,poly4,fem")
    ap.add_argument("--n-samples", type=int, default=10000)
    ap.add_argument("--steps", default="", help="model=S,...: shortened budget per model "
                                                "(default: the config's steps)")
    ap.add_argument("--fractions", default="", help="e.g. 0.25,0.5: also complete trainings "
                                                    "of these fractions of S")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--cost", nargs="+", type=Path, default=None, metavar="JSON",
                    help="print the paper study's cost from throughput JSON files (all of "
                         "config's resolutions measured) and exit")
    ap.add_argument("--gpu-tflops", type=float, default=20.0,
                    help="--cost: effective GPU rate assumed for the estimate")
    ap.add_argument("--ensemble", type=int, default=25,
                    help="--cost: members per GPU task (config/cluster/slurm.yaml chunk_size)")
    ap.add_argument("--quick", action="store_true", help="tiny run: the script works")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    config = read_yaml(args.config)
    entries = config["models"]
    if args.cost:
        runs = [json.loads(p.read_text()) for p in args.cost]
        rows = [r for run in runs for r in run.get("throughput", [])  # at the config's size
                if r["model"] in args.models.split(",") and r["device"] == "cpu"
                and run["n_samples"] == config["n_samples"]]
        floors: dict[str, float] = {}   # the lowest measured (load only adds CPU time)
        for r in (r for run in runs for r in run.get("floor", [])):
            floors[r["model"]] = min(floors.get(r["model"], np.inf), r["cpu_s"] / r["steps"])
        gflops = next(run["matmul_gflops"] for run in runs if "matmul_gflops" in run)
        table = cost(config, rows, floors, gflops, args.gpu_tflops, args.ensemble)
        Ns = sorted({N for r in table for N in r["ms_per_step"]})
        print(f"| model | members | steps | dtype | {' | '.join(f'N={N} ms/step' for N in Ns)}"
              f" | CPU hours | GPU hours (est.) |")
        print("|---" * (6 + len(Ns)) + "|")
        for r in table:
            print(f"| {r['model']} | {r['members']} | {r['steps']:,} | {r['dtype']} | "
                  + " | ".join(f"{r['ms_per_step'].get(N, float('nan')):.1f}" for N in Ns)
                  + f" | {r['cpu_hours']:,.0f} | {r['gpu_hours']:,.1f} |")
        print(f"| total | | | | {' | ' * len(Ns)}{sum(r['cpu_hours'] for r in table):,.0f} | "
              f"{sum(r['gpu_hours'] for r in table):,.1f} |")
        print(f"(matmul GFLOP/s of one CPU thread {gflops}; GPU rate assumed "
              f"{args.gpu_tflops} TFLOP/s; floors ms/step "
              f"{ {k: round(1e3 * v, 1) for k, v in floors.items()} })")
        return
    models = {m: entries[m] for m in args.models.split(",") if m}
    if args.quick:
        args.n_samples, args.throughput_N, args.throughput_steps = 500, "32", 2
        args.throughput = args.convergence = True
        args.steps = ",".join(f"{m}=16" for m in models)
    budgets = _pairs(args.steps)
    print(f"# bench_paper_scale  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  CPU: "
          f"{cpu_model()}, {os.cpu_count()} cores, 1 torch thread, torch {torch.__version__}; "
          f"config {args.config.name}, {args.n_samples} samples (80% train)")
    results: dict = {"date": f"{dt.date.today()}", "cpu": cpu_model(),
                     "n_samples": args.n_samples}
    if args.throughput:
        results["matmul_gflops"] = {d: matmul_gflops(getattr(torch, d))
                                    for d in ("float32", "float64")}
        print(f"\n## single-thread matmul GFLOP/s: {results['matmul_gflops']}")
        print(f"\n## throughput: one member, {int(args.n_samples * 0.8)} training samples")
        results["throughput"] = throughput(models, [int(n) for n in args.throughput_N.split(",")],
                                           args.n_samples, args.throughput_steps, args.device)
        print("\n## per-step floor: one member, N = 16, 200 training samples")
        results["floor"] = throughput(models, [16], 250, 4 * args.throughput_steps,
                                      args.device)
    if args.convergence:
        spaces = args.spaces.split(",")
        fractions = [float(x) for x in args.fractions.split(",") if x] + [1.0]
        print(f"\n## convergence at N={args.N} on {spaces}")
        results["convergence"] = []
        for name, entry in models.items():
            S = budgets.get(name, int(entry.get("train", {}).get("steps", 500)))
            for frac in fractions:
                results["convergence"].append(
                    convergence(name, entry, args.N, spaces, args.n_samples,
                                max(8, int(round(S * frac)))))
                if args.json:
                    args.json.write_text(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
