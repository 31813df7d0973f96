"""Training methods: each does what its paper's formula says, deterministically, with jets and autograd."""

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.train import Run


def _heat():
    def res(x, u):
        return kp.ops.partial(u, x, 1) - 0.1 * kp.ops.partial(u, x, 0, order=2)

    ex = lambda x: torch.exp(-0.1 * math.pi**2 * x[:, 1:]) * torch.sin(math.pi * x[:, :1])  # noqa: E731
    return kp.Problem("heat", kp.SpaceTime(kp.Interval(0.0, 1.0), 0.0, 1.0), res,
                      conditions=(kp.Dirichlet(0.0), kp.Initial(lambda x: torch.sin(math.pi * x[:, :1]))), exact=ex,
                      n_interior=64, n_boundary=32, n_initial=32, n_eval=256)


def _run(methods, model=None, **kw):
    cfg = kp.TrainConfig(epochs=10, optimizer="adam", lr=1e-2, progress=False, methods=methods, **kw)
    return Run(_heat(), model or kp.MLP([2, 8, 1], seed=0), cfg, ())


def test_rad_draws_points_with_the_residual_density(monkeypatch):
    """With a known residual |r| = x (on [0,1]^2), RAD with k=1, c=0 samples x with density 2x."""
    run = _run([kp.methods.RAD(every=1, k=1.0, c=0.0, pool_factor=20)], n_interior=2000)
    monkeypatch.setattr(run.loss, "residuals_at", lambda model, name, x: x[:, :1].copy())
    run.epoch = 1
    run.before_step()
    x = run.loss.points()["pde"][:, 0]
    assert len(x) == 2000
    # E[x] under density 2x is 2/3; uniform would give 1/2
    assert abs(x.mean() - 2 / 3) < 0.02


def test_rar_adds_the_worst_points():
    run = _run([kp.methods.RAR(every=1, add=5)])
    worst = np.array([[0.5, 0.5]])

    def fake(model, name, x):
        r = -np.abs(x - worst).sum(1, keepdims=True)
        return r - r.min()  # largest at the pool point closest to (0.5, 0.5)

    run.loss.residuals_at = fake
    n0 = len(run.loss.points()["pde"])
    run.epoch = 1
    run.before_step()
    pts = run.loss.points()["pde"]
    assert len(pts) == n0 + 5
    assert np.abs(pts[-5:] - worst).sum(1).max() < 0.2


def test_lra_weight_update_matches_the_formula():
    run = _run([kp.methods.LRA(every=1, alpha=0.5)])
    params = [p for p in run.model.parameters() if p.requires_grad]
    terms = run.loss.terms(run.model)
    g = {k: torch.cat([(torch.zeros_like(p) if t is None else t).reshape(-1).abs() for t, p in
                       zip(torch.autograd.grad(v, params, retain_graph=True, allow_unused=True), params)])
         for k, v in terms.items()}
    run.epoch = 1
    run.before_step()
    for name in ("dirichlet", "initial"):
        expect = 0.5 * 1.0 + 0.5 * float(g["pde"].max() / g[name].mean())
        assert math.isclose(run.loss.weight(name), expect, rel_tol=1e-10)
    assert run.loss.weight("pde") == 1.0


def test_rba_point_weights_follow_the_residuals():
    run = _run([kp.methods.RBA(gamma=0.9, eta=0.1)])
    run.objective()  # what a training step evaluates
    r = run.loss.last_residuals()["pde"].abs().sum(1)
    run.before_step()
    lam = 0.9 * 1.0 + 0.1 * r / r.max()
    torch.testing.assert_close(run.loss.point_weights("pde"), lam * lam)


def test_causal_weights_decay_with_the_earlier_slices_loss():
    m = kp.methods.Causal(eps=10.0, slices=4)
    run = _run([m])
    run.objective()  # what a training step evaluates
    run.before_step()
    r2 = (run.loss.last_residuals()["pde"] ** 2).sum(1).numpy()
    t = run.loss.points()["pde"][:, 1]
    k = np.minimum((t * 4).astype(int), 3)
    L = np.array([r2[k == j].mean() for j in range(4)])
    w = np.exp(-10.0 * (np.cumsum(L) - L))
    pw = run.loss.point_weights("pde").numpy()
    for j in range(4):
        np.testing.assert_allclose(pw[k == j], w[j] * len(t) / (4 * (k == j).sum()), rtol=1e-12)
    # the weighted residual term is the mean of the slice-weighted slice losses
    term = run.loss.terms(run.model)["pde"].item()
    assert math.isclose(term, float((w * L).mean()), rel_tol=1e-10)


def test_methods_that_do_not_apply_raise_before_training():
    with pytest.raises(ValueError, match="no time coordinate"):
        kp.train(kp.get_problem("poisson2d"), kp.MLP([2, 8, 1]),
                 kp.TrainConfig(epochs=5, progress=False, methods=[kp.methods.Causal()]))
    with pytest.raises(ValueError, match=r"unknown training method 'RADD'; known: \["):
        kp.TrainConfig(methods=[{"method": "RADD"}])
    with pytest.raises(ValueError, match="bad options for RAD"):
        kp.TrainConfig(methods=[{"method": "RAD", "evry": 3}])
    with pytest.raises(ValueError, match="every must be a positive integer"):
        kp.methods.RAD(every=0)
    with pytest.raises(TypeError, match="list of training methods"):
        kp.TrainConfig(methods=kp.methods.RBA())


@pytest.mark.parametrize("model", ["mlp", "kan"])
def test_methods_combine_and_are_deterministic(model):
    def go():
        net = kp.MLP([2, 8, 1], seed=0) if model == "mlp" else kp.KAN([2, 4, 1], seed=0)
        cfg = kp.TrainConfig(epochs=30, optimizer="adam", lr=1e-2, progress=False, seed=3, log_every=10,
                             methods=[kp.methods.TimeMarching(windows=3, every=8), kp.methods.RAD(every=10),
                                      kp.methods.RBA(), kp.methods.Causal(), kp.methods.LRA(every=5)])
        return kp.train(_heat(), net, cfg)

    a, b = go(), go()
    assert a.history.loss == b.history.loss and math.isfinite(a.history.rel_l2[-1])
    assert a.history.weights["dirichlet"][-1] != 1.0  # LRA moved it, and the history shows it


@pytest.mark.parametrize("method", [kp.methods.Causal(), kp.methods.RBA()])
def test_how_often_a_run_logs_does_not_change_its_result(method):
    """Logging evaluates the loss; the residual-reading methods still see the training step's residuals."""
    def go(log_every):
        cfg = kp.TrainConfig(epochs=40, optimizer="adam", lr=1e-2, progress=False, seed=0, log_every=log_every,
                             methods=[method])
        return kp.train(_heat(), kp.MLP([2, 8, 1], seed=0), cfg)

    a, b = go(1), go(40)
    assert a.history.loss[-1] == b.history.loss[-1] and a.history.rel_l2[-1] == b.history.rel_l2[-1]


def test_methods_survive_save_and_load(tmp_path):
    cfg = kp.TrainConfig(epochs=3, progress=False, methods=[kp.methods.RAD(every=2, k=2.0), "RBA"])
    assert kp.TrainConfig.from_dict(cfg.to_dict()) == cfg
    sol = kp.train(_heat(), kp.MLP([2, 4, 1], seed=0), cfg)
    sol.save(tmp_path / "s.pt")
    back = kp.load(tmp_path / "s.pt", problem=_heat())
    assert back.config.methods == cfg.methods


def test_weights_stay_frozen_in_the_lbfgs_phase():
    cfg = kp.TrainConfig(epochs=12, optimizer="adam+lbfgs", lbfgs_epochs=6, progress=False, log_every=1,
                         methods=[kp.methods.LRA(every=1)])
    h = kp.train(_heat(), kp.MLP([2, 6, 1], seed=0), cfg).history
    w = h.weights["dirichlet"]
    assert w[3] != w[1] and w[-1] == w[-5]


def test_rad_stops_after_until_and_with_adam_only():
    for m, epochs in ((kp.methods.RAD(every=2, until=4), (2, 4)), (kp.methods.RAD(every=2, adam_only=True), (2,))):
        run = _run([m])
        seen = []
        for e in range(1, 9):
            before = run.loss.points()["pde"].copy()
            run.epoch = e
            if e == 3 and m.adam_only:
                run.switch_to_lbfgs()
            run.before_step()
            if not np.array_equal(before, run.loss.points()["pde"]):
                seen.append(e)
        assert tuple(seen) == epochs, (m, seen)


def _window_t(run):
    return run.loss.points()["pde"][:, -1]


def test_time_marching_puts_the_points_in_a_growing_window():
    """Window k of 4 is [0, k/4]: the points fill it uniformly, and it grows every 3 epochs until whole."""
    run = _run([kp.methods.TimeMarching(windows=4, every=3)], n_interior=4000)
    t = _window_t(run)
    assert len(t) == 4000 and t.min() >= 0.0 and t.max() <= 0.25
    assert abs(t.mean() - 0.125) < 0.005 and t.max() > 0.24  # uniform on [0, 1/4], not a corner of it
    ends = []
    for e in range(1, 13):
        run.epoch = e
        run.before_step()
        ends.append(run.history.meta["time_window"][1])
        assert _window_t(run).max() <= ends[-1]
    assert ends == [0.25, 0.25, 0.5, 0.5, 0.5, 0.75, 0.75, 0.75, 1.0, 1.0, 1.0, 1.0]
    assert abs(_window_t(run).mean() - 0.5) < 0.02 and len(_window_t(run)) == 4000


def test_time_marching_grows_when_the_window_loss_is_below_tol():
    run = _run([kp.methods.TimeMarching(windows=4, every=1000, tol=1e-3, min_every=2)])
    run.loss.terms(run.model)  # residuals of the first window: far above tol
    for e in (1, 2, 3):
        run.epoch = e
        run.before_step()
    assert run.history.meta["time_window"][1] == 0.25
    run = _run([kp.methods.TimeMarching(windows=4, every=1000, tol=1e6, min_every=2)])
    run.loss.terms(run.model)
    ends = []
    for e in (1, 2, 3, 4):
        run.epoch = e
        run.before_step()
        run.loss.terms(run.model)  # the new window's residuals, as a training step would leave them
        ends.append(run.history.meta["time_window"][1])
    assert ends == [0.25, 0.5, 0.5, 0.75]  # grows once min_every epochs are spent in a window


def test_time_marching_opens_the_whole_span_for_lbfgs():
    cfg = kp.TrainConfig(epochs=8, optimizer="adam+lbfgs", lbfgs_epochs=4, progress=False, log_every=1,
                         methods=[kp.methods.TimeMarching(windows=10, every=100)])
    seen = []
    kp.train(_heat(), kp.MLP([2, 6, 1], seed=0), cfg,
             callbacks=[lambda e, m, h: seen.append(list(h.meta["time_window"]))])
    assert seen[1] == [0.0, 0.1] and seen[4] == [0.0, 0.1] and seen[5:] == [[0.0, 1.0]] * 4


def test_rad_and_causal_work_inside_the_time_window(monkeypatch):
    run = _run([kp.methods.TimeMarching(windows=4, every=100), kp.methods.RAD(every=1, k=1.0, c=0.0),
                kp.methods.Causal(eps=10.0, slices=4)], n_interior=500)
    monkeypatch.setattr(run.loss, "residuals_at", lambda model, name, x: x[:, :1].copy())
    run.epoch = 1
    run.before_step()  # RAD redraws inside [0, 1/4]; Causal has no residuals of the new points yet
    t = _window_t(run)
    assert len(t) == 500 and t.max() <= 0.25 and t.max() > 0.2
    run.loss.terms(run.model)
    run.epoch = 2
    kp.methods.Causal(eps=10.0, slices=4).before_step(run)
    r2 = (run.loss.last_residuals()["pde"] ** 2).sum(1).numpy()
    k = np.minimum((t / 0.25 * 4).astype(int), 3)  # the slices divide the window, not [0, 1]
    L = np.array([r2[k == j].mean() for j in range(4)])
    w = np.exp(-10.0 * (np.cumsum(L) - L))
    pw = run.loss.point_weights("pde").numpy()
    for j in range(4):
        np.testing.assert_allclose(pw[k == j], w[j] * len(t) / (4 * (k == j).sum()), rtol=1e-12)


def test_time_marching_needs_time_and_valid_options():
    with pytest.raises(ValueError, match="TimeMarching.*no time coordinate"):
        kp.train(kp.get_problem("poisson2d"), kp.MLP([2, 8, 1]),
                 kp.TrainConfig(epochs=5, progress=False, methods=[kp.methods.TimeMarching()]))
    with pytest.raises(ValueError, match="windows must be a positive integer, got 0"):
        kp.methods.TimeMarching(windows=0)
    with pytest.raises(ValueError, match="tol must be a positive number"):
        kp.methods.TimeMarching(tol=-1.0)
    m = kp.methods.TimeMarching(windows=5, every=7, tol=1e-4)
    assert kp.methods.build(m.to_dict()) == m


def test_time_marching_can_go_on_in_the_lbfgs_phase():
    cfg = kp.TrainConfig(epochs=8, optimizer="adam+lbfgs", lbfgs_epochs=6, progress=False, log_every=1,
                         methods=[kp.methods.TimeMarching(windows=4, every=2, lbfgs=True)])
    seen = []
    kp.train(_heat(), kp.MLP([2, 6, 1], seed=0), cfg,
             callbacks=[lambda e, m, h: seen.append(h.meta["time_window"][1])])
    assert seen == [0.25, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1.0, 1.0]
