"""Fourier neural operator (Li et al. 2021): lifting, spectral layers with skips, projection; 1D,
and 2D with ``dim = 2`` (:class:`SpectralConv2d`, ``rfft2`` over the two grid axes).

Resolution-agnostic: the weights act on the lowest ``modes`` Fourier modes and on channels at
each node, so a model built for one ``N`` evaluates on any grid.

Speed: only ``modes`` coefficients of each ``rfft`` are used, so the truncated transform and its
inverse are computed as two small real matrix products with cached DFT matrices (``P x 2m`` and
``2m x P``) instead of full FFTs; this is the same linear map as ``irfft(R * rfft(v)[:m], n=P)``
(checked in tests) and 2-3x faster on CPU at the sizes of this benchmark.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import ClassVar

import torch
from torch import nn

from greenbench.models.layers import activation, check_dim, check_positive_int


@lru_cache(maxsize=64)
def dft_matrices(n: int, modes: int, dtype: torch.dtype, device: str
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Truncated real DFT of length ``n`` for ``m = min(modes, n // 2 + 1)`` modes.

    Returns ``(forward (n, 2m), inverse (2m, n))``: ``v @ forward = [Re X_k | Im X_k]`` with
    ``X = rfft(v)[:m]``, and ``[Re Y | Im Y] @ inverse = irfft(Y, n)`` for a spectrum ``Y`` that
    is zero beyond mode ``m`` (imaginary parts of the DC and Nyquist modes are ignored, as
    ``irfft`` does)."""
    m = min(modes, n // 2 + 1)
    j = torch.arange(n, dtype=torch.float64)
    k = torch.arange(m, dtype=torch.float64)
    angle = 2.0 * math.pi * j[:, None] * k[None, :] / n
    forward = torch.cat([torch.cos(angle), -torch.sin(angle)], dim=1)
    weight = torch.full((m,), 2.0, dtype=torch.float64)
    weight[0] = 1.0
    if n % 2 == 0 and m == n // 2 + 1:
        weight[-1] = 1.0
    inverse = torch.cat([weight[:, None] * torch.cos(angle.T),
                         -weight[:, None] * torch.sin(angle.T)], dim=0) / n
    return forward.to(dtype=dtype, device=device), inverse.to(dtype=dtype, device=device)


class SpectralConv1d(nn.Module):
    """``v -> irfft(R * rfft(v)[:m], n=P)`` along the node axis, ``m = min(modes, P//2 + 1)``.

    ``R`` holds one complex ``(width_in, width_out)`` matrix per mode, stored as two real
    tensors (so every optimizer treats real and imaginary parts alike). Initialisation as in
    the original FNO code: uniform on ``[0, 1/(width_in width_out))``.
    """

    def __init__(self, width_in: int, width_out: int, modes: int):
        super().__init__()
        scale = 1.0 / (width_in * width_out)
        self.modes = modes
        self.weight_re = nn.Parameter(scale * torch.rand(modes, width_in, width_out))
        self.weight_im = nn.Parameter(scale * torch.rand(modes, width_in, width_out))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        """``v (width_in, batch, P) -> (width_out, batch, P)``: channels outermost, nodes last.

        With this layout the transforms are single matrix products and only the small
        spectral tensors (``2m`` instead of ``P`` per row) are permuted."""
        c, b, n = v.shape
        fwd, inv = dft_matrices(n, self.modes, v.dtype, str(v.device))
        m = fwd.shape[1] // 2
        wr, wi = self.weight_re[:m], self.weight_im[:m]
        # Complex product as a real block matrix per mode: [re, im] @ [[wr, wi], [-wi, wr]].
        block = torch.cat([torch.cat([wr, wi], dim=2), torch.cat([-wi, wr], dim=2)], dim=1)
        spec = (v @ fwd).reshape(c, b, 2, m).permute(3, 1, 2, 0).reshape(m, b, 2 * c)
        out = torch.bmm(spec, block)  # (m, b, 2 * width_out)
        c_out = wr.shape[-1]
        out = out.reshape(m, b, 2, c_out).permute(3, 1, 2, 0).reshape(c_out, b, 2 * m)
        return out @ inv


class SpectralConv2d(nn.Module):
    """2D spectral convolution: ``v -> irfft2(R * rfft2(v))`` over the last two (grid) axes,
    keeping the modes ``|k_x| < m_x`` (both signs: ``m_x = min(modes, n_x // 2)``) and
    ``0 <= k_y < m_y = min(modes, n_y // 2 + 1)``, one complex ``(width_in, width_out)`` matrix
    per kept mode (stored as real and imaginary parts; the original FNO code's ``weights1`` for
    ``k_x >= 0`` and ``weights2`` for ``k_x < 0``)."""

    def __init__(self, width_in: int, width_out: int, modes: int):
        super().__init__()
        scale = 1.0 / (width_in * width_out)
        self.modes = modes
        self.weight_re = nn.Parameter(scale * torch.rand(2, modes, modes, width_in, width_out))
        self.weight_im = nn.Parameter(scale * torch.rand(2, modes, modes, width_in, width_out))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        """``v (width_in, batch, n_x, n_y) -> (width_out, batch, n_x, n_y)``."""
        nx, ny = v.shape[-2:]
        mx, my = min(self.modes, nx // 2), min(self.modes, ny // 2 + 1)
        spec = torch.fft.rfft2(v)  # (c, b, nx, ny // 2 + 1)
        w = torch.complex(self.weight_re[:, :mx, :my], self.weight_im[:, :mx, :my])
        low = torch.einsum("cbxy,xyco->obxy", spec[:, :, :mx, :my], w[0])
        high = torch.einsum("cbxy,xyco->obxy", spec[:, :, nx - mx:, :my], w[1])
        gap = low.new_zeros(low.shape[:2] + (nx - 2 * mx, my))
        full = torch.cat([low, gap, high], dim=2)
        return torch.fft.irfft2(full, s=(nx, ny))


class ChannelLinear(nn.Module):
    """Pointwise linear map over channels: ``(c_in, batch, P) -> (c_out, batch, P)``, one
    matrix product.

    Initialised like ``nn.Linear`` (uniform on ``+-1/sqrt(c_in)``)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        bound = 1.0 / math.sqrt(c_in)
        self.weight = nn.Parameter(torch.empty(c_out, c_in).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(c_out).uniform_(-bound, bound))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``(c_in, batch, *grid) -> (c_out, batch, *grid)``."""
        c = h.shape[0]
        out = self.weight @ h.reshape(c, -1) + self.bias[:, None]
        return out.reshape((-1,) + tuple(h.shape[1:]))


class Pointwise(nn.Module):
    """One or two :class:`ChannelLinear` layers with the activation between them."""

    def __init__(self, c_in: int, hidden: int, c_out: int, act):
        super().__init__()
        sizes = [c_in, hidden, c_out] if hidden else [c_in, c_out]
        self.layers = nn.ModuleList(ChannelLinear(a, b) for a, b in zip(sizes[:-1], sizes[1:],
                                                                         strict=True))
        self.act = act

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < last:
                h = self.act(h)
        return h


class FNO(nn.Module):
    """1D FNO: ``u = Q(h_L)``, ``h_{l+1} = act(K_l h_l + W_l h_l)`` (no act after the last layer),
    ``h_0 = P([f, x])``.

    Parameters
    ----------
    N
        Grid resolution of the training data (the model itself works at any resolution).
    width
        Channels of the hidden layers.
    modes
        Fourier modes kept by every spectral convolution (clipped to ``P // 2 + 1``).
    layers
        Number ``L`` of spectral layers.
    activation
        Name of the activation (``gelu`` as in the neuraloperator library).
    lifting_width, projection_width
        Hidden width of the pointwise lifting ``P`` and projection ``Q`` (two layers each);
        ``lifting_width: 0`` makes the lifting a single linear map. Default ``2 * width``, as
        the neuraloperator library's channel ratios.
    grid
        Feed ``x`` as a second input channel (2D: ``x`` and ``y`` as two more channels).
    dim
        Spatial dimension (set by the trainer from the operator): 2 uses
        :class:`SpectralConv2d`, ``f (batch, N+1, N+1)``, ``x (N+1, N+1, 2)``.

    The output is evaluated at every node, the boundary included (learned, not imposed).
    """

    kind: ClassVar[str] = "operator"
    default_dtype: ClassVar[str] = "float32"

    def __init__(self, N: int, width: int = 32, modes: int = 16, layers: int = 4,
                 activation: str = "gelu", lifting_width: int | None = None,
                 projection_width: int | None = None, grid: bool = True, dim: int = 1):
        super().__init__()
        check_positive_int(N, "N", "fno", minimum=2)
        self.dim = check_dim(dim, "fno")
        for key, value in (("width", width), ("modes", modes), ("layers", layers)):
            check_positive_int(value, key, "fno")
        lifting_width = 2 * width if lifting_width is None else lifting_width
        projection_width = 2 * width if projection_width is None else projection_width
        check_positive_int(lifting_width, "lifting_width", "fno", minimum=0)
        check_positive_int(projection_width, "projection_width", "fno")
        act = activation_fn = _fno_act(activation)
        self.act = activation_fn
        self.grid = bool(grid)
        c_in = 1 + self.dim if self.grid else 1
        self.lift = Pointwise(c_in, lifting_width, width, act)
        conv = SpectralConv1d if self.dim == 1 else SpectralConv2d
        self.spectral = nn.ModuleList(conv(width, width, modes) for _ in range(layers))
        self.skip = nn.ModuleList(ChannelLinear(width, width) for _ in range(layers))
        self.project = Pointwise(width, projection_width, 1, act)

    def forward(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``f (batch, P), x (P,) -> u (batch, P)`` for any number of nodes ``P``."""
        h = f[None]  # hidden state layout (channels, batch, P) -- 2D: (channels, batch, nx, ny)
        if self.grid and self.dim == 1:
            h = torch.cat([h, x.expand_as(f)[None]], dim=0)
        elif self.grid:
            coords = torch.movedim(x, -1, 0)[:, None].expand((self.dim,) + tuple(f.shape))
            h = torch.cat([h, coords], dim=0)
        h = self.lift(h)
        last = len(self.spectral) - 1
        for i, (spectral, skip) in enumerate(zip(self.spectral, self.skip, strict=True)):
            h = spectral(h) + skip(h)
            if i < last:
                h = self.act(h)
        return self.project(h)[0]


def _fno_act(name: str):
    return activation(name, model="fno")
