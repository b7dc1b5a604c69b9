"""Training problems: an ensemble of ``E`` members (same model, same shapes, own data each).

A problem holds the stacked parameters (leading dimension ``E``) and computes the objective of
every member at once, ``(E,)``:

* :class:`OperatorProblem`: any operator model (built-in or user). The members are copies of
  the module, stacked with ``torch.func.stack_module_state`` and evaluated with
  ``functional_call`` under ``vmap`` (or one after another when ``vectorize`` is off).
  Objective: data MSE over all ``N + 1`` nodes, plus ``module.extra_loss(f, x, operator)`` if
  defined (``operator``: the dataset's :class:`greenbench.operators.Operator`);
  with ``train.normalize`` each member is :class:`greenbench.models.normalized.Normalized`
  (scales from its training split) and the objective is divided by its ``u_scale ** 2``.
* :class:`FDProblem`, :class:`PINNProblem`: the parameter learners, written directly for
  broadcast (ensemble) parameters.

Member ``e``'s parameters are initialised from its own seed alone, so a member trained in an
ensemble starts exactly where it would start alone.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from greenbench.models.layers import grid_points
from greenbench.models.normalized import normalizes, rms_scales, wrap
from greenbench.models.parameter import FD, PINN
from greenbench.models.registry import TrainConfig, model_kind, resolve_class
from greenbench.operators import Operator
from greenbench.seeding import derive_seed, rng_for
from greenbench.train.exact import min_norm_update

Params = dict[str, torch.Tensor]


def build_member(class_name: str, N: int, params: Mapping[str, Any], seed: int,
                 dtype: torch.dtype, model: str, operator: Operator | None = None,
                 dim: int | None = None) -> nn.Module:
    """``Class(N=N, **params)`` initialised under ``torch.manual_seed(seed)`` on the CPU, cast to
    ``dtype``; the global RNG state is left untouched. A class whose constructor takes
    ``operator`` (the parameter learners) gets the study's operator; one that takes ``dim``
    (the built-in operator models) gets the spatial dimension ``dim`` (default: the operator's,
    else the constructor's default) -- a user model without ``dim`` reads it from the shapes."""
    cls = resolve_class(class_name, model=model)
    signature = inspect.signature(cls).parameters
    extra = ({"operator": operator} if operator is not None and "operator" in signature else {})
    if dim is None and operator is not None:
        dim = operator.dim
    if dim is not None and "dim" in signature and "dim" not in params:
        extra["dim"] = int(dim)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            module = cls(N=N, **dict(params), **extra)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"model {model!r}: constructing {cls.__name__}(N={N}, "
                             f"**{dict(params)}) failed: {exc}") from exc
    if not isinstance(module, nn.Module):
        raise ValueError(f"model {model!r}: {class_name} did not construct a torch.nn.Module")
    return module.to(dtype)


class Problem:
    """Base class. Subclasses set ``params`` (leaves, ``requires_grad``) and ``n_train``."""

    params: Params
    n_train: int
    supports_batches = True

    def __init__(self, model: str, class_name: str, seeds: Sequence[int], cfg: TrainConfig,
                 device: torch.device, dtype: torch.dtype):
        self.model, self.class_name, self.cfg = model, class_name, cfg
        self.seeds = [int(s) for s in seeds]
        self.E = len(self.seeds)
        self.device, self.dtype = device, dtype
        self._perm_epoch = -1
        self._perm: torch.Tensor | None = None

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a), dtype=self.dtype, device=self.device)

    def _leaves(self, stacked: Mapping[str, torch.Tensor]) -> Params:
        return {k: v.detach().clone().to(self.device).requires_grad_(True)
                for k, v in stacked.items()}

    # --------------------------------------------------------------- mini-batches
    def batch_indices(self, step: int) -> torch.Tensor | None:
        """Sample indices ``(E, batch_size)`` of step ``step``; ``None`` for the full batch.

        Epoch ``j`` uses, for member ``e``, a permutation seeded by ``(seed_e, "batch", j)``;
        the last incomplete batch of an epoch is dropped so every step has the same shape."""
        bs = self.cfg.batch_size
        if bs is None or bs >= self.n_train:
            return None
        if not self.supports_batches:
            raise ValueError(f"model {self.model!r}: train.batch_size is not supported")
        per_epoch = self.n_train // bs
        epoch, j = divmod(step, per_epoch)
        if epoch != self._perm_epoch:
            perms = []
            for seed in self.seeds:
                gen = torch.Generator().manual_seed(derive_seed(seed, "batch", epoch))
                perms.append(torch.randperm(self.n_train, generator=gen))
            self._perm, self._perm_epoch = torch.stack(perms).to(self.device), epoch
        return self._perm[:, j * bs:(j + 1) * bs]

    @staticmethod
    def _take(a: torch.Tensor, idx: torch.Tensor | None) -> torch.Tensor:
        if idx is None:
            return a
        return a[torch.arange(a.shape[0], device=a.device)[:, None], idx]

    # --------------------------------------------------------------- interface
    def objective(self, params: Mapping[str, torch.Tensor],
                  batch: torch.Tensor | None = None) -> torch.Tensor:
        """Training objective of every member, ``(E,)``."""
        raise NotImplementedError

    def data_mse(self, params: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """MSE of the model's fit to the whole training split, ``(E,)``."""
        raise NotImplementedError

    def exact(self) -> None:
        raise ValueError(f"model {self.model!r}: optimizer exact is only available for the "
                         f"linear and fd models")

    def member_modules(self) -> list[nn.Module]:
        """One module per member holding its current parameters (on the CPU)."""
        raise NotImplementedError

    def member_extras(self, operator: Operator) -> list[dict[str, Any]]:
        """Model-specific per-member results (fd: w; pinn: k_hat)."""
        return [{} for _ in range(self.E)]

    def _copy_into(self, modules: list[nn.Module], prefix: str = "") -> list[nn.Module]:
        with torch.no_grad():
            for e, module in enumerate(modules):
                for name, p in module.named_parameters():
                    p.copy_(self.params[prefix + name][e].detach().cpu())
        return modules


class _Objective(nn.Module):
    """Wraps an operator model so ``functional_call`` reaches the whole objective."""

    def __init__(self, model: nn.Module, scale_loss: bool = False):
        super().__init__()
        self.model = model
        self.scale_loss = scale_loss

    def forward(self, f, x, u, operator):
        out = self.model(f, x)
        mse = (out - u).pow(2).mean()
        extra_fn = getattr(self.model, "extra_loss", None)
        extra = extra_fn(f, x, operator) if callable(extra_fn) else torch.zeros((), dtype=mse.dtype,
                                                                          device=mse.device)
        if self.scale_loss:  # a normalized member: the objective in units of u_scale^2
            return (mse + extra) / self.model.u_scale.pow(2), mse
        return mse + extra, mse


class OperatorProblem(Problem):
    """Members of an operator model ``f (batch, N+1), x (N+1,) -> u (batch, N+1)``.

    In 2D (``operator.dim == 2``) ``f, u`` are ``(E, n_train, N+1, N+1)`` and the model receives
    ``x`` as the node coordinates ``(N+1, N+1, 2)`` (:func:`greenbench.models.layers.grid_points`).

    Parameters
    ----------
    model, class_name, params
        The config entry's name, class and constructor params.
    N, x
        Resolution and grid ``(N + 1,)`` (the dataset's 1D nodes).
    seeds
        One initialisation seed per member.
    f, u
        Training data ``(E, n_train, N + 1)``, one slice per member.
    operator
        The dataset's operator, coefficients bound (passed to ``extra_loss``).
    """

    def __init__(self, model: str, class_name: str, params: Mapping[str, Any], N: int,
                 seeds: Sequence[int], f: np.ndarray, u: np.ndarray, x: np.ndarray,
                 operator: Operator, cfg: TrainConfig, device: torch.device, dtype: torch.dtype):
        super().__init__(model, class_name, seeds, cfg, device, dtype)
        self.N, self.operator, self.n_train = N, operator, int(f.shape[1])
        self.dim = operator.dim
        self.modules = [build_member(class_name, N, params, s, dtype, model, dim=self.dim)
                        for s in self.seeds]
        kind = model_kind(resolve_class(class_name, model=model))
        self.normalized = normalizes(class_name, kind, cfg)
        E = len(self.seeds)
        self.f_scale, self.u_scale = np.full(E, np.nan), np.full(E, np.nan)
        self.f, self.u = self._tensor(f), self._tensor(u)
        self.x = self._tensor(grid_points(np.asarray(x), self.dim))
        self._check_first_batch()
        if self.normalized:  # scales of the training split only (f, u are that split)
            self.f_scale, self.u_scale = rms_scales(f, u)
            self.modules = [wrap(m, fs, us, model=model) for m, fs, us
                            in zip(self.modules, self.f_scale, self.u_scale, strict=True)]
        wrappers = [_Objective(m, scale_loss=self.normalized) for m in self.modules]
        stacked, buffers = stack_module_state(wrappers)
        self.params = self._leaves(stacked)
        self.buffers = {k: v.to(device) for k, v in buffers.items()}
        self.base = copy.deepcopy(wrappers[0]).to("meta")
        self.vectorized = bool(cfg.vectorize)

    def _check_first_batch(self) -> None:
        module = copy.deepcopy(self.modules[0]).to(self.device)
        f0 = self.f[0, : min(2, self.n_train)]
        name = type(module).__name__
        try:
            with torch.no_grad():
                out = module(f0, self.x)
        except Exception as exc:
            raise ValueError(f"model {self.model!r}: {name}.forward(f, x) failed on the first "
                             f"batch (f {tuple(f0.shape)}, x {tuple(self.x.shape)}): "
                             f"{type(exc).__name__}: {exc}") from exc
        want = (f0.shape[0],) + (self.N + 1,) * self.dim
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            axes = ", ".join(["batch"] + ["N+1"] * self.dim)
            raise ValueError(f"model {self.model!r}: {name}.forward returned shape {got}, "
                             f"expected ({axes}) = {want} (f {tuple(f0.shape)}, "
                             f"x {tuple(self.x.shape)})")

    def _member(self, p, b, f, u):
        return functional_call(self.base, (p, b), (f, self.x, u, self.operator))

    def _evaluate(self, params, batch) -> tuple[torch.Tensor, torch.Tensor]:
        f, u = self._take(self.f, batch), self._take(self.u, batch)
        if self.vectorized:
            return vmap(self._member)(dict(params), self.buffers, f, u)
        outs = [self._member({k: v[e] for k, v in params.items()},
                             {k: v[e] for k, v in self.buffers.items()}, f[e], u[e])
                for e in range(self.E)]
        return torch.stack([o[0] for o in outs]), torch.stack([o[1] for o in outs])

    def objective(self, params, batch=None):
        return self._evaluate(params, batch)[0]

    def data_mse(self, params):
        with torch.no_grad():
            return self._evaluate(params, None)[1]

    def exact(self) -> None:
        """Closed-form limit of GD for ``linear``: ``W* = W0 + (U - W0 F) F^+`` (min-norm)."""
        if self.class_name != "linear":
            super().exact()
        w0 = self.params["model.weight"].detach()
        lead = tuple(self.f.shape[:2])
        u_int = self.u[(Ellipsis,) + (slice(1, -1),) * self.dim].reshape(lead + (-1,))
        w = min_norm_update(w0, self.f.reshape(lead + (-1,)), u_int, self.cfg.rank_tol)
        with torch.no_grad():
            self.params["model.weight"].copy_(w)

    def member_modules(self):
        return self._copy_into(self.modules, prefix="model.")

    def member_extras(self, operator: Operator):
        """The normalization scales of each member (NaN when not normalized)."""
        return [{"f_scale": float(self.f_scale[e]), "u_scale": float(self.u_scale[e])}
                for e in range(self.E)]


class FDProblem(Problem):
    """Members of the white-box FD learner: parameters ``w (E, n_q, n_coef)``.

    The features (:meth:`greenbench.operators.Operator.fd_features`) are computed once in
    float64; the exact least-squares ``w`` of each member is kept for the metrics
    (``w_lstsq``)."""

    def __init__(self, model: str, params: Mapping[str, Any], N: int, seeds: Sequence[int],
                 f: np.ndarray, u: np.ndarray, operator: Operator, cfg: TrainConfig,
                 device: torch.device, dtype: torch.dtype):
        super().__init__(model, "fd", seeds, cfg, device, dtype)
        self.n_train = int(f.shape[1])
        self.modules = [build_member("fd", N, params, s, dtype, model, operator)
                        for s in self.seeds]
        self.fd: FD = self.modules[0]
        feats = self.fd.features(f, u)
        self.w_lstsq = FD.lstsq(feats)
        self.features = [(self._tensor(d), self._tensor(fq)) for d, fq in feats]
        self.params = self._leaves({"w": torch.stack([m.w for m in self.modules])})

    def objective(self, params, batch=None):
        feats = [(d if batch is None else torch.stack([self._take(dj, batch) for dj in d]),
                  self._take(fq, batch)) for d, fq in self.features]
        return FD.objective(params["w"], feats)

    def data_mse(self, params):
        with torch.no_grad():
            return self.objective(params)

    def exact(self) -> None:
        with torch.no_grad():
            self.params["w"].copy_(self._tensor(self.w_lstsq))

    def member_modules(self):
        return self._copy_into(self.modules)

    def member_extras(self, operator: Operator):
        """Per member and order: ``w``, ``w_lstsq`` and their ``rel_error`` against the true
        value for the first coefficient (``k``), the same with the suffix ``_{name}`` for every
        further coefficient (``w_c``, ``rel_error_c``, ...)."""
        w = self.params["w"].detach().cpu().double().numpy()
        out = []
        for e in range(self.E):
            m: dict[str, Any] = {"q": np.asarray(self.fd.orders, dtype=np.int64)}
            for j, c in enumerate(operator.COEFFICIENTS):
                true, sfx = operator.coefficients[c], "" if j == 0 else f"_{c}"
                m.update({f"w{sfx}": w[e][:, j], f"w_lstsq{sfx}": self.w_lstsq[e][:, j],
                          f"rel_error{sfx}": np.abs(w[e][:, j] - true) / abs(true),
                          f"rel_error_lstsq{sfx}": np.abs(self.w_lstsq[e][:, j] - true)
                          / abs(true)})
            out.append(m)
        return out


class PINNProblem(Problem):
    """Members of the inverse-problem PINN: each trains ``n_nets`` nets on ``n_nets`` samples of
    its training split (chosen by ``rng_for(seed, "pinn", "samples")``) and one scalar per
    coefficient of the operator."""

    supports_batches = False

    def __init__(self, model: str, params: Mapping[str, Any], N: int, seeds: Sequence[int],
                 f: np.ndarray, u: np.ndarray, x: np.ndarray, operator: Operator,
                 cfg: TrainConfig, device: torch.device, dtype: torch.dtype):
        super().__init__(model, "pinn", seeds, cfg, device, dtype)
        if cfg.batch_size is not None:
            raise ValueError(f"model {model!r}: pinn trains on its n_nets samples; set "
                             f"train.batch_size: null")
        self.modules = [build_member("pinn", N, params, s, dtype, model, operator)
                        for s in self.seeds]
        self.pinn: PINN = self.modules[0]
        S, n = self.pinn.n_nets, f.shape[1]
        if S > n:
            raise ValueError(f"model {model!r}: n_nets = {S} exceeds the {n} training samples")
        idx = np.stack([rng_for(s, "pinn", "samples").choice(n, size=S, replace=False)
                        for s in self.seeds])
        rows = np.arange(len(self.seeds))[:, None]
        self.sample_index = idx
        self.f, self.u = self._tensor(f[rows, idx]), self._tensor(u[rows, idx])
        self.x = self._tensor(grid_points(np.asarray(x), operator.dim))
        self.n_train = S
        stacked, _ = stack_module_state(self.modules)
        self.params = self._leaves(stacked)

    def objective(self, params, batch=None):
        return self.pinn.objective(params, self.x, self.f, self.u)[0]

    def data_mse(self, params):
        return self.pinn.objective(params, self.x, self.f, self.u, create_graph=False)[1].detach()

    def member_modules(self):
        return self._copy_into(self.modules)

    def member_extras(self, operator: Operator):
        """``k_hat`` and ``rel_error`` of the first coefficient (``k``); ``{c}_hat`` and
        ``rel_error_{c}`` of every further one."""
        out = []
        for e in range(self.E):
            m: dict[str, Any] = {"sample_index": self.sample_index[e]}
            for j, c in enumerate(operator.COEFFICIENTS):
                v = float(self.params[c][e].detach().cpu().double())
                true = operator.coefficients[c]
                m[f"{c}_hat"] = v
                m["rel_error" if j == 0 else f"rel_error_{c}"] = abs(v - true) / abs(true)
            out.append(m)
        return out


def make_problem(model: str, entry: Mapping[str, Any], N: int, seeds: Sequence[int],
                 f: np.ndarray, u: np.ndarray, x: np.ndarray, operator: Operator,
                 cfg: TrainConfig, device: torch.device) -> Problem:
    """The problem for a config entry (``class`` decides which); ``operator`` is the
    datasets' (coefficients bound)."""
    dtype = getattr(torch, cfg.dtype)
    class_name, params = entry["class"], entry.get("params") or {}
    if class_name == "fd":
        return FDProblem(model, params, N, seeds, f, u, operator, cfg, device, dtype)
    if class_name == "pinn":
        return PINNProblem(model, params, N, seeds, f, u, x, operator, cfg, device, dtype)
    return OperatorProblem(model, class_name, params, N, seeds, f, u, x, operator, cfg, device,
                           dtype)


