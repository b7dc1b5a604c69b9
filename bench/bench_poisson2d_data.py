"""Benchmark: poisson2d dataset generation (issue 11 item 4).

For the 28 spaces of config/poisson2d.yaml (poly/cos/sin {px}x{py}, px, py in 1..3, and the
bilinear fem space) and each N, with the default 250 samples: CPU seconds of the exact
solutions (``Poisson2d.solution_tensor`` for the smooth spaces, the Q1 fast-diagonalization
solve for fem), of ``data.generate`` in all, of ``io.write_dataset`` with its check (which
recomputes every u), and the bytes written. BLAS pinned to one thread; CPU time
(``time.process_time``) is the figure to compare on a shared machine.

Usage::

    .venv/bin/python bench/bench_poisson2d_data.py            # N = 16, 32, 64
    .venv/bin/python bench/bench_poisson2d_data.py --N 8 16
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from greenbench.data import DataSpec, generate  # noqa: E402
from greenbench.io import write_dataset  # noqa: E402
from greenbench.operators import get_operator  # noqa: E402
from greenbench.spaces import space_names  # noqa: E402

SPACES = {"poly": [1, 2, 3], "cos": [1, 2, 3], "sin": [1, 2, 3], "fem": True}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--N", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--n-samples", type=int, default=250)
    args = ap.parse_args()
    op = get_operator("poisson2d")
    names = space_names(SPACES, dim=2)
    print("| N | exact solutions (smooth, 27 spaces) CPU s | fem solve CPU s | generate CPU s "
          "| write + check CPU s | files | MB |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for N in args.N:
            x = op.grid(N)
            t = time.process_time()
            for s in names[:-1]:
                op.solution_tensor(s, x)
            t_exact = time.process_time() - t
            f = np.random.default_rng(0).uniform(-1, 1, (args.n_samples, N + 1, N + 1))
            t = time.process_time()
            op.fem_solve(f)
            t_fem = time.process_time() - t
            t_gen = t_write = 0.0
            size = 0
            for s in names:
                t = time.process_time()
                ds = generate(DataSpec(pde="poisson2d", space=s, N=N,
                                       n_samples=args.n_samples))
                t_gen += time.process_time() - t
                path = Path(tmp) / "poisson2d" / s / f"N{N}.h5"
                t = time.process_time()
                write_dataset(path, ds)
                t_write += time.process_time() - t
                size += path.stat().st_size
            print(f"| {N} | {t_exact:.2f} | {t_fem:.3f} | {t_gen:.2f} | {t_write:.2f} | "
                  f"{len(names)} | {size / 1e6:.1f} |")


if __name__ == "__main__":
    main()
