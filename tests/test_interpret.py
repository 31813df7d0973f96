"""Interpretability: symbolic suggestions, snapped edges (values, autograd and jet derivatives), formulas, plots."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch

import kanpde as kp
from kanpde import interpret
from kanpde.models.jet import seed_jet
from kanpde.models.symbolic import LIBRARY

PNG = b"\x89PNG\r\n\x1a\n"

# (a, b) per function: a fair, non-degenerate piece of each (arguments inside the domain)
SAMPLES = {"0": (1.0, 0.0), "x": (1.3, 0.2), "x^2": (1.5, 0.4), "x^3": (1.2, 0.3), "x^4": (1.1, -0.5),
           "1/x": (1.0, 2.0), "1/x^2": (1.0, 1.8), "sqrt": (2.0, 2.5), "exp": (1.5, 0.2), "log": (2.0, 2.5),
           "sin": (3.0, 0.5), "cos": (2.5, 0.4), "tan": (1.2, 0.1), "tanh": (3.0, 0.5), "sigmoid": (4.0, -1.0),
           "gaussian": (2.0, 0.3), "abs": (2.0, 0.3), "sgn": (3.0, 0.33), "arctan": (3.0, 0.5)}
EQUIVALENT = [{"sin", "cos"}, {"tanh", "sigmoid"}]  # exactly the same family under an affine argument


@pytest.fixture(scope="module")
def decay():
    return kp.solve("exp_decay", model="kan", widths=[1, 1], epochs=500, seed=0, optimizer="lbfgs",
                    progress=False, threads=1)


def test_acceptance_check_verbatim():
    sol = kp.solve("exp_decay", model="kan", widths=[1, 1], epochs=500, seed=0, optimizer="lbfgs")
    res = kp.interpret.suggest_symbolic(sol.model, layer=0, i=0, j=0)
    top = res[0] if isinstance(res, list) else res.iloc[0] if hasattr(res, "iloc") else res
    assert "exp" in str(top).lower()


def test_decay_recovers_exp_and_formula(decay):
    res = interpret.suggest_symbolic(decay.model, 0, 0, 0)
    assert res[0].name == "exp" and res[0].r2 > 0.999
    assert "exp" in repr(res[0]) and {s.name for s in res} == set(LIBRARY)
    assert abs(res[0].a - (-1.0)) < 1e-3  # the model's variable is z = x - 1: e^-x = e^-1 e^-z

    model = decay.model
    snaps = interpret.auto_symbolic(model, lib=["x", "x^2", "exp", "sin"])
    assert [(s.layer, s.i, s.j, s.suggestion.name, s.fixed) for s in snaps] == [(0, 0, 0, "exp", True)]
    sol2 = kp.train(decay.problem, model, decay.config.replace(epochs=50, progress=False, threads=1))
    assert sol2.model.layers[0].symbolic_edge(0, 0)[0] == "exp"
    x = sp.Symbol("x")
    expr = interpret.formula(sol2)
    assert expr.free_symbols == {x}
    c, a, d = sp.Wild("c", exclude=[x]), sp.Wild("a", exclude=[x]), sp.Wild("d", exclude=[x])
    m = expr.match(c * sp.exp(a * x) + d)
    assert m is not None, expr
    assert abs(float(m[c]) - 1) < 1e-3 and abs(float(m[a]) + 1) < 1e-3 and abs(float(m[d])) < 1e-3
    xs = np.linspace(0, 2, 101)
    assert np.abs(sp.lambdify(x, expr, "numpy")(xs) - np.exp(-xs)).max() < 1e-3
    # the bare model's formula is in its own variable z = x - 1
    z = sp.Symbol("z")
    ez = interpret.formula(sol2.model, digits=None)
    assert ez.free_symbols == {z}
    assert abs(float(ez.subs(z, 0.3)) - math.exp(-1.3)) < 1e-5
    assert interpret.formula(sol2.model, scaling=sol2.scaling, variables=["x"]) == expr


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_suggest_ranks_the_sampled_function_first(name):
    a, b = SAMPLES[name]
    x = torch.linspace(-1, 1, 256, dtype=torch.float64)
    y = -1.7 * LIBRARY[name](a * x + b) + 0.6
    ranked = interpret.rank([interpret.fit_symbolic(x, y, f) for f in LIBRARY])
    group = next((g for g in EQUIVALENT if name in g), {name})
    assert ranked[0].name in group, [str(s) for s in ranked[:3]]
    own = next(s for s in ranked if s.name == name)
    assert own.r2 > 1 - 1e-9
    if name not in ("0", "x"):  # the fit reproduces the samples
        got = own.c * LIBRARY[name](own.a * x + own.b) + own.d
        assert (got - y).abs().max() < 1e-5


def _kan_with_symbolic_edges():
    m = kp.KAN([2, 3, 1], seed=0).double()
    m.layers[0].fix_symbolic(0, 1, "sin", (2.0, 0.3, 1.5, -0.2))
    m.layers[0].fix_symbolic(1, 2, "log", (0.3, 2.0, 1.0, 0.1))
    m.layers[1].fix_symbolic(2, 0, "exp", (0.5, 0.1, 0.7, 0.0))
    return m


def test_symbolic_edge_second_derivative_matches_closed_form():
    m = kp.KAN([1, 1], seed=0).double()
    a, b, c, d = 1.7, -0.4, 0.8, 0.3
    m.layers[0].fix_symbolic(0, 0, "sin", (a, b, c, d))
    x = torch.linspace(-1, 1, 33, dtype=torch.float64)[:, None].requires_grad_(True)
    y = m(x)
    g = torch.autograd.grad(y.sum(), x, create_graph=True)[0]
    h = torch.autograd.grad(g.sum(), x)[0]
    u = a * x.detach() + b
    assert torch.allclose(y.detach(), c * torch.sin(u) + d, atol=1e-14)
    assert torch.allclose(g.detach(), c * a * torch.cos(u), atol=1e-13)
    assert torch.allclose(h, -c * a * a * torch.sin(u), atol=1e-12)


def test_forward_jet_matches_autograd_with_symbolic_edges():
    m = _kan_with_symbolic_edges()
    x = torch.rand(40, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    xr = x.clone().requires_grad_(True)
    y = m(xr)
    g = torch.autograd.grad(y.sum(), xr, create_graph=True)[0]
    h = torch.stack([torch.autograd.grad(g[:, k].sum(), xr, create_graph=True)[0][:, k] for k in range(2)])
    J = m.forward_jet(seed_jet(x, torch.ones(2, dtype=torch.float64), 2), 2, 2)
    Y = torch.cat([y.unsqueeze(0), g.t().unsqueeze(-1), h.unsqueeze(-1)], 0)
    assert (J - Y).abs().max() < 1e-12
    params = list(m.parameters())
    gj = torch.autograd.grad((J**2).sum(), params, allow_unused=True)
    ga = torch.autograd.grad((Y**2).sum(), params, allow_unused=True)
    for p, u, v in zip(params, gj, ga):
        if u is not None:
            assert torch.allclose(u, v, atol=1e-9, rtol=1e-9), p.shape


def test_unfix_restores_numeric_edge_and_state_dict_round_trip():
    m = kp.KAN([2, 3, 1], seed=0).double()
    x = torch.rand(30, 2, dtype=torch.float64) * 2 - 1
    y0 = m(x).detach()
    m.layers[0].fix_symbolic(0, 1, "sin", (2.0, 0.3, 1.5, -0.2))
    y1 = m(x).detach()
    assert not torch.allclose(y0, y1)
    clone = kp.KAN([2, 3, 1], seed=5).double()
    clone.load_state_dict(m.state_dict())
    assert torch.allclose(clone(x), y1) and clone.layers[0].symbolic_edge(0, 1)[0] == "sin"
    interpret.unfix_symbolic(m, 0, 0, 1)
    assert m.layers[0].symbolic is None
    assert torch.equal(m(x).detach(), y0)


def test_fix_symbolic_fits_the_edge_and_formula_rules():
    m = kp.KAN([2, 2, 1], seed=1).double()
    m(torch.rand(64, 2, dtype=torch.float64) * 2 - 1)
    with pytest.raises(ValueError, match="splines, not formulas"):
        interpret.formula(m)
    approx = interpret.formula(m, numeric="suggest")
    assert approx.free_symbols <= set(sp.symbols("z_1 z_2"))
    s = interpret.fix_symbolic(m, 0, 0, 0, "x^2")
    assert s.name == "x^2" and m.layers[0].symbolic_edge(0, 0) == ("x^2", s.params)
    with pytest.raises(ValueError, match="unknown symbolic function"):
        interpret.fix_symbolic(m, 0, 0, 1, "cosh")


def test_fit_exp_sin_problem_trains_without_residual():
    p = kp.get_problem("fit_exp_sin")
    assert p.residual is None and p.conditions[0].kind == "data"
    sol = kp.train(p, kp.KAN([2, 1, 1], seed=0), kp.TrainConfig(epochs=5, optimizer="lbfgs", progress=False,
                                                                  threads=1))
    assert np.isfinite(sol.history.rel_l2[-1])


@pytest.fixture(scope="module")
def discovery():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "fit_exp_sin.py"
    spec = importlib.util.spec_from_file_location("fit_exp_sin_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, mod.discover(seed=0, verbose=False)


def test_fit_exp_sin_snaps_sin_square_exp(discovery):
    _, res = discovery
    assert res["pruned"].model.widths == [2, 1, 1]
    names = {(s.layer, s.i, s.j): s.suggestion.name for s in res["snaps"]}
    assert names == {(0, 0, 0): "sin", (0, 1, 0): "x^2", (1, 0, 0): "exp"}


def test_fit_exp_sin_formula_matches_truth(discovery):
    mod, res = discovery
    assert res["formula"].free_symbols == set(sp.symbols("x_1 x_2"))
    assert mod.formula_error(res["formula"]) < 1e-2


def test_kan_plot_renders(tmp_path, decay):
    from matplotlib.figure import Figure

    m = _kan_with_symbolic_edges()
    m.layers[0].edge_mask[1, 0] = 0
    fig = kp.plot.kan(m, x=torch.rand(50, 2, dtype=torch.float64) * 2 - 1, save=tmp_path / "a.png")
    assert isinstance(fig, Figure) and (tmp_path / "a.png").read_bytes()[:8] == PNG
    assert any("sin" in ax.get_title() for ax in fig.axes)
    deep = kp.KAN([1, 2, 2, 1], seed=0)
    kp.plot.kan(deep, save=tmp_path / "deep.svg")  # never called: grid ranges
    assert (tmp_path / "deep.svg").read_text().lstrip().startswith("<?xml")
    kp.plot.kan(decay, x=np.linspace(0, 2, 20)[:, None], save=tmp_path / "sol.png")
    assert (tmp_path / "sol.png").exists()


# -- the input range an edge is fitted on comes from the layer's recorded input (KANLayer.recorded_input)
def test_suggestions_fit_over_the_range_of_the_last_batch():
    net = kp.KAN([1, 2, 1], grid=5, seed=3)
    lib = ["x", "x^2", "sin", "exp"]
    with torch.no_grad():
        net(torch.linspace(-0.3, 0.4, 64)[:, None])
    assert net.layers[0].recorded_input.shape == (64, 1)
    seen = interpret.suggest_symbolic(net, 0, 0, 1, lib=lib)
    explicit = interpret.suggest_symbolic(net, 0, 0, 1, lib=lib, x=np.linspace(-0.3, 0.4, 256))
    assert [s.name for s in seen] == [s.name for s in explicit]
    assert np.allclose([s.r2 for s in seen], [s.r2 for s in explicit], atol=1e-6)
    wide = interpret.suggest_symbolic(net, 0, 0, 1, lib=lib, x=np.linspace(-1.0, 1.0, 256))
    assert not np.allclose([s.r2 for s in seen], [s.r2 for s in wide], atol=1e-6)  # the range matters


def test_suggestions_fit_over_the_grid_range_before_any_forward_pass():
    net = kp.KAN([1, 2, 1], grid=5, seed=3)
    assert net.layers[0].recorded_input is None
    lib = ["x", "x^2", "sin"]
    seen = interpret.suggest_symbolic(net, 0, 0, 0, lib=lib)
    explicit = interpret.suggest_symbolic(net, 0, 0, 0, lib=lib, x=np.linspace(-1.0, 1.0, 256))
    assert [s.name for s in seen] == [s.name for s in explicit]
    assert np.allclose([s.r2 for s in seen], [s.r2 for s in explicit], atol=1e-6)
