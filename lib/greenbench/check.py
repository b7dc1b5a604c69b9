"""``greenbench-check PATH...`` (or ``python -m greenbench.check PATH...``): validate dataset
files (``.h5``, :func:`greenbench.io.check_dataset`) and results files (``.nc``, the results
contract: :func:`greenbench.results_contract.check_file`); a directory is searched recursively
for both. Exit 1 naming each bad file and what is wrong."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from greenbench.io import DatasetError, check_dataset
from greenbench.results_contract import ResultsContractError, check_file

SUFFIXES = (".h5", ".nc")


def _files(arg: str) -> Iterator[Path]:
    """``arg`` itself, or every ``.h5``/``.nc`` file below a directory (sorted; hidden files,
    such as a writer's ``.name.tmp-<pid>``, skipped)."""
    path = Path(arg)
    if not path.is_dir():
        yield path
        return
    for p in sorted(path.rglob("*")):
        if p.suffix in SUFFIXES and p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(path).parts):
            yield p


def check_path(path: Path) -> str:
    """Check one file by its extension; return what it is (``dataset`` or the results kind).
    Raises :class:`DatasetError` / :class:`ResultsContractError`."""
    if path.suffix == ".nc":
        return f"results {check_file(path)}"
    if path.suffix == ".h5":
        check_dataset(path)
        return "dataset"
    raise DatasetError(path, f"not a dataset (.h5) or results file (.nc): {path.suffix or 'no'} "
                             f"extension")


def main(argv: list[str] | None = None) -> int:
    """Check each file (directories: every ``.h5``/``.nc`` below); print ``ok`` or ``BAD
    <why>`` per file. Exit code 0 if all are valid, 1 if any is not (or a directory holds
    none), 2 (with usage) if no path was given. ``argv`` defaults to the command line
    (``sys.argv[1:]``), as for the ``greenbench-check`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: greenbench-check PATH [PATH ...]  (.h5 datasets, .nc results files, or "
              "directories holding them)", file=sys.stderr)
        return 2
    bad = 0
    for arg in argv:
        files = list(_files(arg))
        if not files:
            bad += 1
            print(f"BAD   {arg}: no .h5 or .nc files under this directory")
        for path in files:
            try:
                what = check_path(path)
                print(f"ok    {path} ({what})")
            except (DatasetError, ResultsContractError) as exc:
                bad += 1
                print(f"BAD   {exc}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
