"""Packaging: a non-editable install validates configs (the schema is package data), the
console script is declared, the Snakefile and pyproject agree on the snakemake version, and
constraints.txt pins every dependency that `make` installs."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins() -> dict[str, Requirement]:
    """constraints.txt as {canonical name: requirement}."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            pins[canonicalize_name(req.name)] = req
    return pins


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """``pip install --no-deps --target`` of a copy of the project (pyproject, README, lib/): a
    regular, non-editable install, built away from the shared work tree (no build/, no
    egg-info written there). Returns the target folder."""
    work = tmp_path_factory.mktemp("pkg")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "lib", src / "lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    target = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target), str(src)],
                   check=True, cwd=work, timeout=120)
    return target


def _run_installed(target: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(target)}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_non_editable_install_validates_the_default_config(installed, tmp_path):
    code = ("import greenbench, greenbench.config as c; print(greenbench.__file__); "
            "print(c.SCHEMA_PATH); "
            f"cfg = c.load_config({str(ROOT / 'config' / 'config.yaml')!r}); "
            "print(sorted(cfg['models']))")
    proc = _run_installed(installed, [sys.executable, "-c", code], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    module_file, schema, models = proc.stdout.splitlines()[-3:]
    # Imported from the install, not from the repository (whose layout is out of reach here).
    assert Path(module_file).is_relative_to(installed), module_file
    assert Path(schema) == installed / "greenbench" / "schemas" / "config.schema.yaml"
    assert "linear" in models
    # The packaged schema is the file that Snakemake users see under workflow/schemas/.
    assert Path(schema).read_bytes() == (ROOT / "workflow/schemas/config.schema.yaml").read_bytes()


@pytest.mark.slow
def test_console_script_is_declared_and_runs(installed, tmp_path):
    (dist_info,) = installed.glob("greenbench-*.dist-info")
    entry_points = configparser.ConfigParser()
    entry_points.read(dist_info / "entry_points.txt")
    assert entry_points["console_scripts"]["greenbench-check"] == "greenbench.check:main"
    script = installed / "bin" / "greenbench-check"
    proc = _run_installed(installed, [str(script)], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr  # no file given: usage, exit 2
    assert "usage: greenbench-check" in proc.stderr


def test_schema_symlink_points_into_the_package():
    link = ROOT / "workflow" / "schemas" / "config.schema.yaml"
    assert link.is_symlink() and not Path(os.readlink(link)).is_absolute()
    assert link.resolve() == ROOT / "lib" / "greenbench" / "schemas" / "config.schema.yaml"
    assert "schemas/*.yaml" in PYPROJECT["tool"]["setuptools"]["package-data"]["greenbench"]


def test_snakefile_min_version_agrees_with_pyproject():
    text = (ROOT / "Snakefile").read_text()
    assert re.search(r"^from snakemake\.utils import min_version$", text, re.M)
    found = re.findall(r'^min_version\("([\d.]+)"\)$', text, re.M)
    assert len(found) == 1, "the Snakefile declares min_version exactly once, at top level"
    (req,) = [Requirement(d) for d in PYPROJECT["project"]["dependencies"]
              if Requirement(d).name == "snakemake"]
    (spec,) = req.specifier
    assert spec.operator == ">=" and Version(spec.version) == Version(found[0])
    from importlib.metadata import version

    assert Version(version("snakemake")) >= Version(found[0])


def test_constraints_pin_every_dependency():
    pins = _pins()
    project = PYPROJECT["project"]
    deps = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    for dep in map(Requirement, deps):
        pin = pins.get(canonicalize_name(dep.name))
        assert pin is not None, f"constraints.txt does not pin {dep.name}"
        (spec,) = pin.specifier
        assert spec.operator == "==", f"{pin} is not an exact pin"
        assert dep.specifier.contains(spec.version, prereleases=True), f"{pin} violates {dep}"
    assert all(len(p.specifier) == 1 and next(iter(p.specifier)).operator == "=="
               for p in pins.values())
    assert "greenbench" not in pins
    assert {"pip", "setuptools"} <= set(pins)  # the installer, and a dependency of torch
    # The same torch as the Makefile installs first, without a local label (+cpu), so that the
    # pin also admits a CUDA build.
    torch_pin = re.search(r"^TORCH\s*\?=\s*(\S+)$", (ROOT / "Makefile").read_text(), re.M)[1]
    assert str(pins["torch"]) == torch_pin


def test_makefile_installs_with_the_constraints():
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"^\$\(VENV\)/\.installed:(.*)$", makefile, re.M)[1]
    assert "$(CONSTRAINTS)" in target.split() and "pyproject.toml" in target.split()
    assert re.search(r"^CONSTRAINTS\s*\?=\s*constraints\.txt$", makefile, re.M)
    installs = re.findall(r"^\t.*pip install .*$", makefile, re.M)
    assert len(installs) == 3, installs  # pip itself, torch first, then the project
    assert all("-c $(CONSTRAINTS)" in line for line in installs), installs
