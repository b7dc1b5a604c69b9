"""Snakemake adapter: aggregate the evaluation files into results/{pde}/crossval.nc (the
benchmark: MSE and relative L2 of every model x train space x test space x N x seed, and the
scorecard).

Outside Snakemake: python scripts/analyze_crossval.py CONFIG OUT.nc EVALUATION.nc...
"""

import logging
import sys
import time

from greenbench.analysis.config import AnalysisConfig, config_from_file
from greenbench.analysis.stage import crossval_dataset
from greenbench.io import write_netcdf
from greenbench.logs import log_to


def main(cfg: AnalysisConfig, evaluations: list[str], out: str) -> None:
    t0 = time.perf_counter()
    cv = crossval_dataset(evaluations, cfg)
    write_netcdf(cv, out, kind="crossval")
    logging.info("wrote %s: models %s, %d missing and %d diverged members, in %.1fs", out,
                 list(cv.model.values), int(cv.missing.sum()), int(cv.diverged.sum()),
                 time.perf_counter() - t0)
    for m in cv.model.values:
        logging.info("scorecard %s:\n%s", m, cv.scorecard.sel(model=m).to_pandas().to_string())


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    main(AnalysisConfig.from_params(sm.params.analysis), list(sm.input.evaluations),
         sm.output[0])
elif __name__ == "__main__":
    log_to()
    main(config_from_file(sys.argv[1]), sys.argv[3:], sys.argv[2])
