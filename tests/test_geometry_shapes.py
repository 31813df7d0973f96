"""Ellipse, Triangle, n-D Ball, PointCloud; bounds checked at construction (property-based)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

import kanpde as kp
from kanpde.geometry import SAMPLING_METHODS

ELL = dict(center=(0.5, -1.0), semi_axes=(2.0, 0.5), angle=0.6)


def ellipse_f(x):
    """Implicit function of ELL: 1 on the ellipse, < 1 inside."""
    c, s = math.cos(ELL["angle"]), math.sin(ELL["angle"])
    d = x - np.asarray(ELL["center"])
    u, v = d[:, 0] * c + d[:, 1] * s, -d[:, 0] * s + d[:, 1] * c
    return (u / 2.0) ** 2 + (v / 0.5) ** 2


@pytest.mark.parametrize("method", SAMPLING_METHODS)
def test_ellipse_interior_boundary_normals(method):
    g = kp.Ellipse(**ELL)
    x = g.sample_interior(500, method, 0)
    assert x.shape == (500, 2) and (ellipse_f(x) <= 1 + 1e-12).all()
    lo, hi = g.bbox
    assert (x >= lo).all() and (x <= hi).all()
    xb, nb = g.sample_boundary(400, method, 0)
    assert xb.shape == nb.shape == (400, 2)
    np.testing.assert_allclose(ellipse_f(xb), 1.0, atol=1e-12)
    assert g.boundary_distance(xb).max() < 1e-12
    np.testing.assert_allclose(np.linalg.norm(nb, axis=1), 1.0, atol=1e-12)
    eps = 1e-6  # the normal is the normalised gradient of the implicit function (finite differences)
    grad = np.stack([(ellipse_f(xb + eps * e) - ellipse_f(xb - eps * e)) / (2 * eps) for e in np.eye(2)], 1)
    np.testing.assert_allclose(nb, grad / np.linalg.norm(grad, axis=1, keepdims=True), atol=1e-7)
    assert not g.contains(xb + 1e-4 * nb).any() and g.contains(xb - 1e-4 * nb).all()


def test_ellipse_measures_and_arc_length_uniformity():
    g = kp.Ellipse(**ELL)
    a, b = 2.0, 0.5
    speed = lambda t: math.hypot(a * math.sin(t), b * math.cos(t))
    perimeter = quad(speed, 0, 2 * math.pi, limit=200)[0]
    np.testing.assert_allclose(g.boundary_measure, perimeter, rtol=1e-12)
    np.testing.assert_allclose(g.measure, math.pi * a * b, rtol=1e-14)
    # the arc with local coordinate u > 1.5 (t in [-t0, t0]) gets its share of the perimeter
    t0 = math.acos(0.75)
    share = 2 * quad(speed, 0, t0)[0] / perimeter
    xb, _ = g.sample_boundary(20000, "sobol", 1)
    c, s = math.cos(ELL["angle"]), math.sin(ELL["angle"])
    u = (xb[:, 0] - 0.5) * c + (xb[:, 1] + 1.0) * s
    assert abs((u > 1.5).mean() - share) < 2e-3
    x = g.sample_interior(20000, "sobol", 1)  # uniform inside: E[u^2] = a^2 / 4
    assert abs(np.mean(((x[:, 0] - 0.5) * c + (x[:, 1] + 1.0) * s) ** 2) - a**2 / 4) < 0.01


@pytest.mark.parametrize("dim", [1, 2, 3, 5])
@pytest.mark.parametrize("method", SAMPLING_METHODS)
def test_ball_in_any_dimension(dim, method):
    c = np.linspace(-1, 1, dim)
    g = kp.Ball(c, 0.7)
    x = g.sample_interior(400, method, 2)
    assert x.shape == (400, dim) and (np.linalg.norm(x - c, axis=1) <= 0.7 * (1 + 1e-12)).all()
    xb, nb = g.sample_boundary(300, method, 2)
    assert xb.shape == nb.shape == ((2, dim) if dim == 1 else (300, dim))
    np.testing.assert_allclose(np.linalg.norm(xb - c, axis=1), 0.7, atol=1e-12)
    np.testing.assert_allclose(nb, (xb - c) / 0.7, atol=1e-12)
    if method != "grid":  # uniform in the ball: E|x - c|^2 = d r^2 / (d + 2)
        r2 = np.sum((g.sample_interior(8000, method, 3) - c) ** 2, axis=1)
        assert abs(r2.mean() - dim * 0.49 / (dim + 2)) < 0.01
    vol = {1: 2 * 0.7, 2: math.pi * 0.49, 3: 4 / 3 * math.pi * 0.7**3, 5: 8 / 15 * math.pi**2 * 0.7**5}[dim]
    np.testing.assert_allclose(g.measure, vol, rtol=1e-12)
    if dim == 3:
        np.testing.assert_allclose(g.boundary_measure, 4 * math.pi * 0.49, rtol=1e-12)


def test_ball_sphere_directions_are_uniform():
    xb, _ = kp.Ball((0, 0, 0), 1.0).sample_boundary(6000, "sobol", 0)
    np.testing.assert_allclose(np.mean(xb**2, axis=0), 1 / 3, atol=0.01)  # E[x_i^2] = 1/3 on the sphere
    assert abs(np.mean(xb[:, 2] > 0.5) - 0.25) < 0.01  # a cap of height 1/2 has a quarter of the area


def test_triangle_is_a_polygon():
    t = kp.Triangle((0, 0), (2, 0), (0, 1))
    assert isinstance(t, kp.Polygon) and t.measure == 1.0
    np.testing.assert_allclose(t.boundary_measure, 3 + math.sqrt(5))
    x = t.sample_interior(300, "grid", 0)
    assert len(x) == 300 and (x[:, 0] / 2 + x[:, 1] <= 1 + 1e-12).all() and (x >= 0).all()
    xb, nb = t.sample_boundary(100, "sobol", 0)
    assert t.boundary_distance(xb).max() < 1e-12
    with pytest.raises(ValueError, match="c must be finite"):
        kp.Triangle((0, 0), (1, 0), (0, float("nan")))


def _disk_cloud(n=400, m=200):
    x = kp.Disk((0, 0), 1.0).sample_interior(n, "sobol", 0)
    th = np.linspace(0, 2 * np.pi, m, endpoint=False)
    nb = np.stack([np.cos(th), np.sin(th)], 1)
    return kp.PointCloud(x, nb, 3 * nb)  # normals are normalised


def test_point_cloud_samples_its_points():
    pc = _disk_cloud()
    assert pc.dim == 2
    for method in SAMPLING_METHODS:
        x = pc.sample_interior(100, method, 1)
        assert len(x) == 100 and len(np.unique(x, axis=0)) == 100
        assert (np.isin(x, pc.points).all(1)).all()
        xb, nb = pc.sample_boundary(50, method, 1)
        np.testing.assert_allclose(nb, xb, atol=1e-12)
    np.testing.assert_array_equal(pc.sample_interior(100, "uniform", 4), pc.sample_interior(100, "uniform", 4))
    assert pc.contains(np.array([[0.0, 0.0], [0.5, 0.5], [1.2, 0.0], [0.9, 0.9]])).tolist() == [
        True, True, False, False]
    with pytest.raises(ValueError, match="exceeds the 400 interior points"):
        pc.sample_interior(401)
    with pytest.raises(ValueError, match="normals must have the shape"):
        kp.PointCloud(pc.points, pc.boundary_points, pc.normals[:5])
    with pytest.raises(ValueError, match="boundary_points must be finite"):
        kp.PointCloud(pc.points, np.full((3, 2), np.inf), np.ones((3, 2)))
    with pytest.raises(ValueError, match="non-zero"):
        kp.PointCloud(pc.points, np.ones((3, 2)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="PointCloud cannot be an operand"):
        kp.Disk() - pc


@pytest.mark.parametrize("make, arg", [
    (lambda: kp.Interval(0, float("inf")), "b must be finite"),
    (lambda: kp.Interval(float("nan"), 1), "a must be finite"),
    (lambda: kp.Box([0, float("nan")], [1, 1]), "lo must be finite"),
    (lambda: kp.Box([0, 0], [1, -float("inf")]), "hi must be finite"),
    (lambda: kp.Rectangle(0, 1, 0, float("inf")), "y1 must be finite"),
    (lambda: kp.Disk((0, 0), float("inf")), "radius must be finite"),
    (lambda: kp.Disk((0, float("nan")), 1), "center must be finite"),
    (lambda: kp.Disk((0, 0, 0), 1), "center must have shape"),
    (lambda: kp.SpaceTime(kp.Interval(0, 1), 0, float("inf")), "t1 must be finite"),
    (lambda: kp.Polygon([(0, 0), (1, 0), (0, float("inf"))]), "vertices must be finite"),
    (lambda: kp.Ellipse((0, 0), (1, 0)), "semi_axes must both be positive"),
    (lambda: kp.Ball((0, 0, 0), -1), "radius must be positive"),
    (lambda: kp.Interval("a", 1), "a must be numeric"),
])
def test_bad_bounds_raise_naming_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


finite_or_not = st.one_of(st.floats(-1e3, 1e3), st.sampled_from([math.inf, -math.inf, math.nan, 0.0, 1e-300]))
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_samples(g, method):
    x = g.sample_interior(17, method, 0)
    about = method == "grid" and g.dim > 1  # boxes and disks: a tensor grid of about n points, as documented
    assert (9 <= len(x) <= 25 if about else len(x) == 17) and x.shape[1] == g.dim
    assert np.isfinite(x).all() and g.contains(x).all()
    xb, nb = g.sample_boundary(9, method, 0)
    assert len(xb) == (2 if g.dim == 1 else 9)
    assert np.isfinite(xb).all() and xb.shape == nb.shape
    np.testing.assert_allclose(np.linalg.norm(nb, axis=1), 1.0, atol=1e-9)
    assert np.all(g.boundary_distance(xb) <= 1e-10 * max(1.0, g.scale))


@FAST
@given(lo=st.lists(finite_or_not, min_size=1, max_size=3), width=st.lists(finite_or_not, min_size=1, max_size=3),
       method=st.sampled_from(SAMPLING_METHODS))
def test_random_boxes_sample_or_raise_value_error(lo, width, method):
    k = min(len(lo), len(width))
    hi = [a + w for a, w in zip(lo[:k], width[:k])]
    try:
        g = kp.Box(lo[:k], hi) if k > 1 else kp.Interval(lo[0], hi[0])
    except ValueError as e:
        assert any(w in str(e) for w in ("must be finite", "below upper bound")), e
        return
    _check_samples(g, method)


@FAST
@given(cx=finite_or_not, cy=finite_or_not, r=finite_or_not, method=st.sampled_from(SAMPLING_METHODS))
def test_random_disks_sample_or_raise_value_error(cx, cy, r, method):
    try:
        g = kp.Disk((cx, cy), r)
    except ValueError as e:
        assert "radius must be" in str(e) or "center must be finite" in str(e), e
        return
    _check_samples(g, method)


@FAST
@given(c=st.tuples(st.floats(-2, 2), st.floats(-2, 2)), r=st.floats(0.05, 3), op=st.sampled_from("-|&"),
       method=st.sampled_from(SAMPLING_METHODS))
def test_random_disk_combinations_sample_or_raise_value_error(c, r, op, method):
    a = kp.Box((-1, -1), (1, 1))
    try:
        b = kp.Disk(c, r)
        g = {"-": lambda: a - b, "|": lambda: a | b, "&": lambda: a & b}[op]()
        x = g.sample_interior(50, method, 1)
        xb, nb = g.sample_boundary(40, method, 1)
    except ValueError as e:
        assert "empty" in str(e) or "too thin" in str(e), e
        return
    assert x.shape == (50, 2) and g.contains(x).all()
    in_b = np.linalg.norm(x - np.asarray(c), axis=1) <= r
    in_a = (np.abs(x) <= 1 + 1e-12).all(1)
    assert {"-": in_a & ~(np.linalg.norm(x - np.asarray(c), axis=1) < r - 1e-12), "|": in_a | in_b,
            "&": in_a & in_b}[op].all()
    assert xb.shape == nb.shape == (40, 2)
    np.testing.assert_allclose(np.linalg.norm(nb, axis=1), 1.0, atol=1e-12)
    d = np.minimum(a.boundary_distance(xb), b.boundary_distance(xb))
    assert d.max() <= 1e-10
