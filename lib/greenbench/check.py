"""``python -m greenbench.check FILE...``: validate dataset files; exit 1 naming each bad one."""

from __future__ import annotations

import sys

from greenbench.io import DatasetError, check_dataset


def main(argv: list[str]) -> int:
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
