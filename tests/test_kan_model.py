"""KAN model: evaluation against an independent reference, jets against autograd, grids, pruning."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

from kanpde.models.jet import seed_jet
from kanpde.models.kan import KAN

DT = torch.float64


def _silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def _reference_forward(model: KAN, x: torch.Tensor) -> np.ndarray:
    """The network evaluated edge by edge with scipy's B-splines (numpy, no torch kernels)."""
    h = x.detach().numpy().astype(np.float64)
    for layer in model.layers:
        t = layer.basis.knots.detach().numpy().astype(np.float64)
        coef = layer.coef.detach().numpy()
        wb, ws = layer.base_weight.detach().numpy(), layer.spline_scale.detach().numpy()
        mask = layer.edge_mask.numpy()
        out = np.zeros((h.shape[0], layer.out_features))
        for i in range(layer.in_features):
            basis = np.stack([np.nan_to_num(BSpline.basis_element(t[i, c : c + layer.basis.k + 2],
                                                                  extrapolate=False)(h[:, i]))
                              for c in range(layer.n_basis)], -1)
            for j in range(layer.out_features):
                phi = wb[i, j] * _silu(h[:, i]) + ws[i, j] * basis @ coef[i, :, j]
                out[:, j] += mask[i, j] * phi
        h = out
    return h


def _points(n: int, d: int = 2, seed: int = 0, span: float = 1.0) -> torch.Tensor:
    return (torch.rand(n, d, dtype=DT, generator=torch.Generator().manual_seed(seed)) * 2 - 1) * span


def _skewed(n: int = 400, d: int = 2, seed: int = 1) -> torch.Tensor:
    # a skewed sample so that adapted grids are clearly non-uniform
    return _points(n, d, seed) ** 3


def _adapted(model: KAN, seed: int = 1, grid_eps: float = 0.02) -> KAN:
    model.update_grid(_skewed(400, model.d_in, seed), grid_eps=grid_eps)
    return model


@pytest.fixture
def float64_default():
    """Build models directly in float64 (exact grids), restoring the default dtype afterwards."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def test_shapes_properties_and_param_count():
    m = KAN([2, 10, 1], grid=5, k=3, seed=0)
    assert (m.d_in, m.d_out, m.widths) == (2, 1, [2, 10, 1])
    assert m(torch.zeros(7, 2)).shape == (7, 1)
    assert m.count_params() == 300 == sum(p.numel() for p in m.parameters())
    assert m.layers[0].basis.uniform


@pytest.mark.parametrize("adapted", [False, True])
def test_forward_matches_scipy_reference(adapted):
    m = KAN([2, 5, 2, 1], grid=4, k=3, seed=3).to(DT)  # layers use the dense and the local evaluation
    if adapted:
        _adapted(m)
        assert not any(layer.basis.uniform for layer in m.layers)
    x = _points(64, span=1.3)  # also outside the grid range
    np.testing.assert_allclose(m(x).detach().numpy(), _reference_forward(m, x), rtol=1e-11, atol=1e-12)


def _jet_vs_autograd(m: KAN, x: torch.Tensor, order: int) -> None:
    d = x.shape[1]
    T = m.forward_jet(seed_jet(x, torch.ones(d, dtype=DT), order), d, order)
    xr = x.clone().requires_grad_(True)
    u = m(xr)
    torch.testing.assert_close(T[0], u, rtol=0, atol=1e-12)
    for j in range(m.d_out):
        (g,) = torch.autograd.grad(u[:, j].sum(), xr, create_graph=True)
        for a in range(d * (order >= 1)):
            torch.testing.assert_close(T[1 + a, :, j], g[:, a], rtol=0, atol=1e-10)
            if order == 2:
                (g2,) = torch.autograd.grad(g[:, a].sum(), xr, retain_graph=True)
                torch.testing.assert_close(T[1 + d + a, :, j], g2[:, a], rtol=0, atol=1e-10)


@pytest.mark.parametrize("adapted", [False, True])
@pytest.mark.parametrize("order", [0, 1, 2])
def test_forward_jet_matches_autograd(adapted, order):
    m = KAN([2, 5, 2, 1], grid=5, k=3, seed=1).to(DT)
    if adapted:
        _adapted(m)
    _jet_vs_autograd(m, _points(40, span=1.2), order)


@pytest.mark.parametrize("k", [1, 2])
def test_forward_jet_low_degree(k):
    m = KAN([3, 4, 2], grid=3, k=k, seed=2).to(DT)
    _jet_vs_autograd(m, _points(30, d=3, seed=4), 2)


@pytest.mark.parametrize("adapted", [False, True])
def test_gradcheck_forward_and_jet(adapted):
    m = KAN([2, 3, 2], grid=3, k=3, seed=5).to(DT)
    if adapted:
        _adapted(m)
    params = tuple(m.parameters())
    x = _points(6, seed=6).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, *p: m(x), (x, *params))
    assert torch.autograd.gradgradcheck(lambda x: m(x), (x,))
    T0 = seed_jet(_points(6, seed=7), torch.ones(2, dtype=DT), 2).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda T, *p: m.forward_jet(T, 2, 2), (T0, *params))


def test_jet_training_gradient_matches_autograd_pinn_loss():
    m = KAN([2, 6, 1], grid=5, k=3, seed=8).to(DT)
    x = _points(50, seed=9)
    T = m.forward_jet(seed_jet(x, torch.ones(2, dtype=DT), 2), 2, 2)
    loss_jet = ((T[3, :, 0] + T[4, :, 0] - 1.0) ** 2).mean()
    g_jet = torch.autograd.grad(loss_jet, tuple(m.parameters()))
    xr = x.clone().requires_grad_(True)
    u = m(xr)
    (g,) = torch.autograd.grad(u.sum(), xr, create_graph=True)
    lap = sum(torch.autograd.grad(g[:, a].sum(), xr, create_graph=True)[0][:, a] for a in range(2))
    g_ref = torch.autograd.grad(((lap - 1.0) ** 2).mean(), tuple(m.parameters()))
    for a, b in zip(g_jet, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def _smooth(model: KAN, seed: int = 0) -> KAN:
    """Give every edge a smooth spline: coefficients sampled from sinusoids at the Greville points.

    Freshly initialised edges are noise on the grid scale, the roughest splines there are; a grid
    change can keep a spline only up to its approximation error on the new grid, which is small
    for smooth edges such as trained ones.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.layers:
            t, k = layer.basis.knots.to(DT), layer.basis.k
            xi = torch.stack([t[:, c + 1 : c + k + 1].mean(1) for c in range(layer.n_basis)], 1)
            phase = torch.rand(layer.in_features, 1, layer.out_features, generator=gen, dtype=DT) * 6
            layer.coef.copy_(0.5 * torch.sin(2 * xi.unsqueeze(-1) + phase))
    return model


@pytest.mark.parametrize("grid_eps", [0.02, 1.0])
def test_update_grid_keeps_function(grid_eps):
    m = _smooth(KAN([2, 3], grid=5, k=3, seed=11).to(DT))
    x = _points(500, seed=12)
    before = m(x).detach()
    old_knots = m.layers[0].basis.knots.clone()
    m.update_grid(x, grid_eps=grid_eps)
    after = m(x).detach()
    assert (after - before).abs().max() <= 1e-3 * before.abs().max()
    g = m.layers[0].grid_points
    xs = x.sort(0).values
    torch.testing.assert_close(g[:, 0], xs[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(g[:, -1], xs[-1], rtol=0, atol=1e-12)
    median = xs[249:251].mean(0)  # the middle grid point is 98 % the sample median, 2 % the midpoint
    mid = grid_eps * (xs[0] + xs[-1]) / 2 + (1 - grid_eps) * median
    assert (g[:, 0] < g[:, 1]).all() and not torch.equal(old_knots, m.layers[0].basis.knots)
    if grid_eps == 1.0:
        assert m.layers[0].basis.uniform
    else:
        assert not m.layers[0].basis.uniform
        # G = 5 has no middle grid point; check the quantile positions instead
        q = torch.tensor([0.2, 0.4, 0.6, 0.8], dtype=DT) * 499
        lo = q.floor().long()
        quant = xs[lo] * (1 - (q - lo)).unsqueeze(1) + xs[lo + 1] * (q - lo).unsqueeze(1)
        unif = xs[0] + (xs[-1] - xs[0]) * torch.tensor([0.2, 0.4, 0.6, 0.8], dtype=DT).unsqueeze(1)
        torch.testing.assert_close(g[:, 1:-1].t(), 0.02 * unif + 0.98 * quant, rtol=0, atol=1e-12)
    del mid


def test_update_grid_exact_when_grid_does_not_move(float64_default):
    m = KAN([2, 3], grid=5, k=3, seed=30)
    x = torch.cat([_points(300, seed=31), torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=DT)])
    before = m(x).detach()
    m.update_grid(x, grid_eps=1.0)  # uniform over the sample range [-1, 1]: the same grid
    torch.testing.assert_close(m(x), before, rtol=0, atol=1e-12)


def test_update_grid_moves_hidden_grids_onto_their_inputs():
    m = _smooth(KAN([2, 5, 1], grid=5, k=3, seed=32).to(DT))
    x = _points(500, seed=33)
    before = m(x).detach()
    m.update_grid(x, grid_eps=1.0)
    h = m.layers[0](x).detach()
    g = m.layers[1].grid_points
    torch.testing.assert_close(g[:, 0], h.min(0).values, rtol=0, atol=1e-12)
    torch.testing.assert_close(g[:, -1], h.max(0).values, rtol=0, atol=1e-12)
    # hidden grids shrink onto a narrow range whose old knots are not new knots: the change is
    # the cubic-spline approximation error there, below 1 %
    assert (m(x).detach() - before).abs().max() <= 1e-2 * before.abs().max()


def test_update_grid_on_degenerate_sample_is_finite():
    m = KAN([2, 4, 1], grid=5, k=3, seed=13).to(DT)
    x = torch.full((30, 2), 0.3, dtype=DT)
    before = m(x).detach()
    m.update_grid(x)
    after = m(x).detach()
    assert all(torch.isfinite(p).all() for p in m.parameters())
    assert all(torch.isfinite(layer.basis.knots).all() for layer in m.layers)
    torch.testing.assert_close(after, before, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("adapted", [False, True])
@pytest.mark.parametrize("new_grid", [10, 20])
def test_refine_keeps_function(adapted, new_grid):
    m = KAN([2, 5, 1], grid=5, k=3, seed=14).to(DT)
    if adapted:
        _adapted(m)
    # refine keeps each edge on its grid range: evaluate where every layer's inputs lie inside it
    x = _skewed() if adapted else _points(400, seed=15)
    before = m(x).detach()
    fine = m.refine(new_grid)
    assert fine.grid == new_grid and fine.layers[0].n_basis == new_grid + 3
    assert fine.layers[0].basis.knots.dtype == DT and m.grid == 5
    rel = (fine(x).detach() - before).abs().max() / before.abs().max()
    assert rel <= 1e-4
    if not adapted:  # nested uniform spline spaces: exact to rounding
        assert rel <= 1e-10
    with pytest.raises(ValueError, match="grid"):
        fine.refine(new_grid)


def test_prune_removes_dead_node_and_keeps_outputs():
    m = KAN([2, 5, 1], grid=5, k=3, seed=16).to(DT)
    with torch.no_grad():
        for p in (m.layers[0].coef[:, :, 2], m.layers[0].base_weight[:, 2],
                  m.layers[1].coef[2], m.layers[1].base_weight[2]):
            p.zero_()
    x = _points(200, seed=17)
    y = m(x).detach()
    small = m.prune(threshold=1e-3)
    assert small.widths == [2, 4, 1]
    assert small.count_params() == m.count_params() - 3 * 10
    torch.testing.assert_close(small(x), y, rtol=0, atol=1e-13)


def test_prune_masks_weak_edge():
    m = KAN([2, 3, 1], grid=5, k=3, seed=18).to(DT)
    with torch.no_grad():
        m.layers[1].spline_scale[1, 0] = 1e-6
        m.layers[1].base_weight[1, 0] = 1e-6
    x = _points(200, seed=19)
    y = m(x).detach()
    h = m.layers[0](x)
    weak = m.layers[1].edge_values(h)[:, 1, 0].detach()
    small = m.prune(threshold=1e-3)
    # node 1 loses its only outgoing edge, so it goes as well
    assert small.widths == [2, 2, 1]
    torch.testing.assert_close(small(x)[:, 0], y[:, 0] - weak, rtol=0, atol=1e-13)
    m2 = KAN([2, 3, 2], grid=5, k=3, seed=18).to(DT)
    with torch.no_grad():
        m2.layers[1].spline_scale[1, 0] = 1e-6
        m2.layers[1].base_weight[1, 0] = 1e-6
    y2 = m2(x).detach()
    small2 = m2.prune(threshold=1e-3)  # node 1 keeps an outgoing edge: only the edge goes
    assert small2.widths == [2, 3, 2] and small2.layers[1].edge_mask[1, 0] == 0
    assert small2.count_params() == m2.count_params() - 10
    weak2 = m2.layers[1].edge_values(m2.layers[0](x))[:, 1, 0].detach()
    torch.testing.assert_close(small2(x)[:, 0], y2[:, 0] - weak2, rtol=0, atol=1e-13)
    torch.testing.assert_close(small2(x)[:, 1], y2[:, 1], rtol=0, atol=1e-13)


def test_regularization_matches_hand_computation():
    m = KAN([2, 3, 1], grid=5, k=3, seed=20).to(DT)
    with pytest.raises(ValueError, match="batch"):
        m.regularization()
    x = _points(100, seed=21)
    m(x)
    # independent edge values: each edge alone, through the reference evaluation of 1-edge KANs
    total = 0.0
    h = x.numpy()
    for layer in m.layers:
        mags = np.zeros((layer.in_features, layer.out_features))
        t = layer.basis.knots.numpy()
        for i in range(layer.in_features):
            basis = np.stack([np.nan_to_num(BSpline.basis_element(t[i, c : c + 5], extrapolate=False)(h[:, i]))
                              for c in range(layer.n_basis)], -1)
            for j in range(layer.out_features):
                phi = (layer.base_weight[i, j].item() * _silu(h[:, i])
                       + layer.spline_scale[i, j].item() * basis @ layer.coef[i, :, j].detach().numpy())
                mags[i, j] = np.abs(phi).mean()
        p = mags / mags.sum()
        total += 1.0 * mags.sum() + 2.0 * -(p * np.log(p)).sum()
        h = layer(torch.as_tensor(h)).detach().numpy()
    reg = m.regularization(lamb_l1=1.0, lamb_entropy=2.0)
    assert abs(reg.item() - total) <= 1e-10 * abs(total)
    reg.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters())


def test_seeded_init_is_deterministic_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b, c = KAN([2, 4, 1], seed=7), KAN([2, 4, 1], seed=7), KAN([2, 4, 1], seed=8)
    assert torch.equal(torch.random.get_rng_state(), state)
    for (n, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), n
    assert not torch.equal(a.layers[0].coef, c.layers[0].coef)
    coef = a.layers[0].coef
    assert 0.005 < coef.std().item() < 0.04  # N(0, (0.1 / G)^2) with G = 5
    bw = a.layers[0].base_weight
    assert bw.abs().max() <= 1 / np.sqrt(2) and torch.equal(a.layers[0].spline_scale, torch.ones(2, 4))


def test_unseeded_init_follows_the_global_generator():
    # like any torch module: torch.manual_seed makes an unseeded KAN repeatable, and it draws
    torch.manual_seed(0)
    a = KAN([2, 5, 1])
    torch.manual_seed(0)
    b = KAN([2, 5, 1])
    c = KAN([2, 5, 1])
    for (n, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), n
    assert not torch.equal(b.layers[0].coef, c.layers[0].coef)


def test_state_dict_roundtrip_restores_grids():
    m = KAN([2, 4, 1], grid=5, k=3, seed=22).to(DT)
    _adapted(m)
    m = m.refine(8)
    x = _points(50, seed=23)
    y = m(x).detach()
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    buf.seek(0)
    m2 = KAN(**m.config()).to(DT)
    m2(x)  # builds the cached (uniform) constants before the load
    m2.load_state_dict(torch.load(buf))
    assert not m2.layers[0].basis.uniform
    torch.testing.assert_close(m2(x), y, rtol=0, atol=0)
    for a, b in zip(m.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)


def test_dtype_moves_and_float32():
    m = KAN([2, 4, 1], seed=24).float()
    x32 = _points(20, seed=25).float()
    y32 = m(x32)
    assert y32.dtype == torch.float32
    T = m.forward_jet(seed_jet(x32, torch.ones(2), 2), 2, 2)
    assert T.dtype == torch.float32 and T.shape == (5, 20, 1)
    m64 = m.to(DT)
    assert m64.layers[0].basis.uniform  # a float32 uniform grid stays on the fast path
    torch.testing.assert_close(m64(x32.double()).float(), y32, rtol=1e-5, atol=1e-6)


def test_count_params_and_flops_by_hand():
    tiny = KAN([1, 1], grid=1, k=1, seed=0)
    # per edge: 9k(G + 1.5k) + 2G - 2.5k + 3 = 9 * 2.5 + 2 - 2.5 + 3 = 25; SiLU on 1 input: 4
    assert tiny.count_params() == 4 and tiny.count_flops() == 29
    m = KAN([2, 3, 1], grid=5, k=3, seed=0)
    # per edge 27 * 9.5 + 10 - 7.5 + 3 = 262; 9 edges; SiLU on 2 + 3 inputs
    assert m.count_params() == 9 * 10 and m.count_flops() == 9 * 262 + 4 * 5


@pytest.mark.parametrize("kwargs, match", [
    ({"widths": [2, 4, 1], "k": 0}, "k"),
    ({"widths": [2, 4, 1], "grid": 0}, "grid"),
    ({"widths": [2]}, "widths"),
    ({"widths": [2, 0, 1]}, "widths"),
    ({"widths": [2, -3, 1]}, "widths"),
    ({"widths": [2, 4, 1], "grid_range": (1.0, -1.0)}, "grid_range"),
    ({"widths": [2, 4, 1], "base_activation": "relu6"}, "base_activation"),
    ({"widths": [2, 4, 1], "grid_eps": 1.5}, "grid_eps"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KAN(**kwargs)


def test_bad_refine_and_jet_raise():
    m = KAN([2, 4, 1], grid=5)
    for g in (5, 3):
        with pytest.raises(ValueError, match=r"grid=5.*got " + str(g)):
            m.refine(g)
    with pytest.raises(ValueError, match="order"):
        m.forward_jet(torch.zeros(4, 3, 2), 2, 2)
