"""Derivative operators against closed forms, gradcheck, and the forward-jet path against autograd."""

import math

import pytest
import torch

import kanpde as kp
from kanpde import ops
from kanpde.derivatives import DerivativeContext, Jet, NeedsAutograd
from kanpde.loss import InputScaling
from kanpde.models.jet import seed_jet
from kanpde.ops import NeedsInputGrad


@pytest.fixture(autouse=True)
def float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def points(n=64, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, d, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_(True)


def test_grad_laplacian_hessian_of_polynomial():
    x = points()
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    u = (a**2 * b + torch.sin(c) * a + b**3).unsqueeze(1)
    g = ops.grad(u, x)
    want_g = torch.stack([2 * a * b + torch.sin(c), a**2 + 3 * b**2, torch.cos(c) * a], 1)
    torch.testing.assert_close(g, want_g, rtol=0, atol=1e-12)
    H = ops.hessian(u, x)
    want_H = torch.zeros(len(a), 3, 3)
    want_H[:, 0, 0] = 2 * b
    want_H[:, 0, 1] = want_H[:, 1, 0] = 2 * a
    want_H[:, 0, 2] = want_H[:, 2, 0] = torch.cos(c)
    want_H[:, 1, 1] = 6 * b
    want_H[:, 2, 2] = -torch.sin(c) * a
    torch.testing.assert_close(H, want_H, rtol=0, atol=1e-12)
    lap = ops.laplacian(u, x)
    torch.testing.assert_close(lap[:, 0], 2 * b + 6 * b - torch.sin(c) * a, rtol=0, atol=1e-12)
    lap_xy = ops.laplacian(u, x, dims=[0, 1])
    torch.testing.assert_close(lap_xy[:, 0], 8 * b, rtol=0, atol=1e-12)


def test_partial_orders_time_derivative_divergence_jacobian():
    x = points(d=2)
    s, t = x[:, 0], x[:, 1]
    u = torch.stack([torch.exp(2 * s) * t, torch.sin(3 * t) + s**4], 1)
    torch.testing.assert_close(ops.partial(u, x, 0, order=3)[:, 0], 8 * torch.exp(2 * s) * t, rtol=1e-12, atol=0)
    torch.testing.assert_close(ops.partial(u, x, 0, order=4, component=1)[:, 0], torch.full_like(s, 24.0))
    torch.testing.assert_close(ops.time_derivative(u, x, order=2, component=1)[:, 0], -9 * torch.sin(3 * t))
    torch.testing.assert_close(ops.partial(u, x, 1, order=0, component=1)[:, 0], u[:, 1])
    div = ops.divergence(u, x)[:, 0]
    torch.testing.assert_close(div, 2 * torch.exp(2 * s) * t + 3 * torch.cos(3 * t))
    J = ops.jacobian(u, x)
    assert J.shape == (len(s), 2, 2)
    torch.testing.assert_close(J[:, 1, 0], 4 * s**3)


def test_gradcheck_of_laplacian_and_grad():
    x = points(n=5, d=2).detach().requires_grad_(True)

    def lap(x):
        u = (torch.sin(x[:, :1]) * x[:, 1:] ** 3)
        return ops.laplacian(u, x)

    def gr(x):
        u = torch.exp(x[:, :1] * x[:, 1:])
        return ops.grad(u, x)

    assert torch.autograd.gradcheck(lap, (x,))
    assert torch.autograd.gradcheck(gr, (x,))


def test_errors_are_clear():
    x = points(d=2)
    u = x[:, :1] ** 2
    with pytest.raises(IndexError, match="input dimension 5"):
        ops.partial(u, x, 5)
    with pytest.raises(IndexError, match="component 3"):
        ops.grad(u, x, component=3)
    with pytest.raises(ValueError, match="2 components"):
        ops.divergence(u, x)
    y = torch.rand(4, 2)
    with pytest.raises(NeedsInputGrad, match="requires_grad"):
        ops.grad(y[:, :1] * 2, y)


@pytest.mark.parametrize("activation", ["tanh", "sin", "silu"])
def test_mlp_jet_matches_autograd_through_input_scaling(activation):
    """Propagated derivatives w.r.t. physical coordinates equal autograd's (incl. mixed via fallback)."""
    torch.manual_seed(0)
    model = kp.MLP([3, 7, 5, 2], activation=activation, seed=1).double()
    sc = InputScaling([0.0, -2.0, 1.0], [2.0, 1.0, 4.0])
    x = points(d=3) * 1.0
    x = (x.detach() + 1.5).requires_grad_(True)
    u_ag = model(sc(x))
    T = model.forward_jet(seed_jet(sc(x), sc.scale(x), 2), 3, 2)
    u = T[0]
    torch.testing.assert_close(u, u_ag)
    with DerivativeContext(x, u, Jet(T, 3, 2)):
        for c in range(2):
            torch.testing.assert_close(ops.grad(u, x, c), ops.grad(u_ag, x, c), rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(ops.hessian(u, x, c), ops.hessian(u_ag, x, c), rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(ops.laplacian(u, x, c), ops.laplacian(u_ag, x, c), rtol=1e-10, atol=1e-12)


def test_context_without_autograd_refuses_what_the_jet_does_not_carry():
    """A planning context answers u's first and pure second derivatives and refuses the rest."""
    model = kp.MLP([2, 6, 1], seed=0).double()
    sc = InputScaling([0.0, 0.0], [1.0, 1.0])
    x = points(d=2).detach()
    T = model.forward_jet(seed_jet(sc(x), sc.scale(x), 2), 2, 2)
    u = T[0]
    with DerivativeContext(x, u, Jet(T, 2, 2), autograd=False):
        assert ops.laplacian(u, x).shape == (len(x), 1)
        assert ops.partial(u, x, 1, order=2).shape == (len(x), 1)
        for bad in (lambda: ops.grad(u * u, x), lambda: ops.hessian(u, x), lambda: ops.partial(u, x, 0, order=3)):
            with pytest.raises(NeedsAutograd):
                bad()


def test_no_attributes_ride_on_tensors():
    """Derivatives are looked up through the context, never stored on the tensors themselves."""
    x = points(d=2)
    u = (x ** 2).sum(1, keepdim=True)
    with DerivativeContext():
        ops.laplacian(u, x)
    assert not [a for a in vars(u) if "kp" in a] and not [a for a in vars(x) if "kp" in a]


def test_jet_path_and_autograd_path_give_the_same_training():
    prob = kp.get_problem("poisson2d")
    h = [kp.solve(prob, "mlp", widths=[2, 8, 1], epochs=20, optimizer="adam", derivatives=d, progress=False,
                  log_every=5, n_interior=64, n_boundary=32).history for d in ("jet", "autograd")]
    for a, b in zip(h[0].loss, h[1].loss):
        assert math.isclose(a, b, rel_tol=1e-9)
