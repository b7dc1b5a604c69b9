"""The results contract (greenbench.results_contract): one table in code, documented exactly by
docs/results_format.md, applied by io.write_netcdf(kind=...) and checked by greenbench.check.

Oracles: the markdown tables of docs/results_format.md (names and units, parsed independently
of the code); hand-built datasets with one variable too many, too few, or with wrong dims.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from greenbench import results_contract as rc
from greenbench.check import main as check_main
from greenbench.io import read_netcdf, write_netcdf
from greenbench.provenance import provenance

ROOT = Path(__file__).resolve().parents[1]


def doc_tables(path: Path = ROOT / "docs" / "results_format.md") -> dict[str, dict[str, str]]:
    """``{heading: {name: units}}`` from every table under a ``##`` heading: the backticked
    names of the first column and the third column (``-`` = no units)."""
    out: dict[str, dict[str, str]] = {}
    heading = None
    for line in path.read_text().splitlines():
        m = re.match(r"^##+ (.*)$", line)
        if m:
            heading = m.group(1).strip()
            continue
        if heading and line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            units = cells[2].strip("`") if len(cells) > 3 else "?"
            for name in re.findall(r"`([^`]+)`", cells[0]):
                out.setdefault(heading, {})[name] = units
    return out


def _units(var: rc.Var) -> str:
    return "-" if var.units is None else var.units


def test_docs_list_exactly_the_contract_variables_with_their_units():
    tables = doc_tables()
    for kind in rc.KINDS.values():
        documented: dict[str, str] = {}
        for heading in kind.doc:
            assert heading in tables, f"docs/results_format.md has no table '## {heading}'"
            documented.update(tables[heading])
        code = {name: _units(v) for name, v in kind.variables.items()}
        assert sorted(documented) == sorted(code), (
            f"kind {kind.name!r}: documented but not in the contract "
            f"{sorted(set(documented) - set(code))}, in the contract but not documented "
            f"{sorted(set(code) - set(documented))}")
        assert documented == code, f"kind {kind.name!r}: units differ"
    coords = {name: _units(v) for name, v in rc.COORDS.items()}
    assert tables["Coordinates"] == coords


def test_every_kind_has_coordinates_for_the_dims_of_its_variables():
    for kind in rc.KINDS.values():
        dims = {d for v in kind.variables.values() for d in v.dims}
        assert dims <= set(kind.coords), (kind.name, dims - set(kind.coords))
        for name, var in kind.coords.items():
            assert var.dims == (name,)


@pytest.mark.parametrize("path, kind", [
    ("results/poisson1d/crossval.nc", "crossval"),
    ("results/poisson1d/greens/N32.nc", "greens_fields"),
    ("results/poisson1d/greens.nc", "greens"),
    ("results/poisson1d/evaluate/noise0/mlp/N8.nc", "evaluate"),
    ("results/poisson1d/train/fd/N16/noise1e-08/metrics.nc", "metrics"),
    ("results/poisson1d/train_quantity/mlp/N16/metrics.nc", "metrics"),
    ("/tmp/x/quantity.nc", "quantity"),
    ("results/poisson1d/other.nc", None),
])
def test_kind_from_path(path, kind):
    assert rc.kind_from_path(path) == kind


def fields(N: int = 4) -> xr.Dataset:
    """A complete greens/N{res}.nc: the smallest kind."""
    xi = np.arange(1, N) / N
    G = np.minimum.outer(xi, xi) * (1 - np.maximum.outer(xi, xi))
    return xr.Dataset(
        {"G_hat": (("model", "train_space", "seed", "x", "s"), G[None, None, None]),
         "G": (("x", "s"), G)},
        coords={"model": ["linear"], "train_space": ["sin1"], "seed": [0], "x": xi, "s": xi},
        attrs={**provenance("abc"), "pde": "poisson1d", "data_hash": "d", "N": N, "k": 1.0,
               "impulse_amplitude": 1.0})


def _without_attrs(ds: xr.Dataset, *names: str) -> xr.Dataset:
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if k not in names}
    return out


def test_write_attaches_units_and_long_name_and_the_file_checks(tmp_path, capsys):
    path = tmp_path / "greens" / "N4.nc"
    ds = fields()
    ds["G"].attrs["units"] = "m"          # the table wins over what a writer set
    write_netcdf(ds, path, kind="greens_fields")
    back = read_netcdf(path)
    for name in ("G_hat", "G", "x", "s", "seed"):
        assert back[name].attrs["units"] == "1", name
        assert back[name].attrs["long_name"] == rc.GREENS_FIELDS.get(
            name, rc.COORDS.get(name)).long_name
    for name in ("model", "train_space"):     # labels: long_name, no units
        assert "units" not in back[name].attrs and back[name].attrs["long_name"]
    assert back.attrs["results_kind"] == "greens_fields"
    np.testing.assert_array_equal(back["G"].values, ds["G"].values)
    assert rc.check_file(path) == "greens_fields"
    assert check_main([str(path)]) == 0
    assert f"ok    {path} (results greens_fields)" in capsys.readouterr().out


def test_write_refuses_an_unknown_variable_and_says_where_to_add_it(tmp_path):
    ds = fields().assign(G_error=(("model",), [0.5]))
    path = tmp_path / "N4.nc"
    with pytest.raises(rc.ResultsContractError) as err:
        write_netcdf(ds, path, kind="greens_fields")
    msg = str(err.value)
    assert msg.startswith(f"{path}: variable 'G_error' ('model',) is not in the results contract "
                          f"(kind 'greens_fields'): add Var(dims, dtype, units, long_name) for "
                          f"'G_error' to GREENS_FIELDS in lib/greenbench/results_contract.py and "
                          f"a row to the '## greens/N{{res}}.nc' table of docs/results_format.md")
    assert not path.exists()


@pytest.mark.parametrize("change, expected", [
    (lambda ds: ds.drop_vars("G"), "variable 'G' ('x', 's') missing"),
    (lambda ds: ds.assign(G=(("s", "x"), ds["G"].values)),
     "variable 'G' has dims ('s', 'x'), the contract says ('x', 's')"),
    (lambda ds: ds.assign(G=(("x", "s"), ds["G"].values.astype(np.int64))),
     "variable 'G' has dtype int64, the contract says float"),
    (lambda ds: _without_attrs(ds, "git_commit", "N"), "attribute(s) git_commit, N missing"),
])
def test_write_refuses_a_dataset_that_breaks_the_contract(tmp_path, change, expected):
    ds = change(fields())
    with pytest.raises(rc.ResultsContractError, match=re.escape(expected)):
        write_netcdf(ds, tmp_path / "N4.nc", kind="greens_fields")


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown results kind 'crosval'; known: metrics, "):
        rc.resolve_kind("crosval", fields())


def test_metrics_kind_resolves_by_content():
    ts = {"train_space": ["sin1"], "seed": [0]}
    op = xr.Dataset(coords=ts)
    assert rc.resolve_kind("metrics", op).name == "metrics"
    assert rc.resolve_kind("metrics", op.assign_coords(q=[2, 4])).name == "metrics_fd"
    assert rc.resolve_kind("metrics", op.assign(k_hat=(("train_space", "seed"), [[1.0]]))
                           ).name == "metrics_pinn"
    assert rc.resolve_kind("metrics", op.assign_coords(sample_size=[1, 2])
                           ).name == "metrics_quantity"


def test_checker_names_file_and_variable_removed_and_recurses(tmp_path, make_dataset, capsys):
    results = tmp_path / "results" / "poisson1d"
    write_netcdf(fields(), results / "greens" / "N4.nc", kind="greens_fields")
    h5 = make_dataset("sin1", N=8)
    assert check_main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"ok    {h5} (dataset)" in out and "(results greens_fields)" in out

    bad = results / "greens" / "N4.nc"
    ds = read_netcdf(bad).drop_vars("G_hat")
    write_netcdf(ds, bad)                  # raw write: what a broken or old writer leaves
    assert check_main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (f"BAD   {bad}: (results contract 'greens_fields') variable 'G_hat' "
            f"('model', 'train_space', 'seed', 'x', 's') missing") in out
    assert f"ok    {h5}" in out


def test_checker_wants_units_long_name_and_provenance(tmp_path):
    path = tmp_path / "greens" / "N4.nc"
    ds = fields()
    del ds.attrs["created"]
    write_netcdf(ds, path)                 # raw: no units, no long_name, no results_kind
    with pytest.raises(rc.ResultsContractError) as err:
        rc.check_file(path)
    problems = err.value.problems
    assert problems[0] == "(results contract 'greens_fields') attribute(s) created missing"
    assert "variable 'G' has no long_name" in problems
    assert "variable 'G' has no units (contract: '1')" in problems
    assert "variable 'model' has no long_name" in problems
    assert not any("'model' has no units" in p for p in problems)


def test_checker_unknown_file_and_empty_directory(tmp_path, capsys):
    other = tmp_path / "sub" / "other.nc"
    write_netcdf(fields(), other)
    assert check_main([str(other), str(tmp_path / "empty")]) == 1
    out = capsys.readouterr().out
    assert f"BAD   {other}: unknown kind of results file: no attribute results_kind" in out
    (tmp_path / "nothing").mkdir()
    assert check_main([str(tmp_path / "nothing")]) == 1
    assert "no .h5 or .nc files under this directory" in capsys.readouterr().out


def test_every_script_writes_netcdf_with_a_kind():
    """A writer without ``kind=`` would write variables the contract never saw."""
    for script in sorted((ROOT / "scripts").glob("*.py")):
        for call in re.findall(r"write_netcdf\(([^)]*)\)", script.read_text()):
            assert "kind=" in call, (
                f"{script.name}: write_netcdf({call}) without kind=: pass the file's kind; a new "
                f"kind of file needs a FileKind in KINDS of lib/greenbench/results_contract.py "
                f"and a section in docs/results_format.md")


def test_python_m_greenbench_check_on_a_results_file(tmp_path):
    path = tmp_path / "greens" / "N4.nc"
    write_netcdf(fields(), path, kind="greens_fields")
    proc = subprocess.run([sys.executable, "-m", "greenbench.check", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ok    {path} (results greens_fields)" in proc.stdout


# ------------------------------------------------------------------------ a real tiny study
STUDY = {
    "spaces": {"poly": [2], "sin": [1, 3], "fem": True}, "resolutions": [8], "n_samples": 60,
    "test_fraction": 0.5, "seed": 5, "cluster": "config/cluster/debug.yaml",
    "models": {"linear": {"class": "linear"},
               "mlp": {"class": "mlp", "params": {"width": 8}, "train": {"steps": 5}},
               "fd": {"class": "fd"}, "pinn": {"class": "pinn", "train": {"steps": 5}}},
    "analysis": {"sample_sizes": [1, 3, 30], "quantity_steps": 5},
}
TARGETS = [f"results/poisson1d/{n}.nc"
           for n in ("crossval", "bounds", "convergence", "greens", "quantity", "greens/N8")]


@pytest.mark.slow
def test_check_passes_on_a_real_study_and_names_a_removed_variable(tmp_path):
    """Issue 8 item 5, done-when: ``python -m greenbench.check results/`` passes on a real
    study and fails, naming the file and the variable, once one variable is removed."""
    import os

    import yaml

    (tmp_path / "config.yaml").write_text(yaml.safe_dump(STUDY))
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(tmp_path / "config.yaml"),
         "--cores", "2", *TARGETS], cwd=tmp_path, capture_output=True, text=True, env=env,
        timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = tmp_path / "results"
    check = [sys.executable, "-m", "greenbench.check", str(results)]
    proc = subprocess.run(check, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    kinds = {line.rsplit("(results ", 1)[-1].rstrip(")") for line in lines}
    assert kinds == {"crossval", "bounds", "convergence", "greens", "greens_fields", "quantity",
                     "evaluate", "metrics", "metrics_fd", "metrics_pinn", "metrics_quantity"}
    assert all(line.startswith("ok    ") for line in lines)

    bounds = results / "poisson1d" / "bounds.nc"
    write_netcdf(read_netcdf(bounds).drop_vars("measured_z"), bounds)
    proc = subprocess.run(check, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert (f"BAD   {bounds}: (results contract 'bounds') variable 'measured_z' "
            f"('train_space', 'test_space', 'resolution', 'seed') missing") in proc.stdout
    assert sum(line.startswith("BAD") for line in proc.stdout.splitlines()) == 1
