"""Geometries: sampling inside the domain, boundary points with outward unit normals."""

from __future__ import annotations

import numpy as np
import pytest

import kanpde as kp
from kanpde.geometry import SAMPLING_METHODS, unit_cube

GEOMETRIES = {
    "interval": kp.Interval(-1.0, 2.0),
    "box2": kp.Rectangle(0.0, 2.0, -1.0, 0.5),
    "box3": kp.Box([0.0, -1.0, 2.0], [1.0, 1.0, 2.5]),
    "disk": kp.Disk((0.5, -0.25), 1.5),
    "lshape": kp.LShape(),
    "triangle": kp.Polygon([(0, 0), (2, 0), (0, 1)]),
    "spacetime_interval": kp.SpaceTime(kp.Interval(-1.0, 1.0), 0.0, 2.0),
    "spacetime_disk": kp.SpaceTime(kp.Disk(), 0.5, 1.0),
}


def on_boundary_closed_form(name: str, geom, x: np.ndarray) -> np.ndarray:
    """Distance to the boundary by closed form (0 on it)."""
    if isinstance(geom, kp.Disk):
        return np.abs(np.linalg.norm(x - geom.center, axis=1) - geom.radius)
    if isinstance(geom, kp.Box):
        return np.min(np.minimum(np.abs(x - geom.lo), np.abs(x - geom.hi)), axis=1)
    raise AssertionError(name)


def lshape_normal(x: np.ndarray) -> np.ndarray:
    """Outward normal of ``LShape()`` at boundary points (away from corners), by cases."""
    n = np.full_like(x, np.nan)
    tol = 1e-12
    cases = [
        (np.abs(x[:, 1] + 1) < tol, (0, -1)),                        # bottom y = -1, x in [-1, 0]
        (np.abs(x[:, 0] - 1) < tol, (1, 0)),                         # right x = 1, y in [0, 1]
        (np.abs(x[:, 1] - 1) < tol, (0, 1)),                         # top y = 1
        (np.abs(x[:, 0] + 1) < tol, (-1, 0)),                        # left x = -1
        ((np.abs(x[:, 0]) < tol) & (x[:, 1] < 0), (1, 0)),            # inner vertical edge x = 0, y in [-1, 0]
        ((np.abs(x[:, 1]) < tol) & (x[:, 0] > 0), (0, -1)),           # inner horizontal edge y = 0, x in [0, 1]
    ]
    for mask, v in cases:
        n[mask & np.isnan(n[:, 0])] = v
    return n


@pytest.mark.parametrize("method", SAMPLING_METHODS)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_interior_points_inside_and_count(name, method):
    g = GEOMETRIES[name]
    n = 300
    x = g.sample_interior(n, method, seed=3)
    assert x.ndim == 2 and x.shape[1] == g.dim and x.dtype == np.float64
    if method == "grid" and g.dim > 1 and not isinstance(g, kp.Polygon):
        assert 0.8 * n <= len(x) <= 1.2 * n  # a tensor grid (polar on the disk) has about n points, as documented
    else:
        assert len(x) == n
    assert g.contains(x).all()
    lo, hi = g.bbox
    assert (x >= lo - 1e-12).all() and (x <= hi + 1e-12).all()


@pytest.mark.parametrize("method", SAMPLING_METHODS)
def test_unit_cube_methods(method):
    x = unit_cube(64, 3, method, seed=0)
    assert ((x >= 0) & (x <= 1)).all()
    assert x.shape == ((64 if method != "grid" else 4**3), 3)
    assert unit_cube(65, 1, method, seed=0).shape == (65, 1)


def test_sampling_is_reproducible_from_seed():
    g = GEOMETRIES["lshape"]
    np.testing.assert_array_equal(g.sample_interior(100, "sobol", 7), g.sample_interior(100, "sobol", 7))
    assert not np.array_equal(g.sample_interior(100, "uniform", 7), g.sample_interior(100, "uniform", 8))


def test_interior_samples_cover_the_domain():
    """Sobol points of the L-shape fill all three quadrants (about a third each) and none of the hole."""
    x = kp.LShape().sample_interior(3000, "sobol", 0)
    q = [((x[:, 0] > 0) & (x[:, 1] > 0)).mean(), ((x[:, 0] < 0) & (x[:, 1] > 0)).mean(),
         ((x[:, 0] < 0) & (x[:, 1] < 0)).mean()]
    np.testing.assert_allclose(q, 1 / 3, atol=0.03)
    assert not ((x[:, 0] > 1e-12) & (x[:, 1] < -1e-12)).any()
    r = np.linalg.norm(kp.Disk().sample_interior(4000, "sobol", 0), axis=1)
    assert abs(np.mean(r**2) - 0.5) < 0.02  # uniform on the unit disk: E[r^2] = 1/2


@pytest.mark.parametrize("method", ["uniform", "sobol", "lhs"])
@pytest.mark.parametrize("name", ["interval", "box2", "box3", "disk"])
def test_box_and_disk_boundary_closed_form(name, method):
    g = GEOMETRIES[name]
    x, nrm = g.sample_boundary(200, method, seed=1)
    assert x.shape == nrm.shape == (len(x), g.dim)
    assert len(x) == (2 if name == "interval" else 200)
    assert on_boundary_closed_form(name, g, x).max() < 1e-12
    np.testing.assert_allclose(np.linalg.norm(nrm, axis=1), 1.0, atol=1e-12)
    if isinstance(g, kp.Disk):
        np.testing.assert_allclose(nrm, (x - g.center) / g.radius, atol=1e-12)
    else:
        # the normal is +-e_i on the face x_i = hi_i / lo_i
        i = np.argmax(np.abs(nrm), axis=1)
        rows = np.arange(len(x))
        side = nrm[rows, i]
        assert set(np.unique(np.abs(nrm))) <= {0.0, 1.0}
        np.testing.assert_allclose(x[rows, i], np.where(side > 0, g.hi[i], g.lo[i]), atol=0)
        # a small step along the normal leaves the domain, against it enters
        assert not g.contains(x + 1e-6 * nrm).any()
        assert g.contains(x - 1e-6 * nrm).all()


def test_box_faces_sampled_in_proportion_to_area():
    g = kp.Rectangle(0.0, 3.0, 0.0, 1.0)
    x, nrm = g.sample_boundary(800, "sobol", 0)
    horizontal = np.abs(nrm[:, 1]) == 1  # faces y = 0, 1 of length 3
    assert horizontal.sum() == 600


@pytest.mark.parametrize("method", ["uniform", "sobol", "lhs"])
def test_lshape_boundary_and_normals(method):
    g = kp.LShape()
    x, nrm = g.sample_boundary(400, method, seed=2)
    assert x.shape == nrm.shape == (400, 2)
    np.testing.assert_allclose(np.linalg.norm(nrm, axis=1), 1.0, atol=1e-12)
    expected = lshape_normal(x)
    assert not np.isnan(expected).any(), "a boundary point is on no edge of the L-shape"
    corner = np.isclose(np.abs(x), 0, atol=1e-9).any(1) & np.isclose(np.abs(x), 1, atol=1e-9).any(1)
    np.testing.assert_allclose(nrm[~corner], expected[~corner], atol=1e-12)
    # outward: stepping along the normal leaves the domain (away from vertices)
    inner = ~corner & (np.linalg.norm(x, axis=1) > 1e-3)
    assert not g.contains(x[inner] + 1e-4 * nrm[inner]).any()
    assert g.contains(x[inner] - 1e-4 * nrm[inner]).all()
    # perimeter 8: each unit edge gets about 1/8 of the points
    assert abs(((np.abs(x[:, 0]) < 1e-12) & (x[:, 1] < 0)).mean() - 1 / 8) < 0.03


def test_polygon_orientation_does_not_matter():
    v = [(0, 0), (2, 0), (0, 1)]
    a, b = kp.Polygon(v), kp.Polygon(v[::-1])
    xa, na = a.sample_boundary(50, "sobol", 0)
    xb, nb = b.sample_boundary(50, "sobol", 0)
    for x, n, g in ((xa, na, a), (xb, nb, b)):
        mid = g.contains(x - 1e-6 * n) & ~g.contains(x + 1e-6 * n)
        assert mid.mean() > 0.9  # all but points at vertices


def test_box_with_lo_above_hi_names_the_dimension():
    with pytest.raises(ValueError, match="dimension 1") as e:
        kp.Box([0.0, 2.0, 0.0], [1.0, 1.0, 1.0])
    assert "lo=2.0" in str(e.value)
    with pytest.raises(ValueError, match="dimension 0"):
        kp.Interval(1.0, 1.0)
    with pytest.raises(ValueError, match="equal length"):
        kp.Box([0.0, 0.0], [1.0])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="radius"):
        kp.Disk((0, 0), 0.0)
    with pytest.raises(ValueError, match="t0 < t1"):
        kp.SpaceTime(kp.Interval(0, 1), 1.0, 0.0)
    with pytest.raises(ValueError, match="unknown sampling method 'halton'"):
        kp.Interval(0, 1).sample_interior(10, "halton")
    with pytest.raises(ValueError, match="positive integer"):
        kp.Disk().sample_interior(0)
    with pytest.raises(ValueError, match="zero area"):
        kp.Polygon([(0, 0), (1, 1), (2, 2)])


@pytest.mark.parametrize("name", ["spacetime_interval", "spacetime_disk"])
def test_spacetime_initial_slice_and_lateral_boundary(name):
    g = GEOMETRIES[name]
    x0 = g.sample_initial(64, "sobol", 0)
    assert x0.shape == (64, g.dim)
    assert (x0[:, -1] == g.t0).all()
    assert g.space.contains(x0[:, :-1]).all()
    xb, nb = g.sample_boundary(100, "sobol", 0)
    assert xb.shape == nb.shape == (100, g.dim)
    assert (xb[:, -1] >= g.t0).all() and (xb[:, -1] <= g.t1).all()
    assert (nb[:, -1] == 0).all()  # lateral boundary: no time component
    np.testing.assert_allclose(np.linalg.norm(nb, axis=1), 1.0, atol=1e-12)
    assert on_boundary_closed_form(name, g.space, xb[:, :-1]).max() < 1e-12
    xi = g.sample_interior(200, "sobol", 0)
    assert g.contains(xi).all() and xi.shape == (200, g.dim)
    lo, hi = g.bbox
    assert lo[-1] == g.t0 and hi[-1] == g.t1


def test_grid_sampling_by_rejection_covers_the_whole_domain():
    from kanpde.geometry import LShape, SpaceTime

    for geo in (LShape(), SpaceTime(LShape(), 0.0, 1.0)):
        x = geo.sample_interior(1000, "grid", 0)
        assert len(x) == 1000 and geo.contains(x).all()
        assert x[:, 0].max() > 0.8 and x[:, 1].max() > 0.8 and x[:, 0].min() < -0.8
