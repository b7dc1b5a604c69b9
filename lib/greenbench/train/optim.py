"""Ensemble optimizers: gradient descent, Adam and L-BFGS on stacked member parameters.

Every parameter tensor has a leading ensemble dimension ``E``; member ``e`` is updated from its
own gradient only, and a member whose ``active`` flag is off (it diverged) is frozen. Adam and
GD are elementwise, so member ``e`` follows exactly the trajectory it would follow alone.
L-BFGS keeps a separate curvature history and a separate Armijo backtracking step length per
member (a single global line search would couple the members).

The state of every optimizer is a dict of tensors and numbers (``state_dict``), saved in
checkpoints so that a resumed run continues bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from greenbench.models.registry import TrainConfig

Params = dict[str, torch.Tensor]
Evaluate = Callable[[Mapping[str, torch.Tensor]], torch.Tensor]


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Factor of ``cfg.lr`` at (0-based) step ``step`` of ``cfg.steps``.

    Warm-up: ``(step + 1) / W`` for ``step < W = cfg.warmup_steps``. After it, ``constant``: 1;
    ``cosine``: ``(1 + cos(pi (step - W) / (steps - W))) / 2``, 1 at the end of the warm-up
    and tending to 0 at ``steps`` (Loshchilov & Hutter's SGDR without restarts). The default
    (constant, no warm-up) is exactly 1."""
    W = int(cfg.warmup_steps)
    if step < W:
        return (step + 1) / W
    if cfg.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * (step - W) / max(1, cfg.steps - W)))
    return 1.0


def member_mask(active: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``active (E,)`` reshaped to broadcast against ``like (E, ...)``."""
    return active.reshape((-1,) + (1,) * (like.dim() - 1))


class Optimizer:
    """Base class: ``step`` updates ``params`` in place from ``loss (E,)`` and ``grads``."""

    name = "base"

    def __init__(self, params: Params, cfg: TrainConfig):
        self.lr = float(cfg.lr)   # the loop sets it every step (``lr * lr_factor(step)``)

    def step(self, params: Params, loss: torch.Tensor, grads: list[torch.Tensor],
             active: torch.Tensor, evaluate: Evaluate) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        pass


class GD(Optimizer):
    """Plain gradient descent ``theta <- theta - lr * grad`` (the dynamics of Thm 3.2)."""

    name = "gd"

    @torch.no_grad()
    def step(self, params, loss, grads, active, evaluate):
        for p, g in zip(params.values(), grads, strict=True):
            p.sub_(torch.where(member_mask(active, p), self.lr * g, 0.0))


class Adam(Optimizer):
    """Adam (Kingma & Ba), the update of ``torch.optim.Adam`` with betas (0.9, 0.999), eps 1e-8."""

    name = "adam"
    betas = (0.9, 0.999)
    eps = 1e-8

    def __init__(self, params: Params, cfg: TrainConfig):
        super().__init__(params, cfg)
        self.t = 0
        self.m = {k: torch.zeros_like(p) for k, p in params.items()}
        self.v = {k: torch.zeros_like(p) for k, p in params.items()}

    @torch.no_grad()
    def step(self, params, loss, grads, active, evaluate):
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1.0 - b1**self.t, 1.0 - b2**self.t
        for (k, p), g in zip(params.items(), grads, strict=True):
            m, v = self.m[k], self.v[k]
            m.mul_(b1).add_(g, alpha=1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            update = (m / c1) / ((v.sqrt() / c2**0.5) + self.eps)
            p.sub_(torch.where(member_mask(active, p), self.lr * update, 0.0))

    def state_dict(self):
        return {"t": self.t, "m": dict(self.m), "v": dict(self.v)}

    def load_state_dict(self, state):
        self.t = int(state["t"])
        for k in self.m:
            self.m[k].copy_(state["m"][k])
            self.v[k].copy_(state["v"][k])


class LBFGS(Optimizer):
    """Limited-memory BFGS per member (two-loop recursion) with Armijo backtracking.

    Direction ``d = -H g`` from the last ``history`` pairs ``(s, y)`` with
    ``s.y > 1e-10 |s| |y|``,
    scaled by ``gamma = s.y / y.y`` of the newest pair. The first step (no history) starts at
    ``lr * min(1, 1/|g|_1)`` like ``torch.optim.LBFGS``, later ones at ``lr``. The step length
    of each member is halved until ``L(x + t d) <= L(x) + 1e-4 t g.d + 1e3 eps |L(x)|`` (at
    most 30 times; ``eps`` of the dtype: Armijo's condition relaxed by the rounding level of
    the loss, as in Hager & Zhang's approximate Wolfe conditions, so that a loss with a non-zero
    floor still converges to the digits its gradient resolves). A member for which no step
    satisfies it does not move; since its state would then repeat exactly, it is skipped from
    then on (``stalled``)."""

    name = "lbfgs"
    c1 = 1e-4
    max_ls = 30
    rounding = 1e3

    def __init__(self, params: Params, cfg: TrainConfig):
        super().__init__(params, cfg)
        self.memory = int(cfg.history)
        self.shapes = {k: p.shape[1:] for k, p in params.items()}
        first = next(iter(params.values()))
        E, P = first.shape[0], sum(p[0].numel() for p in params.values())
        opts = {"dtype": first.dtype, "device": first.device}
        self.s = torch.zeros(self.memory, E, P, **opts)
        self.y = torch.zeros(self.memory, E, P, **opts)
        self.rho = torch.zeros(self.memory, E, **opts)
        self.valid = torch.zeros(self.memory, E, dtype=torch.bool, device=first.device)
        self.prev_x = torch.zeros(E, P, **opts)
        self.prev_g = torch.zeros(E, P, **opts)
        self.has_prev = False
        self.stalled = torch.zeros(E, dtype=torch.bool, device=first.device)

    @staticmethod
    def _flat(tensors) -> torch.Tensor:
        return torch.cat([t.reshape(t.shape[0], -1) for t in tensors], dim=1)

    def _unflat(self, x: torch.Tensor) -> Params:
        out, i = {}, 0
        for k, shape in self.shapes.items():
            n = shape.numel()
            out[k] = x[:, i:i + n].reshape((x.shape[0],) + tuple(shape))
            i += n
        return out

    @torch.no_grad()
    def step(self, params, loss, grads, active, evaluate):
        x, g = self._flat(params.values()), self._flat(grads)
        if self.has_prev:
            s, y = x - self.prev_x, g - self.prev_g
            sy = (s * y).sum(1)
            # Curvature condition, scale-free (torch's absolute s.y > 1e-10 drops every pair
            # once the steps become small, which stalls convergence near the minimum).
            ok = sy > 1e-10 * s.norm(dim=1) * y.norm(dim=1)
            self.s = torch.cat([self.s[1:], s[None]])
            self.y = torch.cat([self.y[1:], y[None]])
            self.rho = torch.cat([self.rho[1:], torch.where(ok, 1.0 / sy, 0.0)[None]])
            self.valid = torch.cat([self.valid[1:], ok[None]])
        # Two-loop recursion; invalid pairs have rho = 0 and drop out.
        q = g.clone()
        alpha = torch.zeros_like(self.rho)
        for i in reversed(range(self.memory)):
            alpha[i] = self.rho[i] * (self.s[i] * q).sum(1)
            q -= alpha[i][:, None] * self.y[i]
        gamma = torch.ones_like(loss, dtype=x.dtype)
        for i in range(self.memory):
            yy = (self.y[i] * self.y[i]).sum(1)
            ratio = (self.s[i] * self.y[i]).sum(1) / torch.where(yy > 0, yy, 1.0)
            gamma = torch.where(self.valid[i], ratio, gamma)
        r = gamma[:, None] * q
        for i in range(self.memory):
            beta = self.rho[i] * (self.y[i] * r).sum(1)
            r += self.s[i] * (alpha[i] - beta)[:, None]
        d = -r
        first_len = self.lr * torch.clamp(1.0 / g.abs().sum(1), max=1.0)
        t = torch.where(self.valid.any(0), torch.full_like(first_len, self.lr), first_len)
        gd = (g * d).sum(1)
        not_descent = ~(gd < 0)
        d = torch.where(not_descent[:, None], -g, d)
        t = torch.where(not_descent, first_len, t)
        gd = (g * d).sum(1)
        # Armijo relaxed by the rounding level of the loss (Hager & Zhang's approximate
        # Armijo condition): near a minimum with a non-zero loss, loss values cannot resolve
        # the last digits of the parameters, but the gradients still can.
        slack = self.rounding * torch.finfo(x.dtype).eps * loss.abs()
        pending = active & ~self.stalled & (gd < 0) & torch.isfinite(gd)
        accepted = torch.zeros_like(t)
        for _ in range(self.max_ls):
            if not bool(pending.any()):
                break
            trial = evaluate(self._unflat(x + t[:, None] * d))
            ok = pending & torch.isfinite(trial) & (trial <= loss + self.c1 * t * gd + slack)
            accepted = torch.where(ok, t, accepted)
            pending = pending & ~ok
            t = torch.where(pending, 0.5 * t, t)
        self.stalled |= pending
        x_new = x + accepted[:, None] * d
        for k, value in self._unflat(x_new).items():
            params[k].copy_(value)
        self.prev_x, self.prev_g, self.has_prev = x, g, True

    def state_dict(self):
        return {"s": self.s, "y": self.y, "rho": self.rho, "valid": self.valid,
                "prev_x": self.prev_x, "prev_g": self.prev_g, "has_prev": self.has_prev,
                "stalled": self.stalled}

    def load_state_dict(self, state):
        for key in ("s", "y", "rho", "valid", "prev_x", "prev_g", "stalled"):
            setattr(self, key, state[key].to(getattr(self, key).device))
        self.has_prev = bool(state["has_prev"])


OPTIMIZER_CLASSES: dict[str, type[Optimizer]] = {"gd": GD, "adam": Adam, "lbfgs": LBFGS}


def make_optimizer(params: Params, cfg: TrainConfig) -> Optimizer:
    """The iterative optimizer named by ``cfg.optimizer`` (``exact`` has none)."""
    try:
        cls = OPTIMIZER_CLASSES[cfg.optimizer]
    except KeyError:
        raise ValueError(f"optimizer {cfg.optimizer!r} is not iterative; allowed: "
                         f"{sorted(OPTIMIZER_CLASSES)}") from None
    return cls(params, cfg)
