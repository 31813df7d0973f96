"""Trainer, loss engine, solution save/load, and clear errors on bad input."""

import json
import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.loss import InputScaling, ResidualLoss


def test_mlp_solves_exp_decay():
    sol = kp.solve("exp_decay", model="mlp", epochs=2000, seed=0, progress=False)
    assert sol.history.rel_l2[-1] <= 1e-3
    x = np.linspace(0, 2, 50)[:, None]
    assert np.max(np.abs(sol(x)[:, 0] - np.exp(-x[:, 0]))) < 1e-2


def test_mlp_solves_poisson1d():
    sol = kp.solve("poisson1d", model="mlp", epochs=1500, seed=0, progress=False)
    assert sol.history.rel_l2[-1] <= 1e-2


def test_history_columns_and_wall_time_is_cumulative():
    sol = kp.solve("exp_decay", "mlp", widths=[1, 8, 1], epochs=60, log_every=20, progress=False)
    h = sol.history
    assert h.epoch == [0, 20, 40, 60]
    assert len(h.loss) == len(h.rel_l2) == len(h.max_err) == len(h.wall_time) == 4
    assert set(h.terms) == {"pde", "initial"}
    assert h.wall_time[0] == 0.0 and all(b > a for a, b in zip(h.wall_time, h.wall_time[1:]))
    assert h.n_params == sol.n_params == 8 + 8 + 8 + 1
    assert all(math.isfinite(r) and math.isfinite(m) for r, m in zip(h.rel_l2, h.max_err))
    assert h.rel_l2[-1] < h.rel_l2[0]
    d = h.to_dict()
    assert json.loads(json.dumps(d))["epoch"] == h.epoch
    assert kp.History.from_dict(d).rel_l2 == h.rel_l2


def test_history_csv_reads_back(tmp_path):
    pd = pytest.importorskip("pandas")
    sol = kp.solve("exp_decay", "mlp", widths=[1, 4, 1], epochs=10, log_every=5, progress=False)
    sol.history.to_csv(tmp_path / "h.csv")
    df = pd.read_csv(tmp_path / "h.csv")
    assert list(df["epoch"]) == [0, 5, 10]
    assert {"loss", "rel_l2", "max_err", "wall_time", "loss_pde", "loss_initial"} <= set(df.columns)
    assert sol.history.to_frame().shape[0] == 3


def test_same_seed_same_history_and_different_seed_differs():
    kw = dict(widths=[2, 8, 1], epochs=15, log_every=5, progress=False, n_interior=64, n_boundary=32)
    a = kp.solve("poisson2d", "mlp", seed=3, **kw).history
    b = kp.solve("poisson2d", "mlp", seed=3, **kw).history
    c = kp.solve("poisson2d", "mlp", seed=4, **kw).history
    assert a.loss == b.loss and a.rel_l2 == b.rel_l2
    assert a.loss != c.loss


def test_lbfgs_and_adam_then_lbfgs_train():
    a = kp.solve("exp_decay", "mlp", widths=[1, 16, 1], epochs=100, optimizer="lbfgs", progress=False)
    assert a.history.rel_l2[-1] < 1e-3
    b = kp.solve("exp_decay", "mlp", widths=[1, 16, 1], epochs=200, optimizer="adam+lbfgs", lbfgs_epochs=50,
                 lr=1e-2, progress=False)
    assert b.history.rel_l2[-1] < b.history.rel_l2[0] / 100


def test_user_defined_system_on_shifted_interval():
    """A 2-unknown ODE system on [1, 3], written with the public API only."""

    def residual(x, u):
        return (kp.ops.partial(u, x, 0, component=0) + u[:, 0:1],
                kp.ops.partial(u, x, 0, component=1) + 2 * u[:, 1:2])

    prob = kp.Problem("decay_pair", kp.Interval(1.0, 3.0), residual, (kp.Initial([1.0, 2.0]),),
                      exact=lambda x: torch.cat([torch.exp(-(x - 1)), 2 * torch.exp(-2 * (x - 1))], 1),
                      d_out=2, order=1, n_interior=64)
    sol = kp.train(prob, kp.MLP([1, 16, 16, 2], seed=0), kp.TrainConfig(epochs=300, optimizer="lbfgs", progress=False))
    assert sol.history.rel_l2[-1] < 1e-3
    assert sol(np.array([[1.0]])).shape == (1, 2)


def test_input_scaling_maps_the_bounding_box_to_the_unit_cube():
    sc = InputScaling(np.array([0.0, 2.0]), np.array([2.0, 6.0]))
    z = sc(torch.tensor([[0.0, 2.0], [2.0, 6.0], [1.0, 4.0]], dtype=torch.float64))
    torch.testing.assert_close(z, torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]], dtype=torch.float64))


def test_nan_guard_stops_and_keeps_last_good_weights():
    model = kp.MLP([1, 4, 1], seed=0)
    seen = {}

    def remember(epoch, m, hist):
        seen[epoch] = [p.detach().clone() for p in m.parameters()]

    with pytest.warns(RuntimeWarning, match="epoch"):
        sol = kp.train(kp.get_problem("exp_decay"), model, kp.TrainConfig(epochs=50, lr=1e200, log_every=1,
                       progress=False), callbacks=[remember])
    h = sol.history
    assert h.diverged and "epoch" in h.message and "restored" in h.message
    assert all(torch.isfinite(p).all() for p in sol.model.parameters())
    good = h.meta["restored_epoch"]
    assert good == max(h.meta["diverged_at"] - 2, 0)  # Adam: weights after e-1 already gave inf at epoch e
    for p, q in zip(sol.model.parameters(), seen[good]):
        assert torch.equal(p.detach(), q)
    assert math.isfinite(h.loss[-1]) and h.epoch[-1] == h.meta["diverged_at"]  # the last row: the returned weights


def test_callback_can_stop_training():
    sol = kp.solve("exp_decay", "mlp", widths=[1, 4, 1], epochs=100, log_every=10, progress=False,
                   callbacks=[lambda e, m, h: e >= 30])
    assert sol.history.epoch[-1] == 30


def test_save_and_load_round_trip(tmp_path):
    sol = kp.solve("poisson2d", "mlp", widths=[2, 8, 8, 1], epochs=10, progress=False, n_interior=64)
    path = tmp_path / "sol.pt"
    sol.save(path)
    back = kp.load(path)
    x = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    assert np.array_equal(sol(x), back(x))
    assert back.problem.name == "poisson2d" and back.config == sol.config
    assert back.history.rel_l2 == sol.history.rel_l2


def test_resampling_changes_points_and_still_trains():
    sol = kp.solve("poisson1d", "mlp", widths=[1, 16, 1], epochs=200, lr=1e-2, resample_every=10,
                   progress=False)
    assert sol.history.rel_l2[-1] < sol.history.rel_l2[0]


def test_loss_terms_are_named_and_weighted():
    prob = kp.get_problem("poisson2d")
    loss = ResidualLoss(prob, n_interior=32, n_boundary=16, weights={"dirichlet": 10.0})
    loss.sample(0)
    total, terms = loss(kp.MLP([2, 4, 1], seed=0).double())
    assert list(terms) == ["pde", "dirichlet"]
    assert math.isclose(total.item(), terms["pde"].item() + 10 * terms["dirichlet"].item(), rel_tol=1e-12)
    with pytest.raises(ValueError, match="unknown terms"):
        ResidualLoss(prob, weights={"bc": 1.0})


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize("widths, match", [([3, 8, 1], "takes 3 inputs"), ([2, 8, 2], "gives 2 outputs")])
def test_model_size_mismatch_is_reported_before_training(widths, match):
    with pytest.raises(ValueError, match=match):
        kp.train(kp.get_problem("poisson2d"), kp.MLP(widths), kp.TrainConfig(epochs=1, progress=False))


def test_plain_module_with_wrong_input_size_is_reported():
    with pytest.raises(ValueError, match="failed on a \\(2, 2\\) input"):
        kp.train(kp.get_problem("poisson2d"), torch.nn.Linear(3, 1), kp.TrainConfig(epochs=1, progress=False))


@pytest.mark.parametrize("kw, match", [
    ({"optimizer": "sgd"}, "unknown optimizer 'sgd'; known"),
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"epochs": -5}, "epochs must be a positive integer"),
    ({"n_interior": 0}, "n_interior must be a positive integer"),
    ({"n_boundary": -1}, "n_boundary must be a positive integer"),
    ({"dtype": "float16"}, "unknown dtype"),
    ({"schedule": "linear"}, "unknown schedule"),
    ({"sampling": "halton"}, "unknown sampling method"),
])
def test_bad_config_values(kw, match):
    with pytest.raises(ValueError, match=match):
        kp.TrainConfig(**kw)


def test_unknown_activation_and_bad_widths():
    with pytest.raises(ValueError, match="unknown activation 'relu6'; known"):
        kp.MLP([1, 4, 1], activation="relu6")
    with pytest.raises(ValueError, match="widths"):
        kp.MLP([1])


def test_geometry_with_lower_above_upper_bound():
    with pytest.raises(ValueError, match="dimension 1 has lo=2.0 >= hi=1.0"):
        kp.Box([0.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="lo=3.0 >= hi=1.0"):
        kp.Interval(3.0, 1.0)


def test_unknown_problem_and_model_list_the_known_names():
    with pytest.raises(ValueError, match="exp_decay"):
        kp.get_problem("no_such_problem")
    with pytest.raises(ValueError, match="known: \\[.*'kan', 'mlp'\\]"):
        kp.solve("exp_decay", model="transformer")
    with pytest.raises(TypeError, match="unknown argument"):
        kp.solve("exp_decay", model="mlp", epochz=3)


def test_kan_options_on_an_mlp_are_refused():
    with pytest.raises(ValueError, match="GridSchedule needs a model with .refine"):
        kp.solve("exp_decay", "mlp", epochs=5, grid_schedule={0: 5, 2: 10}, progress=False)


def test_thread_setting_is_restored_after_the_run():
    before = torch.get_num_threads()
    kp.solve("exp_decay", "mlp", widths=[1, 4, 1], epochs=3, threads=1 if before != 1 else 2, progress=False)
    assert torch.get_num_threads() == before


def test_lbfgs_with_resampling_restarts_on_the_new_points():
    prob = kp.get_problem("poisson1d")
    sol = kp.solve(prob, "mlp", widths=[1, 16, 1], epochs=120, optimizer="lbfgs", resample_every=40,
                   n_interior=32, log_every=20, progress=False)
    assert not sol.history.diverged
    assert sol.history.rel_l2[-1] < 1e-2


def test_resampling_drops_lbfgs_state_built_on_the_old_points():
    from kanpde.train import Run

    cfg = kp.TrainConfig(epochs=5, optimizer="lbfgs", progress=False, n_interior=16)
    run = Run(kp.get_problem("poisson1d"), kp.MLP([1, 4, 1], seed=0), cfg, ())
    run.step()
    run.step()
    assert run._closure_cache is not None and run.opt.state
    x_old = run.loss.points()["pde"].copy()
    run.resample()
    assert not np.array_equal(x_old, run.loss.points()["pde"])
    assert run._closure_cache is None and not run.opt.state


def test_auto_derivatives_take_each_models_faster_path():
    prob = kp.get_problem("poisson2d")
    mlp, kan = kp.MLP([2, 4, 1]), kp.KAN([2, 2, 1])
    def paths(model, **kw):
        return set(ResidualLoss(prob, **kw).plan(model.double()).values())

    assert paths(mlp) == {"autograd"} and paths(kan) == {"jet"}
    assert paths(mlp, derivatives="jet") == {"jet"}
    assert paths(kan, derivatives="autograd") == {"autograd"}
    with pytest.raises(ValueError, match="forward_jet"):
        paths(torch.nn.Linear(2, 1), derivatives="jet")


@pytest.mark.parametrize("model", ["mlp", "kan"])
@pytest.mark.parametrize("derivatives", ["auto", "jet", "autograd"])
def test_derivatives_of_tensors_derived_from_u_are_exact(model, derivatives):
    """A residual may slice u or build u**2 before differentiating; both paths must stay exact."""
    seen = {}

    def residual(x, u):
        seen["slice"] = kp.ops.partial(u[:, 1:2], x, 0)
        seen["comp"] = kp.ops.partial(u, x, 0, component=1)
        seen["square"] = kp.ops.partial(u**2, x, 0, component=0)
        seen["u0"], seen["du0"] = u[:, :1], kp.ops.partial(u, x, 0, component=0)
        return seen["slice"] - seen["comp"]

    prob = kp.Problem("derived", kp.Interval(0.0, 1.0), residual, d_out=2, order=1, n_interior=16)
    net = kp.MLP([1, 8, 2], seed=0) if model == "mlp" else kp.KAN([1, 4, 2], seed=0)
    loss = ResidualLoss(prob, derivatives=derivatives)
    loss.sample(0)
    loss(net.double())
    assert seen["comp"].abs().max() > 1e-3
    torch.testing.assert_close(seen["slice"], seen["comp"], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(seen["square"], 2 * seen["u0"] * seen["du0"], rtol=1e-12, atol=1e-14)


def test_nan_guard_with_lbfgs_restores_the_last_finite_weights():
    """The residual turns NaN once u < -0.5 somewhere, and the data pull u towards -1."""

    def residual(x, u):
        return kp.ops.partial(u, x, 0) + (u + 1.0) + 0 * torch.log(u + 0.5)

    prob = kp.Problem("nan_trap", kp.Interval(0.0, 1.0), residual, order=1, n_interior=32)
    seen = {}

    def remember(epoch, m, hist):
        seen[epoch] = [p.detach().clone() for p in m.parameters()]

    with pytest.warns(RuntimeWarning, match="non-finite"):
        sol = kp.train(prob, kp.MLP([1, 8, 1], seed=0), kp.TrainConfig(epochs=50, optimizer="lbfgs", log_every=1,
                       progress=False), callbacks=[remember])
    h = sol.history
    assert h.diverged
    good = h.meta["restored_epoch"]
    assert good >= h.meta["diverged_at"] - 2
    for p, q in zip(sol.model.parameters(), seen[good]):
        assert torch.equal(p.detach(), q)
    assert all(torch.isfinite(p).all() for p in sol.model.parameters())


def test_logged_loss_and_error_belong_to_the_same_weights():
    h = kp.solve("exp_decay", "mlp", widths=[1, 8, 1], epochs=3, log_every=1, lr=1e-2, progress=False).history
    assert len(set(h.loss)) == len(h.loss)  # no row repeats the previous weights' loss


def test_a_budgets_lbfgs_share_follows_the_users_epochs():
    sol = kp.solve("burgers1d", widths=[2, 4, 1], epochs=12, n_interior=32, n_boundary=8, n_initial=8,
                   progress=False)
    budget = kp.get_problem("burgers1d").budget
    assert sol.config.lbfgs_epochs == round(budget["lbfgs_epochs"] / budget["epochs"] * 12)
    kp.TrainConfig(epochs=10, optimizer="adam", lbfgs_epochs=2500)  # irrelevant outside adam+lbfgs


def test_vector_exact_solution_given_as_a_tuple():
    prob = kp.Problem("pair", kp.Interval(0.0, 1.0), None, (kp.Data([[0.5]], [[1.0, 2.0]]),),
                      exact=lambda x: (x[:, 0], 2 * x[:, 0]), d_out=2, order=0)
    np.testing.assert_allclose(prob.truth(np.array([[0.1], [0.2], [0.3]])), [[0.1, 0.2], [0.2, 0.4], [0.3, 0.6]])


def test_grid_schedule_that_coarsens_is_refused_before_training():
    with pytest.raises(ValueError, match="may only grow"):
        kp.solve("exp_decay", model="kan", widths=[1, 1], grid=6, epochs=20, grid_schedule={10: 4}, progress=False)


def test_grid_changes_keep_the_learning_rate_schedule_going():
    from kanpde.train import Run

    lrs = {}

    cfg = kp.TrainConfig(epochs=40, lr=1e-2, schedule="cosine", update_grid_every=10, progress=False,
                         n_interior=32)
    run = Run(kp.get_problem("poisson1d"), kp.KAN([1, 3, 1], seed=0), cfg, ())
    for epoch in range(1, 31):
        run.epoch = epoch - 1
        run.before_step()
        lrs[epoch] = run.opt.param_groups[0]["lr"]
        run.step()
    assert lrs[21] < lrs[11] < lrs[9] < 1e-2  # no jump back to the initial rate at a grid update
