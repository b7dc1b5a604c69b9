"""Print where the study's outputs are (the last line of ``make study``)."""

from __future__ import annotations

import sys
from pathlib import Path


def main(root: str = ".") -> int:
    root_path = Path(root).resolve()
    report = root_path / "results" / "report.html"
    data = sorted((root_path / "data").glob("*/*/N*.h5"))
    if data:
        print(f"greenbench: {len(data)} datasets under {root_path / 'data'}")
    if report.exists():
        print(f"greenbench: report at {report} (open {report.as_uri()} in a browser)")
        return 0
    print("greenbench: no report yet (results/report.html is written by the report stage)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
