"""Closed-form training limits.

Gradient descent on ``L(W) = mean ||W f_n - u_n||^2`` from ``W0`` never moves ``W`` in the
directions orthogonal to the training forcings, and converges inside their span to the
least-squares fit. Its limit is therefore the minimum-norm update

    W* = W0 + (U - W0 F) F^+ = A P + W0 (I - P),   P = F F^+ = U_B U_B^T,

(F: forcings as columns, U: interior solutions as columns, A: the data operator), which is
Thm 3.2 of arXiv 2506.15199. It is computed here from one SVD per member.
"""

from __future__ import annotations

import torch


def min_norm_update(w0: torch.Tensor, f: torch.Tensor, u_interior: torch.Tensor,
                    rank_tol: float = 1e-10) -> torch.Tensor:
    """``W* = W0 + ((F^+)^T R)^T`` with ``R = U - F W0^T`` (samples as rows), batched.

    Parameters
    ----------
    w0
        Initial weights ``(..., N-1, N+1)``.
    f
        Forcings ``(..., n, N+1)`` (samples as rows).
    u_interior
        Interior solutions ``(..., n, N-1)``.
    rank_tol
        Singular values ``s <= rank_tol * s_max`` of ``f`` count as zero (the pseudo-inverse
        acts on the numerical span only).

    Returns
    -------
    torch.Tensor
        ``(..., N-1, N+1)``; ``f @ W*^T`` is the least-squares fit of ``u_interior`` and
        ``W* - W0`` has rows in the span of the training forcings.
    """
    U, S, Vh = torch.linalg.svd(f, full_matrices=False)
    keep = S > rank_tol * S[..., :1]
    s_inv = torch.where(keep, 1.0 / torch.where(keep, S, torch.ones_like(S)), 0.0)
    residual = u_interior - f @ w0.transpose(-1, -2)
    x = Vh.transpose(-1, -2) @ (s_inv[..., None] * (U.transpose(-1, -2) @ residual))
    return w0 + x.transpose(-1, -2)
