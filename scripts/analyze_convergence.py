"""Snakemake adapter: Thm 3.1 (FD parameter bias, predicted and learned, rate fits) and the PINN
parameter error -> results/{pde}/convergence.nc.

Outside Snakemake: python scripts/analyze_convergence.py CONFIG OUT.nc [FD [PINN]]
"""

import logging
import sys
import time

from greenbench import paths
from greenbench.analysis.config import AnalysisConfig, config_from_file
from greenbench.analysis.stage_theory import convergence_dataset
from greenbench.config import load_config
from greenbench.io import write_netcdf
from greenbench.logs import log_to


def main(cfg: AnalysisConfig, datasets: dict, fd: tuple | None, pinn: tuple | None,
         out: str, entries: dict) -> None:
    t0 = time.perf_counter()
    ds = convergence_dataset(datasets, fd, pinn, cfg, entries)
    write_netcdf(ds, out, kind="convergence")
    logging.info("wrote %s in %.1fs; fitted FD rates (learned):\n%s", out,
                 time.perf_counter() - t0, ds.fd_rate.to_pandas().to_string())


def _model(name, paths, cfg):
    return None if not name else (name, dict(zip(cfg.resolutions, paths, strict=True)))


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    cfg = AnalysisConfig.from_params(sm.params.analysis)
    main(cfg, sm.params.datasets, _model(sm.params.fd_model, list(sm.input.fd), cfg),
         _model(sm.params.pinn_model, list(sm.input.pinn), cfg), sm.output[0],
         dict(sm.params.entries))
elif __name__ == "__main__":
    log_to()
    cfg = config_from_file(sys.argv[1])
    data = {N: {s: paths.dataset(cfg.pde, s, N) for s in cfg.spaces} for N in cfg.resolutions}
    names = sys.argv[3:5] + [None] * (2 - len(sys.argv[3:5]))
    metrics = {m: [paths.train_metrics(cfg.pde, m, N, noise=cfg.noise_min)
                for N in cfg.resolutions]
               for m in names if m}
    models = load_config(sys.argv[1])["models"]
    main(cfg, data, _model(names[0], metrics.get(names[0]), cfg),
         _model(names[1], metrics.get(names[1]), cfg), sys.argv[2],
         {m: models[m] for m in names if m})
