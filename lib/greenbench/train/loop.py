"""The training loop of one ensemble: steps, learning-rate schedule, divergence, plateau
stopping, best parameters, loss history, checkpoints, resume.

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
from greenbench.train.optim import lr_factor, make_optimizer, member_mask
from greenbench.train.problems import Problem

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 2


@dataclass(frozen=True)
class FitResult:
    """Per-member outcome of :func:`fit`. ``E`` members, ``T`` logged steps."""

    step: np.ndarray         # (T,) int64: step at which each logged loss was taken
    loss: np.ndarray         # (E, T) float64: training objective, NaN after divergence or stop
    train_mse: np.ndarray    # (E,) float64: data MSE on the whole training split (NaN if diverged)
    diverged: np.ndarray     # (E,) bool
    final_step: np.ndarray   # (E,) int64: steps completed (the diverging / stopping step)
    wall_time: float         # seconds spent training this ensemble, resumed parts included
    final_loss: np.ndarray   # (E,) float64: objective of the parameters training ended with
    best_loss: np.ndarray    # (E,) float64: lowest objective seen (steps and the end)
    stopped: np.ndarray      # (E,) bool: stopped by the plateau rule (train.stop_patience)


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


class _Best:
    """Per-member best objective, the plateau count and (when stopping is on) a copy of the
    parameters of the best objective. ``loss < (1 - tol) * ref`` resets the count."""

    def __init__(self, problem: Problem, cfg: TrainConfig):
        E = problem.E
        self.keep = cfg.stop_patience > 0
        self.patience, self.tol = int(cfg.stop_patience), float(cfg.stop_rel_tol)
        self.loss = torch.full((E,), float("inf"), dtype=torch.float64)
        self.ref = torch.full((E,), float("inf"), dtype=torch.float64)
        self.since = torch.zeros(E, dtype=torch.int64)
        self.stopped_at = torch.full((E,), -1, dtype=torch.int64)
        self.params = ({k: p.detach().clone() for k, p in problem.params.items()}
                       if self.keep else None)

    def update(self, loss: torch.Tensor, live: torch.Tensor, params: Mapping[str, torch.Tensor]
               ) -> None:
        """Record ``loss (E,)`` (CPU float64) of the current ``params`` for ``live`` members."""
        better = live & (loss < self.loss)
        self.loss = torch.where(better, loss, self.loss)
        if self.keep and bool(better.any()):
            with torch.no_grad():
                for k, p in params.items():
                    mask = member_mask(better.to(p.device), p)
                    self.params[k].copy_(torch.where(mask, p.detach(), self.params[k]))

    def plateau(self, loss: torch.Tensor, live: torch.Tensor, step: int) -> torch.Tensor:
        """Members that stop at ``step`` (before its update); none when stopping is off."""
        if not self.keep:
            return torch.zeros_like(live)
        improved = live & (loss < (1.0 - self.tol) * self.ref)
        self.ref = torch.where(improved, loss, self.ref)
        self.since = torch.where(improved, 0, torch.where(live, self.since + 1, self.since))
        stop = live & (self.since >= self.patience)
        self.stopped_at[stop] = step
        return stop

    def state(self) -> dict[str, Any]:
        return {"loss": self.loss.clone(), "ref": self.ref.clone(), "since": self.since.clone(),
                "stopped_at": self.stopped_at.clone(),
                "params": None if self.params is None else
                {k: v.detach().cpu() for k, v in self.params.items()}}

    def load(self, state: Mapping[str, Any]) -> None:
        for key in ("loss", "ref", "since", "stopped_at"):
            getattr(self, key).copy_(state[key])
        if self.keep:
            with torch.no_grad():
                for k, v in self.params.items():
                    v.copy_(state["params"][k])


def fit(problem: Problem, cfg: TrainConfig, *, resume: Mapping[str, Any] | None = None,
        save: Callable[[dict[str, Any]], None] | None = None, fingerprint: str = "") -> FitResult:
    """Train every member of ``problem`` for ``cfg.steps`` steps (or solve ``exact``).

    The learning rate of step ``s`` is ``cfg.lr * lr_factor(s, cfg)`` (warm-up, schedule).
    With ``cfg.stop_patience > 0`` a member stops at the step where its objective has gone
    ``stop_patience`` steps without improving by the factor ``1 - stop_rel_tol`` (its
    parameters stop changing; the others go on, and the loop ends when every member has stopped
    or diverged), and every member ends with its parameters of lowest objective. Without it
    the parameters of the last step are kept (``best_loss`` is still recorded).

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
    best = _Best(problem, cfg)
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
            best.load(resume["best"])
            log.info("resumed at step %d of %d", start, cfg.steps)
        for step in range(start, cfg.steps):
            running = (diverged_at < 0) & (best.stopped_at < 0)
            if not bool(running.any()):
                break
            batch = problem.batch_indices(step)
            loss, grads = loss_and_grad(problem, batch)
            loss_cpu = loss.double().cpu()
            if step in col:
                history[:, col[step]] = torch.where(running, loss_cpu, float("nan"))
            bad = running & ~torch.isfinite(loss_cpu)
            if bool(bad.any()):
                diverged_at[bad] = step
                log.warning("member(s) %s diverged at step %d", bad.nonzero().ravel().tolist(),
                            step)
            live = running & ~bad
            best.update(loss_cpu, live, problem.params)
            stop = best.plateau(loss_cpu, live, step)
            if bool(stop.any()):
                log.info("member(s) %s stopped on a plateau at step %d",
                         stop.nonzero().ravel().tolist(), step)
            active = ((diverged_at < 0) & (best.stopped_at < 0)).to(problem.device)

            def evaluate(params, batch=batch):
                with torch.no_grad():
                    return problem.objective(params, batch)

            opt.lr = float(cfg.lr) * lr_factor(step, cfg)
            opt.step(problem.params, loss, grads, active, evaluate)
            done = step + 1
            if save is not None and cfg.checkpoint_every and done % cfg.checkpoint_every == 0 \
                    and done < cfg.steps:
                save({"version": CHECKPOINT_VERSION, "fingerprint": fingerprint, "step": done,
                      "elapsed": elapsed + time.perf_counter() - t0,
                      "params": {k: v.detach().cpu() for k, v in problem.params.items()},
                      "optimizer": _to_device(opt.state_dict(), torch.device("cpu")),
                      "history": history.clone(), "diverged_at": diverged_at.clone(),
                      "best": best.state()})

    with torch.no_grad():
        final = problem.objective(problem.params).double().cpu()
        ok = diverged_at < 0
        best.update(final, ok & torch.isfinite(final), problem.params)
        last = final
        if best.keep:  # every member ends with its parameters of lowest objective
            mask = ok & torch.isfinite(best.loss)
            for k, p in problem.params.items():
                p.copy_(torch.where(member_mask(mask.to(p.device), p), best.params[k], p))
            final = problem.objective(problem.params).double().cpu()
        mse = problem.data_mse(problem.params).double().cpu()
    newly = ok & ~(torch.isfinite(final) & torch.isfinite(mse))
    diverged_at[newly] = int(steps[-1])
    ok = diverged_at < 0
    history[:, -1] = torch.where(ok, final, float("nan"))
    stopped = ok & (best.stopped_at >= 0)
    final_step = torch.where(ok, torch.full_like(diverged_at, int(steps[-1])), diverged_at)
    final_step = torch.where(stopped, best.stopped_at, final_step)
    return FitResult(step=steps, loss=history.numpy(),
                     train_mse=torch.where(ok, mse, float("nan")).numpy(),
                     diverged=(~ok).numpy(), final_step=final_step.numpy(),
                     wall_time=elapsed + time.perf_counter() - t0,
                     final_loss=torch.where(ok, last, float("nan")).numpy(),
                     best_loss=torch.where(ok, best.loss, float("nan")).numpy(),
                     stopped=stopped.numpy())


def _to_device(state: Any, device: torch.device) -> Any:
    if isinstance(state, torch.Tensor):
        return state.to(device)
    if isinstance(state, dict):
        return {k: _to_device(v, device) for k, v in state.items()}
    return state
