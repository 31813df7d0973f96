"""The speed paths of the KAN layer give the same numbers as a fresh evaluation and as autograd.

* the first layer keeps the features of its (parameter-free) input jet between steps at the same
  points: a repeated step, a step after an optimizer update, a changed grid and a changed input must
  all agree with a model that never saw the points (and with double-backward autograd);
* the windowed RBF evaluation agrees with the dense Gaussian closed form.
"""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

import kanpde as kp
from kanpde.models.jet import seed_jet

DT = torch.float64
BASES = ["bspline", "rbf", "chebyshev", "fourier"]


def _points(n: int, seed: int = 0, span: float = 1.0) -> torch.Tensor:
    return (torch.rand(n, 2, dtype=DT, generator=torch.Generator().manual_seed(seed)) * 2 - 1) * span


def _jet_and_grads(model: kp.KAN, T: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The output jet and the gradient of a Laplacian loss with respect to every parameter."""
    out = model.forward_jet(T, 2, 2)
    loss = ((out[3] + out[4] - 1.0) ** 2).mean() + (out[0] ** 2).mean()
    return out.detach(), list(torch.autograd.grad(loss, tuple(model.parameters())))


def _assert_same(a, b):
    (oa, ga), (ob, gb) = a, b
    assert torch.equal(oa, ob)
    for x, y in zip(ga, gb):
        assert torch.equal(x, y)


@pytest.mark.parametrize("basis,grid", [("bspline", 5), ("bspline", 20), ("bspline", 40), ("rbf", 7),
                                        ("rbf", 40), ("chebyshev", None), ("fourier", None)])
def test_repeated_jet_at_the_same_points_matches_a_fresh_model(basis, grid):
    kw = {} if grid is None else {"grid": grid}
    m = kp.KAN([2, 10, 1], basis=basis, seed=3, **kw).to(DT)
    T = seed_jet(_points(300), torch.full((2,), 1.3, dtype=DT), 2)
    fresh = _jet_and_grads(copy.deepcopy(m), T)
    first = _jet_and_grads(m, T)
    _assert_same(first, fresh)
    again = _jet_and_grads(m, T)  # the kept features, in the form made on this first reuse
    torch.testing.assert_close(again, first, rtol=1e-10, atol=1e-12)  # another path, to rounding
    _assert_same(_jet_and_grads(m, T), again)
    # after a parameter update the kept features are still those of the points: same as a fresh model
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.01 * torch.randn(p.shape, dtype=DT, generator=torch.Generator().manual_seed(p.numel())))
    fresh = copy.deepcopy(m)  # its copy of the kept features belongs to a copy of T: not used for T
    for _ in range(2):  # dense then, for many features, compressed: both from the same numbers
        torch.testing.assert_close(_jet_and_grads(m, T), _jet_and_grads(fresh, T), rtol=1e-10, atol=1e-12)


def test_changed_input_or_grid_is_not_served_from_the_kept_features():
    m = kp.KAN([2, 10, 1], basis="bspline", grid=5, seed=4).to(DT)
    x = _points(200, seed=5)
    T = seed_jet(x, torch.ones(2, dtype=DT), 2)
    before = _jet_and_grads(m, T)
    with torch.no_grad():
        T[0] *= 0.5  # the same tensor, changed in place
    ref = kp.KAN([2, 10, 1], basis="bspline", grid=5, seed=4).to(DT)
    _assert_same(_jet_and_grads(m, T), _jet_and_grads(ref, seed_jet(0.5 * x, torch.ones(2, dtype=DT), 2)))
    assert not torch.equal(_jet_and_grads(m, T)[0], before[0])
    # a grid moved in place (update_grid) must be seen by the next evaluation at the same points
    for model in (m, ref):
        model.update_grid(_points(400, seed=6) ** 3, grid_eps=0.1)
    _assert_same(_jet_and_grads(m, T), _jet_and_grads(ref, seed_jet(0.5 * x, torch.ones(2, dtype=DT), 2)))


@pytest.mark.parametrize("basis,grid", [(b, None) for b in BASES] + [("rbf", 40), ("bspline", 20)])
def test_jet_with_kept_features_matches_autograd(basis, grid):
    # rbf G=40 and bspline G=20: the first layer's features are kept sparse
    kw = {} if grid is None else {"grid": grid}
    m = kp.KAN([2, 6, 1], basis=basis, seed=8, **kw).to(DT)
    x = _points(60, seed=9)
    T = seed_jet(x, torch.ones(2, dtype=DT), 2)
    m.forward_jet(T, 2, 2)  # keep the first layer's features
    out, g_jet = _jet_and_grads(m, T)
    xr = x.clone().requires_grad_(True)
    u = m(xr)
    (g,) = torch.autograd.grad(u.sum(), xr, create_graph=True)
    lap = sum(torch.autograd.grad(g[:, a].sum(), xr, create_graph=True)[0][:, a] for a in range(2))
    torch.testing.assert_close(out[3, :, 0] + out[4, :, 0], lap.detach(), rtol=1e-10, atol=1e-10)
    loss = ((lap - 1.0) ** 2).mean() + (u[:, 0] ** 2).mean()
    for a, b in zip(g_jet, torch.autograd.grad(loss, tuple(m.parameters()))):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def test_pickled_layer_leaves_the_kept_features_behind():
    m = kp.KAN([2, 10, 1], grid=5, seed=1).to(DT)
    T = seed_jet(_points(1000), torch.ones(2, dtype=DT), 2)
    m.forward_jet(T, 2, 2)
    blob = pickle.dumps(m)
    # the first layer's kept feature jet alone is 5 x 1000 x 2 x 10 float64 numbers (800 kB); what is
    # pickled (the last inputs, which are views of the jets, and the knot tables) is less than that
    assert len(blob) < 5 * 1000 * 2 * 10 * 8
    back = pickle.loads(blob)
    torch.testing.assert_close(back.forward_jet(T, 2, 2), m.forward_jet(T, 2, 2), rtol=1e-12, atol=1e-14)
