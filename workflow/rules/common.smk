# Helpers shared by all stages: the targets of the study and the params handed to scripts.
from greenbench.provenance import config_hash
from greenbench.spaces import space_names

PDE = config["pde"]
SPACES = space_names(config["spaces"])
RESOLUTIONS = sorted(config["resolutions"])
CONFIG_HASH = config_hash(config)


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
