"""``greenbench-check FILE...`` (or ``python -m greenbench.check FILE...``): validate dataset
files; exit 1 naming each bad one."""

from __future__ import annotations

import sys

from greenbench.io import DatasetError, check_dataset


def main(argv: list[str] | None = None) -> int:
    """Check each file; print ``ok`` or ``BAD <why>`` per file. Exit code 0 if all are valid,
    1 if any is not, 2 (with usage) if no file was given. ``argv`` defaults to the command line
    (``sys.argv[1:]``), as for the ``greenbench-check`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: greenbench-check FILE.h5 [FILE.h5 ...]", file=sys.stderr)
        return 2
    bad = 0
    for path in argv:
        try:
            check_dataset(path)
            print(f"ok    {path}")
        except DatasetError as exc:
            bad += 1
            print(f"BAD   {exc}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
