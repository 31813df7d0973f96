"""Every residual written with kp.ops trains with every model under the default settings.

Conservative forms differentiate products of u with its derivatives; the engine must then plan
the term on the autograd path (the KAN's forward jet is differentiable once only).  Each form is
checked against its expanded, non-conservative twin, computed independently.
"""

import math

import pytest
import torch

import kanpde as kp
from kanpde import ops
from kanpde.loss import ResidualLoss

BOX = kp.Box((0.0, 0.0), (1.0, 1.0))


def _models(d_in, d_out):
    return {"mlp": lambda: kp.MLP([d_in, 8, 8, d_out], seed=0), "kan": lambda: kp.KAN([d_in, 4, d_out], seed=0)}


def _pair_loss(conservative, expanded, domain, d_out, model):
    """Loss values of the two residual forms on the same points and weights."""
    out = []
    for res in (conservative, expanded):
        prob = kp.Problem("form", domain, res, d_out=d_out, n_interior=64)
        loss = ResidualLoss(prob)
        loss.plan(model)
        loss.sample(3)
        out.append((loss.paths["pde"], loss.terms(model)["pde"]))
    return out


@pytest.mark.parametrize("name", ["mlp", "kan"])
def test_nonlinear_diffusion_conservative_form(name):
    """div((1 + u^2) grad u) = (1 + u^2) lap u + 2 u |grad u|^2."""
    model = _models(2, 1)[name]().double()

    def cons(x, u):
        return ops.divergence((1 + u[:, :1] ** 2) * ops.grad(u, x, 0), x) + 1.0

    def expd(x, u):
        g = ops.grad(u, x, 0)
        return (1 + u**2) * ops.laplacian(u, x) + 2 * u * (g * g).sum(1, keepdim=True) + 1.0

    (pc, lc), (pe, le) = _pair_loss(cons, expd, BOX, 1, model)
    assert pc == "autograd" and pe == ("jet" if name == "kan" else "autograd")
    torch.testing.assert_close(lc, le, rtol=1e-10, atol=0)
    lc.backward()  # the gradient reaches the weights
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", ["mlp", "kan"])
def test_burgers_flux_form(name):
    """u_t + (u^2/2)_x - nu u_xx = u_t + u u_x - nu u_xx."""
    model = _models(2, 1)[name]().double()
    dom = kp.SpaceTime(kp.Interval(-1.0, 1.0), 0.0, 1.0)

    def cons(x, u):
        return ops.partial(u, x, 1) + ops.partial(u**2 / 2, x, 0) - 0.01 * ops.partial(u, x, 0, order=2)

    def expd(x, u):
        return ops.partial(u, x, 1) + u * ops.partial(u, x, 0) - 0.01 * ops.partial(u, x, 0, order=2)

    (pc, lc), (_, le) = _pair_loss(cons, expd, dom, 1, model)
    assert pc == "autograd"
    torch.testing.assert_close(lc, le, rtol=1e-10, atol=0)


@pytest.mark.parametrize("name", ["mlp", "kan"])
def test_coefficient_field_as_second_output(name):
    """div(a grad u) with a = u[:, 1:2] equals a lap u + grad a . grad u."""
    model = _models(2, 2)[name]().double()

    def cons(x, u):
        return ops.divergence(u[:, 1:2] * ops.grad(u, x, 0), x)

    def expd(x, u):
        return u[:, 1:2] * ops.laplacian(u, x, 0) + (ops.grad(u, x, 1) * ops.grad(u, x, 0)).sum(1, keepdim=True)

    (_, lc), (_, le) = _pair_loss(cons, expd, BOX, 2, model)
    torch.testing.assert_close(lc, le, rtol=1e-10, atol=0)


@pytest.mark.parametrize("name", ["mlp", "kan"])
def test_nonlinear_diffusion_trains_with_default_settings(name):
    """The reported failure: KAN + default derivatives on a conservative residual now trains."""
    prob = kp.Problem("nonlin_diff", BOX,
                      lambda x, u: ops.divergence((1 + u[:, :1] ** 2) * ops.grad(u, x, 0), x) + 1.0,
                      conditions=(kp.Dirichlet(0.0),), n_interior=128, n_boundary=64)
    model = kp.KAN([2, 4, 1], seed=0) if name == "kan" else kp.MLP([2, 8, 1], seed=0)
    sol = kp.train(prob, model, kp.TrainConfig(epochs=30, lr=1e-2, progress=False, log_every=10))
    assert math.isfinite(sol.history.loss[-1]) and sol.history.loss[-1] < sol.history.loss[0]


def test_mixed_derivative_with_kan_goes_through_autograd():
    """u_xy is not a propagated row: the term is planned on autograd and matches a closed form."""
    model = kp.KAN([2, 3, 1], seed=1).double()

    def res(x, u):
        return ops.hessian(u, x)[:, 0, 1]

    prob = kp.Problem("mixed", BOX, res, n_interior=16)
    loss = ResidualLoss(prob)
    assert loss.plan(model) == {"pde": "autograd"}
    loss.sample(0)
    value = loss.terms(model)["pde"]
    x = torch.rand(16, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(value) and value > 0
    # the same mixed derivative by central differences of the plain forward
    h = 1e-4
    f = lambda p: model(loss.scaling(p)).squeeze(1)
    e0, e1 = torch.tensor([h, 0.0], dtype=torch.float64), torch.tensor([0.0, h], dtype=torch.float64)
    fd = (f(x + e0 + e1) - f(x + e0 - e1) - f(x - e0 + e1) + f(x - e0 - e1)) / (4 * h * h)
    xg = x.clone().requires_grad_(True)
    with kp.DerivativeContext():
        ad = ops.hessian(model(loss.scaling(xg)), xg)[:, 0, 1]
    torch.testing.assert_close(ad, fd, rtol=1e-5, atol=1e-6)
