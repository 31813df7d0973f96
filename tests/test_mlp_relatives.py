"""MLP relatives: B-spline-activation MLP, Fourier-feature MLP, adaptive-activation MLP."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.models import MODELS, build_model
from kanpde.models.bsmlp import BSMLP
from kanpde.models.jet import seed_jet
from kanpde.models.mlp import MLP

DT = torch.float64


def _x(n: int, d: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, d, dtype=DT, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _bsmlp(seed: int = 0) -> BSMLP:
    m = BSMLP([2, 6, 5, 1], grid=4, seed=seed).to(DT)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for c in m.coefs:
            c.copy_(torch.randn(c.shape, generator=gen, dtype=DT) * 0.3)
    return m


MODELS_UNDER_TEST = [
    ("bsmlp", _bsmlp),
    ("fourier", lambda: MLP([2, 6, 5, 1], seed=0, fourier_features=4, sigma=1.5).to(DT)),
    ("adaptive", lambda: MLP([2, 6, 5, 1], seed=0, adaptive=True).to(DT)),
    ("both", lambda: MLP([2, 6, 5, 1], activation="sin", seed=0, fourier_features=3, adaptive=True).to(DT)),
]


@pytest.mark.parametrize(("name", "make"), MODELS_UNDER_TEST, ids=[m[0] for m in MODELS_UNDER_TEST])
def test_jets_and_training_gradient_match_autograd(name, make):
    m = make()
    if name != "bsmlp" and m.slopes is not None:
        with torch.no_grad():
            m.slopes.mul_(1.3)  # away from the initial value, so the slope matters
    x = _x(30).requires_grad_(True)
    y = m(x)
    g = torch.autograd.grad(y.sum(), x, create_graph=True)[0]
    lap = sum(torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i] for i in range(2))
    ref = torch.autograd.grad((lap + y[:, 0]).square().mean() + g.square().mean(), list(m.parameters()))
    J = m.forward_jet(seed_jet(x.detach(), torch.ones(2, dtype=DT), 2), 2, 2)
    torch.testing.assert_close(J[0], y)
    torch.testing.assert_close(J[1:3, :, 0].t(), g)
    torch.testing.assert_close(J[3] + J[4], lap.unsqueeze(1))
    loss = (J[3, :, 0] + J[4, :, 0] + J[0, :, 0]).square().mean() + J[1:3].square().mean()
    for a, b in zip(ref, torch.autograd.grad(loss, list(m.parameters()))):
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-12)
    with torch.no_grad():
        d1 = (m(x + torch.tensor([1e-5, 0], dtype=DT)) - m(x - torch.tensor([1e-5, 0], dtype=DT))) / 2e-5
    torch.testing.assert_close(J[1], d1, rtol=1e-6, atol=1e-8)


def test_bsmlp_gradcheck_and_activation_closed_form():
    m = _bsmlp()
    x = _x(5).requires_grad_(True)
    assert torch.autograd.gradcheck(m, (x,))
    T = seed_jet(x.detach(), torch.ones(2, dtype=DT), 2).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda T: m.forward_jet(T, 2, 2), (T,))
    # the first hidden layer by hand: tanh(h) + sum_c coef[j, c] B_c(h) with scipy's B-splines
    from scipy.interpolate import BSpline

    h = m.layers[0](x).detach().numpy()
    knots = m.acts[0].knots[0].numpy()
    coef = m.coefs[0].detach().numpy()
    ref = np.stack([np.tanh(h[:, j]) + np.nan_to_num(BSpline(knots, coef[j], 3, extrapolate=False)(h[:, j]))
                    for j in range(6)], 1)
    out = torch.tanh(m.layers[0](x)) + torch.einsum("nwc,wc->nw", m.acts[0].values(m.layers[0](x)), m.coefs[0])
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-12, atol=1e-13)


def test_bsmlp_starts_as_the_tanh_mlp():
    x = _x(20)
    a, b = BSMLP([2, 7, 1], seed=3).to(DT), MLP([2, 7, 1], seed=3).to(DT)
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)


def test_fourier_features_are_the_documented_map():
    m = MLP([2, 5, 1], seed=0, fourier_features=3, sigma=2.0).to(DT)
    x = _x(10)
    B = m.fourier_matrix / (2 * math.pi)
    z = 2 * math.pi * x @ B.t()
    h = torch.tanh(torch.cat([torch.cos(z), torch.sin(z)], 1) @ m.layers[0].weight.t() + m.layers[0].bias)
    torch.testing.assert_close(m(x), m.layers[1](h))
    assert 0.5 < B.std().item() < 4.0  # N(0, sigma^2) with sigma = 2 (6 draws)
    assert not m.fourier_matrix.requires_grad and "fourier_matrix" in m.state_dict()
    again = MLP([2, 5, 1], seed=0, fourier_features=3, sigma=2.0).to(DT)
    assert torch.equal(again.fourier_matrix, m.fourier_matrix)
    assert not torch.equal(MLP([2, 5, 1], seed=1, fourier_features=3).fourier_matrix, m.fourier_matrix)


def test_adaptive_mlp_starts_as_the_plain_mlp_and_has_a_slope_per_layer():
    x = _x(10)
    a, p = MLP([2, 6, 6, 1], seed=2, adaptive=True).to(DT), MLP([2, 6, 6, 1], seed=2).to(DT)
    torch.testing.assert_close(a(x), p(x))
    assert a.slopes.shape == (2,) and torch.allclose(a.slopes, torch.full((2,), 0.1, dtype=DT))


def test_counts_by_hand():
    # MLP[2, 6, 5, 1] with 4 Fourier features: linear layers 8->6, 6->5, 5->1
    m = MLP([2, 6, 5, 1], fourier_features=4)
    assert m.count_params() == (8 * 6 + 6) + (6 * 5 + 5) + (5 * 1 + 1)  # 95
    # FLOPs: 2*8*6+6 + 2*6*5+5 + 2*5+1 = 178; tanh 5*(6+5) = 55; features 2*2*4 + 10*4 = 56
    assert m.count_flops() == 178 + 55 + 56
    a = MLP([2, 6, 5, 1], adaptive=True)
    assert a.count_params() == (2 * 6 + 6) + 35 + 6 + 2  # 61: one slope per hidden layer
    assert a.count_flops() == (2 * 2 * 6 + 6) + 65 + 11 + 55 + 11  # + 1 per hidden neuron for the slope
    b = BSMLP([2, 6, 5, 1], grid=5, k=3)
    assert b.count_params() == 18 + 35 + 6 + (6 + 5) * 8  # 147: G + k = 8 coefficients per hidden neuron
    edge = 9 * 3 * 5 + (27 * 9 - 15) // 2 + 2 * 5 + 3  # 262, as one B-spline KAN edge
    assert b.count_flops() == (30 + 65 + 11) + 11 * (5 + edge)


def test_registry_builds_every_relative_and_rejects_bad_arguments():
    for name in ("bsmlp", "ffmlp", "adaptive_mlp"):
        assert name in MODELS
        m = build_model(name, 2, 1, seed=0)
        assert m(torch.zeros(3, 2)).shape == (3, 1) and m.count_params() > 0
    assert build_model("ffmlp", 2, 1).fourier_features == 32 and build_model("adaptive_mlp", 2, 1).adaptive
    with pytest.raises(ValueError, match="fourier_features must be an integer >= 0"):
        MLP([2, 3, 1], fourier_features=-1)
    with pytest.raises(ValueError, match="sigma"):
        MLP([2, 3, 1], fourier_features=2, sigma=0.0)
    with pytest.raises(ValueError, match=r"grid \(number of intervals\) must be an integer >= 1"):
        BSMLP([2, 3, 1], grid=0)


def test_solve_routes_basis_and_relatives_through_build_model():
    s = kp.solve("exp_decay", model="kan", basis="chebyshev", degree=4, widths=[1, 3, 1], epochs=3, progress=False)
    assert s.model.config()["basis"] == "chebyshev" and s.model.grid == 4
    s = kp.solve("exp_decay", model="bsmlp", widths=[1, 4, 1], epochs=3, progress=False)
    assert s.n_params == s.model.count_params()
    s = kp.solve("exp_decay", model="mlp", fourier_features=4, sigma=2.0, widths=[1, 4, 1], epochs=3, progress=False)
    assert s.model.fourier_features == 4
