"""GPU check (issue 9 item 7): the one script a session with a lent GPU runs, once.

1. **Device detection**: torch and its CUDA build, the GPUs torch sees (name, memory,
   capability), ``nvidia-smi``; how ``greenbench.train.resolve_device`` resolves ``auto``
   and what the shipped cluster files choose (``ClusterSettings.task_device``).
2. **Correctness against the CPU**: every model class of config/paper.yaml (small sizes) is
   trained for a few steps in float64 through ``run_task`` twice, on ``cpu`` and on ``cuda``,
   from the same datasets and seeds: the loss curves and the trained parameters must agree to
   ``--rtol`` (float64 rounding differs between the devices, nothing else may); each member
   written on the GPU is reloaded on the CPU (``load_trained``) and must predict what the GPU
   module predicts.
3. **Throughput** at paper sizes (config/paper.yaml's entries, 8,000 training samples per
   member): steps/s of ``fit`` per model at ``--N`` in float32 and float64, for one member and
   for an ensemble of ``--ensemble`` members (one training task of config/cluster/slurm.yaml,
   ``chunk_size`` 25). GPU times are wall seconds around ``torch.cuda.synchronize``; CPU times
   (``--cpu-throughput``) are CPU seconds of one thread.

Without CUDA every GPU part prints ``skipped: no CUDA device`` and the CPU parts run, so the
script is checked on any machine (``--quick``: seconds). Results also go to ``--json``
(default ``$OUT/gpu_check.json`` when ``$OUT`` is set). Exit status 1 if a correctness check
failed.

Usage on the GPU machine (about 5 minutes on one H200)::

    python bench/gpu_check.py
    python bench/gpu_check.py --quick          # a CPU-only smoke run
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_paper_scale import build  # noqa: E402

from greenbench import io  # noqa: E402
from greenbench.data import DataSpec, generate  # noqa: E402
from greenbench.hpc import load_cluster_settings  # noqa: E402
from greenbench.train import (  # noqa: E402
    TrainTask,
    dataset_checksums,
    fit,
    load_trained,
    predict,
    resolve_device,
    run_task,
)

PDE = "poisson1d"
SMALL = {  # correctness: every class, small, a few steps, float64
    "deep_linear": {"class": "deep_linear", "params": {"depth": 3},
                    "train": {"steps": 20, "lr": 1e-3}},
    "mlp": {"class": "mlp", "params": {"width": 32}, "train": {"steps": 20, "lr": 3e-3}},
    "deeponet": {"class": "deeponet", "params": {"width": 32, "basis": 16},
                 "train": {"steps": 20, "lr": 3e-3, "schedule": "cosine", "warmup_steps": 5}},
    "fno": {"class": "fno", "params": {"width": 8, "modes": 6, "layers": 2},
            "train": {"steps": 20, "lr": 3e-3, "batch_size": 10}},
    "pideeponet": {"class": "pideeponet", "params": {"width": 32, "basis": 16},
                   "train": {"steps": 20, "lr": 1e-3, "stop_patience": 5}},
    "pinn": {"class": "pinn", "params": {"n_nets": 4, "width": 16}, "train": {"steps": 20}},
    "fd": {"class": "fd", "train": {"optimizer": "lbfgs", "lr": 1.0, "steps": 10}},
    "linear": {"class": "linear", "train": {"optimizer": "exact"}},
}


def detect() -> dict:
    info = {"torch": torch.__version__, "torch_cuda": torch.version.cuda,
            "cuda_available": torch.cuda.is_available(),
            "device_count": torch.cuda.device_count() if torch.cuda.is_available() else 0,
            "auto_resolves_to": str(resolve_device("auto")),
            "cluster_files": {p.stem: load_cluster_settings(p, check_cluster=False).task_device()
                              for p in sorted((ROOT / "config" / "cluster").glob("*.yaml"))}}
    gpus = []
    for i in range(info["device_count"]):
        p = torch.cuda.get_device_properties(i)
        gpus.append({"index": i, "name": p.name, "memory_gib": p.total_memory / 2**30,
                     "capability": f"{p.major}.{p.minor}"})
    info["gpus"] = gpus
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,"
                              "clocks.max.sm", "--format=csv,noheader"],
                             capture_output=True, text=True)
        info["nvidia_smi"] = out.stdout.strip() or out.stderr.strip()
    print(json.dumps(info, indent=1), flush=True)
    return info


def correctness(tmp: Path, N: int, rtol: float, other: str = "cuda") -> list[dict]:
    datasets = {}
    for space in ("sin4", "fem"):
        datasets[space] = str(tmp / "data" / PDE / space / f"N{N}.h5")
        io.write_dataset(datasets[space], generate(DataSpec(PDE, space, N, 50)))
    checksums = dataset_checksums(datasets)
    rows, members = [], (("sin4", 0), ("fem", 0))
    for name, entry in SMALL.items():
        entry = {"params": {}, "enabled": True, **entry,
                 "train": {"dtype": "float64", "checkpoint_every": 0, **entry["train"]}}
        results = {}
        for device in ("cpu", other):
            task = TrainTask(model=name, entry=entry, pde=PDE, N=N, members=members,
                             datasets=datasets, out_dir=str(tmp / device / name),
                             checksums=checksums, device=device)
            results[device] = run_task(task)
        worst, ok = 0.0, True
        for a, b in zip(results["cpu"]["members"], results[other]["members"], strict=True):
            la, lb = np.asarray(a["loss"]), np.asarray(b["loss"])
            fin = np.isfinite(la)
            same_nan = np.array_equal(fin, np.isfinite(lb))
            rel = float(np.max(np.abs(la[fin] - lb[fin]) / np.maximum(np.abs(la[fin]), 1e-300)))
            sa = io.load_torch(a["path"])["state_dict"]
            sb = io.load_torch(b["path"])["state_dict"]  # written on cuda, mapped to the CPU
            prel = max(float((sa[k] - sb[k]).norm() / max(float(sa[k].norm()), 1e-300))
                       for k in sa)
            worst = max(worst, rel, prel)
            ok &= same_nan and rel <= rtol and prel <= rtol
            if name not in ("pinn", "fd"):  # a member written on the GPU predicts on the CPU
                on_cpu = load_trained(b["path"], entry, N=N)
                on_gpu = load_trained(b["path"], entry, N=N).to(other)
                ds = io.read_dataset(datasets[a["train_space"]])
                f = ds.split("test")[0]
                diff = np.max(np.abs(predict(on_cpu, f, ds.x) - predict(on_gpu, f, ds.x)))
                ok &= bool(diff <= rtol * max(1.0, float(np.max(np.abs(ds.split("test")[1])))))
                worst = max(worst, float(diff))
        rows.append({"model": name, "max_rel_diff": worst, "ok": bool(ok),
                     "device_recorded": results[other]["device"]})
        print(f"  {name:12s} cpu vs {other} (float64, {entry['train'].get('steps', 1)} steps): "
              f"max rel. difference {worst:.2e}  {'ok' if ok else 'FAILED'}", flush=True)
    return rows


def throughput(models: dict, Ns: list[int], ensemble: int, steps: int, device: str,
               n_samples: int) -> list[dict]:
    rows = []
    for name, entry in models.items():
        for N in Ns:
            for dtype in ("float32", "float64"):
                for E in (1, ensemble):
                    spaces = ["sin4"] * E
                    try:
                        problem, cfg, _ = build(name, entry, N, spaces, n_samples, 3, device,
                                                dtype)
                        fit(problem, cfg)  # warm-up: kernels, caches
                        problem, cfg, _ = build(name, entry, N, spaces, n_samples, steps,
                                                device, dtype)
                        if device == "cuda":
                            torch.cuda.synchronize()
                            torch.cuda.reset_peak_memory_stats()
                        c0, w0 = time.process_time(), time.perf_counter()
                        fit(problem, cfg)
                        if device == "cuda":
                            torch.cuda.synchronize()
                        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                        sec = wall if device == "cuda" else cpu
                        mem = (torch.cuda.max_memory_allocated() / 2**30
                               if device == "cuda" else float("nan"))
                        row = {"model": name, "N": N, "dtype": dtype, "members": E,
                               "device": device, "steps": steps, "seconds": sec,
                               "steps_per_s": steps / sec,
                               "member_steps_per_s": E * steps / sec, "peak_gib": mem}
                    except torch.OutOfMemoryError as exc:   # noqa: PERF203
                        row = {"model": name, "N": N, "dtype": dtype, "members": E,
                               "device": device, "error": f"out of memory: {exc}"[:200]}
                    finally:
                        problem = None
                        if device == "cuda":
                            torch.cuda.empty_cache()
                    rows.append(row)
                    if "error" in row:
                        print(f"  {name:12s} N={N:4d} {dtype} E={E:3d}: {row['error']}")
                    else:
                        print(f"  {name:12s} N={N:4d} {dtype} E={E:3d}: "
                              f"{row['steps_per_s']:8.2f} steps/s  "
                              f"{row['member_steps_per_s']:9.2f} member-steps/s  "
                              f"peak {row['peak_gib']:.2f} GiB", flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--N", default="64,256")
    ap.add_argument("--ensemble", type=int, default=25)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--n-samples", type=int, default=10000)
    ap.add_argument("--models", default="deep_linear,mlp,deeponet,fno,pideeponet,pinn")
    ap.add_argument("--rtol", type=float, default=1e-8)
    ap.add_argument("--cpu-throughput", action="store_true",
                    help="also measure the CPU (slow at paper sizes)")
    ap.add_argument("--quick", action="store_true", help="seconds: the script works")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.json is None and os.environ.get("OUT"):
        args.json = Path(os.environ["OUT"]) / "gpu_check.json"
    if args.quick:
        args.N, args.ensemble, args.steps, args.n_samples = "16", 2, 2, 200
    Ns = [int(n) for n in args.N.split(",")]
    paper = io.read_yaml(ROOT / "config" / "paper.yaml")["models"]
    models = {m: paper[m] for m in args.models.split(",") if m}
    cuda = torch.cuda.is_available()
    print(f"# gpu_check  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    out: dict = {"date": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"}
    print("\n## device detection")
    out["detect"] = detect()
    failed = False
    print("\n## correctness: cpu vs cuda")
    if cuda:
        with tempfile.TemporaryDirectory() as tmp:
            out["correctness"] = correctness(Path(tmp), 16, args.rtol)
        failed = not all(r["ok"] for r in out["correctness"])
    elif args.quick:  # the code path, on the CPU twice (a smoke run, not a check)
        print("  no CUDA device: cpu vs cpu, to exercise the script")
        with tempfile.TemporaryDirectory() as tmp:
            out["correctness_smoke"] = correctness(Path(tmp), 16, args.rtol, other="cpu")
    else:
        print("  skipped: no CUDA device")
    print(f"\n## throughput at paper sizes ({int(0.8 * args.n_samples)} training samples)")
    devices = (["cuda"] if cuda else []) + (["cpu"] if args.cpu_throughput or args.quick
                                             or not cuda else [])
    if not cuda:
        print("  cuda: skipped: no CUDA device")
    out["throughput"] = []
    for device in devices:
        if device == "cpu" and not (args.cpu_throughput or args.quick):
            continue
        out["throughput"] += throughput(models, Ns, args.ensemble, args.steps, device,
                                        args.n_samples)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))
        print(f"\nwrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
