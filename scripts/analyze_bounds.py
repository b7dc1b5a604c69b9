"""Snakemake adapter: Thm 3.2 predicted vs measured test MSE of the linear model ->
results/{pde}/bounds.nc.

Outside Snakemake: python scripts/analyze_bounds.py CONFIG CROSSVAL.nc OUT.nc [LINEAR_MODEL]
"""

import logging
import sys
import time

from greenbench.analysis.config import AnalysisConfig
from greenbench.analysis.stage_theory import bounds_dataset
from greenbench.config import load_config
from greenbench.io import write_netcdf
from greenbench.logs import log_to
from greenbench.study import Study


def main(cfg: AnalysisConfig, crossval: str, datasets: dict, linear_model: str | None,
         linear_parts: list[str], out: str) -> None:
    t0 = time.perf_counter()
    parts = dict(zip(cfg.resolutions, linear_parts, strict=True)) if linear_model else {}
    ds = bounds_dataset(datasets, crossval, linear_model, parts, cfg)
    write_netcdf(ds, out, kind="bounds")
    z = abs(ds.measured_z).max().item()
    logging.info("wrote %s: linear model %r, max |z| = %.2f, bound holds in all cells: %s, "
                 "in %.1fs", out, linear_model, z, bool(ds.bound_holds.all()),
                 time.perf_counter() - t0)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    main(AnalysisConfig.from_params(sm.params.analysis), sm.input.crossval, sm.params.datasets,
         sm.params.linear_model, list(sm.input.linear), sm.output[0])
elif __name__ == "__main__":
    log_to()
    study = Study.from_config(load_config(sys.argv[1]))
    model = sys.argv[4] if len(sys.argv) > 4 else None
    main(study.analysis, sys.argv[2], study.dataset_map(), model,
         study.evaluations([model], noise=[study.noise_min]) if model else [], sys.argv[3])
