"""The model zoo: shapes, exact identities of the building blocks, and entry validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from greenbench import pde
from greenbench.config import ConfigError, validate_config
from greenbench.models import (
    BUILTIN_MODELS,
    FD,
    FNO,
    PINN,
    DeepLinear,
    Linear,
    ParameterLearnerError,
    PIDeepONet,
    SpectralConv1d,
    TrainConfig,
    validate_model_entries,
)
from greenbench.models.fno import dft_matrices
from greenbench.models.normalized import Normalized
from greenbench.operators import get_operator

# torch's forward-mode AD loads its decompositions through torch.jit.script on first use.
pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated"),
    pytest.mark.usefixtures("torch_one_thread"),
]


OPERATORS = ["linear", "deep_linear", "mlp", "deeponet", "fno", "pideeponet"]


@pytest.mark.parametrize("name", OPERATORS)
@pytest.mark.parametrize("N", [8, 17])
def test_operator_shapes(name, N):
    torch.manual_seed(0)
    model = BUILTIN_MODELS[name](N=N).double()
    f = torch.randn(5, N + 1, dtype=torch.float64)
    u = model(f, torch.linspace(0, 1, N + 1, dtype=torch.float64))
    assert u.shape == (5, N + 1)
    assert torch.isfinite(u).all()
    if name in ("linear", "deep_linear", "mlp"):  # the interior-output family
        assert torch.all(u[:, [0, -1]] == 0)


def test_linear_family_is_linear_with_its_effective_weight():
    torch.manual_seed(1)
    N = 10
    f = torch.randn(4, N + 1, dtype=torch.float64)
    x = torch.linspace(0, 1, N + 1, dtype=torch.float64)
    for model in (Linear(N, init_scale=1.0).double(), DeepLinear(N, depth=4).double()):
        W = model.effective_weight()
        assert W.shape == (N - 1, N + 1)
        torch.testing.assert_close(model(f, x)[:, 1:-1], f @ W.T, rtol=1e-13, atol=1e-13)
    assert torch.count_nonzero(Linear(N).weight) == 0  # zero initialisation by default


def test_spectral_conv_equals_fft_reference():
    """The DFT-matrix implementation is irfft(R * rfft(v)[:m], n=P), for odd and even P and
    for more modes than the grid has."""
    torch.manual_seed(2)
    for n, modes in [(17, 5), (16, 9), (9, 12)]:
        conv = SpectralConv1d(3, 4, modes).double()
        v = torch.randn(3, 6, n, dtype=torch.float64)  # (channels, batch, P)
        m = min(modes, n // 2 + 1)
        spec = torch.fft.rfft(v, dim=-1)[..., :m]
        w = torch.complex(conv.weight_re[:m], conv.weight_im[:m])  # (m, in, out)
        ref = torch.fft.irfft(torch.einsum("ibm,mio->obm", spec, w), n=n, dim=-1)
        torch.testing.assert_close(conv(v), ref, rtol=1e-12, atol=1e-12)


def test_dft_matrices_roundtrip_band_limited():
    fwd, inv = dft_matrices(20, 4, torch.float64, "cpu")
    x = torch.linspace(0, 1, 21, dtype=torch.float64)[:-1]
    v = 0.3 + torch.cos(2 * np.pi * x) - 2 * torch.sin(6 * np.pi * x)  # modes 0, 1, 3
    torch.testing.assert_close((v @ fwd) @ inv, v, rtol=1e-12, atol=1e-12)


def test_fno_is_resolution_agnostic():
    torch.manual_seed(3)
    model = FNO(N=16, width=8, modes=4, layers=2).double()
    for P in (9, 17, 65):
        x = torch.linspace(0, 1, P, dtype=torch.float64)
        assert model(torch.randn(2, P, dtype=torch.float64), x).shape == (2, P)


def test_pideeponet_trunk_second_derivative_matches_reverse_autograd():
    torch.manual_seed(4)
    model = PIDeepONet(N=12, width=8, basis=5).double()
    x = torch.linspace(0, 1, 13, dtype=torch.float64)
    t, t_xx = model.trunk_derivatives(x)
    xr = x.clone().requires_grad_(True)
    for j in range(5):
        tj = model.trunk(xr[:, None])[:, j]
        (d1,) = torch.autograd.grad(tj.sum(), xr, create_graph=True)
        (d2,) = torch.autograd.grad(d1.sum(), xr)
        torch.testing.assert_close(t_xx[:, j], d2, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(t, model.trunk(x[:, None]))


def test_pideeponet_extra_loss_combines_residual_and_boundary_terms():
    torch.manual_seed(6)
    model = PIDeepONet(N=10, width=6, basis=4, pde_weight=0.3, bc_weight=2.0).double()
    x = torch.linspace(0, 1, 11, dtype=torch.float64)
    f = torch.randn(3, 11, dtype=torch.float64)
    u_bc = model(f, x)[:, [0, -1]]  # the boundary values through the plain forward pass
    op = get_operator("poisson1d", k=1.5)
    want = 0.3 * model.residual(f, x, op).pow(2).mean() + 2.0 * u_bc.pow(2).mean()
    torch.testing.assert_close(model.extra_loss(f, x, op), want)


def test_pideeponet_boundary_term_has_every_condition_of_the_operator():
    """Simply supported biharmonic: the boundary term is ``u = u'' = 0`` at both ends. Oracle:
    ``u''`` at the ends by reverse-mode autograd of the plain forward pass (an independent path
    from the trunk's forward-mode jvp), raw and through a normalized wrapper."""
    torch.manual_seed(7)
    model = PIDeepONet(N=10, width=6, basis=4, pde_weight=0.3, bc_weight=2.0).double()
    x = torch.linspace(0, 1, 11, dtype=torch.float64)
    f = torch.randn(3, 11, dtype=torch.float64)
    op = get_operator("biharmonic1d", k=1.5)
    assert sorted(op.boundary_conditions) == [(0, 0.0), (0, 1.0), (2, 0.0), (2, 1.0)]
    for f_scale, u_scale in ((None, None), (4.0, 0.02)):
        net = model if f_scale is None else Normalized(model, f_scale=f_scale, u_scale=u_scale)
        xg = x.clone().requires_grad_(True)
        u_xx = []
        for i in range(len(f)):  # one sample at a time: u_xx of sample i alone
            (u_x,) = torch.autograd.grad(net(f[i:i + 1], xg).sum(), xg, create_graph=True)
            u_xx.append(torch.autograd.grad(u_x.sum(), xg)[0])
        u_xx = torch.stack(u_xx)
        u = net(f, x).detach()
        bc = torch.stack([u[:, 0], u[:, -1], u_xx[:, 0], u_xx[:, -1]], dim=-1)
        assert bc[:, 2:].abs().min() > 1e-6          # the network does not meet u'' = 0 ...
        res = net.residual(f, x, op) if f_scale is None else None
        if res is None:  # the raw residual of the wrapped output, as extra_loss defines it
            coef = {c: v * u_scale for c, v in op.coefficients.items()}
            _, derivs = model._derivatives(model.branch(f / f_scale), x, op.derivative_orders)
            res = op.residual(derivs, f, coef)[:, 1:-1]
        want = 0.3 * res.pow(2).mean() + 2.0 * bc.pow(2).mean()   # ... so the term is > 0
        torch.testing.assert_close(net.extra_loss(f, x, op), want, rtol=1e-10, atol=0)


def test_parameter_learners_have_no_operator():
    x = torch.linspace(0, 1, 9)
    for model in (FD(N=8), PINN(N=8)):
        with pytest.raises(ParameterLearnerError, match="parameter learner"):
            model(torch.zeros(1, 9), x)


def test_fd_lstsq_is_the_minimiser_and_exact_for_low_degree():
    N, k = 24, 1.7
    x = pde.grid(N)
    rng = np.random.default_rng(0)
    c = rng.uniform(-1, 1, (6, 3))  # poly2: exact for q = 4, 6 (p < q)
    f = c @ (x[:, None] ** np.arange(3)).T
    u = pde.exact_solution("poly2", c, x, k)
    fd = FD(N)
    feats = fd.features(f, u)
    w = FD.lstsq(feats)
    np.testing.assert_allclose(w[1:], k, rtol=1e-12)
    assert abs(w[0] - k) / k < 1e-2 and abs(w[0] - k) / k > 1e-14  # q = 2 is biased for p = 2
    tf = [(torch.as_tensor(d), torch.as_tensor(q)) for d, q in feats]
    w_t = torch.as_tensor(w, dtype=torch.float64).requires_grad_(True)
    (g,) = torch.autograd.grad(FD.objective(w_t, tf), w_t)
    assert g.abs().max() < 1e-10  # the gradient vanishes at the least-squares optimum


def test_pinn_u_respects_hard_boundary_condition_and_batches():
    torch.manual_seed(5)
    model = PINN(N=8, n_nets=3, width=6).double()
    x = torch.linspace(0, 1, 9, dtype=torch.float64)
    u = model.solution(x)
    assert u.shape == (3, 9) and torch.all(u[:, [0, -1]] == 0)
    params = {k: torch.stack([v, v]) for k, v in model.named_parameters()}  # ensemble of 2
    ub = model.u(params, x.expand(2, 3, -1))
    torch.testing.assert_close(ub[0], u)
    torch.testing.assert_close(ub[1], u)


# ------------------------------------------------------------------------ entry validation
class NotAModule:
    def __init__(self, N):
        self.N = N


def test_valid_entries_pass(monkeypatch, repo_root):
    monkeypatch.syspath_prepend(str(repo_root))  # examples/ is importable from the repo root
    validate_model_entries({
        "m": {"class": "mlp", "params": {"width": 8}, "train": {"optimizer": "lbfgs"}},
        "lin": {"class": "linear", "train": {"optimizer": "exact", "rank_tol": 1e-8}},
        "user": {"class": "examples.my_model:ConvNet", "params": {"channels": 4}},
    })
    validate_model_entries({})
    validate_model_entries(None)


@pytest.mark.parametrize("entry, message", [
    ({"class": "transformer"}, r"model 'bad': unknown built-in model class 'transformer'; "
                               r"allowed: \['deep_linear', 'deeponet', 'fd', 'fno', 'linear'"),
    ({"class": "no_such_pkg.mod:Net"}, r"model 'bad': cannot import module 'no_such_pkg.mod'"),
    ({"class": "examples.my_model:Missing"}, r"model 'bad': module 'examples.my_model' has no "
                                             r"attribute 'Missing'"),
    ({"class": "test_models:NotAModule"}, r"model 'bad': .*not a torch.nn.Module subclass"),
    ({"class": "torch.nn:Linear"}, r"model 'bad': constructor Linear.* does not accept N"),
    ({"class": "mlp", "params": {"widht": 4}}, r"model 'bad': constructor MLP.*widht"),
    ({"class": "mlp", "params": {"activation": "swish"}}, r"model 'bad'.*unknown activation "
                                                          r"'swish'; allowed"),
    ({"class": "mlp", "train": {"epochs": 3}}, r"model 'bad': unknown train key\(s\) \['epochs'\]; "
                                               r"allowed: \['optimizer'"),
    ({"class": "mlp", "train": {"optimizer": "sgd"}}, r"model 'bad': unknown optimizer 'sgd' .*"
                                                      r"allowed: \['adam', 'lbfgs', 'gd'\]"),
    ({"class": "deeponet", "train": {"optimizer": "exact"}}, r"model 'bad': unknown optimizer "
                                                             r"'exact'"),
    ({"class": "mlp", "train": {"steps": -1}}, r"model 'bad': train.steps must be an integer"),
    ({"class": "mlp", "train": {"dtype": "float16"}}, r"model 'bad': train.dtype 'float16'"),
    ({"class": "mlp", "train": {"optimizer": "lbfgs", "batch_size": 8}}, r"model 'bad': "
                                                                         r"optimizer lbfgs needs"),
    ({"class": "pideeponet", "params": {"activation": "relu"}}, r"model 'bad'.*unknown activation"),
    ({"class": "fd", "params": {"orders": [3]}}, r"model 'bad'.*stencil order 3"),
    ({"clas": "mlp"}, r"model 'bad': unknown key\(s\) \['clas'\]"),
])
def test_bad_entries_name_the_model(entry, message, monkeypatch, repo_root):
    monkeypatch.syspath_prepend(str(repo_root))
    monkeypatch.syspath_prepend(str(repo_root / "tests"))
    with pytest.raises(ValueError, match=message):
        validate_model_entries({"bad": entry})


def test_config_validation_reports_bad_models():
    with pytest.raises(ConfigError, match=r"config key models: model 'oops': unknown built-in"):
        validate_config({"models": {"oops": {"class": "nope"}}})
    cfg = validate_config({"models": {"lin": {"class": "linear"}}})
    assert cfg["models"]["lin"]["enabled"] is True


def test_train_config_defaults_per_class(monkeypatch, repo_root):
    monkeypatch.syspath_prepend(str(repo_root))
    assert TrainConfig.from_entry("a", {"class": "linear"}).optimizer == "exact"
    assert TrainConfig.from_entry("a", {"class": "linear"}).dtype == "float64"
    assert TrainConfig.from_entry("a", {"class": "mlp"}).dtype == "float32"
    user = TrainConfig.from_entry("a", {"class": "examples.my_model:ConvNet"})
    assert user.vectorize is False and user.optimizer == "adam"
    assert TrainConfig.from_entry("a", {"class": "mlp", "train": {"lr": 0.5}}).lr == 0.5
