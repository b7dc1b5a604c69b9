"""TrainTask.n_train: the data-quantity study's members are ordinary training tasks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from greenbench import io, train

ENTRY = {"class": "linear", "params": {}, "train": {}, "enabled": True}


@pytest.fixture
def task(make_dataset):
    path = make_dataset("sin2", N=8, n_samples=20)
    datasets = {"sin2": str(path)}
    return train.TrainTask(model="linear", entry=ENTRY, pde="poisson1d", N=8,
                           members=(("sin2", 0),), datasets=datasets,
                           out_dir=str(path.parents[3] / "q"), device="cpu",
                           checksums=train.dataset_checksums(datasets))


def test_n_train_enters_name_seed_path_and_fingerprint_only_when_set(task):
    sized = replace(task, n_train=4)
    assert task.name == "linear/N8/sin2/seed0" and sized.name == "linear/N8/n4/sin2/seed0"
    assert task.member_path("sin2", 0).parts[-2:] == ("sin2", "seed0.pt")
    assert sized.member_path("sin2", 0).parts[-3:] == ("sin2", "n4", "seed0.pt")
    assert len({task.fingerprint(), sized.fingerprint(),
                replace(task, n_train=8).fingerprint()}) == 3
    assert task.member_seed("sin2", 0) != sized.member_seed("sin2", 0)
    assert sized.fingerprint() != replace(sized, checksums={"sin2": "sha256:other"}).fingerprint()


def test_quantity_members_train_on_the_first_n_samples(task):
    results = [train.run_task(replace(task, n_train=n)) for n in (1, 4)]
    ds = train.quantity_metrics_dataset("linear", ENTRY, 8, "poisson1d", results)
    assert list(ds.sample_size.values) == [1, 4]
    assert ds.train_mse.dims == ("sample_size", "train_space", "seed")
    assert ds.data_checksum.dims == ("train_space",)
    pt = io.load_torch(replace(task, n_train=4).member_path("sin2", 0))
    assert pt["n_train"] == 4 and pt["data_checksum"] == task.checksums["sin2"]
    assert train.task_done(replace(task, n_train=4)) and not train.task_done(task)
    with pytest.raises(ValueError, match="n_train=99"):
        train.run_task(replace(task, n_train=99))
    assert np.all(np.isfinite(ds.train_mse))
