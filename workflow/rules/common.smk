# Helpers shared by all stages. The study (greenbench.study.Study) is built once from the
# validated config: its axes, enabled models, hashes, analysis settings and the path of every
# file (greenbench.paths) come from it, so the rules and lib cannot disagree.
import os
import re

from greenbench import paths
from greenbench.analysis.config import analysis_params
from greenbench.study import Study, cheap_fit

STUDY = Study.from_config(config)
# Every operator of the config (key pde: a name, a list or a mapping) is its own study under
# results/{pde}/ with the same spaces, resolutions, seeds, models and noise levels
# (Study.for_pde): a rule takes the study of its {pde} wildcard, `study(wildcards)`. Nothing
# here asks which operator it is.
STUDIES = {p: STUDY.for_pde(p) for p in STUDY.pdes}
PDES = list(STUDIES)
PDE = STUDY.pde
SPACES = list(STUDY.spaces)
RESOLUTIONS = list(STUDY.resolutions)
# The study's hash (provenance of the analysis and report); `cluster` says where jobs run, not
# what the study is, so switching cluster files changes nothing downstream.
CONFIG_HASH = STUDY.config_hash
# The datasets depend on the data keys only (greenbench.provenance.DATA_KEYS): another model or
# analysis option must not regenerate (and so retrain) anything.
DATA_HASH = STUDY.data_hash
# The noise levels of the training targets as they appear in paths (noise{label}).
NOISE_LABELS = [paths.noise_label(s) for s in STUDY.noise]


def study(wildcards):
    """The single-operator study of the job's ``{pde}`` wildcard."""
    return STUDIES[wildcards.pde]


def per_study(method, *args, **kwargs):
    """An input/params function: ``method`` of the job's study (a name of a Study attribute or
    method), called with ``args``/``kwargs`` when it is callable."""

    def get(wildcards):
        value = getattr(study(wildcards), method)
        return value(*args, **kwargs) if callable(value) else value

    return get


def dataset_path(space, res, pde=PDE):
    return paths.dataset(pde, space, res)


def data_specs(wildcards):
    """The generation parameters of the datasets at one N, in the order of SPACES (the rule's
    outputs), passed through params: so a change reruns them."""
    return [study(wildcards).data_spec(s, wildcards.res) for s in SPACES]


# ---- analysis targets (workflow/rules/analyze.smk) ----


def model_entry(wildcards):
    """The config entry of one model: the evaluation builds the modules from it and checks the
    training files against it (only this model's, so another model's change reruns nothing).
    """
    return study(wildcards).entries[wildcards.model]


def dataset_map(wildcards):
    """{N: {space: path}} of every dataset of the job's operator (passed as params, the same
    paths as input)."""
    return study(wildcards).dataset_map()


def model_metrics(wildcards):
    """The training metrics.nc of one model at every N and the job's noise level (its
    evaluation job's inputs)."""
    return study(wildcards).model_metrics(wildcards.model, wildcards.noise)


def quantity_resolution():
    return STUDY.analysis.quantity_N


def quantity_datasets(wildcards):
    return study(wildcards).datasets(quantity_resolution())


def parameter_metrics(cls):
    """Training metrics of the first enabled model of class ``cls`` at every N (or []): an
    input function of the job's operator."""

    def get(wildcards):
        s = study(wildcards)
        return s.model_metrics(s.first_of_class(cls))

    return get


def linear_evaluations(wildcards):
    s = study(wildcards)
    model = s.first_of_class("linear")
    return [] if model is None else s.evaluations([model], noise=[s.noise_min])


# ---- training targets (workflow/rules/train.smk) ----
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
    os.environ.update(GREENBENCH_SNAKEMAKE_PID=str(os.getpid()))


def train_datasets(wildcards):
    return study(wildcards).datasets(wildcards.res)


def train_params(wildcards):
    """What determines the trained models of one (model, N, noise level): a change retrains
    them."""
    return study(wildcards).train_params(wildcards.model, wildcards.res, wildcards.noise)


def train_threads(wildcards):
    """Cores the training job takes from Snakemake (1 when SLURM runs its tasks)."""
    members = [(s, seed) for s in STUDY.spaces for seed in STUDY.seeds]
    settings = CLUSTER.in_process_when_local(cheap_fit(STUDY.entries[wildcards.model]))
    return settings.local_threads(len(chunks(members, CLUSTER.chunk_size)))


# ---- data-quantity training targets (workflow/rules/train.smk, rule train_quantity) ----
# The data-quantity study's neural model (analysis.quantity_model, with the cheap budget
# analysis.quantity_steps) is trained here like every other model: through greenbench.hpc, so it
# runs on SLURM, is checkpointed and resumes. Members (sample_size, seed) on the quantity space
# at the quantity resolution; one ensemble per sample size (and chunk of seeds). The analysis
# job `data_quantity` only evaluates them (docs/results_format.md, quantity.nc).
QUANTITY = analysis_params(config)


def quantity_model():
    """Name of the data-quantity study's trained model, or None (closed-form linear only)."""
    return next(iter(QUANTITY["quantity_models"]), None)


def quantity_training(wildcards):
    """The quantity training job's metrics.nc of the job's operator, or [] without a quantity
    model."""
    name = quantity_model()
    return (
        []
        if name is None
        else [
            f"results/{wildcards.pde}/train_quantity/{name}/"
            f"N{QUANTITY['quantity_resolution']}/metrics.nc"
        ]
    )


def quantity_train_datasets(wildcards):
    return [
        dataset_path(QUANTITY["quantity_space"], wildcards.res, wildcards.pde),
    ]


def quantity_train_params(wildcards):
    """What determines the quantity study's trained members: a change retrains them."""
    N = int(wildcards.res)
    space = QUANTITY["quantity_space"]
    return dict(
        model=wildcards.model,
        entry=QUANTITY["quantity_models"][wildcards.model],
        pde=wildcards.pde,
        N=N,
        spaces=[space],
        seeds=config["train_seeds"],
        sample_sizes=QUANTITY["sample_sizes"],
        master_seed=config["seed"],
        data_hash=study(wildcards).data_hash,
        noise=STUDY.noise_min,
        datasets={space: dataset_path(space, N, wildcards.pde)},
        out_dir=f"results/{wildcards.pde}/train_quantity/{wildcards.model}/N{N}",
    )


def quantity_train_threads(wildcards):
    """Cores of the quantity training job: one task per sample size and chunk of seeds."""
    per_size = len(chunks(list(config["train_seeds"]), CLUSTER.chunk_size))
    settings = CLUSTER.in_process_when_local(
        cheap_fit(QUANTITY["quantity_models"][wildcards.model])
    )
    return settings.local_threads(len(QUANTITY["sample_sizes"]) * per_size)
