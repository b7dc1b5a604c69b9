"""The eight model classes in 2D (issue 11 items 4-5): every class trains and predicts with the 2D
shapes of the model protocol (f (batch, N+1, N+1), x (N+1, N+1, 2)), the exact linear model
matches Thm 3.2 in every cell, its impulse responses give the discrete Green's function, the
derivatives of the 2D physics models are exact, and a user model of the wrong shape is named."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from greenbench.data import DataSpec, generate
from greenbench.models.layers import grid_points
from greenbench.models.registry import TrainConfig
from greenbench.operators import get_operator
from greenbench.spaces import relation_masks
from greenbench.train.loop import fit
from greenbench.train.problems import make_problem

OP = get_operator("poisson2d")
N = 4


class Flat2d(torch.nn.Module):
    """A user model that forgets the second grid axis: returns (batch, N+1)."""

    def __init__(self, N: int):
        super().__init__()
        self.a = torch.nn.Parameter(torch.zeros(()))

    def forward(self, f, x):
        return self.a * f[:, :, 0]


def _data(space: str, n: int = 40, N: int = N):
    ds = generate(DataSpec(pde="poisson2d", space=space, N=N, n_samples=n, test_fraction=0.25))
    return ds


def _train(entry: dict, f: np.ndarray, u: np.ndarray, x: np.ndarray, seeds=(1, 2), N: int = N):
    cfg = TrainConfig.from_entry("m", entry)
    E = len(seeds)
    problem = make_problem("m", entry, N, list(seeds), np.stack([f] * E), np.stack([u] * E), x,
                           OP, cfg, torch.device("cpu"))
    return problem, fit(problem, cfg)


ENTRIES = {
    "linear": {"class": "linear", "train": {"optimizer": "exact", "dtype": "float64"}},
    "deep_linear": {"class": "deep_linear", "params": {"width": 16},
                    "train": {"optimizer": "adam", "steps": 3}},
    "mlp": {"class": "mlp", "params": {"width": 8}, "train": {"optimizer": "adam", "steps": 3}},
    "deeponet": {"class": "deeponet", "params": {"width": 8, "basis": 4},
                 "train": {"optimizer": "adam", "steps": 3}},
    "fno": {"class": "fno", "params": {"width": 4, "modes": 2, "layers": 1},
            "train": {"optimizer": "adam", "steps": 3, "batch_size": 8}},
    "pideeponet": {"class": "pideeponet", "params": {"width": 8, "basis": 4},
                   "train": {"optimizer": "adam", "steps": 3}},
    "user": {"class": "examples.my_model_2d:ConvNet2d", "params": {"channels": 4, "layers": 2},
             "train": {"optimizer": "adam", "steps": 3, "vectorize": True}},
}


@pytest.mark.parametrize("name", list(ENTRIES))
def test_operator_models_train_and_predict_in_2d(name):
    """Each operator class trains as an ensemble on (E, n, N+1, N+1) data and its members map
    f (batch, N+1, N+1), x (N+1, N+1, 2) to u (batch, N+1, N+1); the boundary is zero where the
    class imposes it (linear family, mlp, the user model)."""
    ds = _data("sin2x2")
    f, u = ds.split("train")
    problem, result = _train(ENTRIES[name], f, u, ds.x)
    assert np.all(np.isfinite(result.train_mse)) and result.train_mse.shape == (2,)
    module = problem.member_modules()[0].eval()
    dtype = next(module.parameters()).dtype
    x = torch.as_tensor(grid_points(ds.x, 2), dtype=dtype)
    assert tuple(x.shape) == (N + 1, N + 1, 2) and float(x[1, 3, 0]) == ds.x[1] \
        and float(x[1, 3, 1]) == ds.x[3]
    with torch.no_grad():
        out = module(torch.as_tensor(f[:3], dtype=dtype), x)
    assert tuple(out.shape) == (3, N + 1, N + 1)
    if name in ("linear", "deep_linear", "mlp", "user"):
        assert torch.all(out[:, OP.boundary_mask(N)] == 0)


def test_parameter_learners_in_2d():
    """fd learns w close to k with the bias the Thm 3.1 analogue predicts (q = 2: the 5-point
    stencil); pinn trains nets u_s(x, y) and a scalar k."""
    ds = _data("sin2x2", N=8)
    f, u = ds.split("train")
    problem, _ = _train({"class": "fd", "params": {"orders": [2, 4]},
                         "train": {"optimizer": "exact", "dtype": "float64"}}, f, u, ds.x, N=8)
    w = problem.w_lstsq[0, :, 0]
    coef = ds.coefficients[ds.train_index]
    bias = [OP.fd_bias("sin2x2", coef, 8, q)[0] for q in (2, 4)]
    assert abs(w[0] - 1.0) > 1e-3  # a real truncation error ...
    assert np.allclose(w - 1.0, bias, rtol=0.15)  # ... as predicted at leading order
    problem, result = _train({"class": "pinn", "params": {"n_nets": 2, "width": 8},
                              "train": {"optimizer": "adam", "steps": 3, "dtype": "float64"}},
                             f, u, ds.x, N=8)
    sol = problem.member_modules()[0].solution(torch.as_tensor(grid_points(ds.x, 2)))
    assert tuple(sol.shape) == (2, 9, 9) and torch.all(sol[:, OP.boundary_mask(8)] == 0)
    assert np.all(np.isfinite(result.train_mse))


def test_linear_matches_thm32_in_every_cell():
    """The exact linear model's test MSE matches Thm 3.2's prediction (W* from the training
    span, analysis.bounds over flattened nodes) in every (train, test) cell: zero to round-off
    exactly where the prediction is zero -- the in-span cells of the componentwise nesting
    (kron(L, L)) for the tensor-product training spaces, the diagonal for fem -- and within the
    sampling error of 15 test samples of it elsewhere."""
    from greenbench.analysis.bounds import bounds_table

    spaces = ["poly1x2", "poly2x2", "sin1x1", "sin2x1", "fem"]
    data = {s: _data(s, n=60) for s in spaces}
    train = {s: data[s].split("train") for s in spaces}
    table, _ = bounds_table(train, spaces, N, operator=OP)
    pred = table["predicted_mse"].values[..., 0]
    ums = table["u_mean_square"].values[:, 0]
    x = torch.as_tensor(grid_points(data[spaces[0]].x, 2))
    in_span = relation_masks(spaces, spaces, dim=2)["in_span"]
    zero = pred < 1e-20 * ums[None, :]
    expect = in_span.copy()
    expect[-1, :-1] = False  # fem data: W* is the Q1 operator, not the exact smooth solution
    assert np.array_equal(zero, expect)
    for a, tr in enumerate(spaces):
        problem, _ = _train(ENTRIES["linear"], *train[tr], data[tr].x, seeds=(0,))
        module = problem.member_modules()[0]
        for b, te in enumerate(spaces):
            ft, ut = data[te].split("test")
            with torch.no_grad():
                uh = module(torch.as_tensor(ft), x).numpy()
            mse = np.mean((uh - ut) ** 2)  # over all (N+1)^2 nodes, as the prediction
            if zero[a, b]:
                assert mse < 1e-20 * ums[b], (tr, te, mse)
            else:
                assert 0.25 < mse / pred[a, b] < 4.0, (tr, te, mse, pred[a, b])


def test_linear_on_fem_recovers_greens_matrix():
    """Trained on 2D fem data with n_train >= (N+1)^2, the exact linear model is the Q1 data
    operator; its impulse responses divided by dx^2 are the discrete Green's function."""
    from greenbench.analysis.greens import extract_greens
    from greenbench.train import predict

    ds = _data("fem", n=40)  # 30 train >= 25
    problem, _ = _train(ENTRIES["linear"], *ds.split("train"), ds.x, seeds=(0,))
    module = problem.member_modules()[0]
    G_hat = extract_greens(lambda f: predict(module, f, grid_points(ds.x, 2)), N, operator=OP)
    G = OP.greens_matrix(N)
    assert G_hat.shape == ((N - 1) ** 2, (N - 1) ** 2)
    assert np.abs(G_hat - G).max() < 1e-10 * np.abs(G).max()


def test_pideeponet_2d_derivatives_exact():
    """The nested-jvp partial derivatives of the 2D trunk equal central differences of the
    network itself (float64, h = 1e-4: agreement to ~1e-6), and the residual uses them."""
    from greenbench.models.neural import PIDeepONet

    torch.manual_seed(0)
    net = PIDeepONet(N=4, width=8, basis=4, dim=2).double()
    x = torch.as_tensor(grid_points(np.linspace(0, 1, 5), 2))
    f = torch.randn(3, 5, 5, dtype=torch.float64)
    _, d = net._derivatives(net.branch(f.reshape(3, -1)), x, ((2, 0), (0, 2), (0, 0)))
    h = 1e-4
    for axis, key in ((0, (2, 0)), (1, (0, 2))):
        e = torch.zeros(2, dtype=torch.float64)
        e[axis] = h
        fd = (net(f, x + e) - 2 * net(f, x) + net(f, x - e)) / h**2
        assert torch.allclose(d[key], fd, atol=1e-5 * float(fd.detach().abs().max()) + 1e-6)
    res = net.residual(f, x, OP)
    want = (-(d[(2, 0)] + d[(0, 2)]) - f)[:, 1:-1, 1:-1]
    assert torch.allclose(res, want)


def test_spectral_conv2d_matches_complex_reference():
    """SpectralConv2d keeps the modes |k_x| < m, 0 <= k_y < m with one complex matrix each: the
    same map as a direct complex computation with the full FFT."""
    from greenbench.models.fno import SpectralConv2d

    torch.manual_seed(1)
    conv = SpectralConv2d(3, 2, modes=2).double()
    v = torch.randn(3, 4, 7, 6, dtype=torch.float64)
    X = torch.fft.rfft2(v)
    W = torch.complex(conv.weight_re, conv.weight_im)
    Y = torch.zeros(2, 4, 7, 4, dtype=torch.complex128)
    for kx in range(2):
        for ky in range(2):
            Y[:, :, kx, ky] = torch.einsum("cb,co->ob", X[:, :, kx, ky], W[0, kx, ky])
            Y[:, :, 7 - 2 + kx, ky] = torch.einsum("cb,co->ob", X[:, :, 7 - 2 + kx, ky],
                                                   W[1, kx, ky])
    assert torch.allclose(conv(v), torch.fft.irfft2(Y, s=(7, 6)), atol=1e-13)


def test_user_model_wrong_2d_shape_named():
    """A user model returning (batch, N+1) on 2D data is refused at the first forward, naming
    the model and the expected (batch, N+1, N+1) shape."""
    ds = _data("sin1x1")
    f, u = ds.split("train")
    entry = {"class": "tests.test_models_2d:Flat2d", "train": {"optimizer": "adam", "steps": 1}}
    with pytest.raises(ValueError, match=r"model 'm': Flat2d.forward returned shape \(2, 5\), "
                                         r"expected \(batch, N\+1, N\+1\) = \(2, 5, 5\)"):
        _train(entry, f, u, ds.x)


def test_dim_refused_with_allowed_values():
    from greenbench.models.linear import Linear

    with pytest.raises(ValueError, match=r"linear: parameter dim must be one of \[1, 2\]"):
        Linear(N=4, dim=3)


def test_noise_block_medians_without_models():
    """A study without operator models (the 2D data-stage skeleton): the crossval block medians
    are empty arrays over model, not a reshape error."""
    import xarray as xr

    from greenbench.analysis.stage import noise_block_medians

    d6 = ("noise", "model", "train_space", "test_space", "resolution", "seed")
    d5 = ("noise", "model", "train_space", "resolution", "seed")
    cv = xr.Dataset(
        dict(noise_mse=(d6, np.zeros((1, 0, 2, 2, 1, 1))),
             noise_missing=(d5, np.zeros((1, 0, 2, 1, 1), dtype=bool)),
             noise_diverged=(d5, np.zeros((1, 0, 2, 1, 1), dtype=bool)),
             in_span=(("train_space", "test_space"), np.eye(2, dtype=bool))),
        coords=dict(model=np.array([], dtype=str), train_space=["sin1x1", "sin2x1"],
                    test_space=["sin1x1", "sin2x1"]))
    out = noise_block_medians(cv)
    assert out["noise_in_span_mse"].shape == (1, 0, 1)


def test_heatmap_order_and_labels_show_the_product_structure():
    """2D spaces sort by (px, py) within a family (so the in-span mask is kron(L, L), the
    Sierpinski-like pattern) and are labelled by name; 1D order and labels unchanged."""
    from greenbench.plots._common import sort_spaces
    from greenbench.plots.heatmap import _label

    names = ["sin2x1", "fem", "sin1x2", "poly1x1", "sin1x1", "sin2x2"]
    order = sort_spaces(names)
    assert order == ["poly1x1", "sin1x1", "sin1x2", "sin2x1", "sin2x2", "fem"]
    sins = order[1:5]
    mask = relation_masks(sins, sins, dim=2)["in_span"]
    L = np.tril(np.ones((2, 2), dtype=bool))
    assert np.array_equal(mask, np.kron(L, L))
    assert [_label(s) for s in ("sin2x3", "sin2", "fem")] == ["sin2x3", "2", "fem"]
    assert sort_spaces(["sin2", "poly3", "fem", "sin1"]) == ["poly3", "sin1", "sin2", "fem"]


def test_stencil_read_off_in_2d():
    """The 2D read-off (centre node's row of the inverse, along x through the centre) of the
    exact 5-point solution operator gives [-1, 4, -1] in units of k N^2, as the x-slice of the
    operator's reference stencil; the gallery's source points are interior nodes."""
    from greenbench.analysis.greens import axis_slice, gallery_sources, inverse_and_stencil

    n = N = 8
    T = 2 * np.eye(n - 1) - np.eye(n - 1, k=1) - np.eye(n - 1, k=-1)
    L = (np.kron(T, np.eye(n - 1)) + np.kron(np.eye(n - 1), T)) * N**2  # -Lap, k = 1
    W_int = np.linalg.inv(L)  # the interior solution operator u_int = W_int f_int
    _, stencil, _ = inverse_and_stencil(W_int, OP, halfwidth=2)
    assert np.allclose(stencil, [0, -1, 4, -1, 0], atol=1e-10)
    assert np.array_equal(axis_slice(OP.reference_stencil(2)), [0, -1, 4, -1, 0])
    index, nodes = gallery_sources(N, 2)
    assert nodes.tolist() == [[2, 2], [4, 4], [2, 6]]
    assert index.tolist() == [(2 - 1) * 7 + 1, 3 * 7 + 3, 1 * 7 + 5]


def test_training_nc_without_models_has_a_str_model_coordinate():
    """training.nc of a study without operator models: the (empty) model coordinate is str, as
    the results contract says (it was float64)."""
    from greenbench.analysis.training import training_dataset

    ds = training_dataset({}, ["sin1x1", "fem"], [8], [0], tail=0.1, rel_tol=1e-3)
    assert ds["model"].size == 0 and ds["model"].dtype.kind == "U"
