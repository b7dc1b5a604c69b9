# greenbench: has a model learned the Green's function, or only its training function space?
# Thin entry point: config, validation, one rule file per stage, rule all.
from snakemake.utils import min_version

from greenbench.config import validate_config

# 9.1: workflow.subprocess_exec (common.smk); keep equal to the snakemake pin in pyproject.toml.
min_version("9.1")

# The embedded default study, unless --configfile names another: snakemake would deep-merge the
# two, so a small study file (spaces: {sin: [2]}) would silently keep cos1..cos8 and the models
# of the default. --config key=value still overrides single keys of either.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# A bad config fails here, before any job runs, naming the key and the allowed values.
config = validate_config(config)


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/analyze.smk"
include: "workflow/rules/report.smk"


wildcard_constraints:
    pde=paths.alternatives(PDES),
    space="|".join(SPACES),
    res=r"\d+",


rule all:
    default_target: True
    input:
        rules.report.output[0],
        [t for s in STUDIES.values() for t in s.training_targets()],
