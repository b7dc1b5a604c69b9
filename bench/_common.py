"""Helpers shared by the benchmark scripts (bench/*.py run as scripts, so ``bench/`` is on
``sys.path`` and they import this module as ``_common``)."""

from __future__ import annotations

import platform
import subprocess


def cpu_model() -> str:
    """The CPU's model name from ``lscpu`` (``platform.processor()`` where that fails)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or "unknown"
