# greenbench: has a model learned the Green's function, or only its training function space?
# Thin entry point: config, validation, one rule file per stage, rule all.
from snakemake.utils import min_version

from greenbench.config import pde_names, validate_config

# 9.1: workflow.subprocess_exec (common.smk); keep equal to the snakemake pin in pyproject.toml.
min_version("9.1")

# The embedded default study, unless --configfile names another: snakemake would deep-merge the
# two, so a small study file (spaces: {sin: [2]}) would silently keep cos1..cos8 and the models
# of the default. --config key=value still overrides single keys of either.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# A bad config fails here, before any job runs, naming the key and the allowed values.
config = validate_config(config)
if len(pde_names(config["pde"])) > 1:
    # The library handles several operators (greenbench.study.Study.for_pde); the rules run one
    # operator per invocation until they iterate over them (docs/decisions.md, "Operators").
    raise ValueError(
        f"config key pde: {pde_names(config['pde'])} names several operators; this workflow "
        f"runs one per invocation: allowed: one operator name (or a one-entry mapping); run "
        f"each operator with --config pde=<name> or its own config file")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/analyze.smk"
include: "workflow/rules/report.smk"


wildcard_constraints:
    pde=PDE,
    space="|".join(SPACES),
    res=r"\d+",


rule all:
    default_target: True
    input:
        rules.report.output[0],
        STUDY.training_targets(),
