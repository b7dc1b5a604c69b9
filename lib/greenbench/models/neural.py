"""Neural operator models: the shallow MLP, DeepONet and the physics-informed DeepONet.

All map ``f (batch, N+1)`` and the grid ``x (N+1,)`` to ``u (batch, N+1)``; with ``dim = 2`` (a
2D operator) ``f (batch, N+1, N+1)`` and the node coordinates ``x (N+1, N+1, 2)`` to
``u (batch, N+1, N+1)`` (:func:`greenbench.models.layers.grid_points`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import torch
from torch import nn
from torch.func import jvp

from greenbench.models.layers import (
    FeedForward,
    activation,
    check_dim,
    check_positive_int,
    flatten_nodes,
    pad_interior,
)

if TYPE_CHECKING:
    from greenbench.operators import Operator


class MLP(nn.Module):
    """One hidden layer: ``u_interior = W2 act(W1 f + b1) + b2``; zero boundary output.

    Parameters
    ----------
    N
        Grid resolution; input ``N + 1`` nodal values of ``f``, output ``N - 1`` interior values.
    width
        Hidden width.
    activation
        Name from :data:`greenbench.models.layers.ACTIVATIONS`.
    dim
        Spatial dimension (set by the trainer from the operator): 2 reads the flattened grid
        (``(N+1)^2`` inputs, ``(N-1)^2`` interior outputs).
    """

    kind: ClassVar[str] = "operator"
    default_dtype: ClassVar[str] = "float32"

    def __init__(self, N: int, width: int = 64, activation: str = "tanh", dim: int = 1):
        super().__init__()
        check_positive_int(N, "N", "mlp", minimum=2)
        check_positive_int(width, "width", "mlp")
        self.N, self.dim = N, check_dim(dim, "mlp")
        self.net = FeedForward([(N + 1) ** self.dim, width, (N - 1) ** self.dim],
                               _act(activation, "mlp"))

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return pad_interior(self.net(flatten_nodes(f, self.dim)), self.N, self.dim)


def _act(name: str, model: str, smooth: bool = False):
    return activation(name, smooth=smooth, model=model)


class DeepONet(nn.Module):
    """``u(f)(x) = sum_j b_j(f) t_j(x) + b_0`` (Lu et al. 2021, unstacked, Cartesian product).

    Parameters
    ----------
    N
        Grid resolution; the branch net reads ``f`` at the ``N + 1`` nodes.
    width, depth
        Hidden width and number of hidden layers of both branch and trunk nets.
    basis
        Number ``p`` of basis functions (output width of both nets).
    activation
        Name of the activation; the trunk applies it to its output too (as DeepXDE does).

    dim
        Spatial dimension (set by the trainer from the operator): in 2D the branch reads the
        flattened grid and the trunk takes the point ``(x, y)``.

    The output is evaluated at every node, the boundary included (it is learned, not imposed).
    """

    kind: ClassVar[str] = "operator"
    default_dtype: ClassVar[str] = "float32"

    def __init__(self, N: int, width: int = 64, depth: int = 2, basis: int = 32,
                 activation: str = "tanh", dim: int = 1):
        super().__init__()
        name = type(self).__name__.lower()
        check_positive_int(N, "N", name, minimum=2)
        for key, value in (("width", width), ("depth", depth), ("basis", basis)):
            check_positive_int(value, key, name)
        self.N, self.dim = N, check_dim(dim, name)
        act = _act(activation, name, smooth=self._smooth)
        self.branch = FeedForward([(N + 1) ** self.dim] + [width] * depth + [basis], act)
        self.trunk = FeedForward([self.dim] + [width] * depth + [basis], act,
                                 last_activation=True)
        self.bias = nn.Parameter(torch.zeros(()))

    _smooth: ClassVar[bool] = False

    def points(self, x: torch.Tensor) -> torch.Tensor:
        """The trunk's input ``(P, dim)``: ``x (P,)`` in 1D, ``x (..., 2)`` flattened in 2D."""
        return x[:, None] if self.dim == 1 else x.reshape(-1, self.dim)

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``f (batch, N+1), x (P,) -> u (batch, P)``; 2D: ``f (batch, N+1, N+1)``, points
        ``x (..., 2)`` -> ``u (batch, ...)``."""
        if self.dim == 1:
            return self.branch(f) @ self.trunk(x[:, None]).T + self.bias
        u = self.branch(flatten_nodes(f, 2)) @ self.trunk(self.points(x)).T + self.bias
        return u.reshape(u.shape[:-1] + x.shape[:-1])


class PIDeepONet(DeepONet):
    """DeepONet trained on data loss + PDE-residual loss + boundary loss (Wang et al. 2021).

    The extra objective (added to the data MSE by the trainer, see :meth:`extra_loss`) is

        pde_weight * mean_{n, 0<i<N} (L u - f)(x_i)^2 + bc_weight * mean_n (u(0)^2 + u(1)^2)/2

    with ``L`` the study's operator (:meth:`greenbench.operators.Operator.residual`; poisson1d:
    ``L u = -k u_xx``) and ``u^(m) = sum_j b_j(f) t_j^(m)(x)`` computed by forward-mode automatic
    differentiation of the trunk net in ``x`` (exact, not a finite difference), for every order
    ``m`` the operator needs. The coefficients are the dataset's. The activation must be smooth
    (``tanh`` by default). The boundary term covers every one of the operator's
    :attr:`~greenbench.operators.Operator.boundary_conditions` in 1D, each a derivative that
    vanishes at an end: ``u = 0`` at both ends for every operator, and ``u'' = 0`` too for the
    simply supported biharmonic (its mean is over ``n`` and the conditions).
    In 2D (``dim = 2``) the derivatives are the operator's multi-indices (poisson2d: ``(2, 0)``
    and ``(0, 2)``), each by nested ``jvp`` of the trunk along ``x`` and ``y``, the residual is
    taken at the ``(N-1)^2`` interior nodes and the boundary term over the grid's edge nodes.
    """

    _smooth: ClassVar[bool] = True

    def __init__(self, N: int, width: int = 64, depth: int = 2, basis: int = 32,
                 activation: str = "tanh", pde_weight: float = 1e-3, bc_weight: float = 1.0,
                 dim: int = 1):
        super().__init__(N, width=width, depth=depth, basis=basis, activation=activation,
                         dim=dim)
        for key, value in (("pde_weight", pde_weight), ("bc_weight", bc_weight)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"pideeponet: parameter {key} must be a number >= 0, "
                                 f"got {value!r}")
        self.pde_weight = float(pde_weight)
        self.bc_weight = float(bc_weight)

    def trunk_derivatives(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Trunk values ``t(x)`` and ``t''(x)``, each ``(P, basis)``, by nested ``jvp`` in x."""
        ts = self.trunk_derivative_list(x, (0, 2))
        return ts[0], ts[2]

    def trunk_derivative_list(self, x: torch.Tensor, orders: tuple[int, ...]
                              ) -> dict[int, torch.Tensor]:
        """``{m: t^(m)(x)}`` for the given orders, each ``(P, basis)``, by nested ``jvp`` in x.

        The trunk acts pointwise, so one Jacobian-vector product with tangent ones gives the
        derivative at every node at once."""
        ones = torch.ones_like(x)

        def values(z: torch.Tensor) -> torch.Tensor:
            return self.trunk(z[:, None])

        def nested(fn):
            return lambda z: jvp(fn, (z,), (ones,))[1]

        fns = [values]
        for _ in range(max(orders)):
            fns.append(nested(fns[-1]))
        return {m: fns[m](x) for m in orders}

    def trunk_partials(self, pts: torch.Tensor, orders) -> dict:
        """``{(a, b): d^a/dx^a d^b/dy^b t}`` at points ``pts (P, 2)`` for multi-indices
        ``orders`` (each ``(P, basis)``), by nested ``jvp`` along the coordinate directions
        (exact; the trunk acts pointwise)."""
        def values(z: torch.Tensor) -> torch.Tensor:
            return self.trunk(z)

        def along(fn, axis: int):
            tangent = torch.zeros_like(pts)
            tangent[:, axis] = 1.0
            return lambda z: jvp(fn, (z,), (tangent,))[1]

        out = {}
        for order in orders:
            fn = values
            for axis, m in enumerate(order):
                for _ in range(int(m)):
                    fn = along(fn, axis)
            out[tuple(order)] = fn(pts)
        return out

    def _derivatives(self, b: torch.Tensor, x: torch.Tensor, orders: tuple
                     ) -> tuple[torch.Tensor, dict]:
        """Trunk values ``t`` and ``{m: b t^(m)}`` for the operator's orders (``m = 0``: with
        the bias). 2D: multi-indices ``(a, b)``, values ``(batch, N+1, N+1)``."""
        if self.dim > 1:
            zero = (0,) * self.dim
            ts = self.trunk_partials(self.points(x), sorted({zero, *map(tuple, orders)}))
            shape = x.shape[:-1]
            derivs = {m: (b @ ts[m].T).reshape(b.shape[:-1] + shape) for m in orders}
            if zero in derivs:
                derivs[zero] = derivs[zero] + self.bias
            return ts[zero], derivs
        ts = self.trunk_derivative_list(x, tuple(sorted({0, *orders})))
        derivs = {m: b @ ts[m].T for m in orders}
        if 0 in derivs:
            derivs[0] = derivs[0] + self.bias
        return ts[0], derivs

    def _interior(self, r: torch.Tensor) -> torch.Tensor:
        return r[(Ellipsis,) + (slice(1, -1),) * self.dim]

    def _boundary(self, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Output on the boundary nodes ``(batch, n_boundary)`` (2D: the grid's edges)."""
        u = b @ t.T + self.bias
        if self.dim == 1:
            return u[:, [0, -1]]
        n = self.N + 1
        mask = torch.ones(n, n, dtype=torch.bool, device=u.device)
        mask[1:-1, 1:-1] = False
        return u[:, mask.reshape(-1)]

    def residual(self, f: torch.Tensor, x: torch.Tensor, operator: Operator) -> torch.Tensor:
        """PDE residual ``L u - f`` at the interior nodes, ``(batch, N-1)`` (2D:
        ``(batch, N-1, N-1)``)."""
        _, derivs = self._derivatives(self.branch(flatten_nodes(f, self.dim)), x,
                                      operator.derivative_orders)
        return self._interior(operator.residual(derivs, f, operator.coefficients))

    def extra_loss(self, f: torch.Tensor, x: torch.Tensor, operator: Operator, *,
                   f_scale: torch.Tensor | None = None,
                   u_scale: torch.Tensor | None = None) -> torch.Tensor:
        """Physics terms of the objective (a scalar), added to the data MSE.

        With scales (a normalized member, :class:`greenbench.models.normalized.Normalized`)
        the network reads ``f / f_scale`` and the terms are computed on the raw output
        ``u = u_scale * (b t + b0)`` against the raw ``f`` (the operator is linear: its
        coefficients times ``u_scale`` act on the network's output)."""
        orders = operator.derivative_orders
        if self.dim > 1:  # the same terms over the 2D grid
            b = self.branch(flatten_nodes(f if f_scale is None else f / f_scale, self.dim))
            t, derivs = self._derivatives(b, x, orders)
            coef = operator.coefficients if u_scale is None else \
                {c: v * u_scale for c, v in operator.coefficients.items()}
            res = self._interior(operator.residual(derivs, f, coef))
            u_bc = self._boundary(b, t) * (1.0 if u_scale is None else u_scale)
            return self.pde_weight * res.pow(2).mean() + self.bc_weight * u_bc.pow(2).mean()
        if f_scale is None or u_scale is None:
            b = self.branch(f)
            t, derivs = self._derivatives(b, x, orders)
            res = operator.residual(derivs, f, operator.coefficients)[:, 1:-1]
            u_bc = self._boundary_conditions(b, t, x, operator)
        else:
            b = self.branch(f / f_scale)
            t, derivs = self._derivatives(b, x, orders)
            coef = {c: v * u_scale for c, v in operator.coefficients.items()}
            res = operator.residual(derivs, f, coef)[:, 1:-1]
            u_bc = u_scale * self._boundary_conditions(b, t, x, operator)
        return self.pde_weight * res.pow(2).mean() + self.bc_weight * u_bc.pow(2).mean()

    def _boundary_conditions(self, b: torch.Tensor, t: torch.Tensor, x: torch.Tensor,
                             operator: Operator) -> torch.Tensor:
        """1D: the network's value of every boundary condition of ``operator``,
        ``d^m u / dx^m`` at an end node, ``(batch, n_conditions)`` (zero for the exact
        solution; the values ``m = 0`` first). ``t`` is the trunk on the grid ``x``, whose end
        nodes are the conditions' points; orders above 0 are taken by ``jvp`` at the two end
        nodes only. With values only (every second-order operator) this is exactly
        ``b @ t[[0, -1]].T + bias``, the graph the term had before higher orders existed."""
        ends = x[[0, -1]]

        def end(position: float) -> int:  # 0: x = x_0, 1: x = x_N
            matches = torch.nonzero(torch.isclose(ends, ends.new_tensor(float(position))))
            if len(matches) != 1:
                raise ValueError(f"pideeponet: boundary condition at x = {position} of "
                                 f"{operator.name} is not an end of the grid "
                                 f"[{float(ends[0])}, {float(ends[1])}]")
            return int(matches[0, 0])

        conditions = [(int(m), end(p)) for m, p in operator.boundary_conditions]
        values = [c for c in conditions if c[0] == 0]
        node = (0, -1)  # the grid index of each end
        parts = [b @ t[[node[e] for _, e in values]].T + self.bias] if values else []
        higher = [c for c in conditions if c[0] > 0]
        if higher:
            ts = self.trunk_derivative_list(ends, tuple(sorted({m for m, _ in higher})))
            parts.append(b @ torch.stack([ts[m][e] for m, e in higher]).T)
        return torch.cat(parts, dim=-1)
