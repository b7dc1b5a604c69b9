"""Snakemake adapter: the reductions of crossval.nc the report's findings read (cell geometric
means, category means, ratios, rank trends), on the members training.nc counts as converged
-> results/{pde}/measures.nc.

Outside Snakemake: python scripts/analyze_measures.py CONFIG CROSSVAL.nc OUT.nc [TRAINING.nc]
"""

import logging
import sys

from greenbench.analysis.config import AnalysisConfig, config_from_file
from greenbench.analysis.stage_theory import measures_file_dataset
from greenbench.io import write_netcdf
from greenbench.logs import log_to


def main(cfg: AnalysisConfig, crossval: str, out: str, training: str | None = None) -> None:
    ds = measures_file_dataset(crossval, cfg, training)
    write_netcdf(ds, out, kind="measures")
    logging.info("wrote %s: models %s", out, list(ds.model.values))


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    main(AnalysisConfig.from_params(sm.params.analysis), sm.input.crossval, sm.output[0],
         sm.input.training)
elif __name__ == "__main__":
    log_to()
    main(config_from_file(sys.argv[1]), sys.argv[2], sys.argv[3], *sys.argv[4:5])
