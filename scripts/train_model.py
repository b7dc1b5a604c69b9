"""Snakemake adapter: train every (train_space, seed) member of one (model, N) via greenbench.hpc.

Rules ``train`` and ``train_quantity``: with ``sample_sizes`` in the params (the data-quantity
study), every member is trained once per size on the first n samples of its training split
(``TrainTask.n_train``; one ensemble per size and chunk of seeds) and the metrics gain a
``sample_size`` dimension.

The members are split into tasks of ``chunk_size`` (cluster settings), each trained as one
ensemble by ``greenbench.train.run_task``; finished tasks (``task_done``) are not rerun. The
metrics file is written only when every task succeeded; otherwise the job fails listing each
failed task with its log, and the finished tasks' ``.pt`` files stay for the rerun. A cheap fit
(``greenbench.study.cheap_fit``: ``optimizer: exact``, or ``fd``) runs in this process when the
executor is local (``ClusterSettings.in_process_when_local``); on SLURM nothing changes.

Cluster settings: ``$GREENBENCH_CLUSTER`` (set from the config key ``cluster``), else
config/cluster/local.yaml. Outside Snakemake (debugging):
    python scripts/train_model.py params.yaml results/.../metrics.nc logs/.../submitit
with params.yaml holding the rule's ``params.train`` (see workflow/rules/common.smk).
"""

import logging
import os
import sys
from operator import attrgetter
from pathlib import Path

from greenbench import hpc, io, train
from greenbench.study import cheap_fit

DEFAULT_CLUSTER = "config/cluster/local.yaml"


def _checksum(path: str) -> str:
    """The dataset's checksum, or ``""`` when it cannot be read: only the tasks that use it
    fail then (run_task names the file), the others train."""
    try:
        return io.dataset_checksum(path)
    except io.DatasetError as exc:
        logging.warning("%s; the tasks that train on it will fail", exc)
        return ""


def make_tasks(p: dict, chunk_size: int, device: str = "cpu") -> list[train.TrainTask]:
    """The tasks of the job, each planned with its members' dataset checksums (read now from
    the files): a member whose data changed gets another fingerprint and is retrained.
    ``device``: where they train (``ClusterSettings.task_device``; not in the fingerprint)."""
    members = [(space, int(seed)) for space in p["spaces"] for seed in p["seeds"]]
    checksums = {s: _checksum(p["datasets"][s]) for s in p["spaces"]}
    sizes = [int(n) for n in p["sample_sizes"]] if p.get("sample_sizes") else [None]
    return [train.TrainTask(model=p["model"], entry=p["entry"], pde=p["pde"], N=int(p["N"]),
                            members=chunk, out_dir=p["out_dir"], master_seed=int(p["master_seed"]),
                            datasets={s: p["datasets"][s] for s, _ in chunk},
                            checksums={s: checksums[s] for s, _ in chunk},
                            data_hash=str(p.get("data_hash", "")), n_train=n, device=device,
                            noise=float(p.get("noise", 0.0)))
            for n in sizes for chunk in hpc.chunks(members, chunk_size)]


def main(p: dict, out: str, log_dir: str, cluster_file: str) -> None:
    # a closed-form or fd fit runs in this process with the local executor (never on SLURM)
    settings = hpc.load_cluster_settings(cluster_file).in_process_when_local(cheap_fit(p["entry"]))
    tasks = make_tasks(p, settings.chunk_size, settings.task_device())
    logging.info("%s N=%s: %d member(s) in %d task(s); cluster settings %s (%s executor, "
                 "device %s)", p["model"], p["N"], sum(len(t.members) for t in tasks), len(tasks),
                 cluster_file, settings.resolved_executor(), settings.task_device())
    report = hpc.run_tasks(train.run_task, tasks, settings, log_dir, name=attrgetter("name"),
                           done=train.task_done, load_done=train.load_task_result,
                           checkpoint_dir=Path(p["out_dir"]) / "checkpoints",
                           job_name=f"gb-train-{p['model']}-N{p['N']}")
    report.raise_for_failures("training task")
    combine = train.quantity_metrics_dataset if p.get("sample_sizes") else train.metrics_dataset
    ds = combine(p["model"], p["entry"], int(p["N"]), p["pde"],
                 [report.results[t.name] for t in tasks])
    io.write_netcdf(ds, out, kind="metrics")
    logging.info("wrote %s (submitit folder %s, jobs %s)", out, report.folder,
                 ", ".join(report.job_ids) or "none")


if "snakemake" in globals():
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        main(snakemake.params.train, snakemake.output.metrics,  # noqa: F821
             str(Path(snakemake.log[0]).parent / "submitit"),  # noqa: F821
             os.environ.get("GREENBENCH_CLUSTER") or DEFAULT_CLUSTER)
    except Exception:
        logging.exception("training job failed")
        raise
elif __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main(io.read_yaml(sys.argv[1]), sys.argv[2], sys.argv[3],
         os.environ.get("GREENBENCH_CLUSTER") or DEFAULT_CLUSTER)
