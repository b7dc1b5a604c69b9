"""Benchmark: wall time of the analysis stage (issue 4), default study and paper scale.

* **default**: the default study (config/config.yaml: 25 spaces, N = 16, 32, 64, 250 samples,
  1 seed) with all eight built-in models trained for a token budget (1 step; the analysis cost
  does not depend on how well a model is trained). Times every analysis step as the rules run
  it: evaluate_model per (model, N), crossval, greens, bounds, data_quantity (evaluation only),
  convergence.
* **paper**: the paper scale (25 x 25 spaces, 8 models, N = 16..256, 10,000 samples = 2,000
  test per space, 3 seeds), in parts that fit this machine:
  - cross-evaluation of one trained member of each operator class on the stacked test splits
    of all 25 spaces plus its impulse response, at every N, extrapolated to 25 train spaces x 3
    seeds; beside it the training cost of the same member (``--train-steps`` steps timed,
    extrapolated to the class's default budget);
  - aggregation (crossval.nc + scorecard, greens.nc) of a synthetic results set of 8 models x
    5 N x 25 x 25 x 3 seeds (evaluation files written, then aggregated);
  - theory at every N: Thm 3.2 tables (25 x 25, SVD of 8,000 training samples) and Thm 3.1 FD
    predictions.

Every figure is given as wall time and as CPU time of this process (``time.process_time``),
with torch and BLAS pinned to one thread: on a shared machine the CPU time is the figure to
compare (it is what an unloaded core would take).

Usage::

    .venv/bin/python bench/bench_analysis.py                  # both
    .venv/bin/python bench/bench_analysis.py --only default
    .venv/bin/python bench/bench_analysis.py --quick          # smaller paper part
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import xarray as xr  # noqa: E402

from greenbench import io, paths, pde, train  # noqa: E402
from greenbench.analysis import bounds, convergence, greens, stage, stage_theory  # noqa: E402
from greenbench.analysis.config import AnalysisConfig, analysis_params  # noqa: E402
from greenbench.analysis.crossval import TestBank, evaluate  # noqa: E402
from greenbench.config import load_config  # noqa: E402
from greenbench.data import DataSpec, generate  # noqa: E402
from greenbench.models.registry import DEFAULT_TRAIN, TrainConfig  # noqa: E402
from greenbench.operators import get_operator  # noqa: E402
from greenbench.provenance import provenance  # noqa: E402
from greenbench.spaces import ALL_SPACES  # noqa: E402

OPERATORS = ("linear", "deep_linear", "mlp", "deeponet", "fno", "pideeponet")
ROOT = Path(__file__).resolve().parents[1]
POISSON = get_operator("poisson1d", k=1.0)  # the datasets below are poisson1d with k = 1


def timed(fn, *args, **kw):
    """``(result, [wall seconds, CPU seconds of this process])``."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kw)
    return out, [time.perf_counter() - t0, time.process_time() - c0]


def add(*times):
    return [sum(t[0] for t in times), sum(t[1] for t in times)]


def fmt(t) -> str:
    return f"wall {t[0]:8.2f} s  cpu {t[1]:8.2f} s"


def machine() -> dict[str, str]:
    return {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
            "torch": torch.__version__, "threads": str(torch.get_num_threads()),
            "date": dt.date.today().isoformat()}


# --------------------------------------------------------------------------- default study
def bench_default(tmp: Path, study: dict | None = None) -> dict[str, list]:
    """Times of the default study's analysis steps; ``study``: a loaded config to run instead
    of config/config.yaml (the test suite runs a tiny one)."""
    if study is None:
        study = load_config(ROOT / "config" / "config.yaml")
    study["models"] = {c: {"class": c, "params": {}, "enabled": True,
                           "train": {} if c in ("linear", "fd") else {"steps": 1}}
                       for c in (*OPERATORS, "fd", "pinn")}
    cfg = AnalysisConfig.from_params(analysis_params(study))   # quantity: mlp, 300 steps
    # every file at its place in the path grammar (greenbench.paths) under tmp: io checks the
    # folder names of a dataset against its attributes
    data = {N: {s: tmp / paths.dataset(cfg.pde, s, N) for s in cfg.spaces}
            for N in cfg.resolutions}
    for N in cfg.resolutions:
        for s in cfg.spaces:
            io.write_dataset(data[N][s], generate(DataSpec(pde=cfg.pde, space=s, N=N,
                                                           n_samples=study["n_samples"]),
                                                  cfg.data_hash))
    metrics = {}
    t_train = [0.0, 0.0]
    for m, entry in study["models"].items():
        for N in cfg.resolutions:
            out = tmp / paths.train_dir(cfg.pde, m, N, noise=cfg.noise_min)
            task = train.TrainTask(model=m, entry=entry, pde=cfg.pde, N=N,
                                   members=tuple((s, 0) for s in cfg.spaces),
                                   datasets={s: str(p) for s, p in data[N].items()},
                                   out_dir=str(out), device="cpu", noise=cfg.noise_min,
                                   checksums=train.dataset_checksums(data[N]))
            result, t = timed(train.run_task, task)
            t_train = add(t_train, t)
            metrics[m, N] = tmp / paths.train_metrics(cfg.pde, m, N, noise=cfg.noise_min)
            io.write_netcdf(train.metrics_dataset(m, entry, N, cfg.pde, [result]), metrics[m, N])
    times: dict[str, list] = {"token_training (not analysis)": t_train}
    parts = []
    t_eval = [0.0, 0.0]
    for m in OPERATORS:
        for N in cfg.resolutions:
            part, t = timed(stage.evaluate_model, m, N, metrics[m, N], data[N], cfg,
                            study["models"][m])
            t_eval = add(t_eval, t)
            path = tmp / paths.evaluation(cfg.pde, m, N, noise=cfg.noise_min)
            io.write_netcdf(part, path)
            parts.append(path)
            times[f"evaluate {m} N{N}"] = t
    n_eval = f"evaluate (all {len(OPERATORS) * len(cfg.resolutions)} jobs)"  # 18 by default
    times[n_eval] = t_eval
    cv, times["crossval"] = timed(stage.crossval_dataset, parts, cfg)
    _, times["greens"] = timed(stage.greens_datasets, parts, cfg)
    lin = {N: tmp / paths.evaluation(cfg.pde, "linear", N, noise=cfg.noise_min)
           for N in cfg.resolutions}
    _, times["bounds"] = timed(stage_theory.bounds_dataset, data, cv, "linear", lin, cfg)
    # the quantity model's members are trained by the training stage (train_quantity), not here
    q, times["data_quantity (closed-form linear; trains nothing)"] = timed(
        stage_theory.quantity_dataset, data[cfg.quantity_N], cfg)
    fd = ("fd", {N: metrics["fd", N] for N in cfg.resolutions})
    pinn = ("pinn", {N: metrics["pinn", N] for N in cfg.resolutions})
    _, times["convergence"] = timed(stage_theory.convergence_dataset, data, fd, pinn, cfg)
    times["analysis total"] = add(*(v for k, v in times.items()
                                    if k in (n_eval, "crossval", "greens",
                                             "bounds", "convergence")
                                    or k.startswith("data_quantity")))
    return times


# --------------------------------------------------------------------------- paper scale
def _bank(N: int, n_test: int) -> TestBank:
    splits = {}
    for s in ALL_SPACES:
        ds = generate(DataSpec(pde="poisson1d", space=s, N=N, n_samples=n_test + 1,
                               test_fraction=n_test / (n_test + 1)))
        splits[s] = ds.split("test")
    return TestBank.from_splits(splits)


def bench_paper_eval(resolutions, n_test, train_steps, n_train) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for N in resolutions:
        bank = _bank(N, n_test)
        x = pde.grid(N)
        for cls in OPERATORS:
            cfg = TrainConfig.from_entry(cls, {"class": cls})
            module = train.build_member(cls, N, {}, 0, getattr(torch, cfg.dtype), cls).eval()

            def predict(f, module=module, x=x):
                return train.predict(module, f, x)

            _, t_eval = timed(evaluate, predict, bank)
            _, t_resp = timed(greens.response_matrix, predict, N)
            rec = {"eval": t_eval, "impulse": t_resp, "batch": int(bank.f.shape[0])}
            if N == max(resolutions):
                rec.update(_train_cost(cls, N, train_steps, n_train))
            out[f"{cls} N{N}"] = rec
    return out


def _train_cost(cls: str, N: int, steps: int, n_train: int) -> dict[str, object]:
    """Seconds per member for the class's default budget, from ``steps`` timed steps on one
    member with ``n_train`` samples of sin8 (full batch)."""
    from greenbench.train.loop import fit
    from greenbench.train.problems import make_problem

    ds = generate(DataSpec(pde="poisson1d", space="sin8", N=N, n_samples=n_train + 1,
                           test_fraction=1 / (n_train + 1)))
    f, u = ds.split("train")
    budget = DEFAULT_TRAIN[cls]
    entry = {"class": cls, "train": {} if budget["optimizer"] == "exact" else
             {"steps": steps, "checkpoint_every": 0}}
    cfg = TrainConfig.from_entry(cls, entry)
    problem = make_problem(cls, entry, N, [0], f[None], u[None], ds.x, POISSON, cfg,
                           torch.device("cpu"))
    _, t = timed(fit, problem, cfg)
    scale = 1 if budget["optimizer"] == "exact" else budget["steps"] / steps
    return {"train_member": [t[0] * scale, t[1] * scale], "train_budget_steps": budget["steps"]}


def bench_paper_aggregate(tmp: Path, resolutions, n_models=8, seeds=(0, 1, 2)) -> dict:
    rng = np.random.default_rng(0)
    sp = list(ALL_SPACES)
    cfg = AnalysisConfig(pde="poisson1d", spaces=tuple(sp), resolutions=tuple(resolutions),
                         seeds=tuple(seeds))
    parts = []
    t_write = [0.0, 0.0]
    for j in range(n_models):
        for N in resolutions:
            x = pde.grid(N)
            d5 = ("model", "train_space", "test_space", "resolution", "seed")
            d4 = ("model", "train_space", "resolution", "seed")
            nt, ns = len(sp), len(seeds)
            R = rng.standard_normal((1, nt, 1, ns, N - 1, N + 1)) / N
            ds = xr.Dataset(
                dict(mse=(d5, 10 ** rng.uniform(-30, -2, (1, nt, nt, 1, ns))),
                     rel_l2=(d5, 10 ** rng.uniform(-15, 0, (1, nt, nt, 1, ns))),
                     train_mse=(d4, np.ones((1, nt, 1, ns))),
                     diverged=(d4, np.zeros((1, nt, 1, ns), bool)),
                     missing=(d4, np.zeros((1, nt, 1, ns), bool)),
                     model_class=(("model",), np.array(["mlp"], dtype=object)),
                     u_mean_square=(("test_space", "resolution"), np.ones((nt, 1))),
                     response=(d4[:3] + ("seed", "x", "source"), R)),
                coords=dict(model=[f"m{j}"], train_space=sp, test_space=sp, resolution=[N],
                            seed=list(seeds), x=x[1:-1], source=x),
                # what evaluate_model records, which crossval_dataset / greens_datasets check
                attrs={**provenance(cfg.step_hash), "pde": cfg.pde, "data_hash": cfg.data_hash,
                       "noise": float(cfg.noise_min)})
            path = tmp / "agg" / paths.evaluation(cfg.pde, f"m{j}", N, noise=cfg.noise_min)
            _, t = timed(io.write_netcdf, ds, path)
            t_write = add(t_write, t)
            parts.append(path)
    _, t_cv = timed(stage.crossval_dataset, parts, cfg)
    _, t_gr = timed(stage.greens_datasets, parts, cfg)
    return {"write evaluation files": t_write, "crossval (+ scorecard)": t_cv,
            "greens (+ inverses, stencils)": t_gr}


def bench_paper_theory(resolutions, n_train) -> dict[str, list]:
    out = {}
    for N in resolutions:
        train_data, fd_data = {}, {}
        for s in ALL_SPACES:
            ds = generate(DataSpec(pde="poisson1d", space=s, N=N, n_samples=n_train + 1,
                                   test_fraction=1 / (n_train + 1)))
            f, u = ds.split("train")
            train_data[s] = (f, u)
            fd_data[s] = (ds.coefficients[ds.train_index], f, u)
        _, out[f"bounds_table N{N}"] = timed(bounds.bounds_table, train_data, ALL_SPACES, N,
                                              operator=POISSON)
        _, out[f"fd_theory N{N}"] = timed(convergence.fd_theory, fd_data, N, (2, 4, 6),
                                             POISSON)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=("default", "paper"), default=None)
    ap.add_argument("--quick", action="store_true",
                    help="paper part with 400 test samples per space and N <= 64")
    ap.add_argument("--train-steps", type=int, default=10)
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    res = [16, 32, 64] if args.quick else [16, 32, 64, 128, 256]
    n_test = 400 if args.quick else 2000
    n_train = 1000 if args.quick else 8000
    report: dict[str, object] = {"machine": machine(), "args": vars(args)}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.only in (None, "default"):
            t = bench_default(tmp)
            report["default"] = t
            print("== default study (25 spaces, N=16/32/64, 250 samples, 8 models, 1 seed)")
            for k, v in t.items():
                if not k.startswith("evaluate ") or "all" in k:
                    print(f"  {k:42s} {fmt(v)}")
        if args.only in (None, "paper"):
            ev = bench_paper_eval(res, n_test, args.train_steps, n_train)
            report["paper_eval"] = ev
            print(f"== paper scale: one member on 25 x {n_test} test samples (+ impulses)")
            for k, v in ev.items():
                line = (f"  {k:18s} eval cpu {v['eval'][1]:8.3f} s  impulses cpu "
                        f"{v['impulse'][1]:6.3f} s")
                if "train_member" in v:
                    line += (f"  | train ({v['train_budget_steps']} steps) cpu "
                             f"{v['train_member'][1]:8.1f} s")
                print(line)
            total = add(*(add(v["eval"], v["impulse"]) for v in ev.values()))
            total = [75 * total[0], 75 * total[1]]
            report["paper_eval_total"] = total
            print(f"  every operator class x N x 25 train spaces x 3 seeds: "
                  f"cpu {total[1] / 60:.1f} min (wall {total[0] / 60:.1f} min)")
            agg = bench_paper_aggregate(tmp, res)
            report["paper_aggregate"] = agg
            print("== paper scale aggregation (8 models x 5 N x 25 x 25 x 3 seeds, synthetic)")
            for k, v in agg.items():
                print(f"  {k:32s} {fmt(v)}")
            th = bench_paper_theory(res, n_train)
            report["paper_theory"] = th
            print(f"== paper scale theory ({n_train} training samples per space)")
            for k, v in th.items():
                print(f"  {k:32s} {fmt(v)}")
    print(json.dumps(report["machine"]))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
