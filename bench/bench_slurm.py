"""Benchmark: how many SLURM jobs a study submits, and the scheduling overhead of one training job.

1. **Job count, from the plan** (no cluster needed): for a study config and a cluster settings
   file, the training jobs (enabled models x resolutions), each ONE ``sbatch`` (a job array of
   ``ceil(members / chunk_size)`` elements, members = spaces x seeds), plus the other workflow
   jobs that ``snakemake --profile profiles/slurm`` submits as SLURM jobs (counted from a dry
   run of the study; local rules excluded).
2. **Scheduling overhead** (needs a cluster, e.g. tools/slurm/slurm-up.sh): wall time from
   submission to gathered results of a trivial training job (``--tasks`` array elements that
   return at once) through ``greenbench.hpc.run_tasks`` on SLURM, the local executor
   (subprocesses) and the debug executor (in-process), in the same run, median of ``--repeat``.
   A second variant imports ``greenbench.train`` (torch) in each task, as real training does.

Usage::

    .venv/bin/python bench/bench_slurm.py
    .venv/bin/python bench/bench_slurm.py --config config/paper.yaml --repeat 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from greenbench import hpc
from greenbench.config import load_config
from greenbench.spaces import space_names

ROOT = Path(__file__).resolve().parents[1]


def trivial(task: int, checkpoint_path: str | None) -> int:
    return 2 * task


def with_torch(task: int, checkpoint_path: str | None) -> int:
    import greenbench.train  # noqa: F401  (what every real training task imports)

    return 2 * task


def local_rules() -> set[str]:
    names = {"all"}
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        for block in re.findall(r"^localrules:\s*\n((?:\s+\w+,?\s*\n)+)", smk.read_text(), re.M):
            names |= set(re.findall(r"\w+", block))
    return names


def dry_run_jobs(config: Path) -> dict[str, int]:
    """Job counts by rule of ``snakemake -n`` for ``config`` in a scratch directory."""
    with tempfile.TemporaryDirectory() as wd:
        cmd = [str(Path(sys.executable).with_name("snakemake")), "-n", "-s",
               str(ROOT / "Snakefile"), "--directory", wd, "--configfile", str(config.resolve()),
               "--cores", "1"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    if out.returncode != 0:
        raise RuntimeError(f"snakemake -n failed for {config}:\n{text[-2000:]}")
    block = text[text.index("Job stats:"):]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", block, re.M)
            if m.group(1) != "total"}


def profile_groups(profile: Path) -> tuple[dict[str, str], dict[str, int]]:
    """``rule -> group`` and ``group -> components`` of a snakemake profile."""
    prof = yaml.safe_load(profile.read_text()) or {}
    groups = dict(g.split("=", 1) for g in prof.get("groups", []))
    comps = {k: int(v) for k, v in (c.split("=", 1) for c in prof.get("group-components", []))}
    return groups, comps


def job_plan(config: Path, cluster: Path, profile: Path) -> dict:
    cfg, settings = load_config(config), hpc.load_cluster_settings(cluster)
    models = [m for m, e in cfg["models"].items() if e.get("enabled", True)]
    members = len(space_names(cfg["spaces"])) * len(cfg["train_seeds"])
    per_array = math.ceil(members / (settings.chunk_size or members))
    jobs = dry_run_jobs(config)
    local = local_rules()
    other = {r: n for r, n in jobs.items() if r not in local}
    groups, comps = profile_groups(profile)
    submissions = {r: n for r, n in other.items() if r not in groups}
    for group in set(groups.values()):
        n = sum(other.get(r, 0) for r, g in groups.items() if g == group)
        if n:
            submissions[f"group {group}"] = math.ceil(n / comps.get(group, 1))
    n_train = len(models) * len(cfg["resolutions"])
    assert jobs.get("train", 0) == n_train, (jobs, n_train)
    return {"config": str(config.relative_to(ROOT)), "cluster": str(cluster.relative_to(ROOT)),
            "training_jobs": n_train, "members_per_job": members, "elements_per_array": per_array,
            "array_elements": n_train * per_array, "other_jobs": sum(other.values()),
            "other_submissions": sum(submissions.values()), "by_submission": submissions,
            "sbatch_calls": n_train + sum(submissions.values())}


def time_executor(fn, settings: hpc.ClusterSettings, n_tasks: int, repeat: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory(dir=ROOT / "logs" if (ROOT / "logs").is_dir() else None) as d:
        for _ in range(repeat):
            t0 = time.perf_counter()
            rep = hpc.run_tasks(fn, list(range(n_tasks)), settings, d, name=str)
            if not rep.ok or sorted(rep.results.values()) != [2 * i for i in range(n_tasks)]:
                raise RuntimeError(f"trivial job failed: {rep.failures}")
            times.append(time.perf_counter() - t0)
    return times


def default_partition() -> str | None:
    if shutil.which("sinfo") is None:
        return None
    out = subprocess.run(["sinfo", "-h", "-o", "%P %a"], capture_output=True, text=True)
    up = [ln.split()[0] for ln in out.stdout.splitlines() if ln.split()[1:] == ["up"]]
    if out.returncode != 0 or not up:
        return None
    return ([p for p in up if p.endswith("*")] or up)[0].rstrip("*")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, action="append",
                    help="study configs (default: config/config.yaml and config/paper.yaml)")
    ap.add_argument("--cluster", type=Path, default=ROOT / "config/cluster/slurm.yaml")
    ap.add_argument("--tasks", type=int, default=4, help="array elements of the trivial job")
    ap.add_argument("--profile", type=Path, default=ROOT / "profiles/slurm/config.yaml")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--plan-only", action="store_true", help="skip the timing")
    args = ap.parse_args()
    args.cluster, args.profile = args.cluster.resolve(), args.profile.resolve()
    configs = args.config or [ROOT / "config/config.yaml", ROOT / "config/paper.yaml"]
    print(f"# bench_slurm  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  {platform.node()}  "
          f"{platform.processor() or platform.machine()}  python {platform.python_version()}")
    print("\n## SLURM jobs a study submits (from the plan)\n")
    print("| config | training jobs (1 sbatch each) | members/job | elements/array "
          "| array elements | other jobs | their sbatch calls (grouped) | sbatch calls |")
    print("|---|---|---|---|---|---|---|---|")
    plans = [job_plan(c.resolve(), args.cluster.resolve(), args.profile.resolve())
             for c in configs]
    for p in plans:
        print(f"| {p['config']} | {p['training_jobs']} | {p['members_per_job']} "
              f"| {p['elements_per_array']} | {p['array_elements']} | {p['other_jobs']} "
              f"| {p['other_submissions']} | {p['sbatch_calls']} |")
    print(f"\ncluster file {args.cluster.relative_to(ROOT)}, profile "
          f"{args.profile.relative_to(ROOT)}")
    for p in plans:
        print(f"sbatch calls other than training ({p['config']}): {p['by_submission']}")
    if args.plan_only:
        return
    print()

    partition = default_partition()
    print(f"## Overhead of one training job: {args.tasks} trivial tasks, median of "
          f"{args.repeat} (s)\n")
    executors = {"debug": hpc.ClusterSettings(executor="debug"),
                 "local": hpc.ClusterSettings(executor="local", array_parallelism=args.tasks,
                                              poll_s=0.1)}
    if partition:
        executors["slurm"] = hpc.ClusterSettings(executor="slurm", partition=partition,
                                                 array_parallelism=args.tasks, poll_s=0.1,
                                                 timeout_min=5, signal_delay_s=30)
    else:
        print("(no SLURM cluster answers sinfo: no slurm row; start tools/slurm/slurm-up.sh)\n")
    print("| executor | trivial task | task importing greenbench.train (torch) |")
    print("|---|---|---|")
    for name, settings in executors.items():
        row = [statistics.median(time_executor(fn, settings, args.tasks, args.repeat))
               for fn in (trivial, with_torch)]
        print(f"| {name} | {row[0]:.2f} | {row[1]:.2f} |")


if __name__ == "__main__":
    main()
