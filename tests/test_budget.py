"""budget_check (issue 9 item 5): the derived {model}_x{factor} entries, their validation, and
the report's budget table on synthetic results where a verdict holds and where it flips."""

from __future__ import annotations

import numpy as np
import pytest

from greenbench.analysis.measures import measures_dataset
from greenbench.budget import SCALED_KEYS, variant_name
from greenbench.config import ConfigError, merge_configs, validate_config
from greenbench.models.registry import DEFAULT_TRAIN, TrainConfig
from greenbench.report import Evidence, Expected, all_findings
from greenbench.report.budget import budget_rows, budget_view, in_distribution
from greenbench.report.claims_operators import fno_unstable, mlp_diagonal
from greenbench.study import Study
from synthetic import synthetic_results

NAMES = ["poly1", "poly2", "poly8", "cos1", "cos2", "sin1", "sin2", "sin8", "fem"]
SPACES = {"poly": [1, 2, 8], "cos": [1, 2], "sin": [1, 2, 8], "fem": True}
RES, SEEDS = [16, 32], [0, 1]
BASE = {"fd": {"class": "fd"}, "pinn": {"class": "pinn"}, "linear": {"class": "linear"},
        "deep_linear": {"class": "deep_linear"},
        "mlp": {"class": "mlp", "train": {"steps": 100, "lr": 0.01, "schedule": "cosine",
                                          "warmup_steps": 5, "stop_patience": 20}},
        "fno": {"class": "fno"}, "user": {"class": "examples.my_model:ConvNet"},
        "lin_gd": {"class": "linear", "train": {"optimizer": "gd", "steps": 50}}}


def config(models=None, **extra) -> dict:
    return {"spaces": SPACES, "resolutions": RES, "train_seeds": SEEDS,
            "models": BASE if models is None else models, **extra}


# ---- derivation and validation ----

def test_off_by_default_and_the_derived_entries_scale_every_step_budget():
    assert list(validate_config(config())["models"]) == list(BASE)      # factor 1: off
    cfg = validate_config(config(budget_check={"factor": 4}))
    derived = [m for m in cfg["models"] if m not in BASE]
    # iterative neural models only, user models included; never linear (any optimizer), fd, pinn
    assert derived == ["deep_linear_x4", "mlp_x4", "fno_x4", "user_x4"]
    assert list(cfg["models"])[:len(BASE)] == list(BASE)               # bases first, in order
    mlp = cfg["models"]["mlp_x4"]
    assert mlp["budget"] == {"base": "mlp", "factor": 4} and mlp["class"] == "mlp"
    assert mlp["params"] == cfg["models"]["mlp"]["params"]
    assert mlp["train"] == {"steps": 400, "lr": 0.01, "schedule": "cosine",
                            "warmup_steps": 20, "stop_patience": 80}
    # a key left to its class default is resolved, then multiplied
    assert cfg["models"]["fno_x4"]["train"] == {"steps": 4 * DEFAULT_TRAIN["fno"]["steps"]}
    base = TrainConfig.from_entry("mlp", cfg["models"]["mlp"])
    long = TrainConfig.from_entry("mlp_x4", mlp)
    for key in SCALED_KEYS:
        assert getattr(long, key) == 4 * getattr(base, key)
    for key in ("lr", "schedule", "stop_rel_tol", "batch_size", "dtype", "optimizer"):
        assert getattr(long, key) == getattr(base, key)
    assert variant_name("mlp", 4) == "mlp_x4"


def test_expanded_config_validates_to_itself_and_the_study_pairs_the_budgets():
    cfg = validate_config(config(budget_check={"factor": 3, "models": ["mlp", "fno"]}))
    assert validate_config(cfg) == cfg
    study = Study.from_config(cfg)
    assert study.budget_pairs == {"mlp_x3": ("mlp", 3), "fno_x3": ("fno", 3)}
    assert study.models["mlp_x3"] == "mlp" and study.kind("mlp_x3") == "operator"
    assert study.models_of_class("mlp") == ["mlp", "mlp_x3"]             # base read first
    # the training job gets the derived entry: metrics.nc and the .pt files record it
    params = study.train_params("mlp_x3", 16)
    assert params["entry"]["budget"] == {"base": "mlp", "factor": 3}
    assert params["entry"]["train"]["steps"] == 300
    assert any("/mlp_x3/" in t for t in study.training_targets())


@pytest.mark.parametrize("change, key", [
    (dict(budget_check={"factor": 4, "models": ["linear"]}), "budget_check.models"),
    (dict(budget_check={"factor": 4, "models": ["nope"]}), "budget_check.models"),
    (dict(budget_check={"factor": 0}), "budget_check.factor"),
    (dict(budget_check={"factor": 2.5}), "budget_check.factor"),
    (dict(budget_check={"factor": 4, "every": 1}), "budget_check"),
    (dict(budget_check={"factor": 1, "models": ["mlp"]}), "budget_check.models"),
    (dict(budget_check={"factor": 4}, models={"linear": {"class": "linear"}}),
     "budget_check.factor"),
    (dict(budget_check={"factor": 4}, models={}), "budget_check.factor"),
    (dict(budget_check={"factor": 4}, models={"mlp": {"class": "mlp"},
                                              "mlp_x4": {"class": "fno"}}), "models.mlp_x4"),
    (dict(models={"mlp": {"class": "mlp", "budget": {"base": "mlp", "factor": 2}}}),
     "models.mlp.budget"),
])
def test_bad_budget_check_is_refused_naming_the_key(change, key):
    with pytest.raises(ConfigError, match=f"config key {key}"):
        validate_config(config(**change))


def test_a_hand_edited_derived_entry_is_refused():
    cfg = validate_config(config(budget_check={"factor": 4}))
    cfg["models"]["mlp_x4"] = dict(cfg["models"]["mlp_x4"], train={"steps": 7})
    with pytest.raises(ConfigError, match="models.mlp_x4: differs from what budget_check"):
        validate_config(cfg)


def test_an_overlay_merges_into_the_default_study_as_snakemake_does():
    base = {"models": {"mlp": {"class": "mlp", "train": {"steps": 10}}}, "resolutions": [16]}
    merged = merge_configs(base, {"budget_check": {"factor": 2}, "resolutions": [32],
                                  "models": {"mlp": {"enabled": False}}})
    assert merged == {"models": {"mlp": {"class": "mlp", "train": {"steps": 10},
                                         "enabled": False}},
                      "resolutions": [32], "budget_check": {"factor": 2}}
    assert base["resolutions"] == [16]                                    # copy, not changed


# ---- the report's budget table ----

CLASSES = {"linear": "linear", "mlp": "mlp", "fno": "fno", "mlp_x4": "mlp", "fno_x4": "fno"}


def budget_study() -> Expected:
    return Expected.from_config(validate_config(config(
        {"linear": {"class": "linear"}, "mlp": {"class": "mlp"}, "fno": {"class": "fno"}},
        budget_check={"factor": 4})))


def judged(ex: Expected, cv) -> Evidence:
    return Evidence(ex, cv, measures=measures_dataset(cv, NAMES))


def rows_of(rows, model):
    return {r.finding.split(":")[0]: r for r in rows if r.model == model}


def test_budget_table_where_the_verdicts_hold():
    ex = budget_study()
    assert list(ex.models) == list(CLASSES)
    cv = synthetic_results(NAMES, RES, SEEDS, CLASSES)["crossval"]
    ev = judged(ex, cv)
    rows = budget_rows(ev, all_findings)
    mlp, fno = rows_of(rows, "mlp"), rows_of(rows, "fno")
    assert mlp["8.1 MLP"].same == "yes" and mlp["8.1 MLP"].base.startswith("reproduced")
    assert "mlp_x4:" in mlp["8.1 MLP"].longer                 # judged on the variant
    assert fno["8.1 FNO"].same == "yes" and fno["8.1 FNO"].base.startswith("reproduced")
    # the findings at 1x hide the variants: the same as a study without the budget check
    plain = Expected.from_config(validate_config(config(
        {"linear": {"class": "linear"}, "mlp": {"class": "mlp"}, "fno": {"class": "fno"}})))
    one_x = budget_view(ex)
    assert one_x.models == plain.models
    cv_plain = cv.sel(model=list(plain.models))
    assert all_findings(Evidence(one_x, cv, measures=ev.measures)) == all_findings(
        judged(plain, cv_plain))


def test_budget_table_where_the_verdicts_flip():
    ex = budget_study()
    cv = synthetic_results(NAMES, RES, SEEDS, CLASSES)["crossval"].copy(deep=True)
    # mlp_x4 generalizes to nested spaces (p' < p in its family): no longer diagonal-only
    for train in NAMES:
        for test in NAMES:
            a, b = train.rstrip("0123456789"), test.rstrip("0123456789")
            if a == b and a != "fem" and int(test[len(b):]) < int(train[len(a):]):
                cv["mse"].loc[dict(model="mlp_x4", train_space=train, test_space=test)] = 10**-6.5
    # fno_x4 trains on every space: no diverged run, so not "unstable" any more
    div = cv["diverged"].sel(model="fno_x4").values.copy()
    assert div.any()                                           # the synthetic fno diverges
    cv["diverged"].loc[dict(model="fno_x4")] = False
    for train in NAMES:
        row = [1e-6 if parse_in(train, test) else 1e-3 for test in NAMES]
        bad = cv["mse"].sel(model="fno_x4", train_space=train)
        if np.isnan(bad.values).all():
            cv["mse"].loc[dict(model="fno_x4", train_space=train)] = np.array(row)[:, None, None]
    # known in-distribution errors: 8e-3 at 1x, 2e-3 at 4x
    eye = np.eye(len(NAMES), dtype=bool)[:, :, None, None]
    for model, value in (("mlp", 8e-3), ("mlp_x4", 2e-3)):
        cur = cv["rel_l2"].sel(model=model)
        cv["rel_l2"].loc[dict(model=model)] = cur.where(~eye, value)
    ev = judged(ex, cv)
    rows = budget_rows(ev, all_findings)
    mlp, fno = rows_of(rows, "mlp"), rows_of(rows, "fno")
    assert mlp["8.1 MLP"].same == "no"
    assert mlp["8.1 MLP"].base.startswith("reproduced")
    assert mlp["8.1 MLP"].longer.startswith("not reproduced")
    assert fno["8.1 FNO"].same == "no"
    assert fno["8.1 FNO"].base.startswith("reproduced") and "diverged" in fno["8.1 FNO"].base
    assert fno["8.1 FNO"].longer.startswith("partly reproduced")
    assert "; 0% of training runs diverged" in fno["8.1 FNO"].longer
    err = mlp["median in-distribution rel L2 at N=32"]
    assert (err.base, err.longer) == ("8.00e-03", "2.00e-03 (0.25x the 1x error)")
    assert in_distribution(ev, "mlp_x4") == pytest.approx(2e-3)
    # the class findings judged directly on each view agree with the table
    assert mlp_diagonal(ev).verdict == "reproduced"              # the findings section: 1x
    swapped = Evidence(budget_view(ex, 4), cv, measures=ev.measures)
    assert mlp_diagonal(swapped).verdict == "not reproduced"
    assert fno_unstable(swapped).verdict == "partly reproduced"


def parse_in(train: str, test: str) -> bool:
    from greenbench.spaces import parse_space

    return parse_space(train).contains(parse_space(test))


def test_no_budget_table_without_the_check():
    ex = Expected.from_config(validate_config(config({"mlp": {"class": "mlp"}})))
    cv = synthetic_results(NAMES, RES, SEEDS, {"mlp": "mlp"})["crossval"]
    assert budget_rows(judged(ex, cv), all_findings) == []


def test_report_page_has_the_budget_table_only_with_the_check(tmp_path):
    from greenbench.io import write_netcdf
    from greenbench.report import build_report

    def report(cfg, classes, name):
        r = synthetic_results(NAMES, RES, SEEDS, classes, config_hash="h")
        files = {}
        for key in ("crossval", "measures"):
            files[key] = tmp_path / f"{name}_{key}.nc"
            write_netcdf(r[key], files[key])
        out = tmp_path / f"{name}.html"
        return build_report(out, config=cfg, results=files, figures=[]), out.read_text()

    cfg = validate_config(config({"mlp": {"class": "mlp"}, "fno": {"class": "fno"}},
                                 budget_check={"factor": 4}))
    summary, page = report(cfg, {"mlp": "mlp", "fno": "fno", "mlp_x4": "mlp", "fno_x4": "fno"},
                           "with")
    assert 'id="budget"' in page and 'href="#budget"' in page
    models = [row[0] for row in summary.budget]
    # per pair its finding and in-distribution error; then the cross-model findings that read
    # the varied models (their measured text changes with them)
    assert models[:4] == ["mlp", "mlp", "fno", "fno"] and set(models[4:]) <= {"all"}
    assert all(row[1] == "mlp_x4, fno_x4 (4x)" for row in summary.budget[4:])
    assert all("mlp_x4" not in f.measured for f in summary.findings)   # findings at 1x
    plain = validate_config(config({"mlp": {"class": "mlp"}, "fno": {"class": "fno"}}))
    summary, page = report(plain, {"mlp": "mlp", "fno": "fno"}, "without")
    assert 'id="budget"' not in page and summary.budget == []
