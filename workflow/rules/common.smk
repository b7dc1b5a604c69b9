# Helpers shared by all stages: the targets of the study and the params handed to scripts.
from greenbench.analysis.config import study_hash
from greenbench.provenance import data_hash
from greenbench.spaces import space_names

PDE = config["pde"]
SPACES = space_names(config["spaces"])
RESOLUTIONS = sorted(config["resolutions"])
# The study's hash (provenance of the analysis and report); `cluster` says where jobs run, not
# what the study is, so switching cluster files changes nothing downstream.
CONFIG_HASH = study_hash(config)
# The datasets depend on the data keys only (greenbench.provenance.DATA_KEYS): another model or
# analysis option must not regenerate (and so retrain) anything.
DATA_HASH = data_hash(config)


def dataset_path(space, res, pde=PDE):
    return f"data/{pde}/{space}/N{res}.h5"


def all_datasets():
    return [dataset_path(s, n) for s in SPACES for n in RESOLUTIONS]


def data_spec(wildcards):
    """The dataset's generation parameters, passed through params: so a change reruns it."""
    return dict(
        pde=wildcards.pde,
        space=wildcards.space,
        N=int(wildcards.res),
        n_samples=config["n_samples"],
        master_seed=config["seed"],
        k=config["k"],
        distribution=config["coefficients"]["distribution"],
        scale=config["coefficients"]["scale"],
        noise=config["noise"],
        test_fraction=config["test_fraction"],
        fem_mass=config["fem_mass"],
    )


# ---- analysis targets (workflow/rules/analyze.smk) ----
from greenbench.analysis.config import (
    PARAMETER_CLASSES,
    analysis_params,
    enabled_models,
)


def analysis_operator_models():
    """Models evaluated by the cross-validation (every class but fd and pinn)."""
    return [
        m
        for m, e in enabled_models(config).items()
        if e["class"] not in PARAMETER_CLASSES
    ]


def first_model_of_class(cls):
    """Name of the first enabled model of class ``cls``, or None."""
    return next(
        (m for m, e in enabled_models(config).items() if e["class"] == cls), None
    )


def training_metrics(model, res, pde=PDE):
    return f"results/{pde}/train/{model}/N{res}/metrics.nc"


def evaluation_path(model, res, pde=PDE):
    return f"results/{pde}/evaluate/{model}/N{res}.nc"


def evaluation_files():
    return [
        evaluation_path(m, n) for m in analysis_operator_models() for n in RESOLUTIONS
    ]


def dataset_map():
    """{N: {space: path}} of every dataset (passed as params, the same paths as input)."""
    return {int(n): {s: dataset_path(s, n) for s in SPACES} for n in RESOLUTIONS}


def datasets_at_resolution(wildcards):
    return [dataset_path(s, wildcards.res) for s in SPACES]


def quantity_resolution():
    return int(config["analysis"]["quantity_resolution"] or min(RESOLUTIONS))


def quantity_datasets():
    return [dataset_path(s, quantity_resolution()) for s in SPACES]


def parameter_metrics(cls):
    """Training metrics of the first enabled model of class ``cls`` at every N (or [])."""
    model = first_model_of_class(cls)
    return [] if model is None else [training_metrics(model, n) for n in RESOLUTIONS]


def linear_evaluations():
    model = first_model_of_class("linear")
    return [] if model is None else [evaluation_path(model, n) for n in RESOLUTIONS]


# ---- training targets (workflow/rules/train.smk) ----
import os
import re

from greenbench.hpc import chunks, load_cluster_settings


def cluster_file(path):
    """The cluster settings file: relative paths from the working directory, else from the
    repository (so the shipped config/cluster/*.yaml work with --directory elsewhere).
    """
    if os.path.isabs(path) or os.path.exists(path):
        return os.path.abspath(path)
    return os.path.join(os.path.dirname(os.path.abspath(workflow.main_snakefile)), path)


# Where training runs (config/cluster/*.yaml, selected with --config cluster=...) is read here,
# so a bad file fails before any job runs, and handed to the training script through the
# environment instead of params:, so that switching machines never retrains.
CLUSTER_FILE = cluster_file(config["cluster"])
CLUSTER = load_cluster_settings(CLUSTER_FILE)
os.environ.update(GREENBENCH_CLUSTER=CLUSTER_FILE)  # inherited by the training script
# No orphans: training jobs watch this pid and stop (cancelling their tasks) when this Snakemake
# is gone, even killed by SIGKILL (greenbench.hpc.watchdog). Set by the main Snakemake only: a
# Snakemake spawned for a job (subprocess/remote mode) keeps the value of the one that spawned it.
if not (workflow.subprocess_exec or workflow.remote_exec):
    os.environ["GREENBENCH_SNAKEMAKE_PID"] = str(os.getpid())


def trained_models():
    """Names of the enabled models, in config order."""
    return [m for m, e in config["models"].items() if e.get("enabled", True)]


def train_metrics_path(model, res, pde=PDE):
    return f"results/{pde}/train/{model}/N{res}/metrics.nc"


def all_training():
    """One training job per (model, resolution)."""
    return [train_metrics_path(m, n) for m in trained_models() for n in RESOLUTIONS]


def train_model_regex():
    return "|".join(re.escape(m) for m in trained_models()) or "(?!)"


def train_datasets(wildcards):
    return [dataset_path(s, wildcards.res, wildcards.pde) for s in SPACES]


def train_params(wildcards):
    """What determines the trained models of one (model, N): a change retrains them."""
    N = int(wildcards.res)
    return dict(
        model=wildcards.model,
        entry=config["models"][wildcards.model],
        pde=wildcards.pde,
        N=N,
        spaces=SPACES,
        seeds=config["train_seeds"],
        master_seed=config["seed"],
        data_hash=DATA_HASH,
        datasets={s: dataset_path(s, N, wildcards.pde) for s in SPACES},
        out_dir=f"results/{wildcards.pde}/train/{wildcards.model}/N{N}",
    )


def train_threads(wildcards):
    """Cores the training job takes from Snakemake (1 when SLURM runs its tasks)."""
    members = [(s, seed) for s in SPACES for seed in config["train_seeds"]]
    return CLUSTER.local_threads(len(chunks(members, CLUSTER.chunk_size)))
