"""Green's function extraction from a trained operator model (the paper's interpretability lens).

Probe the model with impulses: with ``u = model(f)`` and amplitude ``a``,

    R[:, j] = (model(a e_j) - model(0))[interior] / a,       j = 0..N   (all nodes),

the model's (linearized) response matrix, ``(N-1, N+1)``; for a linear model ``u_int = W f``
it is ``W`` exactly, for any ``a``. Since ``u(x_i) = sum_j dx G(x_i, x_j) f_j + O(dx^2)``, the
extracted Green's function on interior nodes is

    G_hat[i, j] = R[i, j] / dx,       i, j = 1..N-1,

compared with the operator's ``G(x_i, s_j)`` (poisson1d: ``min(x, s)(1 - max(x, s)) / k``) by the
relative Frobenius error.

The interior matrix ``W_int = R[:, 1:-1] = dx G_hat`` is the learned discrete solution operator;
its inverse is the learned discrete differential operator. The stencil is the middle row of
``W_int^{-1}`` scaled by ``dx^m / k`` (``m`` the operator's order, ``k`` its leading coefficient:
:meth:`~greenbench.operators.Operator.stencil_scale`). For poisson1d and the 3-point operator
``k tridiag(-1, 2, -1) / dx^2`` (lumped-mass FEM data, ``W_int = (k T)^{-1}``) it is exactly
``[-1, 2, -1]`` -- the stencil of ``-u''``; with consistent-mass FEM data
``W_int^{-1} = M_int^{-1} K`` is banded-dominant and the stencil decays away from the centre
instead of stopping at distance 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from greenbench.analysis.crossval import Predictor

if TYPE_CHECKING:
    from greenbench.operators import Operator


def response_matrix(predict: Predictor, N: int, amplitude: float = 1.0, *,
                    operator: Operator | None = None, chunk: int | None = None) -> np.ndarray:
    """``R (n_interior, n_nodes)``: interior response to impulses ``a e_j`` at every node, minus
    the response to zero, divided by ``a``. 1D (``operator`` None or 1D): ``(N-1, N+1)``, one
    batched call of ``N + 2`` inputs. 2D (``operator.dim == 2``): the impulses are
    ``(N+1, N+1)`` arrays, ``R`` is ``((N-1)^2, (N+1)^2)`` over flattened nodes
    (``Operator.flat_nodes`` / ``flat_interior``), and the impulses go through ``predict`` in
    batches of ``chunk`` (default 256) so that memory stays bounded."""
    if not amplitude > 0:
        raise ValueError(f"impulse amplitude must be > 0, got {amplitude}")
    dim = 1 if operator is None else operator.dim
    if dim == 1 and chunk is None:
        f = np.zeros((N + 2, N + 1))
        f[1:] = amplitude * np.eye(N + 1)
        u = np.asarray(predict(f), dtype=np.float64)
        if u.shape != f.shape:
            raise ValueError(f"model returned shape {u.shape}, expected {f.shape} (batch, N+1)")
        return ((u[1:, 1:-1] - u[0, 1:-1]) / amplitude).T
    grid = (N + 1,) * dim
    n_nodes = (N + 1) ** dim
    chunk = 256 if chunk is None else int(chunk)
    if chunk < 1:
        raise ValueError(f"impulse chunk must be >= 1, got {chunk}")

    def interior(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        want = (v.shape[0], *grid)
        if v.shape != want:
            raise ValueError(f"model returned shape {v.shape}, expected {want} "
                             f"(batch, {', '.join(['N+1'] * dim)})")
        return v[(slice(None),) + (slice(1, N),) * dim].reshape(v.shape[0], -1)

    u0 = interior(predict(np.zeros((1, *grid))))[0]
    R = np.empty(((N - 1) ** dim, n_nodes))
    for start in range(0, n_nodes, chunk):
        j = np.arange(start, min(start + chunk, n_nodes))
        f = np.zeros((j.size, n_nodes))
        f[np.arange(j.size), j] = amplitude
        R[:, j] = ((interior(predict(f.reshape(j.size, *grid))) - u0) / amplitude).T
    return R


def greens_from_response(R: np.ndarray, dim: int = 1) -> np.ndarray:
    """``G_hat = R[:, interior] / dx^dim`` on interior nodes: ``(N-1, N-1)`` in 1D,
    ``((N-1)^2, (N-1)^2)`` over flattened nodes in 2D (rows ``x_i``, columns sources)."""
    if dim == 1:
        N = R.shape[1] - 1
        return R[:, 1:-1] * N
    n = int(round(R.shape[1] ** (1.0 / dim)))
    N = n - 1
    cols = np.arange(n**dim).reshape((n,) * dim)[(slice(1, N),) * dim].ravel()
    return R[:, cols] * N**dim


def extract_greens(predict: Predictor, N: int, amplitude: float = 1.0, *,
                   operator: Operator | None = None) -> np.ndarray:
    """``G_hat`` of a model (rows ``x_i``, columns source ``s_j``): ``(N-1, N-1)`` in 1D,
    ``((N-1)^2, (N-1)^2)`` in 2D (compare with ``operator.greens_matrix(N)``)."""
    dim = 1 if operator is None else operator.dim
    return greens_from_response(response_matrix(predict, N, amplitude, operator=operator), dim)


def greens_rel_error(G_hat: np.ndarray, N: int, operator: Operator) -> float:
    """``||G_hat - G||_F / ||G||_F`` on interior nodes against the operator's Green's function;
    ``nan`` for non-finite ``G_hat``."""
    if not np.all(np.isfinite(G_hat)):
        return float("nan")
    G = operator.greens_matrix(N)
    return float(np.linalg.norm(G_hat - G) / np.linalg.norm(G))


def inverse_and_stencil(W_int: np.ndarray, operator: Operator, halfwidth: int = 3,
                        max_cond: float = 1e10) -> tuple[np.ndarray | None, np.ndarray, float]:
    """Invert a learned interior operator and read the stencil off its middle row.

    Parameters
    ----------
    W_int : (N-1, N-1) array
        Learned interior solution operator (``dx G_hat``).
    halfwidth : int
        Offsets ``-h..h`` of the returned stencil.
    max_cond : float
        Above this 1-norm condition number the matrix counts as singular (a model trained on
        a low-dimensional space has rank ``<= p + 1``): inverse ``None``, stencil ``nan``.

    Returns
    -------
    inverse : (N-1, N-1) array or None
    stencil : (2h+1,) array
        ``W_int^{-1}[m, m-h:m+h+1] / operator.stencil_scale(N)`` (poisson1d: ``* dx^2 / k``)
        with ``m = (N-1) // 2`` (zero-padded past the boundary); ``[-1, 2, -1]`` for the
        3-point Laplacian.
    cond : float
        1-norm condition number ``||W_int||_1 ||W_int^{-1}||_1`` (from the inverse itself, as
        LAPACK's estimators do; ``inf`` if singular or non-finite).
    """
    W_int = np.asarray(W_int, dtype=np.float64)
    dim = operator.dim
    n = W_int.shape[0]
    N = int(round(n ** (1.0 / dim))) + 1
    stencil = np.full(2 * halfwidth + 1, np.nan)
    if not np.all(np.isfinite(W_int)):
        return None, stencil, float("inf")
    try:
        inv = np.linalg.inv(W_int)
    except np.linalg.LinAlgError:
        return None, stencil, float("inf")
    with np.errstate(over="ignore", invalid="ignore"):
        cond = float(np.linalg.norm(W_int, 1) * np.linalg.norm(inv, 1))
    if not np.isfinite(cond) or cond > max_cond:
        return None, stencil, cond if np.isfinite(cond) else float("inf")
    return inv, middle_row_stencil(inv, halfwidth, dim) / operator.stencil_scale(N), cond


def middle_row_stencil(L: np.ndarray, halfwidth: int, dim: int = 1) -> np.ndarray:
    """Entries ``L[m, m-h..m+h]`` of the middle row ``m = (n-1)//2``, zero-padded: ``(2h+1,)``.

    ``dim > 1`` (``L`` over flattened interior nodes, ``n = (N-1)^dim``): the row of the centre
    node ``(c, ..., c)``, ``c = (N-2)//2``, read along the first axis through the centre
    (offsets ``[d, 0, ...]``; the 5-point stencil gives ``[-1, 4, -1]``, cf.
    :func:`axis_slice` of ``Operator.reference_stencil``)."""
    if dim > 1:
        n1 = int(round(L.shape[0] ** (1.0 / dim)))
        c = (n1 - 1) // 2
        row = np.asarray(L)[np.ravel_multi_index((c,) * dim, (n1,) * dim)].reshape((n1,) * dim)
        out = np.zeros(2 * halfwidth + 1)
        for o in range(-halfwidth, halfwidth + 1):
            if 0 <= c + o < n1:
                out[o + halfwidth] = row[(c + o,) + (c,) * (dim - 1)]
        return out
    n = L.shape[0]
    m = (n - 1) // 2
    out = np.zeros(2 * halfwidth + 1)
    for o in range(-halfwidth, halfwidth + 1):
        if 0 <= m + o < n:
            out[o + halfwidth] = L[m, m + o]
    return out


def axis_slice(stencil: np.ndarray) -> np.ndarray:
    """A stencil over ``dim`` offset axes (``Operator.reference_stencil`` in 2D: ``(2h+1,
    2h+1)``) read along its first axis through the centre: ``(2h+1,)``; a 1D stencil as is."""
    stencil = np.asarray(stencil)
    h = stencil.shape[0] // 2
    return stencil[(slice(None),) + (h,) * (stencil.ndim - 1)]


def interior_columns(N: int, dim: int = 1):
    """Columns of the interior nodes in a matrix over all (flattened) nodes:
    ``slice(1, N)`` in 1D, the flattened interior indices (C order) otherwise."""
    if dim == 1:
        return slice(1, N)
    return np.arange((N + 1) ** dim).reshape((N + 1,) * dim)[(slice(1, N),) * dim].ravel()


GALLERY_SOURCES: tuple[tuple[float, ...], ...] = ((0.25, 0.25), (0.5, 0.5), (0.25, 0.75))
"""Source points ``(s, t)`` whose 2D Green's function slices ``greens/N{res}.nc`` keeps (the
nearest interior nodes)."""


def gallery_sources(N: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(index, nodes)``: flattened interior indices of :data:`GALLERY_SOURCES` at ``N`` and
    their node indices ``(n_src, dim)`` (1..N-1)."""
    nodes = np.clip(np.rint(np.asarray(GALLERY_SOURCES)[:, :dim] * N).astype(int), 1, N - 1)
    index = np.ravel_multi_index(tuple((nodes - 1).T), (N - 1,) * dim)
    return index, nodes


def reference_interior_operator(N: int, operator: Operator,
                                mass: str = "consistent") -> np.ndarray:
    """Interior columns of the operator's fem data operator (poisson1d: ``A = K^{-1} M``):
    ``(N-1, N-1)``. For poisson1d with lumped mass it is ``(k T)^{-1} = dx G`` exactly; with
    consistent mass ``K^{-1} M_int``."""
    return operator.fem_operator(N, mass)[:, interior_columns(N, operator.dim)]


def stencil_measures(stencil: np.ndarray, reference: np.ndarray, radius: int = 1
                     ) -> tuple[np.ndarray, np.ndarray]:
    """How a learned stencil (last axis: offsets ``-h..h``) compares with the generating
    operator's ``reference`` (broadcast against it).

    Returns ``deviation = max|stencil - reference| / max|reference|`` (did the model learn
    the generating operator?) and ``tail = max |stencil| beyond distance radius / max
    |stencil|`` (is the learned inverse as local as the operator's 2nd-order stencil:
    ``radius = Operator.order // 2``, 1 for second-order operators -- tridiagonal -- and 2 for
    the biharmonic's 5-point stencil); NaN where the stencil is not finite."""
    stencil = np.asarray(stencil, dtype=np.float64)
    reference = np.broadcast_to(np.asarray(reference, dtype=np.float64), stencil.shape)
    h = stencil.shape[-1] // 2
    far = np.abs(np.arange(stencil.shape[-1]) - h) > int(radius)
    ok = np.all(np.isfinite(stencil), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = np.max(np.abs(stencil - reference), axis=-1) / np.max(np.abs(reference), axis=-1)
        big = np.max(np.abs(stencil), axis=-1)
        tail = (np.max(np.abs(stencil[..., far]), axis=-1) if far.any()
                else np.zeros(stencil.shape[:-1])) / big
    return np.where(ok, dev, np.nan), np.where(ok, tail, np.nan)
