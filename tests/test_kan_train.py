"""KAN through the trainer: accuracy, grid extension and updates, sparsity, save/load."""

import numpy as np
import pytest
import torch

import kanpde as kp


def test_small_kan_solves_exp_decay_to_1e_4():
    sol = kp.solve("exp_decay", model="kan", widths=[1, 1], grid=5, epochs=200, optimizer="lbfgs", seed=0,
                   progress=False)
    assert sol.n_params <= 20
    assert sol.history.rel_l2[-1] <= 1e-4


def test_grid_schedule_refines_and_lbfgs_restarts_cleanly():
    sol = kp.solve("poisson2d", model="kan", widths=[2, 4, 1], grid=3, epochs=30, optimizer="lbfgs",
                   grid_schedule={0: 3, 10: 6, 20: 12}, n_interior=200, n_boundary=64, seed=0, progress=False,
                   log_every=5)
    assert sol.model.grid == 12
    assert sol.n_params == 12 * (12 + 3 + 2)
    h = sol.history
    assert not h.diverged and np.isfinite(h.loss).all()
    assert h.rel_l2[-1] < h.rel_l2[0]


def test_grid_updates_during_adam_keep_training_finite():
    sol = kp.solve("poisson1d", model="kan", widths=[1, 3, 1], epochs=40, lr=1e-2, update_grid_every=10,
                   update_grid_until=30, seed=0, progress=False, log_every=10)
    assert not sol.history.diverged
    assert sol.history.rel_l2[-1] < sol.history.rel_l2[0]


def test_sparsity_penalty_is_a_named_loss_term():
    sol = kp.solve("poisson1d", model="kan", widths=[1, 3, 1], epochs=10, reg=1e-3, seed=0, progress=False,
                   log_every=5)
    assert "reg" in sol.history.terms and all(v > 0 for v in sol.history.terms["reg"])


def test_kan_jet_and_autograd_training_agree():
    kw = dict(widths=[2, 3, 1], epochs=6, optimizer="adam", seed=1, progress=False, log_every=2, n_interior=64,
              n_boundary=32)
    a = kp.solve("poisson2d", "kan", derivatives="jet", **kw).history.loss
    b = kp.solve("poisson2d", "kan", derivatives="autograd", **kw).history.loss
    np.testing.assert_allclose(a, b, rtol=1e-9)


def test_kan_save_load_after_refine(tmp_path):
    sol = kp.solve("exp_decay", "kan", widths=[1, 2, 1], grid=5, epochs=6, grid_schedule={0: 5, 3: 10},
                   optimizer="lbfgs",
                   progress=False)
    sol.save(tmp_path / "k.pt")
    back = kp.load(tmp_path / "k.pt")
    x = np.linspace(0, 2, 17)[:, None]
    assert np.array_equal(sol(x), back(x))
    assert back.model.grid == 10


def test_kan_with_wrong_input_size_is_refused():
    with pytest.raises(ValueError, match="takes 3 inputs"):
        kp.train(kp.get_problem("poisson2d"), kp.KAN([3, 2, 1]), kp.TrainConfig(epochs=1, progress=False))


def test_kan_construction_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    kp.KAN([2, 5, 1], seed=3).refine(10)
    assert torch.equal(state, torch.random.get_rng_state())


def test_kan_second_derivatives_match_finite_differences():
    """Propagated first and pure second derivatives vs central differences of the plain forward."""
    from kanpde.models.jet import seed_jet

    model = kp.KAN([2, 4, 1], grid=5, k=3, seed=2).double()
    x = torch.rand(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 1.6 - 0.8
    T = model.forward_jet(seed_jet(x, torch.ones(2, dtype=torch.float64), 2), 2, 2).detach()
    h = 1e-4
    with torch.no_grad():
        f0 = model(x)
        for i in range(2):
            e = torch.zeros(2, dtype=torch.float64)
            e[i] = h
            fp, fm = model(x + e), model(x - e)
            torch.testing.assert_close(T[1 + i], (fp - fm) / (2 * h), rtol=1e-6, atol=1e-6)
            torch.testing.assert_close(T[3 + i], (fp - 2 * f0 + fm) / h**2, rtol=1e-3, atol=1e-3)
