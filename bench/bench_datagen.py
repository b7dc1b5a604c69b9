"""Benchmark: dataset generation (issue 2) against a naive solver and against a raw h5py write.

For one space of each family (poly8, cos8, sin8) and fem, at N = 1024 with 10,000 samples:

* **greenbench**: ``data.generate(spec)`` then ``io.write_dataset(path, ds)`` (atomic, with all
  attributes), best of ``--repeat`` runs;
* **raw write**: h5py writing the very same six arrays to a new file (``create_dataset`` with
  the data, no attributes, no rename) — the floor for producing those bytes;
* **naive**: each sample on its own — draw its coefficients, evaluate f on the grid, assemble
  dense ``K`` (stiffness) and ``M`` (consistent mass) and solve ``K u = M f`` with a dense LU
  (``numpy.linalg.solve``, O(N^3) per sample, no reuse). For poly/cos/sin this is the FEM
  solution of the interpolated f (not the closed form); it is a cost reference. Timed on the
  first ``--naive`` samples and extrapolated linearly to n;
* **per-sample loop**: greenbench's own exact solver called once per sample (closed form, or
  the tridiagonal FEM solve for fem) on the same subset, extrapolated: the gain from
  vectorizing over samples alone.

Usage::

    .venv/bin/python bench/bench_datagen.py                   # the issue's sizes
    .venv/bin/python bench/bench_datagen.py --n 2000 --N 256  # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from greenbench import pde
from greenbench.data import DataSpec, generate
from greenbench.io import ARRAYS, write_dataset
from greenbench.seeding import rng_for
from greenbench.spaces import basis_matrix, parse_space

SPACES = ("poly8", "cos8", "sin8", "fem")


def best_of(repeat: int, fn):
    """Smallest wall time of ``repeat`` calls (the machine is shared; the minimum is the
    least disturbed run) and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def greenbench_run(spec: DataSpec, path: Path) -> tuple[float, float, int]:
    """(generate seconds, write seconds, payload bytes) of one run."""
    t0 = time.perf_counter()
    ds = generate(spec)
    t1 = time.perf_counter()
    write_dataset(path, ds)
    t2 = time.perf_counter()
    nbytes = sum(getattr(ds, name).nbytes for name in ARRAYS)
    path.unlink()
    return t1 - t0, t2 - t1, nbytes


def raw_write(arrays: dict[str, np.ndarray], path: Path) -> float:
    """Seconds to write the arrays to a new file with h5py (then the file is removed)."""
    t0 = time.perf_counter()
    with h5py.File(path, "w") as h:
        for name, arr in arrays.items():
            h.create_dataset(name, data=arr)
    t = time.perf_counter() - t0
    path.unlink()
    return t


def naive_dense(space: str, N: int, n: int, master_seed: int = 0) -> None:
    """Solve n samples one at a time with a dense LU each (see the module docstring)."""
    x = pde.grid(N)
    rng = rng_for(master_seed, "naive", space, N)
    B = basis_matrix(space, x)
    K = pde.stiffness_matrix(N)
    M = pde.mass_matrix(N, "consistent")
    for _ in range(n):
        c = rng.uniform(-1.0, 1.0, size=B.shape[1])
        f = B @ c
        u = np.zeros(N + 1)
        u[1:-1] = np.linalg.solve(K, M @ f)


def per_sample_loop(space: str, N: int, n: int) -> None:
    """greenbench's exact solver, one sample per call."""
    x = pde.grid(N)
    sp = parse_space(space)
    rng = rng_for(0, "loop", space, N)
    B = basis_matrix(sp, x)
    for _ in range(n):
        c = rng.uniform(-1.0, 1.0, size=(1, B.shape[1]))
        f = c @ B.T
        pde.solve(sp, c, f, x)


def machine() -> dict[str, str]:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                     if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown"
    import os

    return {"cpu": model, "cores": str(os.cpu_count()), "python": platform.python_version(),
            "numpy": np.__version__, "h5py": h5py.__version__,
            "hdf5": h5py.version.hdf5_version,
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="samples per dataset")
    ap.add_argument("--N", type=int, default=1024, help="resolution (intervals)")
    ap.add_argument("--naive", type=int, default=40, help="samples timed for the naive solver")
    ap.add_argument("--repeat", type=int, default=5, help="runs of the fast paths (best kept)")
    ap.add_argument("--spaces", nargs="+", default=list(SPACES))
    ap.add_argument("--dir", default=None, help="where to write (default: a temporary dir)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()

    info = machine()
    print(f"# bench_datagen: n = {args.n} samples, N = {args.N}, best of {args.repeat}; "
          f"naive and loop timed on {args.naive} samples and extrapolated")
    print("# " + ", ".join(f"{k} {v}" for k, v in info.items()))
    workdir = Path(tempfile.mkdtemp(prefix="bench_datagen_", dir=args.dir))
    rows = []
    try:
        generate(DataSpec("poisson1d", "sin1", 8, 10))  # warm up imports, git provenance
        for space in args.spaces:
            spec = DataSpec("poisson1d", space, args.N, args.n)
            ds = generate(spec)
            arrays = {name: getattr(ds, name) for name in ARRAYS}
            # Interleaved, so both paths see the same load; every write goes to a new file.
            runs, raws = [], []
            for _ in range(args.repeat):
                runs.append(greenbench_run(spec, workdir / f"{space}.h5"))
                raws.append(raw_write(arrays, workdir / "raw.h5"))
            t_gen = min(r[0] for r in runs)
            t_write = min(r[1] for r in runs)
            t_total = min(r[0] + r[1] for r in runs)
            nbytes = runs[0][2]
            t_raw = min(raws)
            del ds, arrays
            t_naive, _ = best_of(1, lambda s=space: naive_dense(s, args.N, args.naive))
            t_loop, _ = best_of(1, lambda s=space: per_sample_loop(s, args.N, args.naive))
            naive_total = t_naive * args.n / args.naive
            loop_total = t_loop * args.n / args.naive
            rows.append({
                "space": space, "MB": nbytes / 1e6, "gen_s": t_gen, "write_s": t_write,
                "total_s": t_total, "samples_per_s": args.n / t_total,
                "MB_per_s": nbytes / 1e6 / t_total, "raw_write_s": t_raw,
                "raw_MB_per_s": nbytes / 1e6 / t_raw, "vs_raw": t_total / t_raw,
                "naive_s_extrapolated": naive_total, "naive_samples_per_s": args.n / naive_total,
                "naive_MB_per_s": nbytes / 1e6 / naive_total, "speedup_vs_naive":
                naive_total / t_total, "loop_s_extrapolated": loop_total,
                "loop_samples_per_s": args.n / loop_total, "speedup_vs_loop": loop_total / t_total,
            })
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    head = (f"{'space':6} {'MB':>6} | {'gen s':>6} {'write s':>7} {'samples/s':>10} {'MB/s':>7} | "
            f"{'raw s':>6} {'raw MB/s':>8} {'x raw':>6} | {'naive smp/s':>11} {'naive MB/s':>10} "
            f"{'speedup':>8} | {'loop smp/s':>10} {'speedup':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['space']:6} {r['MB']:6.0f} | {r['gen_s']:6.3f} {r['write_s']:7.3f} "
              f"{r['samples_per_s']:10.0f} {r['MB_per_s']:7.0f} | {r['raw_write_s']:6.3f} "
              f"{r['raw_MB_per_s']:8.0f} {r['vs_raw']:6.2f} | {r['naive_samples_per_s']:11.1f} "
              f"{r['naive_MB_per_s']:10.2f} {r['speedup_vs_naive']:7.0f}x | "
              f"{r['loop_samples_per_s']:10.0f} {r['speedup_vs_loop']:7.1f}x")
    print("# aim: speedup vs naive >= 50x, x raw (greenbench time / raw write time) <= 3")
    ok = all(r["speedup_vs_naive"] >= 50 and r["vs_raw"] <= 3 for r in rows)
    print(f"# aim {'met' if ok else 'MISSED'} for all spaces")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "args": vars(args),
                                               "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
