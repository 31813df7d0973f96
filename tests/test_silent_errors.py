"""No silent wrong answers from the training engine: shapes, divergence, returned weights, stray parameters."""

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde import ops

CFG = dict(epochs=5, progress=False)


def _decay(residual, **kw):
    return kp.Problem("shape", kp.Interval(0.0, 2.0), residual, conditions=(kp.Initial(1.0),), order=1, **kw)


g = lambda x: torch.sin(x[:, 0]) + torch.cos(x[:, 0])  # noqa: E731  (N,), the classic broadcast trap


@pytest.mark.parametrize("residual, match", [
    (lambda x, u: ops.partial(u, x, 0) + u - g(x), r"\(N, N\)"),
    (lambda x, u: (ops.partial(u, x, 0) + u)[1:], r"for \d+ points"),
    (lambda x, u: (ops.partial(u, x, 0) + u).sum(), r"returned shape \(\)"),
    (lambda x, u: None, "returned NoneType"),
    (lambda x, u: np.zeros(len(x)), "returned ndarray"),
    (lambda x, u: (ops.partial(u, x, 0) + u)[:, :, None], r"returned shape \(\d+, 1, 1\)"),
])
def test_residual_of_the_wrong_shape_raises_before_training(residual, match):
    prob = _decay(residual)
    with pytest.raises((ValueError, TypeError), match=match) as e:
        kp.train(prob, kp.MLP([1, 8, 1], seed=0), kp.TrainConfig(**CFG))
    assert "'shape'" in str(e.value) and "'pde'" in str(e.value)


def test_right_shapes_are_accepted():
    for res in (lambda x, u: (ops.partial(u, x, 0) + u)[:, 0],
                lambda x, u: [ops.partial(u, x, 0) + u, (ops.partial(u, x, 0) + u)[:, 0]],
                lambda x, u: ops.partial(u, x, 0) + u - g(x)[:, None]):
        sol = kp.train(_decay(res), kp.MLP([1, 8, 1], seed=0), kp.TrainConfig(**CFG))
        assert math.isfinite(sol.history.loss[-1])


def test_runaway_loss_stops_and_restores_the_best_weights():
    with pytest.warns(RuntimeWarning, match="ran away"):
        s = kp.solve("poisson2d", model="kan", optimizer="adam", lr=1e6, epochs=200, progress=False,
                     n_interior=128, n_boundary=64, n_eval=256, log_every=1)
    h = s.history
    assert h.diverged and "ran away" in h.message and h.epoch[-1] < 200
    assert h.loss[-1] == min(h.loss)  # the last row is the restored (best) weights
    xe = s.problem.eval_points(256)
    err = np.linalg.norm(s(xe).reshape(-1, 1) - s.problem.truth(xe)) / np.linalg.norm(s.problem.truth(xe))
    assert math.isclose(err, h.rel_l2[-1], rel_tol=1e-9)


def test_after_a_nan_stop_the_last_record_describes_the_returned_weights():
    with pytest.warns(RuntimeWarning, match="non-finite"):
        s = kp.solve("poisson2d", model="kan", lr=1e8, dtype="float32", epochs=50, progress=False,
                     n_interior=128, n_boundary=64, n_eval=256)
    h = s.history
    assert h.diverged and math.isfinite(h.rel_l2[-1]) and h.rel_l2[-1] < 10
    xe = s.problem.eval_points(256)
    err = np.linalg.norm(s(xe).reshape(-1, 1) - s.problem.truth(xe)) / np.linalg.norm(s.problem.truth(xe))
    assert math.isclose(err, h.rel_l2[-1], rel_tol=1e-4)


def test_a_healthy_run_is_not_flagged():
    s = kp.solve("exp_decay", model="mlp", epochs=300, lr=1e-2, progress=False)
    assert not s.history.diverged


def test_a_trainable_tensor_outside_the_model_is_refused():
    k = torch.nn.Parameter(torch.tensor(0.5, dtype=torch.float64))
    prob = _decay(lambda x, u: ops.partial(u, x, 0) + k * u)
    with pytest.raises(ValueError, match="not parameters of the model"):
        kp.train(prob, kp.MLP([1, 8, 1], seed=0), kp.TrainConfig(**CFG))
    const = _decay(lambda x, u: ops.partial(u, x, 0) + k.detach() * u)
    kp.train(const, kp.MLP([1, 8, 1], seed=0), kp.TrainConfig(**CFG))


def _fit(cond):
    return kp.Problem("fit", kp.Interval(0.0, 1.0), None, conditions=(cond,), order=0)


def test_observations_are_checked_before_training(tmp_path):
    xs = np.linspace(0, 1, 10)[:, None]
    ys = np.exp(-xs)
    bad = ys.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="NaN or inf in 1 row.*row 3"):
        kp.Data(xs, bad)
    with pytest.raises(ValueError, match="one row per point: 10 points"):
        kp.Data(xs, ys[:5])
    with pytest.raises(ValueError, match="outside the domain.*row 9"):
        kp.train(_fit(kp.Data(np.r_[xs[:9], [[1.5]]], ys)), kp.MLP([1, 4, 1]), kp.TrainConfig(**CFG))
    with pytest.raises(ValueError, match="'data' condition.*2 column"):
        kp.train(_fit(kp.Data(xs, np.c_[ys, ys])), kp.MLP([1, 4, 1]), kp.TrainConfig(**CFG))
    cond = kp.Dirichlet(lambda x: x[:, 0] + x[:, 0][:, None])
    with pytest.raises(ValueError, match=r"'dirichlet' condition.*shape \(2, 2\) for 2 points"):
        kp.train(kp.Problem("p", kp.Interval(0.0, 1.0), lambda x, u: ops.laplacian(u, x), (cond,)),
                 kp.MLP([1, 4, 1]), kp.TrainConfig(**CFG))


def test_observations_from_csv_and_arrays(tmp_path):
    xs = np.linspace(0, 1, 7)
    f = tmp_path / "obs.csv"
    f.write_text("x,u,extra\n" + "".join(f"{a},{np.exp(-a)},0\n" for a in xs))
    d = kp.Data.from_csv(str(f), inputs=["x"], outputs=["u"], noise=0.01)
    np.testing.assert_allclose(d.points[:, 0], xs)
    np.testing.assert_allclose(d.values[:, 0], np.exp(-xs))
    assert d.noise == 0.01
    np.testing.assert_array_equal(kp.Data.from_arrays(xs, np.exp(-xs)).values, d.values)
    with pytest.raises(ValueError, match=r"no column\(s\) \['v'\]"):
        kp.Data.from_csv(str(f), inputs=["x"], outputs=["v"])
    sol = kp.train(_fit(d), kp.MLP([1, 8, 1], seed=0), kp.TrainConfig(epochs=200, lr=1e-2, progress=False))
    assert sol.history.loss[-1] < sol.history.loss[0]


# -- property tests: any shape either trains or raises a documented error ---------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_DIMS = st.sampled_from(["N", "N-1", "N+1", 1, 2, 3])


def _size(d, n):
    return {"N": n, "N-1": n - 1, "N+1": n + 1}.get(d, d)


@settings(max_examples=25)
@given(shape=st.lists(_DIMS, min_size=0, max_size=3))
def test_any_residual_shape_trains_or_raises_a_documented_error(shape):
    def residual(x, u):
        n = x.shape[0]
        dims = [_size(d, n) for d in shape]
        return torch.zeros(dims, dtype=x.dtype) + 0 * u.sum()

    prob = _decay(residual, n_interior=16)
    valid = len(shape) in (1, 2) and shape[0] == "N" and (len(shape) == 1 or shape[1] != "N" and
                                                           shape[1] not in ("N-1", "N+1"))
    try:
        kp.train(prob, kp.MLP([1, 4, 1], seed=0), kp.TrainConfig(epochs=2, progress=False))
    except (ValueError, TypeError) as e:
        assert not valid, f"valid shape {shape} raised {e}"
        assert "'pde'" in str(e)
    else:
        assert valid, f"shape {shape} was accepted"


@settings(max_examples=20)
@given(rows=st.sampled_from(["N", "N-1", 1]), cols=st.sampled_from([None, 1, 2, 3]))
def test_any_condition_value_shape_trains_or_raises_a_documented_error(rows, cols):
    def value(x):
        n = _size(rows, x.shape[0])
        return torch.zeros((n,) if cols is None else (n, cols), dtype=x.dtype)

    prob = kp.Problem("p", kp.Box((0.0, 0.0), (1.0, 1.0)), lambda x, u: ops.laplacian(u, x),
                      (kp.Dirichlet(value),), n_interior=16, n_boundary=16)
    valid = rows == "N" and cols in (None, 1)
    try:
        kp.train(prob, kp.MLP([2, 4, 1], seed=0), kp.TrainConfig(epochs=2, progress=False))
    except (ValueError, TypeError) as e:
        assert not valid, f"valid value shape ({rows}, {cols}) raised {e}"
        assert "'dirichlet' condition" in str(e)
    else:
        assert valid, f"value shape ({rows}, {cols}) was accepted"


@settings(max_examples=20)
@given(n=st.integers(1, 12), k=st.integers(1, 3), extra=st.integers(-2, 2),
       bad=st.sampled_from([None, "nan", "inf", "outside"]))
def test_any_observation_set_trains_or_raises_a_documented_error(n, k, extra, bad):
    rng = np.random.default_rng(n)
    x = rng.uniform(0, 1, (n, 1))
    y = rng.normal(size=(max(n + extra, 0), k))
    if bad == "nan" and y.size:
        y[0, 0] = np.nan
    if bad == "inf":
        x[-1, 0] = np.inf
    if bad == "outside":
        x[-1, 0] = 1.5
    valid = extra == 0 and k == 1 and bad is None or (extra == 0 and k == 1 and bad == "nan" and not y.size)
    try:
        kp.train(_fit(kp.Data(x, y)), kp.MLP([1, 4, 1], seed=0), kp.TrainConfig(epochs=2, progress=False))
    except (ValueError, TypeError):
        assert not valid
    else:
        assert valid
