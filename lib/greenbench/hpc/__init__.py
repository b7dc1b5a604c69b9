"""Execution of training tasks through submitit: local subprocesses, in-process, SLURM arrays.

The only package of greenbench that imports submitit (in :mod:`greenbench.hpc.run`; the
settings in :mod:`greenbench.hpc.settings` do not need it). Typical use, from a Snakemake
training job::

    settings = load_cluster_settings("config/cluster/local.yaml")
    report = run_tasks(run_task, tasks, settings, log_dir, name=lambda t: t.name,
                       done=task_done, checkpoint_dir=ckpt_dir)
    report.raise_for_failures()     # after writing what succeeded

See :func:`run_tasks` for executors, requeue/resume and failure reporting, and docs/hpc.md.
"""

from greenbench.hpc.run import (
    RunReport,
    SubmissionError,
    TaskFailure,
    TaskRunner,
    TasksFailedError,
    new_run_folder,
    run_tasks,
    safe_name,
    slurm_state,
)
from greenbench.hpc.settings import (
    EXECUTORS,
    ClusterSettings,
    ClusterSettingsError,
    check_gpus,
    chunks,
    load_cluster_settings,
)

__all__ = [
    "EXECUTORS", "ClusterSettings", "ClusterSettingsError", "RunReport", "SubmissionError",
    "TaskFailure", "TaskRunner", "TasksFailedError", "check_gpus", "chunks",
    "load_cluster_settings", "new_run_folder", "run_tasks", "safe_name", "slurm_state",
]
