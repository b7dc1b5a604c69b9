"""Snakemake adapter: Green's functions extracted from every evaluated model ->
results/{pde}/greens.nc (errors, inverse stencils) and results/{pde}/greens/N{res}.nc (G_hat, G).

Outside Snakemake: python scripts/analyze_greens.py CONFIG OUT_DIR EVALUATION.nc...
"""

import logging
import sys
import time
from pathlib import Path

from greenbench import paths
from greenbench.analysis.config import AnalysisConfig, config_from_file
from greenbench.analysis.stage import greens_datasets
from greenbench.io import write_netcdf
from greenbench.logs import log_to


def main(cfg: AnalysisConfig, evaluations: list[str], out: str, fields_out: dict) -> None:
    t0 = time.perf_counter()
    ds, fields = greens_datasets(evaluations, cfg)
    for N, path in fields_out.items():
        write_netcdf(fields[N], path, kind="greens_fields")
    write_netcdf(ds, out, kind="greens")
    logging.info("wrote %s and %d field files in %.1fs", out, len(fields),
                 time.perf_counter() - t0)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    fields_out = dict(zip([int(n) for n in sm.params.resolutions], sm.output.fields, strict=True))
    main(AnalysisConfig.from_params(sm.params.analysis), list(sm.input.evaluations),
         sm.output.greens, fields_out)
elif __name__ == "__main__":
    log_to()
    cfg, out_dir = config_from_file(sys.argv[1]), Path(sys.argv[2])
    root = Path(paths.results_dir(cfg.pde))  # OUT_DIR stands for results/{pde}
    main(cfg, sys.argv[3:], str(out_dir / Path(paths.greens(cfg.pde)).relative_to(root)),
         {N: str(out_dir / Path(paths.greens_fields(cfg.pde, N)).relative_to(root))
          for N in cfg.resolutions})
