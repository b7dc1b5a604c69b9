"""Snakemake adapter: the training evidence of the operator models (convergence per member,
resampled loss curves) from their training metrics.nc -> results/{pde}/training.nc.

Outside Snakemake: python scripts/analyze_training.py CONFIG OUT.nc
"""

import logging
import sys

from greenbench.analysis.config import AnalysisConfig
from greenbench.analysis.training import training_file_dataset, unconverged
from greenbench.io import write_netcdf
from greenbench.logs import log_to


def main(cfg: AnalysisConfig, metrics: dict, out: str) -> None:
    ds = training_file_dataset(metrics, cfg)
    write_netcdf(ds, out, kind="training")
    left = unconverged(ds).sum(dim=("train_space", "seed"))
    for model in ds.model.values:
        logging.info("%s: not converged per N %s of %d members", model,
                     dict(zip(map(int, ds.resolution.values),
                              map(int, left.sel(model=model).values), strict=True)),
                     ds.sizes["train_space"] * ds.sizes["seed"])
    logging.info("wrote %s", out)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    main(AnalysisConfig.from_params(sm.params.analysis),
         {(m, int(n)): p for m, n, p in sm.params.metrics}, sm.output[0])
elif __name__ == "__main__":
    from greenbench.config import load_config
    from greenbench.study import Study

    log_to()
    study = Study.from_config(load_config(sys.argv[1]))
    main(study.analysis, {(m, n): study.train_metrics(m, n) for m in study.operator_models
                          for n in study.resolutions}, sys.argv[2])
