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
