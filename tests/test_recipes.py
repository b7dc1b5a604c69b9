"""The default study's training recipes (issue 9 item 3): config/config.yaml trains each neural
model with the recipe docs/models.md states (and whose measured errors it quotes), and every
neural model there uses the normalization and the cosine schedule the tuning relied on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from greenbench.config import load_config
from greenbench.models import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
NEURAL = ("mlp", "deeponet", "fno", "pideeponet")


def _documented_recipes(heading: str = "## Default recipes") -> dict[str, dict]:
    """Rows of the tables under ``heading`` in docs/models.md, by model name.

    Its recipe cell reads e.g. ``adam, lr 1e-2, cosine, warm-up 100, 6000 steps, batch 25``
    (``full batch`` for none); its params cell ``width 64, ...`` as ``key value`` pairs."""
    text = (ROOT / "docs" / "models.md").read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        m = re.fullmatch(r"`([\w-]+)`", cells[0]) if len(cells) > 3 else None
        if m:
            rows[m.group(1)] = {"params": cells[1], "recipe": cells[2]}
    return rows


def _parse_recipe(cell: str) -> dict:
    parts = [p.strip() for p in cell.split(",")]
    out = {"optimizer": parts[0], "warmup_steps": 0, "batch_size": None}
    for p in parts[1:]:
        if m := re.fullmatch(r"lr ([0-9.e+-]+)", p):
            out["lr"] = float(m.group(1))
        elif p in ("cosine", "constant"):
            out["schedule"] = p
        elif m := re.fullmatch(r"warm-up (\d+)", p):
            out["warmup_steps"] = int(m.group(1))
        elif m := re.fullmatch(r"(\d+) steps", p):
            out["steps"] = int(m.group(1))
        elif m := re.fullmatch(r"batch (\d+)", p):
            out["batch_size"] = int(m.group(1))
        elif p == "full batch":
            out["batch_size"] = None
        elif m := re.fullmatch(r"(float32|float64)", p):
            out["dtype"] = p
        else:
            raise AssertionError(f"docs/models.md: unreadable recipe part {p!r} in {cell!r}")
    return out


def _parse_params(cell: str) -> dict:
    out = {}
    for p in (p.strip() for p in cell.split(",")):
        key, value = p.split(" ", 1)
        out[key] = float(value) if re.fullmatch(r"[0-9.]+e[+-]?\d+", value) else (
            int(value) if value.isdigit() else value)
    return out


def _assert_config_is_documented(config: str, documented: dict) -> dict:
    """Every documented recipe and param of ``documented`` (a docs/models.md table) is what
    config/``config`` trains with; the config's entries, by name."""
    cfg = load_config(ROOT / "config" / config)
    for name, row in documented.items():
        entry = cfg["models"][name]
        train = TrainConfig.from_entry(name, entry)
        for key, value in _parse_recipe(row["recipe"]).items():
            got = getattr(train, key)
            assert got == pytest.approx(value) if isinstance(value, float) else got == value, (
                f"{name}: config/{config} has train.{key} = {got!r}, docs/models.md says "
                f"{value!r}")
        for key, value in _parse_params(row["params"]).items():
            got = entry["params"][key]
            assert got == pytest.approx(value) if isinstance(value, float) else got == value, (
                f"{name}: config/{config} has params.{key} = {got!r}, docs/models.md says "
                f"{value!r}")
    return cfg["models"]


def test_default_recipes_are_the_documented_ones():
    documented = _documented_recipes()
    assert set(NEURAL) <= set(documented), sorted(documented)
    _assert_config_is_documented("config.yaml", documented)


@pytest.mark.parametrize("name", NEURAL)
def test_default_neural_recipes_normalize_and_decay(name):
    """The measured errors of docs/models.md were reached with normalized data and a cosine
    decay to zero; a recipe without them is not the one measured."""
    cfg = load_config(ROOT / "config" / "config.yaml")
    train = TrainConfig.from_entry(name, cfg["models"][name])
    assert train.normalize is True
    assert train.schedule == "cosine"
    assert train.optimizer == "adam" and train.steps > train.warmup_steps


def test_2d_recipes_are_the_documented_ones():
    """config/poisson2d.yaml trains each neural model and deep_linear with the recipe and
    params of docs/models.md "2D recipes" (whose measured errors it quotes); every one
    normalizes and decays its rate with a cosine, as in the probes that chose it."""
    documented = _documented_recipes("## 2D recipes")
    assert set(NEURAL) | {"deep_linear"} <= set(documented), sorted(documented)
    entries = _assert_config_is_documented("poisson2d.yaml", documented)
    for name in documented:
        train = TrainConfig.from_entry(name, entries[name])
        assert train.normalize is True and train.schedule == "cosine", name
