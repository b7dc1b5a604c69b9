"""Parameter learners: the PDE's form is known, the coefficients are learned (white-box models).

Both take the study's operator (:class:`greenbench.operators.Operator`, keyword ``operator``)
and never ask which one it is:

* :class:`FD` learns, per stencil order ``q``, one weight per coefficient of the operator in
  ``sum_j w_{q,j} D_{q,j}(u) = f`` with the operator's FD features
  (:meth:`~greenbench.operators.Operator.fd_features`; poisson1d: ``D = -FD_q(u)``, i.e.
  ``-w_q FD_q(u) = f``; Thm 3.1 of arXiv 2506.15199: ``w_q = k`` exactly when the data are
  polynomials of degree ``p < q``, a bias ``~ mu_q dx^q`` otherwise).
* :class:`PINN` solves the inverse problem with one small network ``u_s(x)`` per sample and
  shared scalars, one per coefficient of the operator; the residual
  (:meth:`~greenbench.operators.Operator.residual`) takes the derivatives the operator needs by
  automatic differentiation.

Their objectives are written for parameters with any leading batch (ensemble) dimensions, so a
whole ensemble of members is one broadcast tensor computation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from greenbench.models.layers import activation, check_positive_int
from greenbench.operators import Operator, get_operator


def _operator(operator: Operator | None) -> Operator:
    if operator is None:  # the schema's default pde (a name)
        from greenbench.operators.base import _schema_default

        return get_operator(str(_schema_default("pde")))
    if not isinstance(operator, Operator):
        raise ValueError(f"operator must be a greenbench.operators.Operator, got "
                         f"{type(operator).__name__}")
    return operator


class ParameterLearnerError(TypeError):
    """A parameter learner was asked for an operator prediction ``f -> u``."""


class FD(nn.Module):
    """Learn ``w_{q,j}`` in ``sum_j w_{q,j} D_{q,j}(u) = f`` (one per coefficient ``j`` of the
    operator) at the nodes where every order-``q`` stencil fits.

    Parameters
    ----------
    N
        Grid resolution.
    orders
        Stencil orders ``q`` (even; default 2, 4, 6); each must be one of the operator's
        ``FD_ORDERS``.
    w_init
        Initial value of every weight for iterative training.
    operator
        The study's operator (default: the schema's default ``pde``).

    ``w`` has shape ``(n_q, n_coef)``. The objective of one member is
    ``sum_q mean_{n, i} (sum_j w_{q,j} D_{q,j}(u_n)_i - f_{n,i})^2``; its exact minimiser
    solves the normal equations per order (:meth:`lstsq`; one coefficient:
    ``w_q* = <f, D_q> / <D_q, D_q>``, for poisson1d ``-<f, FD_q u> / <FD_q u, FD_q u>``).
    """

    kind: ClassVar[str] = "parameter"
    default_dtype: ClassVar[str] = "float64"

    def __init__(self, N: int, orders: Sequence[int] = (2, 4, 6), w_init: float = 0.0,
                 operator: Operator | None = None):
        super().__init__()
        check_positive_int(N, "N", "fd", minimum=2)
        self.operator = op = _operator(operator)
        if isinstance(orders, int | str) or not len(orders):
            raise ValueError(f"fd: parameter orders must be a non-empty list of even integers "
                             f">= 2, got {orders!r}")
        for q in orders:
            if isinstance(q, bool) or not isinstance(q, int) or q < 2 or q % 2:
                raise ValueError(f"fd: stencil order {q!r} is not an even integer >= 2 "
                                 f"(e.g. {list(op.FD_ORDERS)})")
            if q not in op.FD_ORDERS:
                raise ValueError(f"fd: stencil order {q} has no stencil for operator {op.name}; "
                                 f"allowed: {list(op.FD_ORDERS)}")
            if 2 * op.fd_radius(q) >= N:
                raise ValueError(f"fd: stencil order {q} needs N > {2 * op.fd_radius(q)}, got "
                                 f"N = {N}")
        self.orders = tuple(int(q) for q in orders)
        self.coefficient_names = tuple(op.COEFFICIENTS)
        self.w = nn.Parameter(torch.full((len(self.orders), len(self.coefficient_names)),
                                         float(w_init)))

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        raise ParameterLearnerError("fd is a parameter learner (it learns w in -w FD_q(u) = f); "
                                    "it has no operator f -> u to evaluate")

    def features(self, f: np.ndarray, u: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(D_q (n_coef, ..., m_q), f at the same m_q nodes)]`` per order, float64
        (:meth:`greenbench.operators.Operator.fd_features`)."""
        return [self.operator.fd_features(u, f, q) for q in self.orders]

    @staticmethod
    def lstsq(features: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Exact least-squares weights per order over the trailing two axes:
        ``(..., n_q, n_coef)`` (the normal equations; one coefficient: ``<f, D> / <D, D>``)."""
        out = []
        for d, fq in features:
            if d.shape[0] == 1:
                out.append(((fq * d[0]).sum(axis=(-2, -1)) / (d[0] * d[0]).sum(axis=(-2, -1))
                            )[..., None])
                continue
            gram = np.einsum("i...nm,j...nm->...ij", d, d)
            rhs = np.einsum("i...nm,...nm->...i", d, fq)
            out.append(np.linalg.solve(gram, rhs[..., None])[..., 0])
        return np.stack(out, axis=-2)

    @staticmethod
    def objective(w: torch.Tensor, features: Sequence[tuple[torch.Tensor, torch.Tensor]]
                  ) -> torch.Tensor:
        """``sum_q mean (sum_j w_{q,j} D_{q,j} - f_q)^2`` for ``w (..., n_q, n_coef)`` and
        features ``D_q (n_coef, ..., n, m_q)``, ``f_q (..., n, m_q)``."""
        total = 0.0
        for q, (d, fq) in enumerate(features):
            pred = w[..., q, 0, None, None] * d[0]
            for j in range(1, d.shape[0]):
                pred = pred + w[..., q, j, None, None] * d[j]
            total = total + (pred - fq).pow(2).mean(dim=(-2, -1))
        return total


class PINN(nn.Module):
    """Inverse-problem PINN: networks ``u_s(x)``, ``s = 1..n_nets``, and one learned scalar per
    coefficient of the operator (``k``; ``c`` or ``b`` for the operators that have them).

    Each net is ``1 -> width (x depth) -> 1`` with a smooth activation; with ``hard_bc`` its
    output is multiplied by ``x (1 - x)`` so ``u_s(0) = u_s(1) = 0`` exactly. Trained on
    ``n_nets`` samples ``(f_s, u_s)`` of the training split with the objective (per member)

        mean_{s,i} (u_s(x_i) - u_{s,i})^2 / mean(u^2)
        + pde_weight * mean_{s, 0<i<N} (L u_s (x_i) - f_{s,i})^2 / mean(f^2)

    where ``L`` is the operator with the learned coefficients
    (:meth:`greenbench.operators.Operator.residual`; poisson1d: ``-k u_s''``) and the derivatives
    it needs are taken by reverse-mode autograd in ``x``. The two normalisations make the terms
    comparable (``u`` is about ``1/pi^2`` times smaller than f).

    Parameters
    ----------
    N
        Grid resolution (collocation points are the grid nodes, where ``f`` is known).
    n_nets
        Number of samples, each with its own network.
    width, depth
        Hidden width and number of hidden layers of each network.
    activation
        Smooth activation name (default ``tanh``).
    k_init
        Initial value of the learned ``k``; the other coefficients start at 0.
    hard_bc
        Impose the boundary condition through ``x (1 - x)``.
    pde_weight
        Weight of the PDE-residual term.
    operator
        The study's operator (default: the schema's default ``pde``).
    """

    kind: ClassVar[str] = "parameter"
    default_dtype: ClassVar[str] = "float64"

    def __init__(self, N: int, n_nets: int = 4, width: int = 32, depth: int = 2,
                 activation: str = "tanh", k_init: float = 0.5, hard_bc: bool = True,
                 pde_weight: float = 1.0, operator: Operator | None = None):
        super().__init__()
        self.operator = op = _operator(operator)
        check_positive_int(N, "N", "pinn", minimum=2)
        for key, value in (("n_nets", n_nets), ("width", width), ("depth", depth)):
            check_positive_int(value, key, "pinn")
        for key, value in (("k_init", k_init), ("pde_weight", pde_weight)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"pinn: parameter {key} must be a number, got {value!r}")
        self.activation_name = activation
        self.act = _pinn_act(activation)
        self.hard_bc = bool(hard_bc)
        self.pde_weight = float(pde_weight)
        self.n_nets = n_nets
        self.dim = op.dim
        self.coefficient_names = tuple(op.COEFFICIENTS)
        for c in self.coefficient_names:  # k first: the parameter order of a poisson1d PINN
            setattr(self, c, nn.Parameter(torch.tensor(float(k_init) if c == "k" else 0.0)))
        sizes = [self.dim] + [width] * depth + [1]
        weights, biases = [], []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1.0 / math.sqrt(a)  # nn.Linear's default range
            weights.append(nn.Parameter(torch.empty(n_nets, b, a).uniform_(-bound, bound)))
            biases.append(nn.Parameter(torch.empty(n_nets, b).uniform_(-bound, bound)))
        self.weights = nn.ParameterList(weights)
        self.biases = nn.ParameterList(biases)

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        raise ParameterLearnerError("pinn is a parameter learner (it learns k); it has no "
                                    "operator f -> u to evaluate (see PINN.solution)")

    def solution(self, x: torch.Tensor) -> torch.Tensor:
        """The fitted solutions ``u_s(x)``: ``x (P,) -> (n_nets, P)``; 2D: points
        ``x (..., 2) -> (n_nets, ...)``."""
        params = dict(self.named_parameters())
        if self.dim > 1:
            pts = x.reshape(-1, self.dim).expand(self.n_nets, -1, -1)
            return self.u(params, pts).reshape((self.n_nets,) + tuple(x.shape[:-1]))
        return self.u(params, x.expand(self.n_nets, -1))

    def u(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Evaluate the nets: parameters with leading dims ``(..., n_nets)``, ``x (..., n_nets, P)``
        -> ``u (..., n_nets, P)``. Each output depends only on its own ``x`` entry. 2D: points
        ``x (..., n_nets, P, 2)``; ``hard_bc`` multiplies by ``x (1 - x) y (1 - y)``."""
        h = x[..., None] if self.dim == 1 else x
        n_layers = len(self.weights)
        for i in range(n_layers):
            w, b = params[f"weights.{i}"], params[f"biases.{i}"]
            h = h @ w.transpose(-1, -2) + b[..., None, :]
            if i < n_layers - 1:
                h = self.act(h)
        out = h[..., 0]
        if self.dim > 1:
            return (x * (1.0 - x)).prod(dim=-1) * out if self.hard_bc else out
        return x * (1.0 - x) * out if self.hard_bc else out

    def objective(self, params: Mapping[str, torch.Tensor], x: torch.Tensor, f: torch.Tensor,
                  u: torch.Tensor, create_graph: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """``(objective, data MSE)``, each of shape ``(...)`` for data ``f, u (..., n_nets, P)``.

        ``x`` is the grid ``(P,)``; ``params[c]`` has shape ``(...)`` for every coefficient.
        2D: ``x`` the node coordinates ``(N+1, N+1, 2)``, data ``(..., n_nets, N+1, N+1)``."""
        if self.dim > 1:
            return self._objective_nd(params, x, f, u, create_graph)
        orders = self.operator.derivative_orders
        with torch.enable_grad():
            xs = x.expand_as(u).detach().clone().requires_grad_(True)
            un = self.u(params, xs)
            derivs, d = {0: un}, un
            for m in range(1, max(orders) + 1):  # the last one without a graph unless asked
                (d,) = torch.autograd.grad(d.sum(), xs,
                                           create_graph=create_graph or m < max(orders))
                derivs[m] = d
        coef = {c: params[c][..., None, None] for c in self.coefficient_names}
        data = (un - u).pow(2).mean(dim=(-2, -1))
        res = self.operator.residual({m: derivs[m] for m in orders}, f, coef)
        res = res[..., 1:-1].pow(2).mean(dim=(-2, -1))
        u_scale = u.pow(2).mean(dim=(-2, -1)).clamp_min(torch.finfo(u.dtype).tiny)
        f_scale = f[..., 1:-1].pow(2).mean(dim=(-2, -1)).clamp_min(torch.finfo(u.dtype).tiny)
        return data / u_scale + self.pde_weight * res / f_scale, data


    def _objective_nd(self, params, x, f, u, create_graph):
        """:meth:`objective` on a ``dim``-dimensional grid: the operator's multi-index
        derivatives (poisson2d: ``(2, 0)``, ``(0, 2)``) by repeated reverse-mode autograd along
        each coordinate."""
        orders = [tuple(o) for o in self.operator.derivative_orders]
        grid = tuple(u.shape[-self.dim:])
        lead = tuple(u.shape[:-self.dim])
        top = max(sum(o) for o in orders)
        with torch.enable_grad():
            pts = x.reshape(-1, self.dim).expand(lead + (-1, self.dim))
            xs = pts.detach().clone().requires_grad_(True)
            un = self.u(params, xs)  # (..., n_nets, P)
            derivs = {(0,) * self.dim: un}
            for order in orders:
                d, done = un, 0
                for axis, m in enumerate(order):
                    for _ in range(int(m)):
                        done += 1
                        (g,) = torch.autograd.grad(d.sum(), xs, retain_graph=True,
                                                   create_graph=create_graph or done < top)
                        d = g[..., axis]
                derivs[order] = d
        coef = {c: params[c].reshape(params[c].shape + (1,) * (1 + self.dim))
                for c in self.coefficient_names}
        shaped = {m: derivs[m].reshape(lead + grid) for m in orders}
        data = (un.reshape(lead + grid) - u).pow(2).mean(dim=(-3, -2, -1))
        res = self.operator.residual(shaped, f, coef)
        inner = (Ellipsis,) + (slice(1, -1),) * self.dim
        res = res[inner].pow(2).mean(dim=(-3, -2, -1))
        tiny = torch.finfo(u.dtype).tiny
        u_scale = u.pow(2).mean(dim=(-3, -2, -1)).clamp_min(tiny)
        f_scale = f[inner].pow(2).mean(dim=(-3, -2, -1)).clamp_min(tiny)
        return data / u_scale + self.pde_weight * res / f_scale, data


def _pinn_act(name: str):
    return activation(name, smooth=True, model="pinn")
