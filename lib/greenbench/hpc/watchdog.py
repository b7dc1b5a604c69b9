"""No orphans: stop work whose starter is gone, and never run one task twice at once.

Three tools, used by :mod:`greenbench.hpc.run`:

* :class:`ProcessRef` names one process by its pid *and* its start time, so that a pid reused by
  the kernel after the process died is not mistaken for it; :meth:`ProcessRef.alive` counts a
  zombie (killed, not yet reaped) as gone.
* :class:`Watchdog` is a daemon thread that polls a :class:`ProcessRef` and calls a function once
  when that process is gone (portable: ``/proc`` on Linux, ``os.kill(pid, 0)`` elsewhere).
  :func:`set_parent_death_signal` is the Linux kernel's own mechanism (``prctl(PR_SET_PDEATHSIG)``)
  for the direct parent; it needs no thread but watches only the parent *thread* that started the
  process, so it is used only where that is known to live as long as the parent process.
* :func:`task_lock` is an exclusive ``flock`` on a per-task lock file: a second run of the same
  task waits until the first has ended (it logs that it waits, and which pid holds the lock).

The training job learns which Snakemake started it from ``$GREENBENCH_SNAKEMAKE_PID``
(:data:`SNAKEMAKE_PID_ENV`, set by ``workflow/rules/common.smk`` in the main Snakemake process);
:func:`snakemake_process` checks that this pid is an ancestor of the current process, so a value
inherited from an unrelated run (a stale environment, a job on another host) is ignored.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

LOG = logging.getLogger("greenbench.hpc")
SNAKEMAKE_PID_ENV = "GREENBENCH_SNAKEMAKE_PID"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _proc_stat(pid: int) -> tuple[str, int, str] | None:
    """``(state, ppid, start time)`` of ``pid`` from ``/proc/{pid}/stat``; ``None`` if absent.

    Raises
    ------
    NotImplementedError
        There is no ``/proc`` (not Linux).
    """
    if not os.path.isdir("/proc/self"):
        raise NotImplementedError("no /proc")
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses; fields after the last ')'
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), fields[19]  # fields 3, 4 and 22 of proc(5)


@dataclass(frozen=True)
class ProcessRef:
    """One process: its pid and, where ``/proc`` exists, its start time (clock ticks since boot).

    Attributes
    ----------
    pid
        Process id.
    start
        ``/proc/{pid}/stat`` field 22, or ``None`` without ``/proc``.
    """

    pid: int
    start: str | None

    @classmethod
    def of(cls, pid: int) -> ProcessRef | None:
        """The running process ``pid``, or ``None`` when there is none (or only a zombie)."""
        try:
            stat = _proc_stat(pid)
        except NotImplementedError:
            return cls(pid, None) if _signal_zero(pid) else None
        if stat is None or stat[0] in "ZX":
            return None
        return cls(pid, stat[2])

    def alive(self) -> bool:
        """Whether this same process still runs: not exited, not a zombie, pid not reused."""
        try:
            stat = _proc_stat(self.pid)
        except NotImplementedError:
            return _signal_zero(self.pid)
        return stat is not None and stat[0] not in "ZX" and stat[2] == self.start


def _signal_zero(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def ancestors(pid: int | None = None) -> list[int]:
    """Pids of the parent, grandparent, ... of ``pid`` (default: this process), up to pid 1.

    Empty without ``/proc``, except for the direct parent of this process.
    """
    pid = os.getpid() if pid is None else pid
    out: list[int] = []
    try:
        while True:
            stat = _proc_stat(pid)
            if stat is None or stat[1] <= 0 or stat[1] in out:
                return out
            pid = stat[1]
            out.append(pid)
    except NotImplementedError:
        return [os.getppid()] if pid == os.getpid() else []


def snakemake_process() -> ProcessRef | None:
    """The Snakemake that started this process, from ``$GREENBENCH_SNAKEMAKE_PID``.

    Returns
    -------
    ProcessRef or None
        ``None`` when the variable is unset or malformed, or when its pid is not an ancestor of
        this process (inherited from another run or host: not ours to watch). Without ``/proc``
        the ancestry cannot be checked and a running pid is accepted.
    """
    raw = os.environ.get(SNAKEMAKE_PID_ENV, "").strip()
    if not raw.isdigit():
        return None
    pid = int(raw)
    if os.path.isdir("/proc/self") and pid not in ancestors():
        LOG.info("%s=%d is not an ancestor of this process; not watching it",
                 SNAKEMAKE_PID_ENV, pid)
        return None
    return ProcessRef.of(pid)


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the Linux kernel to send ``sig`` to this process when its parent dies.

    The kernel watches the parent *thread* that started this process, so use this only where
    that thread lives as long as the parent process (e.g. a single-threaded parent). Survives
    ``exec`` but not ``fork``.

    Parameters
    ----------
    sig
        The signal to receive; ``SIGKILL`` cannot be caught, ignored or delayed.

    Returns
    -------
    bool
        ``True`` when set and the parent was still alive afterwards; ``False`` where ``prctl`` is
        not available (not Linux) or failed, or when the parent had already died (then no
        signal will come: the caller must act itself).
    """
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            LOG.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
            return False
    except (OSError, AttributeError):
        return False
    return os.getppid() == parent  # the parent may have died before prctl: no signal then


class Watchdog:
    """A daemon thread that calls ``on_gone()`` once when the process ``target`` is gone.

    Use as a context manager (or :meth:`start` / :meth:`stop`). ``on_gone`` runs in the watchdog
    thread; once it has started, :meth:`stop` does not interrupt it.

    Parameters
    ----------
    target
        The process to watch.
    on_gone
        Called (once) when ``target`` is no longer alive.
    interval_s
        Seconds between checks.
    """

    def __init__(self, target: ProcessRef, on_gone: Callable[[], object],
                 interval_s: float = 0.5):
        self.target, self.on_gone, self.interval_s = target, on_gone, interval_s
        self.fired = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"greenbench-watchdog-{target.pid}")

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.target.alive():
                self.fired.set()
                self.on_gone()
                return
            self._stop.wait(self.interval_s)

    def start(self) -> Watchdog:
        """Start watching (returns ``self``)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; does not wait for an ``on_gone`` that has already started."""
        self._stop.set()

    def __enter__(self) -> Watchdog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def terminate_self(grace_s: float = 60.0) -> None:
    """Send ``SIGTERM`` to this process; ``SIGKILL`` it if it still runs after ``grace_s``.

    ``SIGTERM`` lets the main thread clean up (``greenbench.hpc.run`` turns it into
    ``SystemExit`` and cancels the submitted tasks); ``SIGKILL`` is the fallback for a main
    thread that never returns to Python. Meant for a :class:`Watchdog` thread.
    """
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace_s)
    LOG.error("still running %.0fs after SIGTERM; killing this process", grace_s)
    os.kill(os.getpid(), signal.SIGKILL)


def exit_now(message: str, code: int = 1) -> None:
    """Write ``message`` to stderr and end this process at once (``os._exit``, no cleanup).

    For a task process whose submitter is gone: its checkpoint, written atomically, is where
    the next run resumes."""
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()
    os._exit(code)


@contextlib.contextmanager
def task_lock(path: str | os.PathLike, what: str = "task") -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed) for the ``with`` block.

    A second holder of the same path (another process, host with a shared filesystem that
    supports ``flock``, or thread) waits until the first has released it; it logs a warning
    naming the holder when it has to wait. The file is removed on release (the next holder
    notices and locks a fresh one), so an unfinished task leaves no file behind unless its
    process was killed, and a stale file left then does not block anyone: the kernel drops the
    lock with its process. Where the filesystem refuses ``flock``, it warns and goes on unlocked.

    Parameters
    ----------
    path
        The lock file, e.g. beside the task's checkpoint.
    what
        Names the task in the log.

    Yields
    ------
    bool
        Whether it had to wait for another holder.
    """
    import fcntl  # POSIX only; imported here so the module imports everywhere

    path = os.fspath(path)
    waited = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                LOG.warning("%s is already running (%s holds %s); waiting for it to end",
                            what, holder or "another process", path)
                waited = True
                t0 = time.perf_counter()
                fcntl.flock(fd, fcntl.LOCK_EX)
                LOG.warning("%s: the other run ended after %.1fs of waiting; going on", what,
                            time.perf_counter() - t0)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                LOG.warning("cannot lock %s (%s): running %s without a lock", path, exc, what)
                yield waited
                return
            raise
        if _same_file(fd, path):
            break
        os.close(fd)  # the previous holder removed the file while we waited: lock the new one
    try:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        yield waited
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # while still holding the lock: see the inode check above
        os.close(fd)


def _same_file(fd: int, path: str) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _read_holder(fd: int) -> str:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return os.pread(fd, 200, 0).decode().strip()
    return ""
