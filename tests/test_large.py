"""Large point sets: mini-batched collocation and chunked prediction."""

import importlib

import numpy as np
import pytest

import kanpde as kp

solution = importlib.import_module("kanpde.solution")
train = importlib.import_module("kanpde.train")


def test_batches_are_fresh_subsets_of_the_pool_and_deterministic():
    cfg = kp.TrainConfig(epochs=4, optimizer="adam", progress=False, n_interior=512, batch_size=64, seed=5)
    run = train.Run(kp.get_problem("poisson2d"), kp.MLP([2, 8, 1], seed=0), cfg, ())
    pool = run.loss.pool()
    seen = []
    for _ in range(3):
        x = run.loss.points()["pde"]
        assert x.shape == (64, 2)
        assert (x[:, None, :] == pool[None, :, :]).all(-1).any(1).all()  # every batch point is a pool point
        seen.append(x.copy())
        run.loss.next_batch(run.rng)
    assert not np.array_equal(seen[0], seen[1])
    a = kp.solve("poisson2d", model="mlp", epochs=20, batch_size=64, n_interior=512, progress=False, seed=2)
    b = kp.solve("poisson2d", model="mlp", epochs=20, batch_size=64, n_interior=512, progress=False, seed=2)
    assert a.history.loss == b.history.loss


def test_batch_size_none_is_the_full_set_and_a_batch_as_large_as_the_pool_changes_nothing():
    kw = dict(model="mlp", epochs=15, n_interior=128, progress=False, seed=1, optimizer="adam")
    full = kp.solve("poisson2d", **kw).history.loss
    same = kp.solve("poisson2d", batch_size=128, **kw).history.loss
    assert full == same


def test_chunked_prediction_equals_unchunked(monkeypatch):
    sol = kp.solve("poisson2d", model="kan", epochs=3, progress=False)
    x = sol.problem.eval_points(1000)
    whole = sol(x)
    monkeypatch.setattr(solution, "PREDICT_CHUNK", 7)
    np.testing.assert_allclose(sol(x), whole, rtol=1e-12, atol=1e-15)  # only matmul blocking differs
    monkeypatch.setattr(train, "EVAL_CHUNK", 13)
    a = kp.solve("poisson2d", model="mlp", epochs=3, progress=False, n_eval=500).history.rel_l2
    monkeypatch.setattr(train, "EVAL_CHUNK", 65536)
    b = kp.solve("poisson2d", model="mlp", epochs=3, progress=False, n_eval=500).history.rel_l2
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_batch_size_is_checked():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        kp.TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="no residual"):
        kp.solve("fit_exp_sin", model="mlp", epochs=2, batch_size=8, progress=False)
