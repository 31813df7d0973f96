"""Unknown coefficients: identified with the network, recorded, saved, kept across grid changes."""

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde import ops


def _decay_inverse(k_true=1.5, n=40, unknown=None):
    x = np.linspace(0.0, 2.0, n)[:, None]

    def res(x, u, p):
        return ops.partial(u, x, 0) + p["k"] * u

    return kp.Problem("decay_inv", kp.Interval(0.0, 2.0), res, order=1, n_interior=64,
                      unknowns={"k": unknown or kp.Unknown(0.5, positive=True)}, true_unknowns={"k": k_true},
                      conditions=(kp.Data.from_arrays(x, np.exp(-k_true * x)),),
                      exact=lambda x: torch.exp(-k_true * x))


@pytest.mark.parametrize("model", ["mlp", "kan"])
def test_a_decay_rate_is_identified(model):
    net = kp.MLP([1, 16, 1], seed=0) if model == "mlp" else kp.KAN([1, 4, 1], seed=0)
    sol = kp.train(_decay_inverse(), net, kp.TrainConfig(epochs=400, optimizer="adam+lbfgs", lbfgs_epochs=200,
                                                         lr=1e-2, progress=False, log_every=50))
    assert abs(sol.unknowns["k"] - 1.5) < 1e-3
    traj = sol.history.unknowns["k"]
    assert traj[0] == pytest.approx(0.5) and traj[-1] == pytest.approx(sol.unknowns["k"])
    assert "unknown_k" in sol.history.rows()[0]


def test_unknowns_keep_training_across_grid_changes_and_survive_save(tmp_path):
    prob = _decay_inverse(unknown=kp.Unknown(1.0, bounds=(0.0, 3.0)))
    cfg = kp.TrainConfig(epochs=300, lr=1e-2, progress=False, grid_schedule={0: 3, 100: 6, 200: 10}, log_every=50)
    sol = kp.train(prob, kp.KAN([1, 3, 1], grid=3, seed=0), cfg)
    traj = sol.history.unknowns["k"]
    assert traj[-1] != traj[-2] != traj[-3]  # still moving after each refine
    assert 0.0 < sol.unknowns["k"] < 3.0
    sol.save(tmp_path / "inv.pt")
    back = kp.load(tmp_path / "inv.pt", problem=prob)
    assert back.unknowns == sol.unknowns
    assert back.history.unknowns["k"] == traj


def test_unknown_arguments_are_checked():
    with pytest.raises(ValueError, match="positive init"):
        kp.Unknown(-1.0, positive=True)
    with pytest.raises(ValueError, match="a < init < b"):
        kp.Unknown(5.0, bounds=(0.0, 1.0))
    with pytest.raises(ValueError, match="finite number"):
        kp.Unknown(float("nan"))
    with pytest.raises(ValueError, match=r"residual\(x, u, p\)"):
        kp.Problem("p", kp.Interval(0.0, 1.0), lambda x, u: u, unknowns={"k": kp.Unknown(1.0)})
    with pytest.raises(TypeError, match="kp.Unknown"):
        kp.Problem("p", kp.Interval(0.0, 1.0), lambda x, u, p: u, unknowns={"k": 1.0})
    with pytest.raises(ValueError, match="true_unknowns"):
        kp.Problem("p", kp.Interval(0.0, 1.0), lambda x, u, p: u, unknowns={"k": kp.Unknown(1.0)},
                   true_unknowns={"c": 2.0})


def test_constraints_map_raw_parameters_to_values():
    u = kp.Unknown(0.25, bounds=(-1.0, 1.0))
    raw = torch.tensor(u.raw(), dtype=torch.float64)
    assert math.isclose(float(u.value(raw)), 0.25, rel_tol=1e-12)
    p = kp.Unknown(3.0, positive=True)
    assert math.isclose(float(p.value(torch.tensor(p.raw()))), 3.0, rel_tol=1e-6)
    assert float(p.value(torch.tensor(-50.0))) > 0
