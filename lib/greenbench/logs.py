"""Logging set-up shared by the Snakemake adapters in scripts/."""

from __future__ import annotations

import logging
import os

FORMAT = "%(asctime)s %(levelname)s %(message)s"


def log_to(path: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Send this process's log records to ``path`` (a rule's ``log:`` file), or to stderr when
    ``path`` is None (a script run by hand). Replaces any earlier handlers."""
    if path is None:
        logging.basicConfig(level=level, format=FORMAT, force=True)
    else:
        logging.basicConfig(filename=os.fspath(path), level=level, format=FORMAT, force=True)
