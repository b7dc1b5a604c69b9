"""Snakemake adapter: write results/report.html (greenbench.report.build_report).

Outside Snakemake (any missing results file is listed in the report, not fatal):
    python scripts/make_report.py config/config.yaml out.html FIG.png...
(run from the study's folder: the results files are found through greenbench.paths).
"""

import logging
import sys

from greenbench import paths
from greenbench.analysis.config import study_hash
from greenbench.config import load_config
from greenbench.logs import log_to
from greenbench.report import build_report


def main(config: dict, results: dict | None, figures: list, out: str, hash_: str = "",
         sections: dict | None = None) -> None:
    summary = build_report(out, config=config, results=results, figures=figures,
                           config_hash=hash_, sections=sections)
    verdicts = [f.verdict for f in summary.findings]
    logging.info("wrote %s: %d findings (%s), %d missing items", out, len(verdicts),
                 ", ".join(f"{v}: {verdicts.count(v)}" for v in sorted(set(verdicts))),
                 len(summary.gaps))
    for gap in summary.gaps:
        logging.warning("not in the results: %s %s: %s", gap.kind, gap.what, gap.detail)


if "snakemake" in globals():
    sm = snakemake  # noqa: F821
    log_to(sm.log[0])
    sections = getattr(sm.params, "sections", None)
    if sections is not None:
        # one section per operator: {pde: {results, figures, config_hash}} (report.smk)
        main(dict(sm.params.config), None, [], sm.output[0], sections=dict(sections))
    else:   # one operator, results and figures as named inputs
        keys = ("crossval", "bounds", "convergence", "quantity", "measures", "greens",
                "greens_fields")
        main(dict(sm.params.config), {k: sm.input[k] for k in keys}, list(sm.input.figures),
             sm.output[0], sm.params.config_hash)
elif __name__ == "__main__":
    log_to()
    cfg = load_config(sys.argv[1])
    pde, finest = cfg["pde"], max(cfg["resolutions"])
    files = {"crossval": paths.crossval(pde), "bounds": paths.bounds(pde),
             "convergence": paths.convergence(pde), "quantity": paths.quantity(pde),
             "measures": paths.measures(pde), "greens": paths.greens(pde),
             "greens_fields": paths.greens_fields(pde, finest)}
    main(cfg, files, sys.argv[3:], sys.argv[2], study_hash(cfg))
