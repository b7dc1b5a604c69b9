"""Benchmark: training (issue 3) — throughput, ensemble speedup, FNO against neuraloperator.

Setup (building the ensemble, reading nothing from disk) is excluded: the times are those of
``greenbench.train.fit``.

1. **Throughput** of every model of config/config.yaml (its default-study settings) at N = 64
   and N = 256 on the CPU: an ensemble of 25 members (one per function space) with 200 training
   samples each, as one task of the default study trains them. Samples/s counts member-samples
   through one optimizer step (forward + backward + update; L-BFGS line-search evaluations
   included), i.e. ``25 * batch * steps / time``.
2. **Ensemble speedup**: the same 25 members trained for the same steps as one vectorized
   ensemble (``torch.func.vmap``) and one after another (25 separate ensembles of one), in
   the same run.
3. **FNO step time**, ours against ``neuralop.models.FNO`` at the same width, modes, depth,
   lifting/projection widths (channel MLPs off, linear skips, gelu), one model, batch 200,
   forward + backward + Adam step. neuraloperator runs in its own environment ``bench/_env``
   (``python3 -m venv bench/_env && bench/_env/bin/pip install torch==2.13.0 neuraloperator``);
   without it the comparison prints "skipped: neuraloperator not installed".

Times are CPU seconds of one thread (user + system), best of ``--repeat`` runs: on a shared
machine CPU time measures the work, wall time also the neighbours.

Usage::

    .venv/bin/python bench/bench_train.py            # everything (about 5 minutes)
    .venv/bin/python bench/bench_train.py --quick    # fewer steps and repeats
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
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
from greenbench.spaces import ALL_SPACES  # noqa: E402
from greenbench.train import fit, make_problem  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NEURALOP_PYTHON = ROOT / "bench" / "_env" / "bin" / "python"
N_TRAIN = 200
OPERATOR = get_operator("poisson1d", k=1.0)   # the datasets' (DataSpec defaults)


def ensemble_data(N: int, spaces=ALL_SPACES):
    f, u = [], []
    for space in spaces:
        ds = generate(DataSpec("poisson1d", space, N, n_samples=N_TRAIN + 1, test_fraction=0.004))
        fs, us = ds.split("train")
        f.append(fs[:N_TRAIN])
        u.append(us[:N_TRAIN])
    return np.stack(f), np.stack(u), pde.grid(N)


def setup(name, entry, N, f, u, x, steps, members):
    """An ensemble of ``members`` (indices into the data) and its settings for ``steps``."""
    train = {**entry.get("train", {}), "steps": steps, "checkpoint_every": 0}
    entry = {**entry, "train": train}
    cfg = TrainConfig.from_entry(name, entry)
    problem = make_problem(name, entry, N, [1000 + i for i in members], f[members], u[members],
                           x, OPERATOR, cfg, torch.device("cpu"))
    return problem, cfg


def fit_seconds(jobs: list, repeat: int) -> float:
    """CPU seconds of ``fit`` over fresh copies of the ``jobs`` (setup excluded), best of
    ``repeat``."""
    best = float("inf")
    for _ in range(repeat):
        built = [setup(*job) for job in jobs]
        t0 = time.process_time()
        for problem, cfg in built:
            fit(problem, cfg)
        best = min(best, time.process_time() - t0)
    return best


def throughput(models: dict, N: int, steps: int, repeat: int) -> list[dict]:
    f, u, x = ensemble_data(N)
    members = list(range(len(ALL_SPACES)))
    rows = []
    for name, entry in models.items():
        fit_seconds([(name, entry, N, f, u, x, 1, members)], 1)  # warm-up (lazy imports)
        cfg = TrainConfig.from_entry(name, entry)
        n_steps = 1 if cfg.optimizer == "exact" else steps
        seconds = fit_seconds([(name, entry, N, f, u, x, n_steps, members)], repeat)
        batch = min(cfg.batch_size or N_TRAIN, N_TRAIN)
        if entry["class"] == "pinn":  # each member fits n_nets samples
            batch = int(entry.get("params", {}).get("n_nets", 4))
        rows.append({"model": name, "N": N, "optimizer": cfg.optimizer, "dtype": cfg.dtype,
                     "batch": batch, "steps": n_steps, "seconds": seconds,
                     "ms_per_step": 1e3 * seconds / n_steps,
                     "samples_per_s": len(members) * batch * n_steps / seconds})
        print(f"  {name:12s} N={N:4d} {rows[-1]['ms_per_step']:9.1f} ms/step "
              f"{rows[-1]['samples_per_s']:12.0f} samples/s", flush=True)
    return rows


def ensemble_speedup(models: dict, N: int, steps: int, repeat: int) -> list[dict]:
    f, u, x = ensemble_data(N)
    E = len(ALL_SPACES)
    rows = []
    for name, entry in models.items():
        fit_seconds([(name, entry, N, f, u, x, 1, [0])], 1)
        t_vec = fit_seconds([(name, entry, N, f, u, x, steps, list(range(E)))], repeat)
        t_seq = fit_seconds([(name, entry, N, f, u, x, steps, [e]) for e in range(E)], repeat)
        rows.append({"model": name, "N": N, "members": E, "steps": steps, "vectorized_s": t_vec,
                     "sequential_s": t_seq, "speedup": t_seq / t_vec})
        print(f"  {name:12s} vectorized {t_vec:7.2f}s one-by-one {t_seq:7.2f}s "
              f"speedup {t_seq / t_vec:5.1f}x", flush=True)
    return rows


FNO_STEP = r"""
import json, sys, time, torch
torch.set_num_threads(1)
cfg = json.loads(sys.argv[1])
torch.manual_seed(0)
{build}
x = torch.linspace(0, 1, cfg["P"])
f = torch.randn(cfg["batch"], cfg["P"])
u = torch.randn(cfg["batch"], cfg["P"])
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
def step():
    opt.zero_grad()
    loss = ((run(f, x) - u) ** 2).mean()
    loss.backward()
    opt.step()
for _ in range(3):
    step()
best = float("inf")
for _ in range(cfg["repeat"]):
    t0 = time.process_time()
    for _ in range(cfg["steps"]):
        step()
    best = min(best, (time.process_time() - t0) / cfg["steps"])
n_params = sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())
print(json.dumps({{"seconds_per_step": best, "real_parameters": n_params}}))
"""

OURS = """
from greenbench.models import FNO
model = FNO(N=cfg["P"] - 1, width=cfg["width"], modes=cfg["modes"], layers=cfg["layers"])
run = model
"""

THEIRS = """
from neuralop.models import FNO
# neuralop keeps n_modes // 2 + 1 modes of the real FFT: n_modes = 2 (m - 1) keeps m.
model = FNO(n_modes=(2 * (cfg["modes"] - 1),), in_channels=1, out_channels=1,
            hidden_channels=cfg["width"], n_layers=cfg["layers"], lifting_channel_ratio=2,
            projection_channel_ratio=2, use_channel_mlp=False, fno_skip="linear")
run = lambda f, x: model(f[:, None, :])[:, 0, :]
"""


def fno_comparison(repeat: int, steps: int) -> list[dict]:
    rows = []
    have = NEURALOP_PYTHON.exists() and subprocess.run(
        [str(NEURALOP_PYTHON), "-c", "import neuralop"], capture_output=True).returncode == 0
    if not have:
        print("  skipped: neuraloperator not installed (bench/_env)")
        return rows
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    for P, width, modes in ((65, 32, 16), (257, 32, 16), (257, 64, 32)):
        cfg = {"P": P, "width": width, "modes": modes, "layers": 4, "batch": N_TRAIN,
               "steps": steps, "repeat": repeat}
        out = {}
        for label, python, build in (("ours", sys.executable, OURS),
                                     ("neuraloperator", str(NEURALOP_PYTHON), THEIRS)):
            proc = subprocess.run([python, "-c", FNO_STEP.format(build=build), json.dumps(cfg)],
                                  capture_output=True, text=True, env=env)
            if proc.returncode:
                raise RuntimeError(f"{label} FNO benchmark failed:\n{proc.stderr}")
            out[label] = json.loads(proc.stdout.strip().splitlines()[-1])
        ratio = out["neuraloperator"]["seconds_per_step"] / out["ours"]["seconds_per_step"]
        rows.append({**cfg, "ours_ms": 1e3 * out["ours"]["seconds_per_step"],
                     "neuralop_ms": 1e3 * out["neuraloperator"]["seconds_per_step"],
                     "ours_params": out["ours"]["real_parameters"],
                     "neuralop_params": out["neuraloperator"]["real_parameters"],
                     "neuralop_over_ours": ratio})
        print(f"  P={P:4d} width={width} modes={modes}: ours {rows[-1]['ours_ms']:8.1f} ms, "
              f"neuraloperator {rows[-1]['neuralop_ms']:8.1f} ms per step "
              f"(theirs/ours {ratio:4.2f}; parameters {rows[-1]['ours_params']} vs "
              f"{rows[-1]['neuralop_params']})", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    ap.add_argument("--only", choices=["throughput", "speedup", "fno"], default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    repeat = args.repeat or (1 if args.quick else 2)
    steps = 3 if args.quick else 10
    models = read_yaml(ROOT / "config" / "config.yaml")["models"]
    print(f"# bench_train  {dt.date.today()}  CPU: {cpu_model()}, {os.cpu_count()} cores, "
          f"1 torch thread, torch {torch.__version__}")
    results: dict[str, list] = {}
    if args.only in (None, "throughput"):
        print("\n## throughput: 25 members x 200 samples, config.yaml settings")
        results["throughput"] = [r for N in (64, 256)
                                 for r in throughput(models, N, steps, repeat)]
    if args.only in (None, "speedup"):
        print("\n## ensemble speedup at N=64: 25 members vectorized vs one after another")
        sub = {k: models[k] for k in ("deep_linear", "mlp", "deeponet", "fno", "pideeponet")}
        results["speedup"] = ensemble_speedup(sub, 64, steps, repeat)
    if args.only in (None, "fno"):
        print("\n## FNO step time (batch 200, 4 layers, Adam), ours vs neuraloperator")
        results["fno"] = fno_comparison(repeat + 1, steps)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
