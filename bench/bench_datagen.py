"""Benchmark: dataset generation (issue 2) against a naive solver and against a raw h5py write.

For one space of each family (poly8, cos8, sin8) and fem, at N = 1024 with 10,000 samples:

* **greenbench**: ``data.generate(spec)`` then ``io.write_dataset(path, ds)`` (atomic, with all
  attributes), best of ``--repeat`` runs;

Times are CPU seconds of this process (user + system; one BLAS thread), the best of the runs:
on a shared machine, CPU time measures the work while wall time also measures the neighbours.
The wall-time ratio to the raw write is printed beside it.
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

import os

# One BLAS thread: the data path is single-threaded numpy anyway, and CPU time (used below
# because the machine is shared) then measures the work, not the thread count.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from greenbench import pde  # noqa: E402
from greenbench.data import DataSpec, generate  # noqa: E402
from greenbench.io import ARRAYS, write_dataset  # noqa: E402
from greenbench.seeding import rng_for  # noqa: E402
from greenbench.spaces import basis_matrix, parse_space  # noqa: E402

SPACES = ("poly8", "cos8", "sin8", "fem")


class Clock:
    """Wall time and CPU time (user + system of this process) of a block."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0


def greenbench_run(spec: DataSpec, path: Path) -> dict[str, float]:
    """Generate + write once; seconds (wall and CPU) of each part and the payload bytes."""
    with Clock() as gen:
        ds = generate(spec)
    with Clock() as wr:
        write_dataset(path, ds)
    path.unlink()
    return {"gen": gen.cpu, "write": wr.cpu, "total": gen.cpu + wr.cpu,
            "total_wall": gen.wall + wr.wall,
            "bytes": sum(getattr(ds, name).nbytes for name in ARRAYS)}


def raw_write(arrays: dict[str, np.ndarray], path: Path) -> dict[str, float]:
    """Write the arrays to a new file with h5py (then remove it); CPU and wall seconds."""
    with Clock() as wr:
        with h5py.File(path, "w") as h:
            for name, arr in arrays.items():
                h.create_dataset(name, data=arr)
    path.unlink()
    return {"cpu": wr.cpu, "wall": wr.wall}


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
    return {"cpu": model, "cores": str(os.cpu_count()), "python": platform.python_version(),
            "numpy": np.__version__, "h5py": h5py.__version__,
            "hdf5": h5py.version.hdf5_version,
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="samples per dataset")
    ap.add_argument("--N", type=int, default=1024, help="resolution (intervals)")
    ap.add_argument("--naive", type=int, default=40, help="samples timed for the naive solver")
    ap.add_argument("--repeat", type=int, default=7, help="runs of the fast paths (best kept)")
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
            del ds, arrays
            nbytes = runs[0]["bytes"]
            t_gen = min(r["gen"] for r in runs)
            t_write = min(r["write"] for r in runs)
            t_total = min(r["total"] for r in runs)
            t_raw = min(r["cpu"] for r in raws)
            wall_ratio = min(r["total_wall"] for r in runs) / min(r["wall"] for r in raws)
            with Clock() as naive:
                naive_dense(space, args.N, args.naive)
            with Clock() as loop:
                per_sample_loop(space, args.N, args.naive)
            naive_total = naive.cpu * args.n / args.naive
            loop_total = loop.cpu * args.n / args.naive
            rows.append({
                "space": space, "MB": nbytes / 1e6, "gen_s": t_gen, "write_s": t_write,
                "total_s": t_total, "samples_per_s": args.n / t_total,
                "MB_per_s": nbytes / 1e6 / t_total, "raw_write_s": t_raw,
                "raw_MB_per_s": nbytes / 1e6 / t_raw, "vs_raw": t_total / t_raw,
                "vs_raw_wall": wall_ratio,
                "naive_s_extrapolated": naive_total, "naive_samples_per_s": args.n / naive_total,
                "naive_MB_per_s": nbytes / 1e6 / naive_total, "speedup_vs_naive":
                naive_total / t_total, "loop_s_extrapolated": loop_total,
                "loop_samples_per_s": args.n / loop_total, "speedup_vs_loop": loop_total / t_total,
            })
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    head = (f"{'space':6} {'MB':>5} | {'gen s':>6} {'write s':>7} {'samples/s':>9} {'MB/s':>6} | "
            f"{'raw s':>6} {'raw MB/s':>8} {'x raw':>5} {'(wall)':>6} | {'naive smp/s':>11} "
            f"{'naive MB/s':>10} {'speedup':>8} | {'loop smp/s':>10} {'speedup':>7}")
    print("# CPU seconds (user + system, best run); '(wall)' is the same ratio in wall time")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['space']:6} {r['MB']:5.0f} | {r['gen_s']:6.3f} {r['write_s']:7.3f} "
              f"{r['samples_per_s']:9.0f} {r['MB_per_s']:6.0f} | {r['raw_write_s']:6.3f} "
              f"{r['raw_MB_per_s']:8.0f} {r['vs_raw']:5.2f} {r['vs_raw_wall']:6.2f} | "
              f"{r['naive_samples_per_s']:11.1f} {r['naive_MB_per_s']:10.2f} "
              f"{r['speedup_vs_naive']:7.0f}x | {r['loop_samples_per_s']:10.0f} "
              f"{r['speedup_vs_loop']:6.1f}x")
    print("# aim: speedup vs naive >= 50x, x raw (greenbench / raw write, CPU time) <= 3")
    met = [r["space"] for r in rows if r["speedup_vs_naive"] >= 50 and r["vs_raw"] <= 3]
    missed = [f"{r['space']} ({r['speedup_vs_naive']:.0f}x naive, {r['vs_raw']:.2f}x raw)"
              for r in rows if r["space"] not in met]
    print(f"# aim met: {', '.join(met) or 'none'}; missed: {', '.join(missed) or 'none'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "args": vars(args),
                                               "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
