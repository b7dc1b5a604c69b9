"""Provenance attributes stamped on every file greenbench writes."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import subprocess
from functools import lru_cache
from pathlib import Path

import greenbench


def config_hash(config: object) -> str:
    """SHA-256 (first 16 hex digits) of a JSON-canonical config (or any JSON-able object)."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the greenbench checkout (``+dirty`` if modified), or ``unknown``."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout
        return commit + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def created_time() -> str:
    """UTC ISO 8601 time, or ``SOURCE_DATE_EPOCH`` when set (reproducible-builds convention,
    so that regenerated files can be compared byte for byte)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and not epoch.strip().isdigit():
        raise ValueError(f"environment variable SOURCE_DATE_EPOCH must be a non-negative integer "
                         f"(seconds since 1970-01-01 UTC), got {epoch!r}")
    when = (_dt.datetime.fromtimestamp(int(epoch), _dt.UTC) if epoch
            else _dt.datetime.now(_dt.UTC))
    return when.isoformat(timespec="seconds")


def provenance(config_hash_value: str = "") -> dict[str, str]:
    """``greenbench_version``, ``git_commit``, ``config_hash``, ``created`` (UTC ISO 8601)."""
    return {
        "greenbench_version": greenbench.__version__,
        "git_commit": git_commit(),
        "config_hash": config_hash_value,
        "created": created_time(),
    }


PROVENANCE_KEYS: tuple[str, ...] = ("greenbench_version", "git_commit", "config_hash", "created")
DATASET_PROVENANCE_KEYS: tuple[str, ...] = ("greenbench_version", "git_commit", "config_hash")


def dataset_provenance(config_hash_value: str = "") -> dict[str, str]:
    """:func:`provenance` without ``created``: a dataset is a pure function of its data keys and
    the code, so it carries no clock time and regenerates byte for byte."""
    return {key: value for key, value in provenance(config_hash_value).items()
            if key in DATASET_PROVENANCE_KEYS}

# The study config keys that determine the datasets (and nothing else): another model or
# analysis option must not regenerate (and so retrain) anything. Not ``noise``: the datasets
# hold exact data and the seed of their noise stream; a noise level is a training-time axis.
DATA_KEYS: tuple[str, ...] = (
    "pde", "k", "seed", "n_samples", "test_fraction", "coefficients", "fem_mass",
)


def data_hash(config: dict) -> str:
    """:func:`config_hash` of exactly the :data:`DATA_KEYS` of a validated study config: the
    ``config_hash`` attribute of every dataset of that study. A single-operator config
    (``greenbench.config.config_for_pde``) adds the operator's coefficients other than ``k``
    (``c``, ``b``; none for poisson1d, whose hash is unchanged)."""
    keys = {key: config[key] for key in DATA_KEYS}
    if isinstance(config["pde"], str):
        from greenbench.operators import OPERATORS

        cls = OPERATORS.get(config["pde"])
        keys.update({c: config[c] for c in (cls.COEFFICIENTS if cls else ()) if c != "k"})
    return config_hash(keys)


def study_hash(config: dict) -> str:
    """The study's hash: :func:`config_hash` of the validated config without ``cluster`` (which
    says where jobs run, not what the study is). The ``config_hash`` of the aggregated analysis
    files, checked by the report."""
    return config_hash({key: value for key, value in config.items() if key != "cluster"})
