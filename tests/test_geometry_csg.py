"""Combined domains (a - b, a | b, a & b): membership, counts, boundary, normals, parts, determinism.

Each domain is paired with an independent description by formulas (membership and distance to
the boundary) that the sampled points are checked against.
"""

from __future__ import annotations

import numpy as np
import pytest

import kanpde as kp
from kanpde.geometry import SAMPLING_METHODS

HOLES = [((0.3, 0.3), 0.1), ((-0.3, 0.3), 0.1), ((0.3, -0.3), 0.1), ((-0.3, -0.3), 0.1)]


def _hypot(x, c):
    return np.linalg.norm(x - np.asarray(c), axis=1)


def _box_dist(x, lo, hi):
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    inside = np.min(np.minimum(x - lo, hi - x), axis=1)
    return np.where(inside >= 0, inside, np.linalg.norm(np.maximum(np.maximum(lo - x, x - hi), 0), axis=1))


def _in_box(x, lo, hi, eps=0.0):
    return np.all((x >= np.asarray(lo) - eps) & (x <= np.asarray(hi) + eps), axis=1)


def holes_domain():
    dom = kp.Box((-0.5, -0.5), (0.5, 0.5))
    for c, r in HOLES:
        dom = dom - kp.Disk(c, r)
    return dom


# name -> (domain, truth membership, distance to each part's boundary (list of arrays), corner radius, perimeter)
CASES = {
    "square_minus_4_disks": (
        holes_domain,
        lambda x: _in_box(x, (-0.5, -0.5), (0.5, 0.5)) & np.all([_hypot(x, c) >= r for c, r in HOLES], 0),
        lambda x: [_box_dist(x, (-0.5, -0.5), (0.5, 0.5))] + [np.abs(_hypot(x, c) - r) for c, r in HOLES],
        4.0 + 0.8 * np.pi),
    "lshape_by_difference": (  # [0,1]^2 minus [0.5,2]x[-1,0.5]: an L of perimeter 4
        lambda: kp.Box((0, 0), (1, 1)) - kp.Box((0.5, -1), (2, 0.5)),
        lambda x: _in_box(x, (0, 0), (1, 1)) & ~((x[:, 0] > 0.5) & (x[:, 1] < 0.5)),
        lambda x: [_box_dist(x, (0, 0), (1, 1)), _box_dist(x, (0.5, -1), (2, 0.5))],
        4.0),
    "union_sharing_a_face": (  # [0,2]x[0,1] | [0,1]x[0,2]: the faces on y = 0 and x = 0 overlap, perimeter 8
        lambda: kp.Box((0, 0), (2, 1)) | kp.Box((0, 0), (1, 2)),
        lambda x: _in_box(x, (0, 0), (2, 1)) | _in_box(x, (0, 0), (1, 2)),
        lambda x: [_box_dist(x, (0, 0), (2, 1)), _box_dist(x, (0, 0), (1, 2))],
        8.0),
    "touching_boxes": (  # [0,1]x[0,1] | [1,2]x[0,1] = [0,2]x[0,1]: the common face is inside, perimeter 6
        lambda: kp.Box((0, 0), (1, 1)) | kp.Box((1, 0), (2, 1)),
        lambda x: _in_box(x, (0, 0), (2, 1)),
        lambda x: [_box_dist(x, (0, 0), (1, 1)), _box_dist(x, (1, 0), (2, 1))],
        6.0),
    "disk_and_slab": (  # unit disk & |y| <= 0.5
        lambda: kp.Disk((0, 0), 1.0) & kp.Box((-2, -0.5), (2, 0.5)),
        lambda x: (_hypot(x, (0, 0)) <= 1) & (np.abs(x[:, 1]) <= 0.5),
        lambda x: [np.abs(_hypot(x, (0, 0)) - 1), _box_dist(x, (-2, -0.5), (2, 0.5))],
        4 * np.arcsin(0.5) * 1.0 + 4 * np.sqrt(0.75)),
    "disk_union_overlapping_disk": (
        lambda: kp.Disk((0, 0), 1.0) | kp.Disk((1, 0), 1.0),
        lambda x: (_hypot(x, (0, 0)) <= 1) | (_hypot(x, (1, 0)) <= 1),
        lambda x: [np.abs(_hypot(x, (0, 0)) - 1), np.abs(_hypot(x, (1, 0)) - 1)],
        2 * (2 * np.pi - 2 * np.pi / 3)),
    "ball_minus_cube_3d": (
        lambda: kp.Ball((0, 0, 0), 1.0) - kp.Box((-0.3,) * 3, (0.3,) * 3),
        lambda x: (_hypot(x, (0, 0, 0)) <= 1) & ~_in_box(x, (-0.3,) * 3, (0.3,) * 3),
        lambda x: [np.abs(_hypot(x, (0, 0, 0)) - 1), _box_dist(x, (-0.3,) * 3, (0.3,) * 3)],
        4 * np.pi + 6 * 0.36),
}


def _check_boundary(name, dom, xb, nb, h=1e-4):
    truth, dists, _ = CASES[name][1], CASES[name][2], CASES[name][3]
    d = np.array(dists(xb))
    assert d.min(0).max() <= 1e-10, "a boundary point is on no part's boundary"
    np.testing.assert_allclose(np.linalg.norm(nb, axis=1), 1.0, atol=1e-12)
    away = np.all((d <= 1e-10) | (d > 3 * h), 0)  # away from where another part's boundary comes close
    assert away.mean() > 0.9
    assert not truth(xb[away] + h * nb[away]).any(), "a normal points into the domain"
    assert truth(xb[away] - h * nb[away]).all(), "stepping against a normal leaves the domain"


@pytest.mark.parametrize("method", SAMPLING_METHODS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_interior_points_inside_with_exact_count(name, method):
    dom, truth = CASES[name][0](), CASES[name][1]
    for n in (1, 333):
        x = dom.sample_interior(n, method, 5)
        assert x.shape == (n, dom.dim) and x.dtype == np.float64
        assert truth(x).all() and dom.contains(x).all()


@pytest.mark.parametrize("method", SAMPLING_METHODS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_boundary_points_on_the_boundary_with_outward_normals(name, method):
    dom = CASES[name][0]()
    for n in (1, 500):
        xb, nb = dom.sample_boundary(n, method, 2)
        assert xb.shape == nb.shape == (n, dom.dim)
        if n > 1:
            _check_boundary(name, dom, xb, nb)
        assert np.array(CASES[name][2](xb)).min(0).max() <= 1e-10


def test_acceptance_square_with_holes_stepping_every_point():
    dom = holes_domain()
    xb, nb = dom.sample_boundary(1000, "sobol", 0)
    assert not dom.contains(xb + 1e-4 * nb).any()
    assert dom.contains(xb - 1e-4 * nb).all()
    assert dom.contains(xb).all()  # the domain is closed: hole boundaries belong to it
    x = dom.sample_interior(2000, "sobol", 0)
    for c, r in HOLES:
        assert (_hypot(x, c) >= r - 1e-12).all()


@pytest.mark.parametrize("name", sorted(CASES))
def test_boundary_is_sampled_in_proportion_to_measure(name):
    """Each part gets the share of points that its piece of the boundary has of the perimeter (or area)."""
    dom, dists, perimeter = CASES[name][0](), CASES[name][2], CASES[name][3]
    xb, _ = dom.sample_boundary(4000, "sobol", 0)
    pieces = {  # length of each part's piece of the boundary, by hand
        "square_minus_4_disks": [4.0] + [0.2 * np.pi] * 4,
        "lshape_by_difference": [3.0, 1.0],
        "union_sharing_a_face": [5.0, 3.0],  # shared faces are counted once (kept from the first operand)
        "touching_boxes": [3.0, 3.0],
        "disk_and_slab": [4 * np.arcsin(0.5), 4 * np.sqrt(0.75)],
        "disk_union_overlapping_disk": [perimeter / 2] * 2,
        "ball_minus_cube_3d": [4 * np.pi, 6 * 0.36],  # surface areas
    }[name]
    assert abs(sum(pieces) - perimeter) < 1e-12
    owner = np.argmin(np.array(dists(xb)), 0)
    share = np.bincount(owner, minlength=len(pieces)) / len(xb)
    np.testing.assert_allclose(share, np.array(pieces) / perimeter, atol=0.01)
    np.testing.assert_allclose(dom.boundary_measure, perimeter, rtol=0.01)


def test_union_sharing_a_face_has_uniform_density_on_it():
    dom = CASES["union_sharing_a_face"][0]()
    xb, _ = dom.sample_boundary(4000, "sobol", 1)
    bottom = np.abs(xb[:, 1]) < 1e-12
    left_half = bottom & (xb[:, 0] < 1)
    assert abs(bottom.mean() - 2 / 8) < 0.01 and abs(left_half.sum() / bottom.sum() - 0.5) < 0.03
    touching = CASES["touching_boxes"][0]()
    xb, _ = touching.sample_boundary(2000, "uniform", 1)
    assert not ((np.abs(xb[:, 0] - 1) < 1e-9) & (xb[:, 1] > 1e-9) & (xb[:, 1] < 1 - 1e-9)).any()


def test_measure_estimate_and_uniform_interior():
    dom = holes_domain()
    np.testing.assert_allclose(dom.measure, 1 - 4 * np.pi * 0.01, rtol=2e-3)
    x = dom.sample_interior(4000, "sobol", 0)
    # uniform on the domain: the mean of x^2 matches its value by quadrature-free algebra
    ex2 = (1 / 12 - sum(np.pi * r**2 * (c[0] ** 2 + r**2 / 4) for c, r in HOLES)) / (1 - 4 * np.pi * 0.01)
    assert abs(np.mean(x[:, 0] ** 2) - ex2) < 2e-3


@pytest.mark.parametrize("method", SAMPLING_METHODS)
def test_sampling_is_deterministic_under_the_seed(method):
    dom = holes_domain()
    for f in (dom.sample_interior, lambda n, m, s: dom.sample_boundary(n, m, s)[0]):
        np.testing.assert_array_equal(f(200, method, 3), f(200, method, 3))
        np.testing.assert_array_equal(f(200, method, np.random.default_rng(3)), f(200, method, 3))
        if method != "grid":
            assert not np.array_equal(f(200, method, 3), f(200, method, 4))


def test_parts_select_outer_boundary_and_holes():
    dom = holes_domain()
    assert len(dom.parts) == 5 and isinstance(dom.parts[0], kp.Box)
    xb, _ = dom.sample_boundary(1000, "sobol", 0)
    outer = dom.on_part(xb, 0)
    np.testing.assert_array_equal(outer, np.isclose(np.abs(xb).max(1), 0.5, atol=1e-12, rtol=0))
    holes = dom.on_part(xb, [1, 2, 3, 4])
    np.testing.assert_array_equal(holes, ~outer)
    np.testing.assert_array_equal(dom.part(1)(xb), np.abs(_hypot(xb, HOLES[0][0]) - 0.1) < 1e-9)
    # a part's boundary that was cut away is not selected: the notch of the L
    ell = CASES["lshape_by_difference"][0]()
    pts = np.array([[0.75, 0.0], [1.0, 0.25], [0.75, 0.5], [0.5, 0.25], [0.25, 0.0]])
    np.testing.assert_array_equal(ell.on_part(pts, 0), [False, False, False, False, True])
    np.testing.assert_array_equal(ell.on_part(pts, 1), [False, False, True, True, False])
    for bad in (5, -6, [0, 7], "0", []):
        with pytest.raises(ValueError, match="part index"):
            dom.on_part(xb, bad)
    with pytest.raises(ValueError, match="part index"):
        dom.part(9)
    import pickle

    sel = pickle.loads(pickle.dumps(dom.part([1, 2])))  # selectors travel to worker processes
    np.testing.assert_array_equal(sel(xb), dom.on_part(xb, [1, 2]))


def test_conditions_on_parts_sample_there_with_hole_normals_into_the_hole():
    dom = holes_domain()
    prob = kp.Problem("holes", dom, lambda x, u: kp.ops.laplacian(u, x),
                      conditions=(kp.Dirichlet(1.0, on=dom.part(0)), kp.Neumann(0.0, on=dom.part([1, 2, 3, 4]))),
                      n_interior=64, n_boundary=40)
    rng = np.random.default_rng(0)
    outer = prob.conditions[0].sample(prob, 40, "sobol", rng)
    holes = prob.conditions[1].sample(prob, 40, "sobol", rng)
    assert len(outer["x"]) == len(holes["x"]) == 40
    assert np.isclose(np.abs(outer["x"]).max(1), 0.5).all()
    c = np.array([c for c, _ in HOLES])
    nearest = c[np.argmin(np.linalg.norm(holes["x"][:, None] - c[None], axis=2), 1)]
    np.testing.assert_allclose(holes["normal"], (nearest - holes["x"]) / 0.1, atol=1e-12)  # into the hole


def test_spacetime_over_a_combined_domain():
    st = kp.SpaceTime(holes_domain(), 0.0, 1.0)
    x = st.sample_interior(300, "sobol", 0)
    assert x.shape == (300, 3) and st.contains(x).all()
    xb, nb = st.sample_boundary(200, "sobol", 0)
    assert xb.shape == (200, 3) and (nb[:, -1] == 0).all()
    assert st.sample_initial(50, "sobol", 0).shape == (50, 3)


def test_one_dimensional_difference_and_union():
    dom = kp.Interval(0, 3) - kp.Interval(1, 2)
    x = dom.sample_interior(100, "grid", 0)
    assert len(x) == 100 and not ((x > 1) & (x < 2)).any()
    xb, nb = dom.sample_boundary(10, "sobol", 0)
    np.testing.assert_array_equal(xb[:, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(nb[:, 0], [-1, 1, -1, 1])
    xb, nb = (kp.Interval(0, 2) | kp.Interval(1, 3)).sample_boundary(10, "sobol", 0)
    np.testing.assert_array_equal(xb[:, 0], [0, 3])


def test_bad_operands_are_refused():
    with pytest.raises(ValueError, match="same dimension"):
        kp.Disk() - kp.Interval(0, 1)
    with pytest.raises(TypeError, match="SpaceTime"):
        kp.SpaceTime(kp.Interval(0, 1), 0, 1) | kp.Box((0, 0), (1, 1))
    with pytest.raises(TypeError, match="Geometry"):
        kp.Disk() - 3
    with pytest.raises(ValueError, match="bounding boxes do not overlap"):
        kp.Disk((0, 0), 1) & kp.Disk((5, 0), 1)
    empty = kp.Disk((0, 0), 1) & kp.Disk((1.9, 1.9), 1)  # boxes overlap, disks do not
    with pytest.raises(ValueError, match="empty"):
        empty.sample_interior(10)
    with pytest.raises(ValueError, match="empty"):
        empty.sample_boundary(10)
    with pytest.raises(ValueError, match="unknown sampling method"):
        holes_domain().sample_interior(10, "halton")
    with pytest.raises(ValueError, match="positive integer"):
        holes_domain().sample_boundary(0)
