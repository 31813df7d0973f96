"""Chunked training step: large terms evaluated chunk by chunk, gradients accumulated, results unchanged."""

import importlib

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.loss import STEP_CHUNK, ResidualLoss

train = importlib.import_module("kanpde.train")


def _model(kind: str, d_in: int = 2):
    return kp.MLP([d_in, 8, 8, 1], seed=0) if kind == "mlp" else kp.KAN([d_in, 4, 1], seed=0)


def _grads(model):
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


@pytest.mark.parametrize("kind", ["mlp", "kan"])
@pytest.mark.parametrize("path", ["jet", "autograd"])
def test_chunked_loss_and_gradient_equal_the_unsplit_ones(kind, path):
    problem, model = kp.get_problem("poisson2d"), _model(kind).double()
    loss = ResidualLoss(problem, n_interior=300, n_boundary=70, derivatives=path, chunk_size=64)
    assert loss.plan(model)["pde"] == path
    loss.sample(3)
    assert loss.chunked  # 300 and 70 points: both terms split, with an uneven last chunk
    w = torch.as_tensor(np.random.default_rng(0).uniform(0.1, 3.0, 300))
    loss.set_point_weights("pde", w)
    loss.set_weight("dirichlet", 7.5)
    total, terms = loss(model)  # the unsplit reference: one pass, one backward
    total.backward()
    ref, ref_res = _grads(model), loss.last_residuals()
    model.zero_grad()
    chunked = loss.accumulate(model)
    torch.testing.assert_close(_grads(model), ref, rtol=1e-12, atol=1e-14)
    for name in terms:
        torch.testing.assert_close(chunked[name], terms[name].detach(), rtol=1e-12, atol=0)
        torch.testing.assert_close(loss.last_residuals()[name], ref_res[name], rtol=1e-12, atol=1e-15)
    assert chunked["pde"].grad_fn is None  # values come back detached
    # per-term gradients (LRA) split the same way
    params = list(model.parameters())
    split = loss.term_grads(model, params)
    whole = {n: torch.autograd.grad(t, params, retain_graph=True, allow_unused=True)
             for n, t in loss(model)[1].items()}
    for name in whole:
        for a, b in zip(split[name], whole[name]):
            assert (a is None) == (b is None)  # e.g. the Laplacian does not see the last bias
            if a is not None:
                torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def _solve(chunk_size, **kw):
    kw = {"model": "mlp", "epochs": 6, "n_interior": 200, "n_boundary": 60, "progress": False, "seed": 1,
          "log_every": 1, **kw}
    return kp.solve(kw.pop("problem", "poisson2d"), chunk_size=chunk_size, **kw)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["mlp", "kan"])
def test_training_with_chunks_follows_the_unsplit_run(optimizer, kind):
    a, b = _solve(None, model=kind, optimizer=optimizer), _solve(48, model=kind, optimizer=optimizer)
    assert "chunking" not in a.history.meta and b.history.meta["chunking"].startswith("on")
    np.testing.assert_allclose(b.history.loss, a.history.loss, rtol=1e-9)
    np.testing.assert_allclose(b.history.rel_l2, a.history.rel_l2, rtol=1e-9)
    assert a.history.loss[-1] < a.history.loss[0]


def test_methods_that_read_residuals_or_gradients_follow_the_unsplit_run():
    ms = [kp.methods.RBA(), kp.methods.Causal(slices=4), kp.methods.LRA(every=2)]
    kw = {"problem": "heat1d", "methods": ms, "lr": 1e-2, "epochs": 8}
    a, b = _solve(None, **kw), _solve(40, **kw)
    assert b.history.meta["chunking"].startswith("on")
    np.testing.assert_allclose(b.history.loss, a.history.loss, rtol=1e-9)
    for name, col in a.history.weights.items():
        np.testing.assert_allclose(b.history.weights[name], col, rtol=1e-9)
    assert a.history.weights["dirichlet"][-1] != 1.0  # LRA acted


@pytest.mark.parametrize("problem", ["fit_exp_sin", "heat1d_inverse"])
def test_data_terms_split_with_their_observations(problem):
    # observations (and the unknown coefficient of the inverse problem) follow their rows into each chunk
    a, b = _solve(None, problem=problem, optimizer="lbfgs", epochs=4), _solve(16, problem=problem,
                                                                               optimizer="lbfgs", epochs=4)
    assert b.history.meta["chunking"].startswith("on")
    np.testing.assert_allclose(b.history.loss, a.history.loss, rtol=1e-9)
    for name, col in a.history.unknowns.items():
        np.testing.assert_allclose(b.history.unknowns[name], col, rtol=1e-9)


def test_a_periodic_condition_is_never_split_and_a_penalty_turns_chunking_off():
    a, b = _solve(None, problem="advection1d"), _solve(32, problem="advection1d")  # 60 pairs, 30 rows each
    np.testing.assert_allclose(b.history.loss, a.history.loss, rtol=1e-9)
    kw = {"model": "kan", "reg": 1e-3}
    a, b = _solve(None, **kw), _solve(32, **kw)
    assert b.history.meta["chunking"].startswith("off: Sparsity")
    assert a.history.loss == b.history.loss  # the unsplit step, bit for bit


def test_chunking_starts_above_the_threshold_only_and_is_deterministic():
    assert STEP_CHUNK == 8192
    cfg = kp.TrainConfig(epochs=1, progress=False, n_interior=STEP_CHUNK)
    assert not train.Run(kp.get_problem("poisson2d"), _model("mlp"), cfg, ()).loss.chunked
    run = train.Run(kp.get_problem("poisson2d"), _model("mlp"), cfg.replace(n_interior=STEP_CHUNK + 1), ())
    assert run.loss.chunked and run.chunking
    assert _solve(48).history.loss == _solve(48).history.loss


def test_chunk_size_is_checked():
    with pytest.raises(ValueError, match="chunk_size must be a positive integer, got 0"):
        kp.TrainConfig(chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size must be an integer"):
        kp.TrainConfig(chunk_size=1.5)
