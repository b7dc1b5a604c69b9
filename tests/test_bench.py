"""The benchmark scripts (bench/*.py) keep up with the library: each imports as a module (its
``main`` not run), and bench_analysis's pieces run on a tiny study. The scripts are not run by
``make test`` otherwise, and rotted silently when the library changed (operators as objects,
the path grammar ``data/{pde}/{space}/N{res}.h5`` checked by io, provenance checked by the
analysis)."""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py"))
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def load_script(path: Path):
    """``path`` imported as module ``_bench_<stem>`` (registered in ``sys.modules``, which
    dataclasses need), with ``bench/`` on ``sys.path`` while it imports (``_common``); the
    thread variables a script sets by default at import are removed again, so that they do
    not reach the subprocesses of later tests."""
    name = f"_bench_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    before = {v: os.environ.get(v) for v in _THREAD_VARS}
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    finally:
        sys.path.remove(str(BENCH))
        for var, value in before.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    return module


def test_the_bench_folder_has_the_scripts():
    names = {p.name for p in SCRIPTS}
    assert {"bench_analysis.py", "bench_train.py", "gpu_check.py", "_common.py"} <= names


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_every_bench_script_imports(path):
    module = load_script(path)
    if path.name != "_common.py":  # a script: it has a main, and did not run it on import
        assert callable(module.main), f"{path.name} has no main()"


def _pair(value) -> bool:
    """A [wall s, CPU s] pair: finite, wall > 0, CPU >= 0."""
    wall, cpu = value
    return math.isfinite(wall) and math.isfinite(cpu) and wall > 0 and cpu >= 0


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_bench_analysis_default_on_a_tiny_study(tmp_path, torch_one_thread):
    """bench_default on 2 spaces x N = 8 x 30 samples: every file goes through the path
    grammar and the analysis' provenance checks, and it returns one [wall, CPU] pair per step,
    the total being the sum of the analysis steps."""
    ba = load_script(BENCH / "bench_analysis.py")
    from greenbench.config import load_config

    study = load_config(ba.ROOT / "config" / "config.yaml")
    study.update(spaces={"sin": [1, 2]}, resolutions=[8], n_samples=30)
    times = ba.bench_default(tmp_path, study)
    evals = {f"evaluate {m} N{N}" for m in ba.OPERATORS for N in (8,)}
    steps = ["evaluate (all 6 jobs)", "crossval", "greens", "bounds",
             "data_quantity (closed-form linear; trains nothing)", "convergence"]
    assert set(times) == evals | set(steps) | {"token_training (not analysis)", "analysis total"}
    assert all(_pair(v) for v in times.values()), times
    for i in (0, 1):
        assert times["analysis total"][i] == pytest.approx(sum(times[s][i] for s in steps))
        assert times["evaluate (all 6 jobs)"][i] == pytest.approx(
            sum(times[k][i] for k in evals))
    assert (tmp_path / "data/poisson1d/sin1/N8.h5").is_file()   # the path grammar


def test_bench_analysis_paper_pieces_on_a_tiny_scale(tmp_path, torch_one_thread):
    """The paper part's aggregation (synthetic evaluation files through crossval and greens)
    and theory (Thm 3.2 tables, Thm 3.1) at N = 8."""
    ba = load_script(BENCH / "bench_analysis.py")
    agg = ba.bench_paper_aggregate(tmp_path, [8], n_models=1, seeds=(0,))
    assert set(agg) == {"write evaluation files", "crossval (+ scorecard)",
                        "greens (+ inverses, stencils)"}
    assert all(_pair(v) for v in agg.values()), agg
    theory = ba.bench_paper_theory([8], 12)
    assert set(theory) == {"bounds_table N8", "fd_theory N8"}
    assert all(_pair(v) for v in theory.values()), theory
