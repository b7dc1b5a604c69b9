"""Snakemake adapter: evaluate one trained operator model on every test split (cross-validation
errors and impulse-response matrices), one file per N -> results/{pde}/evaluate/{model}/N{res}.nc.

Rule ``evaluate_model``: one job per model writes its file at every N (the N of each output
path). The model's config entry comes through params (only this model's,
so that another model's change does not rerun it): the modules are built from it and every
training file must match it.

Outside Snakemake: python scripts/analyze_evaluate.py CONFIG MODEL N OUT.nc [NOISE]
(NOISE: the noise level of the training targets; default the study's lowest)
"""

import logging
import sys
import time

from greenbench.analysis.config import AnalysisConfig
from greenbench.analysis.stage import evaluate_model
from greenbench.config import load_config
from greenbench.io import write_netcdf
from greenbench.logs import log_to
from greenbench.paths import parse
from greenbench.study import Study


def main(cfg: AnalysisConfig, model: str, entry: dict, N: int, metrics: str, datasets: dict,
         out: str, noise: float | None = None):
    t0 = time.perf_counter()
    ds = evaluate_model(model, N, metrics, datasets, cfg, entry, noise)
    write_netcdf(ds, out, kind="evaluate")
    logging.info("wrote %s: %s at N=%d, %d missing member(s), %d diverged, in %.1fs", out, model,
                 N, int(ds.missing.sum()), int(ds.diverged.sum()), time.perf_counter() - t0)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    cfg = AnalysisConfig.from_params(sm.params.analysis)
    for out in sm.output:
        res = int(parse("evaluation", out)["res"])
        metrics = next(m for m in sm.input.metrics if parse("train_metrics", m)["res"] == res)
        main(cfg, sm.wildcards.model, dict(sm.params.entry), res, metrics,
             sm.params.datasets[res], out, parse("evaluation", out)["noise"])
elif __name__ == "__main__":
    log_to()
    config, model, res, out = sys.argv[1:5]
    study, N = Study.from_config(load_config(config)), int(res)
    level = float(sys.argv[5]) if len(sys.argv) > 5 else study.noise_min
    main(study.analysis, model, study.entries[model], N, study.train_metrics(model, N, level),
         study.dataset_map()[N], out, level)
