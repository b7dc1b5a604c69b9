"""The consumers ask the operator (issue 10 item 1): the FD learner, the PINN and PI-DeepONet
residuals, the Thm 3.1 helpers and the Green's analysis work for every registered 1D operator
without knowing which it is, and reproduce the former poisson1d numbers bit for bit.

Oracles: the normal equations solved independently (numpy lstsq), reverse-mode autograd against
the forward-mode jvp derivatives, exact coefficients on data where the stencils are exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from greenbench import pde, theory
from greenbench.models import FD, PINN, PIDeepONet
from greenbench.operators import get_operator
from greenbench.spaces import basis_matrix

OPS_1D = ["poisson1d", "biharmonic1d", "screened_poisson1d", "advection_diffusion1d"]


def _data(op, space, N, n, seed=0):
    x = op.grid(N)
    c = np.random.default_rng(seed).uniform(-1, 1, (n, basis_matrix(space, [0.0]).shape[1]))
    return c, c @ basis_matrix(space, x).T, op.exact_solution(space, c, x)


def test_poisson_fd_lstsq_is_bit_identical_to_the_former_formula():
    op = get_operator("poisson1d", k=1.7)
    N = 32
    _, f, u = _data(op, "sin5", N, 30)
    for q in op.FD_ORDERS:
        fd = pde.apply_fd(u, q, 1.0 / N)
        fi = f[:, pde.fd_nodes(N, q)]
        old = float(-np.sum(fi * fd) / np.sum(fd * fd))
        assert theory.fd_lstsq_weight(f, u, q, N, op) == old
        model_w = FD.lstsq(FD(N, orders=(q,), operator=op).features(f[None], u[None]))
        old_model = -(fi[None] * fd[None]).sum(axis=(-2, -1)) / (fd * fd).sum()
        assert model_w.shape == (1, 1, 1) and model_w[0, 0, 0] == old_model[0]


@pytest.mark.parametrize("name", OPS_1D)
def test_fd_learns_every_coefficient(name):
    """poly2 data: the solution is a polynomial only for poisson1d / biharmonic1d; there the
    order-4 stencils are exact and w = the coefficients to round-off; elsewhere the weights
    agree with an independent least-squares solve and approach the truth as dx^q."""
    op = get_operator(name, k=1.3)
    N = 64
    _, f, u = _data(op, "sin2", N, 40)
    q = 4
    w = theory.fd_lstsq_weights(op, f, u, q)
    D, fn = op.fd_features(u, f, q)
    ref = np.linalg.lstsq(D.reshape(D.shape[0], -1).T, fn.reshape(-1), rcond=None)[0]
    np.testing.assert_allclose(w, ref, rtol=1e-9)
    rel = np.abs(w - op.coefficient_vector) / np.abs(op.coefficient_vector)
    assert rel.max() < 1e-3, rel
    model = FD(N, orders=(q,), operator=op)
    assert tuple(model.w.shape) == (1, len(op.COEFFICIENTS))
    np.testing.assert_allclose(FD.lstsq(model.features(f[None], u[None]))[0, 0], w, rtol=1e-9)
    # the objective vanishes at the true coefficients up to the truncation error, and the
    # least-squares weights minimise it
    feats = [(torch.as_tensor(D[:, None]), torch.as_tensor(fn[None]))]
    at = FD.objective(torch.as_tensor(w)[None, None], feats)
    off = FD.objective(torch.as_tensor(w * 1.01)[None, None], feats)
    assert float(at) < float(off)


def test_fd_refuses_an_order_without_stencil():
    with pytest.raises(ValueError, match=r"stencil order 6 has no stencil for operator "
                                         r"biharmonic1d; allowed: \[2, 4\]"):
        FD(32, orders=(6,), operator=get_operator("biharmonic1d"))


@pytest.mark.parametrize("name", OPS_1D)
def test_pideeponet_residual_matches_reverse_mode_autograd(name):
    op = get_operator(name, k=0.7)
    torch.manual_seed(0)
    net = PIDeepONet(N=8, width=8, basis=4).double()
    x = torch.linspace(0, 1, 9, dtype=torch.float64)
    f = torch.randn(2, 9, dtype=torch.float64)
    xg = x.clone().requires_grad_(True)
    u = net(f, xg)
    derivs, d = {0: u}, u
    for m in range(1, op.order + 1):
        d = torch.stack([torch.autograd.grad(d[i].sum(), xg, create_graph=True)[0]
                         for i in range(d.shape[0])])
        derivs[m] = d
    want = sum(t.sign * op.coefficients[t.coefficient] * derivs[t.derivative]
               for t in op.terms) - f
    torch.testing.assert_close(net.residual(f, x, op), want[:, 1:-1], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", OPS_1D)
def test_pinn_learns_one_scalar_per_coefficient(name):
    op = get_operator(name)
    torch.manual_seed(1)
    pinn = PINN(N=8, n_nets=2, width=4, operator=op).double()
    names = [n for n, _ in pinn.named_parameters()]
    assert names[:len(op.COEFFICIENTS)] == list(op.COEFFICIENTS)
    params = dict(pinn.named_parameters())
    x = torch.linspace(0, 1, 9, dtype=torch.float64)
    f = torch.randn(2, 9, dtype=torch.float64)
    u = torch.randn(2, 9, dtype=torch.float64) * 0.01
    obj, _ = pinn.objective(params, x, f, u)
    grads = torch.autograd.grad(obj, [params[c] for c in op.COEFFICIENTS])
    assert all(torch.isfinite(g) and g != 0 for g in grads)


def test_poisson_pinn_objective_is_the_former_one():
    op = get_operator("poisson1d", k=1.0)
    torch.manual_seed(2)
    pinn = PINN(N=8, n_nets=2, width=4, operator=op).double()
    params = dict(pinn.named_parameters())
    x = torch.linspace(0, 1, 9, dtype=torch.float64)
    f, u = torch.randn(2, 9, dtype=torch.float64), torch.randn(2, 9, dtype=torch.float64)
    xs = x.expand_as(u).detach().clone().requires_grad_(True)
    un = pinn.u(params, xs)
    (ux,) = torch.autograd.grad(un.sum(), xs, create_graph=True)
    (uxx,) = torch.autograd.grad(ux.sum(), xs, create_graph=True)
    res = (-params["k"][..., None, None] * uxx - f)[..., 1:-1].pow(2).mean(dim=(-2, -1))
    data = (un - u).pow(2).mean(dim=(-2, -1))
    want = data / u.pow(2).mean() + res / f[..., 1:-1].pow(2).mean()
    assert torch.equal(pinn.objective(params, x, f, u)[0], want)


@pytest.mark.parametrize("name", OPS_1D)
def test_stencil_scale_reads_the_generating_operator(name):
    """The middle row of the inverse of the exact fem solution operator, divided by
    stencil_scale, is a stencil of the leading term: its m-th moment sum_j s_j j^m / m! is the
    term's sign (lower-order terms add O(dx) and O(dx^2)), its lower moments vanish."""
    from math import factorial

    from greenbench.analysis import greens as gr

    op = get_operator(name, k=2.0)
    N = 64
    A = gr.reference_interior_operator(N, op)
    h = (N - 2) // 2
    _, row, _ = gr.inverse_and_stencil(A, op, h, max_cond=np.inf)
    j = np.arange(-h, h + 1)
    lead = max(op.terms, key=lambda t: t.derivative)
    m = lead.derivative
    assert np.sum(row * j**m) / factorial(m) == pytest.approx(lead.sign, rel=0.05)
    assert abs(np.sum(row)) < 0.05
    ref = op.reference_stencil(3)
    assert np.sum(ref * np.arange(-3, 4) ** m) / factorial(m) == lead.sign
    assert gr.greens_rel_error(op.greens_matrix(N), N, op) == 0.0


# ----------------------------------------------------------------- config: pde forms, study
def test_pde_may_be_a_name_a_list_or_a_mapping():
    from greenbench.config import config_for_pde, pde_coefficients, validate_config
    from greenbench.provenance import data_hash
    from greenbench.study import Study

    one = validate_config({"k": 2.0})
    assert pde_coefficients(one) == {"poisson1d": {"k": 2.0}}
    assert config_for_pde(one, "poisson1d") == one           # the same study, the same hashes
    many = validate_config({"pde": {"poisson1d": None, "screened_poisson1d": {"c": 4.0},
                                    "advection_diffusion1d": {"k": 0.5}}, "b": 3.0})
    assert pde_coefficients(many) == {"poisson1d": {"k": 1.0},
                                      "screened_poisson1d": {"k": 1.0, "c": 4.0},
                                      "advection_diffusion1d": {"k": 0.5, "b": 3.0}}
    study = Study.from_config(many)
    assert study.pdes == ("poisson1d", "screened_poisson1d", "advection_diffusion1d")
    screened = study.for_pde("screened_poisson1d")
    assert screened.pde == "screened_poisson1d" and screened.operator().coefficients["c"] == 4.0
    assert screened.data_spec("sin1", 16)["coefficients"] == {"c": 4.0}
    assert "coefficients" not in study.data_spec("sin1", 16)
    assert screened.analysis.operator == screened.operator()
    # c enters the data hash of the operator that has it, and only there
    other = validate_config({"pde": {"screened_poisson1d": {"c": 5.0}}})
    assert data_hash(config_for_pde(other, "screened_poisson1d")) != screened.data_hash
    assert data_hash(config_for_pde(validate_config({"c": 5.0}), "poisson1d")) == data_hash(one
                                                                                   | {"k": 1.0})
    assert validate_config({"pde": ["biharmonic1d"], "analysis": {"fd_orders": [2, 4]}})


@pytest.mark.parametrize("bad, needle", [
    ({"pde": "heat"}, "config key pde: unknown operator 'heat'; allowed: ['poisson1d'"),
    ({"pde": {"poisson1d": {"b": 1}}}, "config key pde.poisson1d.b: operator poisson1d has no "
                                       "coefficient 'b'; allowed: ['k']"),
    ({"pde": {"screened_poisson1d": {"c": -1.0}}}, "config key pde.screened_poisson1d: "),
    ({"pde": "biharmonic1d"}, "config key analysis.fd_orders: orders [6] have no stencil for "
                              "operator biharmonic1d; allowed: orders among [2, 4]"),
    ({"pde": "biharmonic1d", "fem_mass": "lumped", "analysis": {"fd_orders": [2]}},
     "config key fem_mass: 'lumped' is not a mass matrix of operator biharmonic1d; allowed: "
     "['consistent']"),
    ({"pde": []}, "config key pde"),
])
def test_bad_operator_input_names_the_key(bad, needle):
    from greenbench.config import ConfigError, validate_config

    with pytest.raises(ConfigError) as info:
        validate_config(bad)
    assert needle in str(info.value)


@pytest.mark.parametrize("model, entry", [
    ("fd", {"class": "fd", "params": {"orders": [2, 4]}, "train": {"optimizer": "exact"}}),
    ("pinn", {"class": "pinn", "params": {"n_nets": 2, "width": 4}, "train": {"steps": 3}}),
])
def test_a_parameter_learner_trains_and_reloads_on_another_operator(model, entry, tmp_path):
    """screened_poisson1d data: the dataset carries c, the task reads the operator from it, the
    member learns k and c, its .pt records c, and load_trained rebuilds it with that operator."""
    from greenbench import io
    from greenbench.data import DataSpec, generate
    from greenbench.train import TrainTask, dataset_checksums, load_trained, run_task

    spec = DataSpec("screened_poisson1d", "sin2", 16, 12, coefficients={"c": 4.0})
    path = tmp_path / "data" / "screened_poisson1d" / "sin2" / "N16.h5"
    io.write_dataset(path, generate(spec))
    assert io.read_dataset(path).attrs["c"] == 4.0
    entry = {"params": {}, "train": {}, "enabled": True, **entry}
    datasets = {"sin2": str(path)}
    task = TrainTask(model=model, entry=entry, pde="screened_poisson1d", N=16,
                     members=(("sin2", 0),), datasets=datasets, out_dir=str(tmp_path / "out"),
                     checksums=dataset_checksums(datasets))
    member = run_task(task)["members"][0]
    assert "rel_error_c" in member
    if model == "fd":
        assert member["rel_error_lstsq_c"].shape == (2,) and member["rel_error_lstsq"][1] < 1e-3
    content = io.load_torch(member["path"])
    assert content["coefficients"] == {"c": 4.0}
    module = load_trained(member["path"], task.entry)
    assert module.operator == get_operator("screened_poisson1d", c=4.0)
