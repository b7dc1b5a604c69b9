"""Training: vectorized ensembles, optimizers, checkpoints, and the task API used by ``hpc``.

Public API::

    TrainTask(model, entry, pde, N, members, datasets, out_dir, master_seed=0, device="auto",
              checksums=dataset_checksums(datasets), data_hash="", n_train=None)
    run_task(task, checkpoint_path=None) -> dict      # train, write .pt files, return metrics
    task_done(task) -> bool
    load_task_result(task) -> dict                    # run_task's result from the .pt files
    metrics_dataset(model, entry, N, pde, results) -> xarray.Dataset
    quantity_metrics_dataset(model, entry, N, pde, results)  # over (sample_size, ...)
    member_path(out_dir, train_space, seed, n_train=None) -> Path
    load_trained(path, entry, N=None, data_checksum=None) -> torch.nn.Module
    check_trained(content, path, entry, ...)          # raises CheckpointMismatch
    predict(module, f, x) -> numpy.ndarray

See docs/models.md for the models and the ``train:`` keys.
"""

from greenbench.train.exact import min_norm_update
from greenbench.train.loop import FitResult, fit, log_steps
from greenbench.train.metrics import metrics_dataset, quantity_metrics_dataset
from greenbench.train.problems import (
    FDProblem,
    OperatorProblem,
    PINNProblem,
    Problem,
    build_member,
    make_problem,
)
from greenbench.train.task import (
    CheckpointMismatch,
    TrainTask,
    check_trained,
    dataset_checksums,
    entry_differences,
    load_task_result,
    load_trained,
    member_path,
    predict,
    resolve_device,
    run_task,
    task_done,
)

__all__ = [
    "CheckpointMismatch", "check_trained", "dataset_checksums", "entry_differences",
    "FDProblem", "FitResult", "OperatorProblem", "PINNProblem", "Problem", "TrainTask",
    "build_member", "fit", "load_task_result", "load_trained", "log_steps", "make_problem",
    "member_path", "metrics_dataset", "min_norm_update",
    "quantity_metrics_dataset", "predict", "resolve_device", "run_task", "task_done",
]
