"""Snakemake adapter: the data-quantity study (error vs number of training samples of one
space) -> results/{pde}/quantity.nc. Evaluates the closed-form linear model and the members
the training stage trained (rule train_quantity); trains nothing.

Outside Snakemake: python scripts/analyze_quantity.py CONFIG OUT.nc [MODEL METRICS.nc]
"""

import logging
import sys
import time

from greenbench import paths
from greenbench.analysis.config import AnalysisConfig, config_from_file
from greenbench.analysis.stage_theory import quantity_dataset
from greenbench.io import write_netcdf
from greenbench.logs import log_to


def main(cfg: AnalysisConfig, datasets: dict, trained: dict, out: str) -> None:
    t0 = time.perf_counter()
    ds = quantity_dataset(datasets, cfg, trained)
    write_netcdf(ds, out, kind="quantity")
    logging.info("wrote %s: models %s on %s at N=%d, sizes %s (dropped %s), in %.1fs", out,
                 list(ds.quantity_model.values), cfg.quantity_space, cfg.quantity_N,
                 list(ds.sample_size.values), list(cfg.dropped_sample_sizes),
                 time.perf_counter() - t0)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    model = sm.params.quantity_model
    main(AnalysisConfig.from_params(sm.params.analysis), sm.params.datasets,
         {model: sm.input.trained[0]} if model else {}, sm.output[0])
elif __name__ == "__main__":
    log_to()
    cfg = config_from_file(sys.argv[1])
    main(cfg, {s: paths.dataset(cfg.pde, s, cfg.quantity_N) for s in cfg.spaces},
         dict([sys.argv[3:5]]) if len(sys.argv) >= 5 else {}, sys.argv[2])
