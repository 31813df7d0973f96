"""B-spline bases against scipy.interpolate.BSpline, and the least-squares spline fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

from kanpde.models.bspline import (
    bspline_basis,
    bspline_derivatives,
    extend_grid,
    interval_polynomials,
    is_uniform,
    spline_fit,
    uniform_bspline_derivatives,
    uniform_grid,
)

G = 5


def _grid(kind: str, n_features: int = 2, seed: int = 0) -> torch.Tensor:
    if kind == "uniform":
        return uniform_grid(n_features, G, -1.0, 1.0)
    rng = np.random.default_rng(seed)
    gaps = rng.uniform(0.2, 1.0, size=(n_features, G))  # random, well separated knots
    pts = np.concatenate([np.zeros((n_features, 1)), np.cumsum(gaps, 1)], 1)
    return torch.tensor(pts * 2 / pts[:, -1:] - 1 + rng.uniform(-0.3, 0.3, (n_features, 1)))


def _scipy_basis(x: np.ndarray, t: np.ndarray, k: int, nu: int) -> np.ndarray:
    """Every basis function (or its nu-th derivative) on knots t at x, zero outside its support."""
    cols = []
    for i in range(len(t) - k - 1):
        b = BSpline.basis_element(t[i : i + k + 2], extrapolate=False)
        cols.append(np.nan_to_num(b(x, nu=nu), nan=0.0))
    return np.stack(cols, -1)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("kind", ["uniform", "random"])
def test_cox_de_boor_matches_scipy(k, kind):
    knots = extend_grid(_grid(kind), k)
    lo, hi = knots[:, 0].min().item() - 0.2, knots[:, -1].max().item() + 0.2
    x = torch.rand(400, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(k)) * (hi - lo) + lo
    D = bspline_derivatives(x, knots, k, 2)
    assert D.shape == (3, 400, 2, G + k)
    for i in range(2):
        for nu in range(3):
            ref = _scipy_basis(x[:, i].numpy(), knots[i].numpy(), k, nu)
            scale = 1.0 + np.abs(ref).max()
            np.testing.assert_allclose(D[nu, :, i].numpy(), ref, rtol=0, atol=1e-12 * scale)
    torch.testing.assert_close(bspline_basis(x, knots, k), D[0], rtol=0, atol=0)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_uniform_closed_form_matches_scipy(k):
    knots = extend_grid(uniform_grid(3, G, -1.0, 1.0), k)
    # include points beyond the extended knots, where every basis vanishes
    x = torch.rand(500, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(10 + k)) * 5.0 - 2.5
    step = 2.0 / G
    U = uniform_bspline_derivatives(x, knots[:, 0], step, G + k, k, 2)
    for i in range(3):
        for nu in range(3):
            ref = _scipy_basis(x[:, i].numpy(), knots[i].numpy(), k, nu)
            scale = 1.0 + np.abs(ref).max()
            np.testing.assert_allclose(U[nu, :, i].numpy(), ref, rtol=0, atol=1e-12 * scale)
    outside = (x < knots[:, 0]) | (x >= knots[:, -1])
    assert outside.any() and (U.abs().sum(-1)[:, outside] == 0).all()


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("kind", ["uniform", "random"])
def test_partition_of_unity_inside_grid(k, kind):
    g = _grid(kind, 3, seed=5)
    knots = extend_grid(g, k)
    u = torch.rand(300, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x = g[:, 0] + u * (g[:, -1] - g[:, 0])
    D = bspline_derivatives(x, knots, k, 2)
    torch.testing.assert_close(D[0].sum(-1), torch.ones(300, 3, dtype=torch.float64), rtol=0, atol=1e-13)
    assert D[1].sum(-1).abs().max() < 1e-11 and D[2].sum(-1).abs().max() < 1e-9
    if kind == "uniform":
        U = uniform_bspline_derivatives(x, knots[:, 0], 2.0 / G, G + k, k, 0)[0]
        torch.testing.assert_close(U.sum(-1), torch.ones(300, 3, dtype=torch.float64), rtol=0, atol=1e-13)


def test_autograd_through_basis_gives_derivative_rows():
    knots = extend_grid(_grid("random", 1, seed=3), 3)
    x = torch.linspace(-0.9, 0.9, 37, dtype=torch.float64).unsqueeze(1).requires_grad_(True)
    D = bspline_derivatives(x.detach(), knots, 3, 2)
    w = torch.arange(1.0, G + 4, dtype=torch.float64)
    f = (bspline_basis(x, knots, 3) * w).sum()
    (g,) = torch.autograd.grad(f, x, create_graph=True)
    (g2,) = torch.autograd.grad(g.sum(), x)
    torch.testing.assert_close(g[:, 0], (D[1, :, 0] * w).sum(-1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g2[:, 0], (D[2, :, 0] * w).sum(-1), rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("kind", ["uniform", "random"])
def test_interval_polynomials_reproduce_bases(kind):
    k = 3
    knots = extend_grid(_grid(kind, 2, seed=7), k)
    C = interval_polynomials(knots, k, 3)
    x = torch.rand(200, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    x = knots[:, 0] + x * (knots[:, -1] - knots[:, 0]) * 0.999
    D = bspline_derivatives(x, knots, k, 3)
    j = torch.searchsorted(knots.contiguous(), x.t().contiguous(), right=True) - 1  # (I, N)
    for i in range(2):
        jj = j[i]
        tau = (x[:, i] - knots[i, jj]) / (knots[i, jj + 1] - knots[i, jj])
        vals = torch.einsum("nvpr,np->nvr", C[i, jj], tau.unsqueeze(1) ** torch.arange(k + 1))
        b = jj.unsqueeze(1) - k + torch.arange(k + 1)
        ok = (b >= 0) & (b < G + k)
        ref = D[:, torch.arange(200).unsqueeze(1), i, b.clamp(0, G + k - 1)].permute(1, 0, 2)
        torch.testing.assert_close(vals * ok.unsqueeze(1), ref * ok.unsqueeze(1), rtol=1e-11, atol=1e-10)


def test_extend_grid_and_uniformity():
    g = uniform_grid(2, 4, -1.0, 1.0)
    knots = extend_grid(g, 2)
    expected = torch.linspace(-2.0, 2.0, 9, dtype=torch.float64)
    torch.testing.assert_close(knots, expected.expand(2, 9))
    assert is_uniform(knots) and not is_uniform(extend_grid(_grid("random"), 2))
    with pytest.raises(ValueError, match="k"):
        extend_grid(g, 0)
    with pytest.raises(ValueError, match="grid"):
        uniform_grid(2, 0, -1.0, 1.0)


def test_spline_fit_recovers_coefficients():
    knots = extend_grid(_grid("random", 2, seed=9), 3)
    gen = torch.Generator().manual_seed(4)
    coef = torch.randn(2, G + 3, 3, dtype=torch.float64, generator=gen)
    x = knots[:, 3] + torch.rand(500, 2, dtype=torch.float64, generator=gen) * (knots[:, G + 3] - knots[:, 3])
    A = bspline_basis(x, knots, 3).transpose(0, 1)  # (I, N, nb)
    fitted = spline_fit(A, A @ coef)
    torch.testing.assert_close(fitted, coef, rtol=0, atol=1e-6)
    torch.testing.assert_close(A @ fitted, A @ coef, rtol=0, atol=1e-10)


def test_spline_fit_degenerate_sample_is_finite():
    knots = extend_grid(uniform_grid(1, G, -1.0, 1.0), 3)
    x = torch.full((50, 1), 0.05, dtype=torch.float64)  # one point repeated: rank one design
    x2 = torch.linspace(0.01, 0.15, 50, dtype=torch.float64).unsqueeze(1)  # all inside one interval
    for pts in (x, x2):
        A = bspline_basis(pts, knots, 3).transpose(0, 1)
        Y = torch.sin(pts).t().unsqueeze(-1)
        c = spline_fit(A, Y)
        assert torch.isfinite(c).all()
        torch.testing.assert_close(A @ c, Y, rtol=0, atol=1e-6)
    empty = spline_fit(torch.zeros(1, 10, G + 3, dtype=torch.float64), torch.ones(1, 10, 1, dtype=torch.float64))
    assert torch.isfinite(empty).all() and (empty == 0).all()
