"""The training loop of one ensemble: steps, divergence, loss history, checkpoints, resume.

A member whose objective is not finite at some step is marked diverged at that step and frozen
(its gradient is zeroed and the optimizer skips it); the other members go on. The loop is
deterministic given the problem: mini-batches depend on the step number and the member seeds
only, so a run resumed from a checkpoint ends with exactly the parameters of an uninterrupted
one. File I/O is the caller's: ``save`` receives a plain dict to write (``greenbench.io``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from greenbench.models.registry import TrainConfig
from greenbench.train.optim import make_optimizer, member_mask
from greenbench.train.problems import Problem

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class FitResult:
    """Per-member outcome of :func:`fit`. ``E`` members, ``T`` logged steps."""

    step: np.ndarray         # (T,) int64: step at which each logged loss was taken
    loss: np.ndarray         # (E, T) float64: training objective, NaN after divergence
    train_mse: np.ndarray    # (E,) float64: data MSE on the whole training split (NaN if diverged)
    diverged: np.ndarray     # (E,) bool
    final_step: np.ndarray   # (E,) int64: steps completed (the diverging step if diverged)
    wall_time: float         # seconds spent training this ensemble, resumed parts included


def log_steps(cfg: TrainConfig) -> np.ndarray:
    """Steps at which the loss is recorded: ``0, log_every, ... < steps``, then ``steps`` (the
    final loss). ``exact`` records ``[0, 1]``: the loss at the start and at the closed form."""
    total = 1 if cfg.optimizer == "exact" else cfg.steps
    return np.array(sorted(set(range(0, total, cfg.log_every)) | {total}), dtype=np.int64)


def loss_and_grad(problem: Problem, batch: torch.Tensor | None
                  ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Objective ``(E,)`` and its gradients; members with a non-finite objective get zero
    gradients (their NaNs never reach the others: members share no operation)."""
    params = list(problem.params.values())
    with torch.enable_grad():
        loss = problem.objective(problem.params, batch)
        finite = torch.isfinite(loss)
        total = torch.where(finite, loss, torch.zeros_like(loss)).sum()
        grads = torch.autograd.grad(total, params, allow_unused=True)
    out = []
    for p, g in zip(params, grads, strict=True):
        g = torch.zeros_like(p) if g is None else g
        out.append(torch.where(member_mask(finite, g), g, torch.zeros_like(g)))
    return loss.detach(), out


def fit(problem: Problem, cfg: TrainConfig, *, resume: Mapping[str, Any] | None = None,
        save: Callable[[dict[str, Any]], None] | None = None, fingerprint: str = "") -> FitResult:
    """Train every member of ``problem`` for ``cfg.steps`` steps (or solve ``exact``).

    Parameters
    ----------
    problem
        The ensemble; its ``params`` are updated in place.
    cfg
        Training settings.
    resume
        A state previously passed to ``save`` (with the same ``fingerprint``): training
        continues from it.
    save
        Called with a checkpoint state every ``cfg.checkpoint_every`` steps.
    fingerprint
        Identifies the task; stored in the checkpoint state.
    """
    steps = log_steps(cfg)
    col = {int(s): i for i, s in enumerate(steps)}
    E = problem.E
    history = torch.full((E, steps.size), float("nan"), dtype=torch.float64)
    diverged_at = torch.full((E,), -1, dtype=torch.int64)
    elapsed, start = 0.0, 0
    t0 = time.perf_counter()

    if cfg.optimizer == "exact":
        with torch.no_grad():
            history[:, 0] = problem.objective(problem.params).double().cpu()
            problem.exact()
    else:
        opt = make_optimizer(problem.params, cfg)
        if resume is not None:
            start, elapsed = int(resume["step"]), float(resume["elapsed"])
            with torch.no_grad():
                for k, p in problem.params.items():
                    p.copy_(resume["params"][k])
            opt.load_state_dict(_to_device(resume["optimizer"], problem.device))
            history.copy_(resume["history"])
            diverged_at.copy_(resume["diverged_at"])
            log.info("resumed at step %d of %d", start, cfg.steps)
        for step in range(start, cfg.steps):
            active = (diverged_at < 0).to(problem.device)
            if not bool(active.any()):
                break
            batch = problem.batch_indices(step)
            loss, grads = loss_and_grad(problem, batch)
            loss_cpu = loss.double().cpu()
            if step in col:
                history[:, col[step]] = torch.where(active.cpu(), loss_cpu, float("nan"))
            bad = active.cpu() & ~torch.isfinite(loss_cpu)
            if bool(bad.any()):
                diverged_at[bad] = step
                active = (diverged_at < 0).to(problem.device)
                log.warning("member(s) %s diverged at step %d", bad.nonzero().ravel().tolist(),
                            step)

            def evaluate(params, batch=batch):
                with torch.no_grad():
                    return problem.objective(params, batch)

            opt.step(problem.params, loss, grads, active, evaluate)
            done = step + 1
            if save is not None and cfg.checkpoint_every and done % cfg.checkpoint_every == 0 \
                    and done < cfg.steps:
                save({"version": CHECKPOINT_VERSION, "fingerprint": fingerprint, "step": done,
                      "elapsed": elapsed + time.perf_counter() - t0,
                      "params": {k: v.detach().cpu() for k, v in problem.params.items()},
                      "optimizer": _to_device(opt.state_dict(), torch.device("cpu")),
                      "history": history.clone(), "diverged_at": diverged_at.clone()})

    with torch.no_grad():
        final = problem.objective(problem.params).double().cpu()
        mse = problem.data_mse(problem.params).double().cpu()
    ok = diverged_at < 0
    newly = ok & ~(torch.isfinite(final) & torch.isfinite(mse))
    diverged_at[newly] = int(steps[-1])
    ok = diverged_at < 0
    history[:, -1] = torch.where(ok, final, float("nan"))
    final_step = torch.where(ok, torch.full_like(diverged_at, int(steps[-1])), diverged_at)
    return FitResult(step=steps, loss=history.numpy(),
                     train_mse=torch.where(ok, mse, float("nan")).numpy(),
                     diverged=(~ok).numpy(), final_step=final_step.numpy(),
                     wall_time=elapsed + time.perf_counter() - t0)


def _to_device(state: Any, device: torch.device) -> Any:
    if isinstance(state, torch.Tensor):
        return state.to(device)
    if isinstance(state, dict):
        return {k: _to_device(v, device) for k, v in state.items()}
    return state
