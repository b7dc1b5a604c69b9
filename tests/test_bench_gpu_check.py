"""bench/gpu_check.py, the script a session with a GPU runs once, works on a CPU-only machine:
its GPU parts say they are skipped, and its CPU path (correctness through ``run_task`` twice,
throughput) runs and writes its JSON (issue 9 item 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

pytestmark = pytest.mark.slow


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only path")
def test_gpu_check_skips_the_gpu_parts_and_runs_its_cpu_path(repo_root, tmp_path):
    out = tmp_path / "check.json"
    env = {**os.environ, "PYTHONPATH": str(repo_root / "lib"), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(repo_root / "bench" / "gpu_check.py"), "--quick",
                          "--models", "mlp,pinn", "--json", str(out)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "skipped: no CUDA device" in run.stdout
    result = json.loads(out.read_text())
    assert result["detect"]["cuda_available"] is False
    assert result["detect"]["auto_resolves_to"] == "cpu"
    assert result["detect"]["cluster_files"]["slurm"] == "cuda"
    assert "correctness" not in result            # nothing claimed about a GPU
    smoke = result["correctness_smoke"]
    assert {r["model"] for r in smoke} >= {"mlp", "fno", "pideeponet", "pinn", "fd", "linear"}
    assert all(r["ok"] and r["max_rel_diff"] == 0.0 for r in smoke)   # cpu vs cpu: identical
    rows = result["throughput"]
    assert {r["model"] for r in rows} == {"mlp", "pinn"}
    assert {r["device"] for r in rows} == {"cpu"}
    assert all(r["steps_per_s"] > 0 for r in rows)
