"""The problem catalog: every problem's truth is checked independently of any network.

Exact solutions must make the residual and every condition vanish (by autograd, in float64);
reference solutions must do so by finite differences (a 5-point Lagrange stencil per
coordinate, differentiated by autograd, so the problem's own residual code is exercised).
"""

from __future__ import annotations

import json
import math
import os
import time

import numpy as np
import pytest
import torch
from kanpde.problems import REGISTRY

import kanpde as kp

REQUIRED = {
    "exp_decay", "logistic", "oscillator", "lotka_volterra", "van_der_pol",
    "poisson1d", "poisson2d", "poisson1d_neumann", "poisson1d_robin", "poisson2d_kan", "poisson_disk",
    "laplace_lshape", "helmholtz2d", "poisson_nd", "nonlinear_poisson",
    "heat1d", "wave1d", "advection1d", "burgers1d", "allen_cahn1d",
}
TAGS = {"ode", "elliptic", "parabolic", "hyperbolic", "nonlinear", "high-dim", "singular", "fitting", "inverse"}
NAMES = sorted(REGISTRY)
EXACT = [n for n in NAMES if REGISTRY[n]().exact is not None]
REFERENCE = [n for n in NAMES if REGISTRY[n]().exact is None]

# Reference checks: stencil step per coordinate (as a fraction of the bounding box), tolerance on
# the residual, and the points where it applies.  The Burgers front (width ~ nu ~ 3e-3 at x = 0)
# is far below any finite-difference step, so the residual is checked away from it.
REF_CHECK = {
    "lotka_volterra": dict(step=1e-4, tol=1e-8),
    "van_der_pol": dict(step=3e-4, tol=1e-6),
    "burgers1d": dict(step=2e-3, tol=1e-4, where=lambda x: np.abs(x[:, 0]) > 0.1),
    "burgers1d_inverse": dict(step=2e-3, tol=1e-4, where=lambda x: np.abs(x[:, 0]) > 0.1),
    "allen_cahn1d": dict(step=2e-3, tol=1e-4),
}


# -- helpers ------------------------------------------------------------------------------------

def stencil_field(problem: kp.Problem, step: float = 1e-3):
    """``u(x)``: the tensor-product 5-point Lagrange interpolant of the problem's truth about each ``x``.

    Its derivatives at ``x`` (by autograd) are fourth-order finite differences of the truth.
    Stencils near the bounding box are shifted inside it (one-sided differences), except across
    periodic coordinates, where the truth is read at the wrapped coordinate.
    """
    lo, hi = problem.domain.bbox
    h = step * (hi - lo)
    k = np.arange(-2, 3)
    periodic = sorted({c.dim for c in problem.conditions if isinstance(c, kp.Periodic)})
    inside = np.ones(len(lo), dtype=bool)
    inside[periodic] = False

    def u(x: torch.Tensor) -> torch.Tensor:
        x0 = x.detach().numpy()
        n, d = x0.shape
        nodes = x0[:, :, None] + h[None, :, None] * k  # (n, d, 5)
        shift = (np.clip(lo[None, :, None] - nodes.min(2, keepdims=True), 0, None)
                 - np.clip(nodes.max(2, keepdims=True) - hi[None, :, None], 0, None))
        nodes += shift * inside[None, :, None]
        idx = np.stack(np.meshgrid(*[np.arange(5)] * d, indexing="ij"), -1).reshape(-1, d)  # (5^d, d)
        pts = nodes[:, np.arange(d)[None, :], idx]  # (n, 5^d, d)
        for dim in periodic:
            pts[..., dim] = lo[dim] + np.mod(pts[..., dim] - lo[dim], hi[dim] - lo[dim])
        vals = torch.as_tensor(problem.truth(pts.reshape(-1, d)).reshape(n, len(idx), problem.d_out))
        z = torch.as_tensor(nodes)
        basis = []
        for i in range(5):
            b = torch.ones_like(x)
            for j in range(5):
                if j != i:
                    b = b * (x - z[..., j]) / (z[..., i] - z[..., j])
            basis.append(b)
        basis = torch.stack(basis, -1)  # (n, d, 5)
        w = torch.ones(n, len(idx), dtype=x.dtype)
        for dim in range(d):
            w = w * basis[:, dim, idx[:, dim]]
        return torch.einsum("nb,nbm->nm", w, vals)

    return u


def exact_field(problem: kp.Problem):
    """``u(x) = problem.exact(x)``, kept on the autograd graph."""
    return lambda x: problem.exact(x).reshape(x.shape[0], problem.d_out)


def condition_residuals(problem: kp.Problem, u, n: int = 64, seed: int = 0):
    """(name, residual array) of every condition for the field ``u``, through the condition's own code."""
    rng = np.random.default_rng(seed)
    out = []
    for c in problem.conditions:
        pts = c.sample(problem, n, "sobol", rng)
        x = torch.as_tensor(pts["x"], dtype=torch.float64).requires_grad_(True)
        data = c.prepare(problem, pts, x.detach())
        r = c.residual(x, u(x), data).detach().numpy()
        if getattr(c, "noise", None):  # noisy observations: the residual is the noise, of the stated size
            scale = c.noise * np.abs(data["target"].numpy()).max()
            assert 0.8 < r.std() / scale < 1.25, f"{problem.name}: data noise {r.std():.3e}, stated {scale:.3e}"
            r = np.zeros_like(r)
        out.append((c.name or c.kind, r))
    return out


def pde_residual(problem: kp.Problem, u, n: int = 256, seed: int = 1):
    x = problem.domain.sample_interior(n, "uniform", seed)
    xt = torch.as_tensor(x).requires_grad_(True)
    return x, problem.residual_terms(xt, u(xt)).detach().numpy()


# -- exact solutions ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", EXACT)
def test_exact_solution_has_zero_residual(name):
    p = REGISTRY[name]()
    if p.residual is None:
        pytest.skip(f"{name} is a data-fitting problem (no residual)")
    _, r = pde_residual(p, exact_field(p))
    assert np.isfinite(r).all()
    assert np.abs(r).max() <= 1e-8, f"{name}: max residual {np.abs(r).max():.3e}"


@pytest.mark.parametrize("name", EXACT)
def test_exact_solution_satisfies_every_condition(name):
    p = REGISTRY[name]()
    assert p.conditions, f"{name} has no conditions"
    for cname, r in condition_residuals(p, exact_field(p)):
        assert r.size and np.abs(r).max() <= 1e-10, f"{name}/{cname}: max residual {np.abs(r).max():.3e}"


def test_exact_checks_catch_errors():
    """The checks above fail on a wrong source term or a wrong boundary value."""
    p = REGISTRY["poisson1d_neumann"]()
    wrong = kp.Problem(name="bad", domain=p.domain, residual=lambda x, u: p.residual(x, u) + 1e-3,
                       conditions=p.conditions, exact=p.exact)
    assert np.abs(pde_residual(wrong, exact_field(wrong))[1]).max() > 1e-4
    flipped = kp.Problem(name="bad", domain=p.domain, residual=p.residual, exact=p.exact,
                         conditions=(kp.Neumann(math.pi * 1.25, on=lambda x: x[:, 0] < 0.5),))
    assert np.abs(condition_residuals(flipped, exact_field(flipped))[0][1]).max() > 1.0


# -- reference solutions ------------------------------------------------------------------------

def test_every_reference_problem_has_a_check():
    assert set(REFERENCE) == set(REF_CHECK)


@pytest.mark.parametrize("name", sorted(REF_CHECK))
def test_reference_residual_by_finite_differences(name):
    p, spec = REGISTRY[name](), REF_CHECK[name]
    x, r = pde_residual(p, stencil_field(p, spec["step"]), n=300)
    if "where" in spec:
        r = r[spec["where"](x)]
    assert len(r) > 100
    assert np.abs(r).max() <= spec["tol"], f"{name}: max residual {np.abs(r).max():.3e}"


@pytest.mark.parametrize("name", sorted(REF_CHECK))
def test_reference_satisfies_every_condition(name):
    """Initial values (and slopes) of the ODE references, boundary/periodic/initial data of the PDEs."""
    p, spec = REGISTRY[name](), REF_CHECK[name]
    for cname, r in condition_residuals(p, stencil_field(p, spec["step"])):
        assert np.abs(r).max() <= spec["tol"], f"{name}/{cname}: max residual {np.abs(r).max():.3e}"


def test_ode_reference_initial_values_directly():
    lv = REGISTRY["lotka_volterra"](y0=(1.5, 0.5))
    np.testing.assert_allclose(lv.truth(np.zeros((1, 1))), [[1.5, 0.5]], atol=1e-12)
    vdp = REGISTRY["van_der_pol"]()
    np.testing.assert_allclose(vdp.truth(np.zeros((1, 1))), [[2.0]], atol=1e-12)


def test_reference_built_lazily_and_cached(monkeypatch):
    from kanpde import reference as ref

    calls = []
    real = ref.cached

    def counting(name, params, build, **kw):
        calls.append(name)
        return real(name, params, build, **kw)

    monkeypatch.setattr("kanpde.problems._util.cached", counting)
    p = REGISTRY["van_der_pol"](mu=1.5)
    assert calls == []  # building the problem solves nothing
    a = p.truth(np.array([[1.0]]))
    b = p.truth(np.array([[1.0]]))
    assert calls == ["van_der_pol", "van_der_pol"] and a == b
    assert any(k[0] == "van_der_pol" and json.loads(k[1])["mu"] == 1.5 for k in ref.cached_keys())  # memory cache


def test_reference_disk_cache_is_opt_in(tmp_path, monkeypatch):
    monkeypatch.setenv("KANPDE_CACHE_DIR", str(tmp_path))
    p = REGISTRY["lotka_volterra"](t_end=1.25)
    assert list(tmp_path.iterdir()) == []
    p.truth(np.array([[0.5]]))
    assert [f.name.split("-")[0] for f in tmp_path.iterdir()] == ["lotka_volterra"]


# -- registry and metadata ----------------------------------------------------------------------

def test_catalog_size_and_required_names():
    assert len(NAMES) >= 18
    assert REQUIRED <= set(NAMES), sorted(REQUIRED - set(NAMES))


@pytest.mark.parametrize("name", NAMES)
def test_problem_metadata(name):
    t = time.process_time()
    p = kp.get_problem(name)
    assert time.process_time() - t < 0.1, "building a problem must be cheap"
    assert p.name == name and p.has_truth
    assert p.tags and set(p.tags) <= TAGS, p.tags
    assert p.d_in == p.domain.dim and p.d_out >= 1
    assert p.equation and p.doc and "math::" in p.doc
    assert p.order in (1, 2) or (p.residual is None and p.order == 0)  # data fitting: no derivatives
    b = p.budget
    assert b["optimizer"] in ("adam", "lbfgs", "adam+lbfgs") and b["epochs"] > 0 and b["lr"] > 0
    from kanpde.models import MODELS
    from kanpde.resolve import budget_for

    kp.TrainConfig(**{k: v for k, v in b.items() if k not in MODELS})
    for family in set(b) & set(MODELS):  # per-model sections resolve to a valid config too
        kp.TrainConfig(**budget_for(p, family)[0])
    for f in ("n_interior", "n_boundary", "n_initial", "n_eval"):
        assert getattr(p, f) >= 1
    assert p.n_interior <= 2000, "keep point counts modest so a step stays cheap on a CPU"
    x = p.eval_points(64)
    assert x.shape == (64, p.d_in) and p.domain.contains(x).all()
    if p.exact is not None:
        assert p.truth(x).shape == (64, p.d_out)


def test_time_is_the_last_coordinate():
    for name in kp.list_problems("parabolic") + kp.list_problems("hyperbolic"):
        dom = kp.get_problem(name).domain
        assert isinstance(dom, kp.SpaceTime) and dom.dim == dom.space.dim + 1


def test_unknown_problem_lists_known_names():
    with pytest.raises(ValueError, match="unknown problem 'nope'") as e:
        kp.get_problem("nope")
    for n in ("poisson2d", "burgers1d", "van_der_pol"):
        assert n in str(e.value)


def test_list_problems_filters_by_tag():
    assert set(kp.list_problems()) == set(NAMES)
    ode = kp.list_problems(tag="ode")
    assert {"exp_decay", "logistic", "oscillator", "lotka_volterra", "van_der_pol"} == set(ode)
    assert "poisson_nd" in kp.list_problems(tag="high-dim")
    assert kp.list_problems(tag="singular") == ["laplace_lshape"]
    assert {"burgers1d", "allen_cahn1d", "nonlinear_poisson"} <= set(kp.list_problems(tag="nonlinear"))
    assert kp.list_problems(tag="no-such-tag") == []
    for tag in TAGS:
        assert kp.list_problems(tag), f"no problem tagged {tag}"


def test_parameters_override():
    p = kp.get_problem("poisson_nd", dim=10, form="product")
    assert p.d_in == 10 and p.params == {"dim": 10, "form": "product"}
    _, r = pde_residual(p, exact_field(p), n=64)
    assert np.abs(r).max() <= 1e-8
    for _, r in condition_residuals(p, exact_field(p)):
        assert np.abs(r).max() <= 1e-10
    with pytest.raises(ValueError, match="dim"):
        kp.get_problem("poisson_nd", dim=0)
    assert kp.get_problem("heat1d", alpha=0.5).params["alpha"] == 0.5


def test_lshape_solution_vanishes_on_the_corner_edges_and_is_singular():
    p = kp.get_problem("laplace_lshape")
    s = np.linspace(0.01, 1.0, 50)
    edges = np.concatenate([np.stack([s, 0 * s], 1), np.stack([0 * s, -s], 1)])
    assert np.abs(p.truth(edges)).max() < 1e-14
    np.testing.assert_allclose(p.truth(np.array([[0.0, 1.0], [-1.0, 0.0]]))[:, 0],
                               [math.sin(math.pi / 3), math.sin(2 * math.pi / 3)], atol=1e-14)
    x = torch.tensor([[1e-6, 1e-6]], dtype=torch.float64, requires_grad=True)
    g = torch.autograd.grad(p.exact(x).sum(), x)[0]
    assert g.norm() > 50  # |grad u| ~ r^(-1/3)


# -- a user-defined problem goes through the same path --------------------------------------

def test_user_defined_problem_trains_and_improves():
    """Manufactured reaction-diffusion on a disk, -lap u + u = f with u = exp(-(x^2 + y^2)), written here."""

    def exact(x):
        return torch.exp(-(x * x).sum(1, keepdim=True))

    def residual(x, u):
        r2 = (x * x).sum(1, keepdim=True)
        f = -(4 * r2 - 4) * exact(x) + exact(x)  # lap exp(-r^2) = (4 r^2 - 4) exp(-r^2)
        return -kp.ops.laplacian(u, x) + u - f

    prob = kp.Problem(name="user_reaction_diffusion", domain=kp.Disk((0.0, 0.0), 1.0), residual=residual,
                      conditions=(kp.Dirichlet(exact),), exact=exact, n_interior=200, n_boundary=64)
    _, r = pde_residual(prob, exact_field(prob))
    assert np.abs(r).max() <= 1e-8
    sol = kp.train(prob, kp.MLP([2, 16, 16, 1], seed=0), kp.TrainConfig(epochs=150, lr=1e-2, progress=False))
    h = sol.history
    assert h.rel_l2[-1] < 0.2 * h.rel_l2[0], (h.rel_l2[0], h.rel_l2[-1])


# -- the MLP baseline on every problem (slow) ---------------------------------------------------

@pytest.mark.slow
def test_mlp_baseline_on_every_problem():
    """Train the default MLP with each problem's recommended budget; print (and optionally save) a table.

    ``KANPDE_BASELINE_OUT=path.json`` writes the figures.
    """
    rows = []
    for name in NAMES:
        p = kp.get_problem(name)
        p.truth(p.eval_points(4))  # build a lazy reference outside the timed run
        t = time.perf_counter()
        sol = kp.solve(name, model="mlp", progress=False, seed=0, threads=1)
        wall = time.perf_counter() - t
        rel = sol.history.final_rel_l2
        rows.append({"problem": name, "tags": list(p.tags), "d_in": p.d_in, "d_out": p.d_out,
                     "budget": dict(p.budget), "rel_l2": rel, "train_time": sol.history.wall_time[-1],
                     "wall_time": wall, "n_params": sol.n_params})
        print(f"{name:20s} rel_l2={rel:.3e} train={sol.history.wall_time[-1]:.1f}s wall={wall:.1f}s", flush=True)
        assert math.isfinite(rel)
    out = os.environ.get("KANPDE_BASELINE_OUT")
    if out:
        with open(out, "w") as fh:
            json.dump(rows, fh, indent=1)


@pytest.mark.parametrize("model", ["mlp", "kan"])
@pytest.mark.parametrize("name", NAMES)
def test_every_problem_trains_a_few_epochs_with_its_budget(name, model):
    """Each problem's recommended budget (its methods, conditions, shapes) runs with both model kinds."""
    s = kp.solve(name, model=model, epochs=2, lbfgs_epochs=0, n_interior=64, n_boundary=32, n_eval=64, log_every=1,
                 progress=False, seed=0)
    assert s.history.epoch[-1] == 2
    assert math.isfinite(s.history.loss[-1])
