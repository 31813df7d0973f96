"""KAN bases: each against an independent closed form, jets against autograd and finite differences,
gradcheck, refinement, counts by hand, determinism and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.polynomial import chebyshev as npcheb
from numpy.polynomial import legendre as npleg
from scipy.special import eval_legendre

from kanpde.models.bases import BASES, make_basis
from kanpde.models.jet import seed_jet
from kanpde.models.kan import KAN

DT = torch.float64
FAMILY = [("bspline", {}), ("chebyshev", {"degree": 6}), ("legendre", {}), ("rbf", {"grid": 8}),
          ("fourier", {"degree": 3}),
          ("chebyshev", {"degree": 3, "input_map": "affine", "grid_range": (-3.0, 3.0)}),
          ("legendre", {"degree": 3, "input_map": "affine", "grid_range": (-3.0, 3.0)})]
IDS = [f"{b}-{kw.get('input_map', 'default')}" for b, kw in FAMILY]
#: RBFs evaluated on a window of their nearest centres (both layer paths), checked against autograd
WINDOWED = [("rbf", {"grid": 30}), ("rbf", {"grid": 30, "widths": (2, 1)})]
WIDS = ["rbf-G30", "rbf-G30-narrow"]


def _x(n: int, d: int = 1, seed: int = 0, span: float = 1.0) -> torch.Tensor:
    return (torch.rand(n, d, dtype=DT, generator=torch.Generator().manual_seed(seed)) * 2 - 1) * span


def _kan(basis: str, widths=(2, 12, 3, 1), seed: int = 0, **kw) -> KAN:
    """A KAN whose coefficients are O(1) (not the small initial noise), so every basis function matters."""
    m = KAN(list(widths), basis=basis, seed=seed, **kw).to(DT)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for layer in m.layers:
            layer.coef.copy_(torch.randn(layer.coef.shape, generator=gen, dtype=DT) * 0.3)
    return m


def _levels(basis, x: torch.Tensor, n: int = 4) -> np.ndarray:
    """Unpadded levels ``(n, N, n_basis)`` of a one-input basis."""
    return basis.levels(x.t().contiguous(), n)[0, :, :, 1 : basis.n_basis + 1].numpy()


# -- each basis against an independent closed form ------------------------------------------------
@pytest.mark.parametrize("degree", [1, 2, 7])
def test_chebyshev_matches_numpy(degree):
    b = make_basis("chebyshev", 1, degree=degree, input_map="affine").to(DT)  # t = x on [-1, 1]
    x = _x(200)
    lv = _levels(b, x)
    for c in range(degree + 1):
        e = np.eye(degree + 1)[c]
        for m in range(4):
            ref = npcheb.chebval(x[:, 0].numpy(), npcheb.chebder(e, m) if m else e)
            np.testing.assert_allclose(lv[m, :, c], ref, rtol=1e-12, atol=1e-10)
    # the default tanh map: T_c(tanh x) on a wider range
    xt = _x(200, span=3.0)
    ref = npcheb.chebvander(np.tanh(xt[:, 0].numpy()), degree)
    np.testing.assert_allclose(make_basis("chebyshev", 1, degree=degree).to(DT).values(xt)[:, 0].numpy(), ref,
                               rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("degree", [1, 4, 9])
def test_legendre_matches_scipy(degree):
    x = _x(200, span=2.5)
    t = np.tanh(x[:, 0].numpy())
    b = make_basis("legendre", 1, degree=degree).to(DT)
    ref = np.stack([eval_legendre(n, t) for n in range(degree + 1)], -1)
    np.testing.assert_allclose(b.values(x)[:, 0].numpy(), ref, rtol=1e-12, atol=1e-13)
    lv = _levels(make_basis("legendre", 1, degree=degree, input_map="affine").to(DT), _x(100))
    for c in range(degree + 1):
        for m in range(1, 4):
            ref = npleg.legval(_x(100)[:, 0].numpy(), npleg.legder(np.eye(degree + 1)[c], m))
            np.testing.assert_allclose(lv[m, :, c], ref, rtol=1e-12, atol=1e-10)


def test_affine_map_scales_derivatives():
    b = make_basis("legendre", 1, degree=4, input_map="affine", grid_range=(0.0, 4.0)).to(DT)
    x = _x(50) * 2 + 2  # in [0, 4]; t = x / 2 - 1
    lv = _levels(b, x)
    t = x[:, 0].numpy() / 2 - 1
    for m in range(4):
        ref = npleg.legval(t, npleg.legder(np.eye(5)[4], m)) * 0.5**m
        np.testing.assert_allclose(lv[m, :, 4], ref, rtol=1e-12, atol=1e-12)


def test_rbf_matches_direct_gaussians():
    b = make_basis("rbf", 1, grid=4, grid_range=(-2.0, 2.0)).to(DT)
    x = _x(100, span=3.0)
    xn, c, h = x[:, 0].numpy()[:, None], np.linspace(-2, 2, 5), 1.0
    u = (xn - c) / h
    ref = [np.exp(-u * u), -2 * u / h * np.exp(-u * u), (4 * u * u - 2) / h**2 * np.exp(-u * u),
           (12 * u - 8 * u**3) / h**3 * np.exp(-u * u)]
    lv = _levels(b, x)
    for m in range(4):
        np.testing.assert_allclose(lv[m], ref[m], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.values(x)[:, 0].numpy(), ref[0], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("grid", [10, 11, 30])
def test_rbf_window_matches_dense_gaussians_within_documented_tolerance(grid):
    """Past WINDOW centres only the nearest are evaluated: each level within 8e-14 max(1, |12u - 8u^3|) / h^m."""
    from kanpde.models.bases.rbf import WINDOW

    b = make_basis("rbf", 1, grid=grid, grid_range=(-2.0, 2.0)).to(DT)
    assert b.window == min(grid + 1, WINDOW) and WINDOW == 11
    x = _x(500, span=3.0)
    xn, c, h = x[:, 0].numpy()[:, None], np.linspace(-2, 2, grid + 1), 4 / grid
    u = (xn - c) / h
    e = np.exp(-u * u)
    ref = [e, -2 * u / h * e, (4 * u * u - 2) / h**2 * e, (12 * u - 8 * u**3) / h**3 * e]
    lv = _levels(b, x)
    tol = 8e-14 * np.maximum(1, np.abs(12 * u - 8 * u**3)) + 1e-14
    for m in range(4):
        assert (np.abs(lv[m] - ref[m]) * h**m <= tol).all(), m
    assert (np.abs(b.values(x)[:, 0].numpy() - ref[0]) <= tol).all()
    nonzero = (lv[0] != 0).sum(1)
    assert nonzero.max() == min(grid + 1, WINDOW)  # the window, wherever the point is
    if grid + 1 <= WINDOW:  # no window: the formula to rounding
        np.testing.assert_allclose(lv[3], ref[3], rtol=1e-12, atol=1e-12 / h**3)


def test_rbf_window_propagates_non_finite_inputs():
    """A diverged input gives NaN on every path instead of an out-of-range window index."""
    m = _kan("rbf", widths=(2, 3, 1), grid=30)
    x = torch.tensor([[float("nan"), 0.1], [float("inf"), 0.2], [0.3, 0.4]], dtype=DT)
    y = m(x)
    J = m.forward_jet(seed_jet(x, torch.ones(2, dtype=DT), 2), 2, 2)
    assert y[:2].isnan().all() and y[2].isfinite().all()
    assert J[:, :2].isnan().all() and J[:, 2].isfinite().all()


def test_fourier_matches_direct_sin_cos():
    b = make_basis("fourier", 1, degree=3, grid_range=(0.0, 2.0)).to(DT)
    x = _x(100) + 1  # in [0, 2]: t = x - 1
    t = x[:, 0].numpy()[:, None] - 1
    w = np.arange(1, 4) * np.pi / 2
    C, S = np.cos(w * t), np.sin(w * t)
    ref = [np.hstack([C, S]), np.hstack([-w * S, w * C]), np.hstack([-w**2 * C, -w**2 * S]),
           np.hstack([w**3 * S, -(w**3) * C])]
    lv = _levels(b, x)
    for m in range(4):
        np.testing.assert_allclose(lv[m], ref[m], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(BASES))
def test_levels_match_central_differences_of_values(name):
    """Level m + 1 is the derivative of level m (default options, the default input map)."""
    b = make_basis(name, 2).to(DT)
    x = _x(60, 2, span=1.2)
    hT = x.t().contiguous()
    lv = b.levels(hT, 4)[..., 1 : b.n_basis + 1]
    torch.testing.assert_close(lv[:, 0].transpose(0, 1), b.values(x), rtol=1e-12, atol=1e-13)
    eps = 1e-5
    for m in range(3):
        fd = (b.levels(hT + eps, 4)[:, m] - b.levels(hT - eps, 4)[:, m])[..., 1 : b.n_basis + 1] / (2 * eps)
        scale = lv[:, m + 1].abs().max().item() + 1
        assert (fd - lv[:, m + 1]).abs().max().item() < 1e-6 * scale, (name, m)


# -- the network on every basis -------------------------------------------------------------------------
@pytest.mark.parametrize(("basis", "kw"), FAMILY + WINDOWED, ids=IDS + WIDS)
@pytest.mark.parametrize("order", [1, 2])
def test_jets_match_autograd_and_finite_differences(basis, kw, order):
    m = _kan(basis, **kw)
    x = _x(40, 2, seed=3).requires_grad_(True)
    y = m(x)
    J = m.forward_jet(seed_jet(x.detach(), torch.ones(2, dtype=DT), order), 2, order)
    scale = y.abs().max().item() + 1
    torch.testing.assert_close(J[0], y, rtol=1e-12, atol=1e-12 * scale)
    g = torch.autograd.grad(y.sum(), x, create_graph=True)[0]
    torch.testing.assert_close(J[1:3, :, 0].t(), g, rtol=1e-10, atol=1e-10 * scale)
    if (basis, kw) in WINDOWED:  # Gaussians 1/15 wide: differences are too coarse, autograd decides
        if order == 2:
            h = [torch.autograd.grad(g[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(2)]
            torch.testing.assert_close(J[3:5, :, 0].t(), torch.stack(h, 1), rtol=1e-9, atol=1e-9 * scale)
        return
    for i in range(2):
        e = torch.zeros(2, dtype=DT)
        e[i] = 1.0
        with torch.no_grad():
            d1 = (m(x + 1e-6 * e) - m(x - 1e-6 * e)) / 2e-6
            d2 = (m(x + 1e-4 * e) - 2 * m(x) + m(x - 1e-4 * e)) / 1e-8
        torch.testing.assert_close(J[1 + i], d1, rtol=1e-5, atol=1e-5 * scale)
        if order == 2:
            h = torch.autograd.grad(g[:, i].sum(), x, retain_graph=True)[0][:, i]
            torch.testing.assert_close(J[3 + i, :, 0], h, rtol=1e-9, atol=1e-9 * scale)
            torch.testing.assert_close(J[3 + i], d2, rtol=1e-3, atol=1e-3 * scale)


@pytest.mark.parametrize(("basis", "kw"), FAMILY + WINDOWED, ids=IDS + WIDS)
def test_jet_training_gradient_matches_autograd(basis, kw):
    """The hand-written backward passes (dense and narrow-layer paths) give autograd's parameter gradient."""
    m = _kan(basis, **kw)
    x = _x(30, 2, seed=4).requires_grad_(True)
    y = m(x)
    g = torch.autograd.grad(y.sum(), x, create_graph=True)[0]
    lap = sum(torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i] for i in range(2))
    ref = torch.autograd.grad((lap + y[:, 0]).square().mean() + g.square().mean(), list(m.parameters()))
    J = m.forward_jet(seed_jet(x.detach(), torch.ones(2, dtype=DT), 2), 2, 2)
    loss = (J[3, :, 0] + J[4, :, 0] + J[0, :, 0]).square().mean() + J[1:3].square().mean()
    for a, b in zip(ref, torch.autograd.grad(loss, list(m.parameters()))):
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-9 * (a.abs().max().item() + 1e-12))


@pytest.mark.parametrize(("basis", "kw"), [("chebyshev", {}), ("legendre", {}), ("rbf", {}), ("rbf", {"grid": 16}),
                                          ("fourier", {})])
def test_gradcheck_forward_and_jet(basis, kw):
    m = _kan(basis, widths=(2, 3, 1), **kw)
    x = _x(6, 2, seed=5).requires_grad_(True)
    assert torch.autograd.gradcheck(m, (x,))
    T = seed_jet(x.detach(), torch.ones(2, dtype=DT), 2).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda T: m.forward_jet(T, 2, 2), (T,))
    coef = m.layers[1].coef.detach().clone().requires_grad_(True)

    assert torch.autograd.gradcheck(lambda c: _call_jet(m, c, T.detach()), (coef,))


def _call_jet(m: KAN, coef: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """The jet of ``m`` with layer 1's coefficients replaced by ``coef`` (a differentiable input)."""

    class Jet(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, T):
            return self.net.forward_jet(T, 2, 2)

    return torch.func.functional_call(Jet(m), {"net.layers.1.coef": coef}, (T,))


# -- refine, update_grid ------------------------------------------------------------------------------
@pytest.mark.parametrize(("basis", "kw", "new"), [("chebyshev", {"degree": 4}, 9), ("legendre", {}, 9),
                                                   ("fourier", {"degree": 2}, 5)])
def test_degree_elevation_is_exact(basis, kw, new):
    m = _kan(basis, **kw)
    x = _x(100, 2, span=1.5)
    fine = m.refine(new)
    assert fine.grid == new and m.grid == kw.get("degree", 7) and fine.layers[0].n_basis == m.layers[0].n_basis + \
        (new - m.grid) * (2 if basis == "fourier" else 1)
    torch.testing.assert_close(fine(x), m(x), rtol=1e-13, atol=1e-13)
    assert fine.count_params() > m.count_params()


@pytest.mark.parametrize("new_grid", [10, 20])
def test_rbf_refine_keeps_a_smooth_edge_within_documented_tolerance(new_grid):
    m = KAN([1, 1], basis="rbf", grid=5, seed=0).to(DT)
    with torch.no_grad():
        m.layers[0].coef[0, :, 0] = torch.sin(2 * m.layers[0].grid_points[0])
    x = torch.linspace(-1, 1, 401, dtype=DT).unsqueeze(1)
    y, fine = m(x), m.refine(new_grid)
    err = ((fine(x) - y).abs() / y.abs().max())[:, 0]
    assert fine.layers[0].n_basis == new_grid + 1
    assert err[100:301].max() < 5e-3 and err.max() < 0.1


@pytest.mark.parametrize("grid", [7, 20])
def test_rbf_update_grid_moves_centres_onto_the_samples(grid):
    m = _kan("rbf", widths=(2, 3, 1), grid=grid)
    x = _x(300, 2, seed=6) * 0.5 + 0.2  # in [-0.3, 0.7]
    y = m(x)
    m.update_grid(x)
    g = m.layers[0].grid_points
    torch.testing.assert_close(g[:, 0], x.min(0).values)
    torch.testing.assert_close(g[:, -1], x.max(0).values)
    assert ((m(x) - y).abs().max() / y.abs().max()).item() < 0.1  # the approximation error of a rough net


@pytest.mark.parametrize("basis", ["chebyshev", "legendre", "fourier"])
def test_update_grid_raises_for_bases_without_grid(basis):
    m = KAN([2, 3, 1], basis=basis, seed=0)
    with pytest.raises(ValueError, match=f"'{basis}' basis has no grid"):
        m.update_grid(torch.zeros(10, 2))


# -- sparsity, symbolic snapping, bookkeeping ------------------------------------------------------
@pytest.mark.parametrize("basis", ["chebyshev", "rbf", "fourier"])
def test_prune_regularization_and_symbolic_work_on_every_basis(basis):
    m = _kan(basis, widths=(2, 3, 1))
    with torch.no_grad():
        m.layers[1].coef[1].zero_()
        m.layers[1].base_weight[1] = 0
    x = _x(200, 2, seed=7)
    y = m(x)
    assert torch.isfinite(m.regularization()) and m.layers[0].recorded_input is not None
    small = m.prune(threshold=1e-6)
    assert small.widths == [2, 2, 1]
    torch.testing.assert_close(small(x), y, rtol=1e-12, atol=1e-12)
    m.layers[0].fix_symbolic(0, 0, "sin", (1.0, 0.5, 2.0, 0.1))
    J = m.forward_jet(seed_jet(x, torch.ones(2, dtype=DT), 2), 2, 2)
    torch.testing.assert_close(J[0], m(x))


def test_recorded_input_is_the_last_plain_input_detached():
    m = KAN([2, 3, 1], basis="legendre", seed=0)
    assert m.layers[0].recorded_input is None
    x = torch.rand(5, 2, requires_grad=True)
    m(x)
    r = m.layers[0].recorded_input
    assert torch.equal(r, x.detach()) and not r.requires_grad and m.layers[1].recorded_input.shape == (5, 3)


def test_counts_by_hand():
    # [2, 3, 1]: 9 edges; per edge n_basis + 2 parameters; FLOPs per edge as in each edge_flops docstring
    assert KAN([2, 3, 1], basis="chebyshev", degree=4).count_params() == 9 * 7
    assert KAN([2, 3, 1], basis="rbf", grid=8).count_params() == 9 * 11
    assert KAN([2, 3, 1], basis="fourier", degree=3).count_params() == 9 * 8
    silu = 4 * (2 + 3)  # base activation per layer input
    # chebyshev D=4, tanh: 5 + 3*3 + 2*5 + 3 = 27; legendre D=4, affine: 2 + 4*3 + 10 + 3 = 27
    assert KAN([2, 3, 1], basis="chebyshev", degree=4).count_flops() == 9 * 27 + silu
    assert KAN([2, 3, 1], basis="legendre", degree=4, input_map="affine").count_flops() == 9 * 27 + silu
    # rbf G=8: 10 * 9 + 3 = 93; fourier K=3: 2 + 33 + 12 + 3 = 50
    assert KAN([2, 3, 1], basis="rbf", grid=8).count_flops() == 9 * 93 + silu
    assert KAN([2, 3, 1], basis="fourier", degree=3).count_flops() == 9 * 50 + silu


@pytest.mark.parametrize("basis", ["chebyshev", "rbf", "fourier"])
def test_config_rebuilds_and_state_dict_roundtrips(basis):
    m = _kan(basis, widths=(2, 3, 1))
    if basis == "rbf":
        m.update_grid(_x(100, 2) * 0.5)
    m2 = KAN(**m.config()).to(DT)
    m2.load_state_dict(m.state_dict())
    x = _x(20, 2)
    torch.testing.assert_close(m2(x), m(x), rtol=0, atol=0)
    assert m2.config() == m.config() and m.config()["basis"] == basis


def test_seeded_determinism_and_dtype_moves():
    for basis in ("chebyshev", "rbf"):
        a, b = KAN([2, 4, 1], basis=basis, seed=3), KAN([2, 4, 1], basis=basis, seed=3)
        x = torch.rand(7, 2)
        assert torch.equal(a(x), b(x))
        a64 = a.to(DT)
        assert a64(x.to(DT)).dtype == DT and a64.to(torch.float32)(x).dtype == torch.float32


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"basis": "wavelet"}, r"unknown basis 'wavelet'; known: \['bspline', 'chebyshev', 'fourier', 'legendre', 'rbf'\]"),
    ({"basis": "chebyshev", "degree": 0}, "degree must be an integer >= 1, got 0"),
    ({"basis": "legendre", "degree": 2.5}, "degree must be an integer >= 1"),
    ({"basis": "rbf", "grid": 0}, r"grid \(number of intervals\) must be an integer >= 1, got 0"),
    ({"basis": "fourier", "degree": -1}, "must be an integer >= 1"),
    ({"basis": "chebyshev", "grid": 5}, r"basis 'chebyshev' takes no option\(s\) \['grid'\]"),
    ({"basis": "rbf", "k": 3}, r"basis 'rbf' takes no option\(s\) \['k'\]"),
    ({"basis": "chebyshev", "input_map": "sigmoid"}, r"unknown input_map 'sigmoid'; known: \['tanh', 'affine'\]"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KAN([2, 3, 1], **kwargs)


def test_refine_must_raise_the_resolution():
    m = KAN([2, 3, 1], basis="chebyshev", degree=4)
    with pytest.raises(ValueError, match="finer than the current degree=4, got 4"):
        m.refine(4)


@pytest.mark.parametrize("basis", sorted(BASES))
@pytest.mark.parametrize("order", [0, 1, 2])
def test_narrow_first_layer_jet_without_input_grad(basis, order):
    """The narrow-layer paths at every jet order, with an input jet that needs no gradient."""
    m = _kan(basis, widths=(2, 1))
    x = _x(20, 2, seed=8).requires_grad_(True)
    J = m.forward_jet(seed_jet(x.detach(), torch.ones(2, dtype=DT), order), 2, order)
    y = m(x)
    torch.testing.assert_close(J[0], y, rtol=1e-12, atol=1e-12)
    if order >= 1:
        g = torch.autograd.grad(y.sum(), x, create_graph=True)[0]
        torch.testing.assert_close(J[1:3, :, 0].t(), g, rtol=1e-10, atol=1e-10)
    if order == 2:
        h = torch.autograd.grad(g[:, 1].sum(), x)[0][:, 1]
        torch.testing.assert_close(J[4, :, 0], h, rtol=1e-9, atol=1e-9)
