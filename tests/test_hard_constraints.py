"""Hard constraints (kanpde.hard): exact distance functions, the transformed jet, exact boundary values."""

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde import ops
from kanpde.cli import main
from kanpde.geometry import PointCloud
from kanpde.hard import HardConstraints, apply_jet, boundary_adf, jet_of
from kanpde.loss import InputScaling, ResidualLoss

T64 = torch.float64


def _t(x):
    return torch.as_tensor(x, dtype=T64)


HOLES = kp.Box((-0.5, -0.5), (0.5, 0.5)) - kp.Disk((0.3, 0.3), 0.1) - kp.Disk((-0.3, 0.3), 0.1)
DOMAINS = {
    "interval": kp.Interval(-1.0, 2.0),
    "box": kp.Box((0.0, -1.0), (1.0, 1.0)),
    "box3": kp.Box((0.0, 0.0, 0.0), (1.0, 2.0, 0.5)),
    "disk": kp.Disk((0.2, -0.1), 0.7),
    "ball3": kp.Ball((0.0, 0.0, 0.0), 1.3),
    "ellipse": kp.Ellipse((0.1, 0.2), (1.0, 0.4), 0.5),
    "triangle": kp.Triangle((0, 0), (1, 0), (0.2, 0.9)),
    "lshape": kp.LShape(),
    "box_minus_disks": HOLES,
    "union": kp.Disk((0, 0), 1.0) | kp.Box((0.5, -0.3), (1.6, 0.3)),
    "intersection": kp.Disk((0, 0), 1.0) & kp.Box((-0.5, -2.0), (2.0, 2.0)),
}


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_distance_function_vanishes_on_the_boundary_and_is_positive_inside(name):
    dom = DOMAINS[name]
    xb, _ = dom.sample_boundary(400, "uniform", 0)
    xi = dom.sample_interior(400, "uniform", 1)
    xi = xi[dom.contains_interior(xi)]
    for f in (boundary_adf(dom), dom.adf):
        assert np.abs(f(_t(xb)).numpy()).max() <= 1e-12
        assert (f(_t(xi)).numpy() > 0).all()
    if name not in ("triangle", "lshape"):  # the signed ADF is negative outside
        lo, hi = dom.bbox
        xo = lo - 0.5 + (hi - lo + 1.0) * np.random.default_rng(2).random((2000, dom.dim))
        far = np.min([p.boundary_distance(xo) for p in dom.parts], 0) > 1e-6  # not on any part's boundary
        xo = xo[~dom.contains(xo) & far]
        assert len(xo) > 10 and (dom.adf(_t(xo)).numpy() < 0).all()


def _spacetime(conditions, space=None):
    dom = kp.SpaceTime(space or kp.Interval(0.0, 1.0), 0.5, 2.0)
    return kp.Problem("st", dom, lambda x, u: ops.time_derivative(u, x) - ops.partial(u, x, 0, 2),
                      conditions=conditions, n_interior=64, n_boundary=16, n_initial=16, n_eval=64)


def test_initial_slice_and_lateral_distance_functions_are_exact():
    init = _spacetime((kp.Initial(1.0),))
    phi = HardConstraints(init).g_phi
    x0 = _t(init.domain.sample_initial(200, "uniform", 0))
    xi = _t(init.domain.sample_interior(200, "uniform", 1))
    assert phi(x0)[1].abs().max() <= 1e-12 and (phi(xi)[1] > 0).all()
    torch.testing.assert_close(phi(xi)[1][:, 0], xi[:, -1] - 0.5, rtol=0, atol=0)  # phi_t = t - t0
    both = _spacetime((kp.Dirichlet(0.0), kp.Initial(0.0)), space=kp.Disk((0, 0), 1.0))
    xb = _t(both.domain.sample_boundary(200, "uniform", 2)[0])
    g, p = HardConstraints(both).g_phi(xb)
    assert p.abs().max() <= 1e-12


def _dirichlet_problem(dom, conditions, exact):
    return kp.Problem("user", dom, lambda x, u: -ops.laplacian(u, x), conditions=conditions, exact=exact,
                      n_interior=64, n_boundary=32, n_eval=128)


def _exact2(x):
    return torch.sin(x[:, :1]) * torch.exp(0.5 * x[:, 1:2]) + x[:, :1] * x[:, 1:2]


CASES = {
    "box": lambda: _dirichlet_problem(kp.Box((0.0, -1.0), (1.0, 1.0)), (kp.Dirichlet(_exact2),), _exact2),
    "holes": lambda: _dirichlet_problem(HOLES, (kp.Dirichlet(_exact2),), _exact2),
    "heat": lambda: kp.get_problem("heat1d"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("model", ["mlp", "kan"])
def test_transformed_jet_rows_equal_autograd_and_central_differences(case, model):
    prob = CASES[case]()
    d = prob.d_in
    net = (kp.MLP([d, 8, 8, 1], seed=3) if model == "mlp" else kp.KAN([d, 4, 1], seed=3)).double()
    hard = HardConstraints(prob)
    sc = InputScaling(*prob.domain.bbox)
    x = _t(prob.domain.sample_interior(40, "uniform", 5))
    G, P = hard.jet(x, 2)
    T = apply_jet(G, P, net.forward_jet(sc.jet(x, 2), d, 2), d, 2)

    def u(z):
        return hard(z, net(sc(z)))

    xa = x.clone().requires_grad_(True)
    ua = u(xa)
    torch.testing.assert_close(T[0], ua, rtol=0, atol=1e-13)
    g = torch.autograd.grad(ua.sum(), xa, create_graph=True)[0]
    h = 1e-4
    for i in range(d):
        torch.testing.assert_close(T[1 + i, :, 0], g[:, i], rtol=1e-10, atol=1e-11)
        gii = torch.autograd.grad(g[:, i].sum(), xa, retain_graph=True)[0][:, i]
        torch.testing.assert_close(T[1 + d + i, :, 0], gii, rtol=1e-9, atol=1e-10)
        e = torch.zeros(d, dtype=T64)
        e[i] = h
        with torch.no_grad():
            up, um, u0 = u(x + e)[:, 0], u(x - e)[:, 0], u(x)[:, 0]
        torch.testing.assert_close(T[1 + i, :, 0], (up - um) / (2 * h), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(T[1 + d + i, :, 0], (up - 2 * u0 + um) / h**2, rtol=1e-3, atol=1e-3)


def test_jet_of_matches_closed_form():
    x = _t(np.random.default_rng(0).random((9, 2)))
    rows = jet_of(lambda z: torch.stack([z[:, 0] ** 3 * z[:, 1], torch.ones_like(z[:, 0])], 1), x, 2)
    torch.testing.assert_close(rows[1, :, 0], 3 * x[:, 0] ** 2 * x[:, 1])
    torch.testing.assert_close(rows[2, :, 0], x[:, 0] ** 3)
    torch.testing.assert_close(rows[3, :, 0], 6 * x[:, 0] * x[:, 1])
    assert rows[4, :, 0].abs().max() == 0 and rows[1:, :, 1].abs().max() == 0
    first = jet_of(lambda z: torch.stack([z[:, 0] ** 3 * z[:, 1], z[:, 1] ** 2], 1), x, 1)  # several outputs
    torch.testing.assert_close(first[2, :, 1], 2 * x[:, 1])


@pytest.mark.parametrize("model", ["mlp", "kan"])
def test_ode_initial_value_on_an_interval_is_exact_for_every_output(model):
    sol = kp.solve("lotka_volterra", model=model, hard_constraints=True, epochs=2, optimizer="adam", n_interior=32,
                   n_eval=64, progress=False)
    assert set(sol.history.terms) == {"pde"}
    t0 = sol.problem.domain.lo[None, :]
    np.testing.assert_allclose(sol(t0), [[1.0, 1.0]], rtol=0, atol=1e-15)


def _boundary_error(sol):
    p = sol.problem
    xs = [p.domain.sample_boundary(300, "uniform", 11)[0]]
    if isinstance(p.domain, kp.SpaceTime):
        xs.append(p.domain.sample_initial(300, "uniform", 12))
    x = np.concatenate(xs)
    u = sol(x)
    return np.abs(u - p.truth(x).reshape(u.shape)).max()


@pytest.mark.parametrize("name", ["poisson2d", "poisson_disk", "heat1d"])
@pytest.mark.parametrize("model", ["mlp", "kan"])
def test_training_with_hard_constraints_is_exact_on_the_boundary(name, model):
    sol = kp.solve(name, model=model, hard_constraints=True, epochs=4, optimizer="adam", n_interior=64,
                   n_eval=256, progress=False)
    h = sol.history
    assert set(h.terms) == {"pde"}  # the Dirichlet and Initial terms are gone
    assert set(h.meta["hard_constraints"]["dropped_terms"]) == ({"dirichlet", "initial"} if name == "heat1d"
                                                                else {"dirichlet"})
    assert _boundary_error(sol) <= 1e-12
    xe = sol.problem.eval_points(256)  # the trainer's error is that of the transformed output
    ye = sol.problem.truth(xe).reshape(-1, 1)
    assert h.rel_l2[-1] == pytest.approx(np.linalg.norm(sol(xe) - ye) / np.linalg.norm(ye), rel=1e-9)


def test_both_derivative_paths_give_the_same_loss():
    prob = CASES["holes"]()
    net = kp.KAN([2, 4, 1], seed=1).double()
    out = []
    for path in ("jet", "autograd"):
        loss = ResidualLoss(prob, derivatives=path, hard_constraints=True)
        loss.sample(0)
        out.append(loss(net)[0])
    torch.testing.assert_close(out[0], out[1], rtol=1e-10, atol=0)


def test_neumann_stays_soft_and_a_selected_end_is_hard():
    sol = kp.solve("poisson1d_neumann", model="mlp", hard_constraints=True, epochs=3, progress=False)
    assert set(sol.history.terms) == {"pde", "neumann_left"}
    assert abs(sol(np.array([[1.0]]))[0, 0] - math.sin(1.25 * math.pi)) <= 1e-14


def test_parts_of_a_combined_domain_with_different_values():
    def exact(x):
        return torch.zeros_like(x[:, :1])

    prob = kp.Problem("holes2", HOLES, lambda x, u: ops.laplacian(u, x),
                      conditions=(kp.Dirichlet(1.0, on=HOLES.part(0), name="outer"),
                                  kp.Dirichlet(-2.0, on=HOLES.part([1, 2]), name="holes"),
                                  kp.Neumann(0.0, on=HOLES.part(2), name="n")), exact=exact,
                      n_interior=64, n_boundary=32, n_eval=64)
    twice = kp.Problem("twice", HOLES, prob.residual, conditions=(kp.Dirichlet(0.0), kp.Dirichlet(
        1.0, on=HOLES.part(1), name="hole")))
    with pytest.raises(ValueError, match="'dirichlet' and 'hole' both hold on the same part"):
        HardConstraints(twice)
    sol = kp.train(prob, kp.KAN([2, 4, 1], seed=0), kp.TrainConfig(epochs=2, hard_constraints=("outer", "holes"),
                                                                    progress=False))
    assert set(sol.history.terms) == {"pde", "n"}
    xb, _ = HOLES.sample_boundary(600, "uniform", 3)
    u = sol(xb)[:, 0]
    outer = HOLES.on_part(xb, 0)
    assert np.abs(u[outer] - 1.0).max() <= 1e-12 and np.abs(u[~outer] + 2.0).max() <= 1e-12


def test_save_load_and_grid_refinement_keep_the_transform(tmp_path):
    sol = kp.solve("poisson_disk", model="kan", hard_constraints=True, epochs=6, optimizer="adam",
                   grid_schedule={3: 8}, n_interior=64, progress=False)
    assert sol.model.grid_size == 8 if hasattr(sol.model, "grid_size") else True
    assert _boundary_error(sol) <= 1e-12
    sol.save(tmp_path / "s.kp")
    back = kp.load(tmp_path / "s.kp")
    x = sol.problem.domain.sample_interior(50, "uniform", 0)
    np.testing.assert_array_equal(back(x), sol(x))
    assert back.config.hard_constraints is True and _boundary_error(back) <= 1e-12
    fig = kp.plot.field(back)  # plots predict through the Solution, so through the transform
    assert fig is not None


def test_solve_with_a_tuple_of_names_round_trips_through_the_config():
    cfg = kp.TrainConfig(hard_constraints=["dirichlet"])
    assert cfg.hard_constraints == ("dirichlet",)
    assert kp.TrainConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("bad", ["yes", 1, (), [3]])
def test_config_rejects_bad_values(bad):
    with pytest.raises(TypeError, match="hard_constraints"):
        kp.TrainConfig(hard_constraints=bad)


def test_unsupported_geometry_is_named():
    rng = np.random.default_rng(0)
    pts = rng.random((50, 2))
    th = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    nb = np.stack([np.cos(th), np.sin(th)], 1)
    dom = PointCloud(pts, 0.5 + 0.5 * nb, nb)
    prob = kp.Problem("pc", dom, lambda x, u: ops.laplacian(u, x), conditions=(kp.Dirichlet(0.0),))
    with pytest.raises(NotImplementedError, match="PointCloud.*supported: Interval, Box, Disk"):
        HardConstraints(prob)


def test_soft_only_kinds_and_unknown_names_raise():
    prob = kp.get_problem("poisson1d_neumann")
    with pytest.raises(ValueError, match="Dirichlet and Initial.*neumann_left \\(Neumann\\)"):
        HardConstraints(prob, ("neumann_left",))
    with pytest.raises(ValueError, match="unknown term.*'nope'"):
        HardConstraints(prob, ("nope",))
    with pytest.raises(ValueError, match="no Dirichlet or Initial"):
        HardConstraints(kp.Problem("n", kp.Interval(0, 1), lambda x, u: u, conditions=(kp.Neumann(0.0),)))


def test_partial_selections_that_cannot_be_hard_raise():
    box = kp.Box((0.0, 0.0), (1.0, 1.0))
    half = _dirichlet_problem(box, (kp.Dirichlet(0.0, on=lambda x: x[:, 1] < 0.5),), None)
    with pytest.raises(ValueError, match="only part of the boundary piece"):
        HardConstraints(half)
    faces = HardConstraints(_dirichlet_problem(box, (kp.Dirichlet(2.0, on=lambda x: x[:, 0] < 1e-9),), None))
    g, phi = faces.g_phi(_t([[0.0, 0.3], [1.0, 0.3], [0.5, 0.0]]))
    assert phi[0, 0] == 0 and phi[1, 0] > 0 and phi[2, 0] > 0 and g[0, 0] == 2.0  # only the face x = 0
    union = DOMAINS["union"]
    part = _dirichlet_problem(union, (kp.Dirichlet(0.0, on=union.part(0)),), None)
    with pytest.raises(ValueError, match="passes through the domain's interior"):
        HardConstraints(part)


def test_incompatible_initial_and_boundary_data_raise():
    prob = _spacetime((kp.Dirichlet(0.0), kp.Initial(1.0)))
    with pytest.raises(ValueError, match="differ by up to 1.000e\\+00"):
        HardConstraints(prob)


def test_cli_flag(capsys):
    assert main(["solve", "poisson_disk", "--hard-constraints", "--dry-run"]) == 0
    assert "hard_constraints = True" in capsys.readouterr().out


@pytest.mark.parametrize("model", ["mlp", "kan"])
def test_chunked_step_with_hard_constraints_equals_the_unsplit_step(model):
    runs = [kp.solve("poisson2d", model=model, epochs=3, optimizer="adam", n_interior=2500, n_eval=100,
                     hard_constraints=True, chunk_size=cs, progress=False, log_every=1) for cs in (1000, 10_000)]
    assert runs[0].history.meta["chunking"].startswith("on") and "chunking" not in runs[1].history.meta
    assert runs[0].history.loss == pytest.approx(runs[1].history.loss, rel=1e-10)
