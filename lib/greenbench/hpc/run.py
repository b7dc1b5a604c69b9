"""Running tasks through submitit: local subprocesses, in-process, or SLURM arrays.

A *task* is any picklable object; a *task function* ``fn(task, checkpoint_path) -> result`` runs
it, writing its own outputs and, periodically, a checkpoint at ``checkpoint_path`` from which it
resumes when called again.
:func:`run_tasks` hands a list of tasks to an executor and waits:

* ``local`` (default): each task in its own subprocess (submitit ``LocalExecutor``), at most
  ``array_parallelism`` at a time;
* ``debug``: in this process, one after another (for pdb and profilers);
* ``slurm``: one SLURM job array for all tasks (``sbatch --array=0-{n-1}%{array_parallelism}``),
  also for a single task (``--array=0-0``; submitit alone would send it as a plain job);
* ``auto``: ``slurm`` when ``srun`` is on ``PATH``, else ``local``.

Tasks for which ``done(task)`` is true are not submitted (a rerun resubmits only unfinished
work). A task that times out or is preempted is requeued by submitit (:class:`TaskRunner` is
``Checkpointable``) and resumes from its checkpoint file; the checkpoint is removed once the task
succeeded. A task that raises is reported by name with the path of its log, while the results of
the other tasks are kept (:class:`RunReport`); a task that ended without a result (cancelled,
out of memory, node failure, time limit hit too often) is reported with its SLURM state from
``sacct`` (else ``squeue``/``scontrol``, else submitit's). A submission error (``sbatch``
refusing the array) raises :class:`SubmissionError` carrying ``sbatch``'s own message, before any
task ran; GPUs requested from a partition without any raise
:class:`~greenbench.hpc.settings.ClusterSettingsError` before submitting
(:func:`~greenbench.hpc.settings.check_gpus`).

No orphans (:mod:`greenbench.hpc.watchdog`): under Snakemake the calling process stops, cancelling
its tasks, when the Snakemake that started it is gone (even after ``kill -9``); local task
processes end when the process that submitted them is gone; and a per-task lock file beside the
checkpoint keeps two runs of one task from training at once (the second waits, then does not
retrain a task the first finished).

Every call uses a fresh submitit folder ``{log_dir}/{timestamp}-{pid}``: job ids restart at 1 on
a fresh cluster, and a reused folder would hand back stale results.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import submitit
from submitit.core.utils import DelayedSubmission, FailedJobError, JobPaths, UncompletedJobError
from submitit.slurm.slurm import SlurmJob

from greenbench.hpc import watchdog
from greenbench.hpc.settings import ClusterSettings, check_gpus

T = TypeVar("T")
R = TypeVar("R")
LOG = logging.getLogger("greenbench.hpc")


class SubmissionError(RuntimeError):
    """The scheduler refused the submission (e.g. ``sbatch``'s own error message)."""


class TasksFailedError(RuntimeError):
    """Some tasks failed; the message lists each by name with its log path."""

    def __init__(self, failures: Sequence[TaskFailure], n_tasks: int, what: str = "task"):
        self.failures = tuple(failures)
        lines = [f"{len(failures)} of {n_tasks} {what}s failed "
                 "(results of the other tasks are kept; a rerun retries only unfinished tasks):"]
        lines += [f"  {f}" for f in failures]
        super().__init__("\n".join(lines))


class TaskRunner(submitit.helpers.Checkpointable, Generic[T, R]):
    """The callable submitted for one task: ``fn(task, checkpoint_path)``.

    On timeout or preemption submitit calls :meth:`checkpoint`, which resubmits this same
    runner: the task's progress lives in its checkpoint file (written by ``fn``), not in the
    pickled runner, so the requeued run resumes from the last checkpoint ``fn`` wrote.

    Never two runs of one task at once: with a checkpoint path, the run holds an exclusive lock
    on ``{checkpoint_dir}/{name}.lock`` (:func:`~greenbench.hpc.watchdog.task_lock`); a second
    runner of the task waits for the first to end, then returns ``load_done(task)`` when
    ``done(task)`` is true instead of training again (else it resumes from the checkpoint).

    No orphans: with ``submitter`` (the local executor's training job), the task process ends
    itself as soon as that process is gone, even when it was killed by ``SIGKILL``
    (:class:`~greenbench.hpc.watchdog.Watchdog`), and the kernel kills it when its direct parent,
    submitit's controller, dies (``PR_SET_PDEATHSIG``).
    """

    def __init__(self, fn: Callable[[T, str | None], R], task: T, checkpoint_path: str | None,
                 *, name: str = "task", done: Callable[[T], bool] | None = None,
                 load_done: Callable[[T], R] | None = None,
                 submitter: watchdog.ProcessRef | None = None):
        self.fn, self.task, self.checkpoint_path = fn, task, checkpoint_path
        self.name, self.done, self.load_done, self.submitter = name, done, load_done, submitter

    def __call__(self) -> R:
        if self.submitter is not None:
            _die_with_submitter(self.submitter, self.name)
        if self.checkpoint_path is None:
            return self.fn(self.task, self.checkpoint_path)
        lock = str(Path(self.checkpoint_path).with_suffix(".lock"))
        with watchdog.task_lock(lock, f"task {self.name}") as waited:
            if self.done is not None and self.done(self.task):
                LOG.warning("task %s was finished by another run%s; not training it again",
                            self.name, " while this one waited" if waited else "")
                return self.load_done(self.task) if self.load_done else None  # type: ignore
            if waited:
                LOG.warning("task %s: the other run did not finish it; running it now "
                            "(resuming from %s if it exists)", self.name, self.checkpoint_path)
            return self.fn(self.task, self.checkpoint_path)

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        LOG.warning("task interrupted; requeueing to resume from %s", self.checkpoint_path)
        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


def _die_with_submitter(submitter: watchdog.ProcessRef, task_name: str) -> None:
    """In a local task process: end it when the training job that submitted it is gone."""
    watchdog.set_parent_death_signal(signal.SIGKILL)  # parent: submitit's controller

    def gone() -> None:
        watchdog.exit_now(f"greenbench: the training job (pid {submitter.pid}) that submitted "
                          f"task {task_name} is gone; stopping this task (a rerun resumes it "
                          "from its checkpoint)")

    if not submitter.alive():
        gone()
    watchdog.Watchdog(submitter, gone).start()


@dataclass(frozen=True)
class TaskFailure:
    """One failed task: its name, the last line of its error, its log file and job id."""

    name: str
    error: str
    log: str | None
    job_id: str | None = None

    def __str__(self) -> str:
        job = f", job {self.job_id}" if self.job_id else ""
        return f"{self.name}: {self.error} (log: {self.log}{job})"


@dataclass(frozen=True)
class RunReport(Generic[R]):
    """What :func:`run_tasks` did. ``results`` maps task name to result for every task that
    succeeded now or was already done (then via ``load_done``, or ``None`` without it)."""

    results: dict[str, R]
    skipped: tuple[str, ...]
    failures: tuple[TaskFailure, ...]
    executor: str
    folder: Path
    job_ids: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.failures

    def raise_for_failures(self, what: str = "task") -> None:
        """Raise :class:`TasksFailedError` listing every failed task with its log path."""
        if self.failures:
            raise TasksFailedError(self.failures, len(self.results) + len(self.failures), what)


def new_run_folder(log_dir: str | os.PathLike) -> Path:
    """A fresh, not yet existing submitit folder ``{log_dir}/{UTC timestamp}-{pid}[-k]``."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S")
    base = Path(log_dir).absolute() / f"{stamp}-{os.getpid()}"
    folder, k = base, 0
    while folder.exists():
        k += 1
        folder = base.with_name(f"{base.name}-{k}")
    folder.mkdir(parents=True)
    return folder


def safe_name(name: str) -> str:
    """``name`` made safe as a file name (``/`` and odd characters replaced by ``_``)."""
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name) or "_"


def run_tasks(fn: Callable[[T, str | None], R], tasks: Sequence[T], settings: ClusterSettings,
              log_dir: str | os.PathLike, *, name: Callable[[T], str] = str,
              done: Callable[[T], bool] | None = None, load_done: Callable[[T], R] | None = None,
              checkpoint_dir: str | os.PathLike | None = None,
              job_name: str = "greenbench") -> RunReport[R]:
    """Run ``fn(task, checkpoint_path)`` for every unfinished task; wait; gather results.

    Parameters
    ----------
    fn
        Picklable (importable, module-level) task function. It gets the task and
        ``{checkpoint_dir}/{name}.ckpt`` (or ``None`` without ``checkpoint_dir``), must resume
        from that file when it exists, and returns a picklable result.
    tasks
        The tasks; ``name(task)`` must be unique (it names logs, checkpoints and results).
    settings
        Executor and resources (:class:`ClusterSettings`).
    log_dir
        Parent of the fresh submitit folder of this call (job logs ``*_log.err``/``.out``).
    done, load_done
        ``done(task)`` true: the task is not submitted; its result is ``load_done(task)``.
    job_name
        SLURM job name of the array.

    Returns
    -------
    RunReport
        Results by task name, skipped names, failures (name, error, log path), job ids.

    Raises
    ------
    SubmissionError
        The scheduler refused the submission; the message is the scheduler's (``sbatch``'s).
    """
    names = [name(t) for t in tasks]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"task names must be unique; repeated: {dup}")
    executor = settings.resolved_executor()
    skipped = [t for t in tasks if done is not None and done(t)]
    todo = [t for t in tasks if not (done is not None and done(t))]
    results: dict[str, R] = {name(t): (load_done(t) if load_done else None)  # type: ignore[misc]
                             for t in skipped}
    if skipped:
        LOG.info("%d of %d tasks already done, not resubmitted: %s", len(skipped), len(tasks),
                 ", ".join(name(t) for t in skipped))
    folder = new_run_folder(log_dir)
    ckpt_dir = Path(checkpoint_dir).absolute() if checkpoint_dir is not None else None
    if ckpt_dir is not None:
        ckpt_dir.mkdir(parents=True, exist_ok=True)

    # local task processes end with this one (not SLURM's: a job there is cancelled by scancel)
    submitter = watchdog.ProcessRef.of(os.getpid()) if executor == "local" else None

    def runner(t: T) -> TaskRunner[T, R]:
        path = None if ckpt_dir is None else str(ckpt_dir / f"{safe_name(name(t))}.ckpt")
        return TaskRunner(fn, t, path, name=name(t), done=done, load_done=load_done,
                          submitter=submitter)

    failures: list[TaskFailure] = []
    job_ids: list[str] = []
    if todo and executor == "slurm":
        check_gpus(settings)  # GPUs asked of a partition that has none: say so, submit nothing
    if todo:
        LOG.info("running %d task(s) with the %s executor; submitit folder %s",
                 len(todo), executor, folder)
    with _stop_when_snakemake_dies():
        if executor == "debug":
            for t in todo:
                _run_in_process(runner(t), name(t), folder, results, failures)
        elif todo:
            _run_submitit(runner, todo, name, settings, executor, folder, job_name,
                          results, failures, job_ids)
    for f in failures:
        LOG.error("task failed: %s", f)
    if ckpt_dir is not None:
        with contextlib.suppress(OSError):  # only when empty: every task finished
            ckpt_dir.rmdir()
    return RunReport(results=results, skipped=tuple(name(t) for t in skipped),
                     failures=tuple(failures), executor=executor, folder=folder,
                     job_ids=tuple(dict.fromkeys(job_ids)))


def _run_in_process(r: TaskRunner, task_name: str, folder: Path, results: dict,
                    failures: list[TaskFailure]) -> None:
    t0 = time.perf_counter()
    try:
        results[task_name] = r()
    except Exception as exc:  # noqa: BLE001 - reported with its traceback, others go on
        log = folder / f"{safe_name(task_name)}_log.err"
        log.write_text(traceback.format_exc())
        failures.append(TaskFailure(task_name, f"{type(exc).__name__}: {exc}", str(log)))
        return
    _drop_checkpoint(r.checkpoint_path)
    LOG.info("task %s done in %.1fs (in-process)", task_name, time.perf_counter() - t0)


def _make_executor(settings: ClusterSettings, executor: str, folder: Path, job_name: str):
    if executor == "local":
        ex = submitit.LocalExecutor(folder, max_num_timeout=settings.max_requeue)
        ex.update_parameters(timeout_min=settings.timeout_min, gpus_per_node=settings.gpus_per_task,
                             signal_delay_s=settings.signal_delay_s)
        return ex
    ex = _SlurmArrayExecutor(folder, max_num_timeout=settings.max_requeue)
    params: dict[str, Any] = dict(
        job_name=job_name, time=math.ceil(settings.timeout_min), nodes=1, ntasks_per_node=1,
        cpus_per_task=settings.cpus_per_task, signal_delay_s=settings.signal_delay_s,
        array_parallelism=settings.array_parallelism)
    for key in ("partition", "account", "qos"):
        if getattr(settings, key) is not None:
            params[key] = getattr(settings, key)
    if settings.gpus_per_task:
        params["gpus_per_task"] = settings.gpus_per_task
    if settings.mem_gb is not None:
        params["mem"] = f"{int(math.ceil(settings.mem_gb * 1024))}MB"
    if settings.setup:
        params["setup"] = list(settings.setup)
    if settings.slurm_additional_parameters:
        params["additional_parameters"] = dict(settings.slurm_additional_parameters)
    ex.update_parameters(**params)
    return ex


class _SlurmArrayExecutor(submitit.SlurmExecutor):
    """submitit's ``SlurmExecutor`` whose ``submit_array`` always submits a job array.

    submitit sends a one-element ``submit_array`` as a plain job; training is documented (and
    monitored, ``sacct -j <id>_<k>``, ``scancel <id>``) as one array per training job, so one
    task goes out as ``--array=0-0%1`` too. The rest is submitit's own array branch."""

    def _internal_process_submissions(self, delayed_submissions: list[DelayedSubmission]
                                      ) -> list[Any]:
        if len(delayed_submissions) != 1:
            return super()._internal_process_submissions(delayed_submissions)
        folder = JobPaths.get_first_id_independent_folder(self.folder)
        folder.mkdir(parents=True, exist_ok=True)
        (delayed,) = delayed_submissions
        pickle_path = folder / f"{uuid.uuid4().hex}.pkl"
        delayed.set_timeout(self.parameters.get("time", 5), self.max_num_timeout)
        delayed.dump(pickle_path)
        array_ex = submitit.SlurmExecutor(self.folder, self.max_num_timeout)
        array_ex.update_parameters(**self.parameters)
        array_ex.parameters["map_count"] = 1  # -> --array=0-0%1, logs %A_%a
        self._throttle()
        first = array_ex._submit_command(self._submitit_command_str)
        job: SlurmJob = SlurmJob(folder=self.folder, job_id=f"{first.job_id}_0",
                                 tasks=list(range(first.num_tasks)))
        job.paths.move_temporary_file(pickle_path, "submitted_pickle")
        return [job]


@contextlib.contextmanager
def _task_environment(settings: ClusterSettings, executor: str) -> Iterator[None]:
    """Environment inherited by submitted tasks (sbatch exports it; local subprocesses inherit).

    Sets the thread count. For SLURM it also hides the ``SLURM_*`` variables of an allocation
    this process may run in (Snakemake inside ``sbatch``/``salloc``): exported into the new job
    they would override its own (e.g. two ``SLURM_MEM_PER_*`` make ``srun`` refuse to start)."""
    threads = str(settings.cpus_per_task)
    new: dict[str, str | None] = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    if executor == "slurm":
        new |= {k: None for k in os.environ if k.startswith("SLURM_") and k != "SLURM_CONF"}
    old = {k: os.environ.get(k) for k in new}
    try:
        _set_environ(new)
        yield
    finally:
        _set_environ(old)


def _set_environ(values: dict[str, str | None]) -> None:
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _run_submitit(runner: Callable[[T], TaskRunner], todo: list[T], name: Callable[[T], str],
                  settings: ClusterSettings, executor: str, folder: Path, job_name: str,
                  results: dict, failures: list[TaskFailure], job_ids: list[str]) -> None:
    with _terminate_as_exit():
        _submit_and_wait(runner, todo, name, settings, executor, folder, job_name, results,
                         failures, job_ids)


@contextlib.contextmanager
def _stop_when_snakemake_dies() -> Iterator[None]:
    """Under Snakemake (``$GREENBENCH_SNAKEMAKE_PID``): when that Snakemake is gone, even killed
    by ``SIGKILL``, SIGTERM this process, so that it cancels its tasks and exits as on any
    SIGTERM (:func:`_terminate_as_exit`); SIGKILL after 60 s if it is still running."""
    snakemake = watchdog.snakemake_process()
    if snakemake is None:
        yield
        return

    def gone() -> None:
        LOG.error("Snakemake (pid %d) is gone: stopping this training job and cancelling its "
                  "tasks", snakemake.pid)
        watchdog.terminate_self(grace_s=60.0)

    with watchdog.Watchdog(snakemake, gone):
        yield


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM (Snakemake or SLURM stopping the training job) raises SystemExit, so that the
    submitted tasks are cancelled instead of left running (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _submit_and_wait(runner: Callable[[T], TaskRunner], todo: list[T], name: Callable[[T], str],
                     settings: ClusterSettings, executor: str, folder: Path, job_name: str,
                     results: dict, failures: list[TaskFailure], job_ids: list[str]) -> None:
    ex = _make_executor(settings, executor, folder, job_name)
    queue = list(todo)
    active: list[tuple[T, Any, TaskRunner, float]] = []
    try:
        with _task_environment(settings, executor):
            if executor == "slurm":
                runners = [runner(t) for t in queue]
                try:
                    jobs = ex.submit_array(runners)
                except FailedJobError as exc:
                    raise SubmissionError(f"sbatch refused the job array {job_name!r} "
                                          f"({len(queue)} tasks): {str(exc).strip()}") from exc
                job_ids.append(jobs[0].job_id.split("_")[0])
                LOG.info("submitted SLURM job array %s: %d task(s), at most %d at a time",
                         job_ids[-1], len(jobs), settings.array_parallelism)
                now = time.perf_counter()
                active = [(t, j, r, now) for t, j, r in zip(queue, jobs, runners, strict=True)]
                queue = []
        while queue or active:
            while queue and len(active) < settings.array_parallelism:
                t = queue.pop(0)
                r = runner(t)
                with _task_environment(settings, executor):
                    job = ex.submit(r)
                job_ids.append(job.job_id)
                active.append((t, job, r, time.perf_counter()))
            still = []
            for t, job, r, t0 in active:
                if job.done():
                    _collect(job, r, name(t), t0, results, failures, executor)
                else:
                    still.append((t, job, r, t0))
            active = still
            if queue or active:
                time.sleep(settings.poll_s)
    except BaseException:
        if active:  # Ctrl-C / SIGTERM: leave no orphan tasks behind
            LOG.warning("interrupted: cancelling %d running task(s)", len(active))
        for _, job, _, _ in active:
            with contextlib.suppress(Exception):
                job.cancel(check=False)
        raise


def _collect(job: Any, r: TaskRunner, task_name: str, t0: float, results: dict,
             failures: list[TaskFailure], executor: str = "local") -> None:
    if executor == "slurm" and not job.paths.result_pickle.exists():
        # SLURM ended it without a result (scancel, memory, node): do not wait the 15 s that
        # submitit gives a late result file, there will be none
        state = _submitit_state(job)
        if state.split(" ", 1)[0] in _STATE_HINTS:
            found = slurm_state(job.job_id) or (state, "submitit")
            failures.append(TaskFailure(task_name, _unfinished_error(*found),
                                        str(job.paths.stderr), job.job_id))
            return
    exc = job.exception()
    if exc is None:
        results[task_name] = job.result()
        _drop_checkpoint(r.checkpoint_path)
        LOG.info("task %s done (job %s) after %.1fs", task_name, job.job_id,
                 time.perf_counter() - t0)
        return
    if isinstance(exc, UncompletedJobError) and not isinstance(exc, FailedJobError):
        # ended without a result and without a Python error (cancelled, killed): say how
        state, source = (slurm_state(job.job_id) if executor == "slurm" else None) or (
            _submitit_state(job), "submitit")
        error = _unfinished_error(state, source)
    else:
        error = _short_error(exc)
    failures.append(TaskFailure(task_name, error, str(job.paths.stderr), job.job_id))


# What a user can do about a task that ended without a result, by (base) SLURM state.
_STATE_HINTS = {
    "CANCELLED": "cancelled (scancel, an administrator or a dependency); a rerun resubmits it",
    "TIMEOUT": "hit its time limit more often than max_requeue allows; raise timeout_min or "
               "max_requeue, a rerun resumes it from its checkpoint",
    "OUT_OF_MEMORY": "ran out of memory; raise mem_gb in the cluster file and rerun",
    "NODE_FAIL": "its node failed; a rerun resubmits it (from its checkpoint)",
    "PREEMPTED": "preempted more often than max_requeue allows; a rerun resumes it",
    "BOOT_FAIL": "its node failed to boot; a rerun resubmits it",
    "DEADLINE": "reached its deadline; a rerun resubmits it",
}


def _unfinished_error(state: str, source: str) -> str:
    """``did not finish: CANCELLED by 0 (SLURM state from sacct): cancelled (...)``."""
    hint = _STATE_HINTS.get(state.split()[0].rstrip("+") if state.strip() else "")
    where = "SLURM state from " + source if source != "submitit" else "state from submitit"
    return f"did not finish: {state} ({where})" + (f": {hint}" if hint else "")


def slurm_state(job_id: str, timeout_s: float = 15.0) -> tuple[str, str] | None:
    """The SLURM state of a job or array element (``"12_3"``) and where it came from:
    ``sacct`` (accounting, the last run of a requeued job), else ``squeue``, else
    ``scontrol show job`` (both know a job only for ``MinJobAge`` after it ended); ``None``
    when none of them knows it. The state is as the tool writes it, e.g. ``CANCELLED by 0``."""
    queries = (
        ("sacct", ["sacct", "-j", job_id, "-X", "-n", "-P", "-o", "JobID,State"]),
        ("squeue", ["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%i|%T"]),
        ("scontrol", ["scontrol", "-o", "show", "job", job_id]),
    )
    for tool, cmd in queries:
        if shutil.which(cmd[0]) is None:
            continue
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode != 0:
            continue
        if tool == "scontrol":
            m = re.search(r"\bJobState=(\S+)", out.stdout)
            if m:
                return m.group(1), tool
            continue
        rows = [ln.split("|", 1) for ln in out.stdout.splitlines() if "|" in ln]
        states = [st.strip() for jid, st in rows if jid.strip() == job_id and st.strip()]
        if states:
            return states[-1], tool
    return None


def _submitit_state(job: Any) -> str:
    try:
        return str(job.state)
    except Exception:  # noqa: BLE001 - the state is only for the message
        return "UNKNOWN"


def _short_error(exc: BaseException) -> str:
    """The last line of the remote traceback (``ValueError: ...``), else the first line."""
    text = str(exc)
    if isinstance(exc, FailedJobError) and "with trace:" in text:
        trace = text.split("----------------------")[1] if text.count("-" * 22) >= 2 else text
        lines = [ln for ln in trace.strip().splitlines() if ln.strip()]
        if lines:
            return lines[-1].strip()
    if isinstance(exc, UncompletedJobError):
        return "did not finish: " + text.strip().splitlines()[0]
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _drop_checkpoint(path: str | None) -> None:
    if path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
