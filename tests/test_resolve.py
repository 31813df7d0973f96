"""One resolution of a run's configuration: budget, overrides, seed, the L-BFGS share rule, point counts."""

import pytest
import torch

import kanpde as kp
from kanpde import bench
from kanpde.resolve import resolve, resolve_config


def _problem(**budget):
    return kp.Problem("tiny", kp.Interval(0.0, 1.0), lambda x, u: kp.ops.partial(u, x, 0) + u,
                      conditions=(kp.Initial(1.0),), order=1, exact=lambda x: torch.exp(-x), budget=budget)


def test_budget_then_overrides_then_seed():
    p = _problem(epochs=300, lr=1e-2, optimizer="adam")
    cfg = resolve_config(p, [{"lr": 5e-3}, {"epochs": 40}], seed=7)
    assert (cfg.epochs, cfg.lr, cfg.optimizer, cfg.seed) == (40, 5e-3, "adam", 7)
    assert resolve_config(p, use_budget=False).epochs == kp.TrainConfig().epochs


def test_lbfgs_keeps_its_share_when_a_higher_layer_changes_epochs():
    p = _problem(epochs=3000, optimizer="adam+lbfgs", lbfgs_epochs=2500)
    assert resolve_config(p, {"epochs": 600}).lbfgs_epochs == 500  # 2500/3000 of 600
    assert resolve_config(p, {"epochs": 600, "lbfgs_epochs": 100}).lbfgs_epochs == 100  # given together: as is
    assert resolve_config(p, [{"lbfgs_epochs": 30}, {"epochs": 60}]).lbfgs_epochs == 1  # 30/3000 of 60
    assert resolve_config(p).lbfgs_epochs == 2500
    # the same rule in kp.solve's config and in a suite's runs
    suite = {"name": "s", "problems": [{"name": "poisson1d"}], "use_budget": True, "seeds": [0],
             "models": [{"label": "m", "model": "mlp", "hidden": [4]}],
             "train": {"optimizer": "adam+lbfgs", "lbfgs_epochs": 10, "epochs": 40}}
    (spec,) = bench.expand({**suite, "problems": [{"name": "poisson1d", "train": {"epochs": 8}}]})
    assert (spec.config["epochs"], spec.config["lbfgs_epochs"]) == (8, 2)


@pytest.mark.parametrize("name,value", [("n_interior", 0), ("n_boundary", -3), ("n_eval", 2.5), ("n_initial", "9")])
def test_point_counts_are_checked_once_before_anything_is_built(name, value):
    with pytest.raises((ValueError, TypeError), match=name):
        resolve("exp_decay", "mlp", options={name: value})
    with pytest.raises(ValueError, match=name):
        bench.expand({"name": "s", "problems": ["exp_decay"], "models": [{"label": "m", "model": "mlp"}],
                      "train": {name: value}})


def test_model_by_name_is_seeded_with_the_run_seed_and_options_are_split():
    a = resolve("exp_decay", "kan", widths=[1, 3, 1], options={"grid": 4, "epochs": 5, "seed": 3})
    b = resolve("exp_decay", "kan", widths=[1, 3, 1], options={"grid": 4, "epochs": 5, "seed": 3})
    c = resolve("exp_decay", "kan", widths=[1, 3, 1], options={"grid": 4, "epochs": 5, "seed": 4})
    assert a.config.epochs == 5 and a.config.seed == 3 and a.model.grid == 4
    sa, sb, sc = (list(r.model.state_dict().values()) for r in (a, b, c))
    assert all(torch.equal(x, y) for x, y in zip(sa, sb))
    assert not all(torch.equal(x, y) for x, y in zip(sa, sc))
    with pytest.raises(TypeError, match="unknown argument"):
        resolve("exp_decay", "mlp", options={"gird": 3})
    with pytest.raises(ValueError, match="do not fit"):
        resolve("exp_decay", "mlp", widths=[2, 5, 1])
    with pytest.raises(TypeError, match="unknown argument"):
        resolve("exp_decay", kp.MLP([1, 4, 1]), options={"activation": "sin"})
    with pytest.raises(TypeError, match="by name"):
        resolve("exp_decay", kp.MLP([1, 4, 1]), widths=[1, 4, 1])


def test_family_section_of_a_budget_applies_to_that_family_only():
    p = _problem(epochs=50, lr=1e-2, kan={"epochs": 20, "grid": 7, "widths": [1, 1]}, mlp={"lr": 3e-3})
    k = resolve(p, "kan")
    m = resolve(p, "mlp")
    assert (k.config.epochs, k.config.lr, k.model.grid, list(k.model.widths)) == (20, 1e-2, 7, [1, 1])
    assert (m.config.epochs, m.config.lr) == (50, 3e-3)
    assert resolve(p, "kan", widths=[1, 2, 1], options={"grid": 3}).model.grid == 3  # the user's choice wins


def test_solve_uses_the_same_resolution():
    p = _problem(epochs=3000, optimizer="adam+lbfgs", lbfgs_epochs=2500)
    sol = kp.solve(p, "mlp", epochs=6, progress=False, widths=[1, 4, 1])
    assert sol.config == resolve_config(p, {"epochs": 6, "progress": False})
