"""Normalization of an operator model: the trained network sees scaled data, the module does not.

A member trained with ``train.normalize`` is the wrapper

    u = u_scale * net(f / f_scale, x)

where ``f_scale`` and ``u_scale`` are the root-mean-square of the member's training forcings and
solutions over its training samples and all ``N + 1`` nodes (:func:`rms_scales`). No centering:
``u`` is zero at the boundary nodes and the benchmark's Green's functions are read off the map
``f -> u`` by linearity, so a shift would turn a linear network affine and make the boundary
values non-zero; a pure scale keeps both. The scales are buffers, saved with the member, so the
loaded module still maps raw ``f`` to raw ``u``.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

SCALE_KEYWORDS = ("f_scale", "u_scale")


def rms_scales(f: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-member RMS of ``f`` and ``u``, each ``(E,)`` float64, from ``(E, n_train, N + 1)``
    arrays (the training split only). A zero RMS (all-zero data) gives the scale 1."""
    def rms(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        r = np.sqrt(np.mean(a.reshape(a.shape[0], -1) ** 2, axis=1))
        return np.where(r > 0, r, 1.0)
    return rms(f), rms(u)


UNNORMALIZED_CLASSES = ("linear",)
"""Operator classes never normalized: ``linear`` is the model of Thm 3.2, whose gradient-descent
limit ``W* = W0 + (U - W0 F) F^+`` depends on the start ``W0`` (a scaled problem would scale
``W0``'s part), and whose default is the closed form."""


def normalizes(class_name: str, kind: str, train: Any) -> bool:
    """Whether a member of this class and ``TrainConfig`` is trained normalized: operator
    models with ``normalize`` on, except ``linear`` (:data:`UNNORMALIZED_CLASSES`) and any
    closed form (``optimizer: exact``); never fd and pinn (parameter learners)."""
    return (kind == "operator" and class_name not in UNNORMALIZED_CLASSES
            and bool(train.normalize) and train.optimizer != "exact")


def accepts_scales(module_or_cls: Any) -> bool:
    """``extra_loss`` takes the keywords ``f_scale`` and ``u_scale`` (or has no extra_loss)."""
    fn = getattr(module_or_cls, "extra_loss", None)
    if not callable(fn):
        return True
    params = inspect.signature(fn).parameters
    return all(k in params for k in SCALE_KEYWORDS) or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class Normalized(nn.Module):
    """``u = u_scale * inner(f / f_scale, x)`` with the scales as buffers (see the module doc).

    ``extra_loss`` (when ``inner`` has one) is ``inner.extra_loss(f, x, operator, f_scale=,
    u_scale=)``: raw ``f``, and the physics computed on the raw (de-normalized) output."""

    kind: ClassVar[str] = "operator"

    def __init__(self, inner: nn.Module, f_scale: float = 1.0, u_scale: float = 1.0):
        super().__init__()
        self.inner = inner
        p = next(iter(inner.parameters()), None)
        dtype = p.dtype if p is not None else torch.get_default_dtype()
        self.register_buffer("f_scale", torch.tensor(float(f_scale), dtype=dtype))
        self.register_buffer("u_scale", torch.tensor(float(u_scale), dtype=dtype))

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.u_scale * self.inner(f / self.f_scale, x)

    def extra_loss(self, f: torch.Tensor, x: torch.Tensor, operator) -> torch.Tensor:
        fn = getattr(self.inner, "extra_loss", None)
        if not callable(fn):
            return torch.zeros((), dtype=self.u_scale.dtype, device=self.u_scale.device)
        return fn(f, x, operator, f_scale=self.f_scale, u_scale=self.u_scale)

    def effective_weight(self) -> torch.Tensor:
        """The raw ``(N-1, N+1)`` matrix of a linear inner model: ``u_scale/f_scale W``."""
        return (self.u_scale / self.f_scale) * self.inner.effective_weight()


def check_scales(cls: type, model: str) -> None:
    """Refuse a model class whose ``extra_loss`` cannot be told the scales: with
    ``train.normalize`` its physics would act on normalized data."""
    if not accepts_scales(cls):
        raise ValueError(f"model {model!r}: {cls.__name__}.extra_loss(f, x, operator) has no "
                         f"keywords "
                         f"f_scale, u_scale; with train.normalize its network sees f / f_scale "
                         f"and returns u / u_scale. Accept them (compute the physics on "
                         f"u_scale * output) or set train.normalize: false")


def wrap(module: nn.Module, f_scale: float = 1.0, u_scale: float = 1.0, *,
         model: str = "") -> Normalized:
    """``Normalized(module, ...)`` after :func:`check_scales`."""
    check_scales(type(module), model)
    return Normalized(module, f_scale, u_scale)

