"""Periodic(hard=True): periodic (cos, sin) input features make u and its derivatives exactly periodic."""

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde import ops
from kanpde.derivatives import DerivativeContext
from kanpde.loss import InputScaling, ResidualLoss

DOM = kp.SpaceTime(kp.Interval(-1.0, 1.0), 0.0, 1.0)


def _problem(hard=True):
    def res(x, u):
        return ops.partial(u, x, 1) + ops.partial(u, x, 0)  # advection, period 2 in x

    return kp.Problem("adv", DOM, res, conditions=(kp.Periodic(0, hard=hard), kp.Initial(
        lambda x: torch.sin(math.pi * x[:, :1]))), exact=lambda x: torch.sin(math.pi * (x[:, :1] - x[:, 1:])),
        order=1, n_interior=256, n_initial=64, n_eval=256)


@pytest.mark.parametrize("name", ["mlp", "kan"])
def test_value_and_derivatives_are_exactly_periodic_for_random_weights(name):
    prob = _problem()
    assert prob.n_features == 3 and prob.periodic_dims == (0,)
    model = (kp.MLP([3, 9, 9, 1], seed=2) if name == "mlp" else kp.KAN([3, 5, 1], seed=2)).double()
    sc = InputScaling(*DOM.bbox, periodic=prob.periodic_dims)
    t = torch.rand(50, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    a = torch.cat([-torch.ones_like(t), t], 1).requires_grad_(True)
    b = torch.cat([torch.ones_like(t), t], 1).requires_grad_(True)
    ua, ub = model(sc(a)), model(sc(b))
    torch.testing.assert_close(ua, ub, rtol=0, atol=1e-13)
    with DerivativeContext():
        for order in (1, 2):
            torch.testing.assert_close(ops.partial(ua, a, 0, order), ops.partial(ub, b, 0, order), rtol=0, atol=1e-11)


def test_feature_jet_matches_autograd():
    sc = InputScaling([-1.0, 0.0], [1.0, 2.0], periodic=(0,))
    x = torch.rand(7, 2, dtype=torch.float64).requires_grad_(True)
    T = sc.jet(x.detach(), 2)
    z = sc(x)
    torch.testing.assert_close(T[0], z)
    for f in range(3):
        g = torch.autograd.grad(z[:, f].sum(), x, create_graph=True)[0]
        for k in range(2):
            torch.testing.assert_close(T[1 + k, :, f], g[:, k])
            h = torch.autograd.grad(g[:, k].sum(), x, retain_graph=True, allow_unused=True)[0]
            torch.testing.assert_close(T[3 + k, :, f], torch.zeros(7, dtype=torch.float64) if h is None else h[:, k])


def test_jet_and_autograd_paths_agree_with_periodic_features():
    prob = _problem()
    model = kp.KAN([3, 4, 1], seed=0).double()
    vals = []
    for mode in ("jet", "autograd"):
        loss = ResidualLoss(prob, derivatives=mode)
        loss.plan(model)
        loss.sample(0)
        vals.append(loss.terms(model))
    assert list(vals[0]) == ["pde", "initial"]  # the hard condition is no loss term
    for k in vals[0]:
        torch.testing.assert_close(vals[0][k], vals[1][k], rtol=1e-10, atol=0)


def test_training_and_save_load_with_hard_periodicity(tmp_path):
    prob = _problem()
    sol = kp.solve(prob, model="mlp", widths=[3, 16, 16, 1], epochs=300, lr=1e-2, progress=False)
    assert sol.history.rel_l2[-1] < 0.2
    x = np.c_[np.full(20, -1.0), np.linspace(0, 1, 20)]
    np.testing.assert_allclose(sol(x), sol(x + [2.0, 0.0]), atol=1e-12)
    sol.save(tmp_path / "p.pt")
    back = kp.load(tmp_path / "p.pt", problem=prob)
    np.testing.assert_allclose(back(x), sol(x), atol=0)


def test_a_model_sized_for_the_plain_coordinates_gets_a_clear_error():
    with pytest.raises(ValueError, match=r"has 3, 2 coordinates with \[0\] fed as \(cos, sin\)"):
        kp.train(_problem(), kp.MLP([2, 8, 1]), kp.TrainConfig(epochs=2, progress=False))


def test_formula_of_a_kan_with_periodic_features_is_periodic_in_x():
    sp = pytest.importorskip("sympy")
    sol = kp.solve(_problem(), model="kan", widths=[3, 2, 1], epochs=5, progress=False)
    f = kp.interpret.formula(sol, numeric="suggest")
    names = {str(s): s for s in f.free_symbols}
    assert set(names) == {"x", "t"}, names  # the physical coordinates, not the three model inputs
    g = sp.lambdify((names["x"], names["t"]), f, "numpy")
    pts = np.linspace(0.0, 1.0, 7)
    np.testing.assert_allclose(g(-1.0, pts), g(1.0, pts), atol=1e-9)  # periodic in x, as the network is
