"""Reference solvers checked against independent truth: published values, closed forms, refinement."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator
from scipy.optimize import minimize_scalar
from scipy.sparse.linalg import spsolve
from scipy.special import ive

from kanpde.reference import (
    GridReference,
    allen_cahn_etdrk4,
    allen_cahn_reference,
    burgers_cole_hopf,
    burgers_reference,
    cached,
    cached_keys,
    clear_cache,
    ode_reference,
)

NU = 0.01 / np.pi


@pytest.fixture
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


def burgers_series(x: np.ndarray, t: float, nu: float, n_terms: int = 400) -> np.ndarray:
    """Cole–Hopf solution by its Fourier–Bessel series; cancels badly unless nu is large."""
    a = 1.0 / (2.0 * np.pi * nu)
    k = np.arange(1, n_terms + 1)
    coef = (-1.0) ** k * ive(k, a) * np.exp(-nu * (k * np.pi) ** 2 * t)
    phi = ive(0, a) + 2.0 * (coef * np.cos(np.pi * np.outer(x, k))).sum(axis=1)
    phi_x = -2.0 * (coef * k * np.pi * np.sin(np.pi * np.outer(x, k))).sum(axis=1)
    return -2.0 * nu * phi_x / phi


# --- Burgers -------------------------------------------------------------------------------


def test_burgers_max_shock_slope_matches_published_value():
    # Basdevant et al. (1986): max |u_x(0, t)| = 152.00516, reached at t = 1.6037/pi.
    h = 1e-6

    def slope(t: float) -> float:
        return float((burgers_cole_hopf(h, t) - burgers_cole_hopf(-h, t)) / (2 * h))

    s = slope(1.6037 / np.pi)
    assert float(f"{s:.3g}") == -152.0
    assert abs(s - (-152.00516)) < 1e-4
    best = minimize_scalar(slope, bracket=(0.50, 0.51, 0.52), tol=1e-8)
    assert abs(best.x * np.pi - 1.6037) < 1e-4
    assert abs(best.fun - (-152.00516)) < 1e-4


def test_burgers_analytic_slope_at_x0_from_inviscid_limit_small_t():
    # For t << 1/pi the viscous slope follows the inviscid one: u_x(0, t) = -pi / (1 - pi t).
    h = 1e-6
    t = 0.05
    s = float((burgers_cole_hopf(h, t) - burgers_cole_hopf(-h, t)) / (2 * h))
    assert abs(s / (-np.pi / (1 - np.pi * t)) - 1) < 2e-2


def test_burgers_matches_fourier_bessel_series_at_larger_viscosity():
    # The series sums O(1) terms to exp(-1/(pi nu)) relative size, so it is usable only for
    # moderate nu; at nu = 0.1/pi it loses about 5 digits.
    nu = 0.1 / np.pi
    x = np.linspace(-1, 1, 201)
    for t in (0.0, 0.1, 0.3, 1 / np.pi, 0.6, 1.0):
        got = burgers_cole_hopf(x, t, nu)
        want = burgers_series(x, t, nu)
        assert np.abs(got - want).max() < 1e-9, t


def test_burgers_matches_trapezoid_rule_in_original_variable():
    # u = -∫ sin(pi(x-y)) F dy / ∫ F dy, F = exp(-y²/(4 nu t) - cos(pi(x-y))/(2 pi nu)),
    # by the trapezoid rule on a fine uniform y grid (geometrically convergent here).
    y = np.linspace(-1.5, 1.5, 60001)
    for x, t in [(0.0, 0.5), (0.01, 1.0), (-0.3, 0.7), (0.9, 0.05), (0.002, 0.6), (-1.0, 0.9)]:
        theta = np.pi * (x - y)
        expo = -(y**2) / (4 * NU * t) - np.cos(theta) / (2 * np.pi * NU)
        p = np.exp(expo - expo.max())
        want = -(np.sin(theta) * p).sum() / p.sum()
        assert abs(burgers_cole_hopf(x, t) - want) < 1e-12, (x, t)


def test_burgers_initial_condition():
    x = np.linspace(-1, 1, 101)
    np.testing.assert_allclose(burgers_cole_hopf(x, 0.0), -np.sin(np.pi * x), atol=1e-15)
    np.testing.assert_allclose(burgers_cole_hopf(x, 1e-10), -np.sin(np.pi * x), atol=1e-6)


def test_burgers_boundary_conditions_vanish():
    t = np.linspace(0, 1, 51)
    assert np.abs(burgers_cole_hopf(-1.0, t)).max() < 1e-12
    assert np.abs(burgers_cole_hopf(1.0, t)).max() < 1e-12


def test_burgers_pde_residual_by_finite_differences():
    x = np.linspace(-0.9, 0.9, 61)
    t, h, k = 0.2, 1e-3, 1e-4

    def u(dx: float = 0.0, dt: float = 0.0) -> np.ndarray:
        return burgers_cole_hopf(x + dx, t + dt)

    # fourth-order centred differences
    u_t = (-u(dt=2 * k) + 8 * u(dt=k) - 8 * u(dt=-k) + u(dt=-2 * k)) / (12 * k)
    u_x = (-u(2 * h) + 8 * u(h) - 8 * u(-h) + u(-2 * h)) / (12 * h)
    u_xx = (-u(2 * h) + 16 * u(h) - 30 * u() + 16 * u(-h) - u(-2 * h)) / (12 * h**2)
    residual = u_t + u() * u_x - NU * u_xx
    scale = np.abs(u_t).max()
    assert scale > 0.5
    assert np.abs(residual).max() < 1e-7 * scale


def test_burgers_reference_grid_interpolates_exact_solution(fresh_cache):
    ref = burgers_reference()
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(-1, 1, 4000), rng.uniform(0, 1, 4000)])
    exact = burgers_cole_hopf(pts[:, 0], pts[:, 1])
    got = ref(pts)
    assert got.shape == (4000, 1)
    err = got[:, 0] - exact
    assert np.linalg.norm(err) / np.linalg.norm(exact) < 1e-6
    assert np.abs(err[np.abs(pts[:, 0]) > 0.05]).max() < 1e-6
    corners = np.array([[-1.0, 0.0], [1.0, 1.0], [0.5, 0.0]])
    np.testing.assert_allclose(ref(corners)[:, 0], [0.0, 0.0, -1.0], atol=1e-12)


def test_burgers_rejects_bad_arguments():
    with pytest.raises(ValueError, match="nu"):
        burgers_cole_hopf(0.0, 0.1, nu=0.0)
    with pytest.raises(ValueError, match="t must be >= 0"):
        burgers_cole_hopf(0.0, -0.1)


# --- Allen–Cahn ----------------------------------------------------------------------------


def test_allen_cahn_initial_condition():
    x, t, u = allen_cahn_etdrk4(256, 1e-2, [0.0])
    assert t.tolist() == [0.0]
    np.testing.assert_allclose(u[:, 0], x**2 * np.cos(np.pi * x), atol=1e-14)


def test_allen_cahn_converges_when_dt_halves():
    _, _, u1 = allen_cahn_etdrk4(1024, 1e-3, [1.0])
    _, _, u2 = allen_cahn_etdrk4(1024, 5e-4, [1.0])
    assert np.abs(u1 - u2).max() < 1e-8
    assert np.abs(u1).max() > 0.9  # the interfaces have formed


def test_allen_cahn_converges_when_modes_double():
    x1, _, u1 = allen_cahn_etdrk4(1024, 2e-3, [1.0])
    x2, _, u2 = allen_cahn_etdrk4(2048, 2e-3, [1.0])
    np.testing.assert_array_equal(x1, x2[::2])
    assert np.abs(u1 - u2[::2]).max() < 1e-7


def test_allen_cahn_satisfies_pde_by_finite_differences_in_time():
    # at t = 1 the interfaces are sharp, so diffusion and reaction are both large there
    n, k = 1024, 1e-3
    times = 1.0 + k * np.arange(-2, 3)
    x, _, u = allen_cahn_etdrk4(n, k, times)
    u_t = (-u[:, 4] + 8 * u[:, 3] - 8 * u[:, 1] + u[:, 0]) / (12 * k)
    mid = u[:, 2]
    wave = np.pi * np.fft.rfftfreq(n, d=1.0 / n)
    u_xx = np.fft.irfft(-(wave**2) * np.fft.rfft(mid), n)
    diffusion, reaction = 1e-4 * u_xx, 5 * mid - 5 * mid**3
    residual = u_t - diffusion - reaction
    assert np.abs(diffusion).max() > 0.5 and np.abs(reaction).max() > 1.5
    assert np.abs(residual).max() < 1e-6 * np.abs(reaction).max()


def test_allen_cahn_reference_covers_closed_domain(fresh_cache):
    ref = allen_cahn_reference()
    assert ref.bounds == ((-1.0, 1.0), (0.0, 1.0))
    t = np.linspace(0, 1, 11)
    left = ref(np.column_stack([-np.ones_like(t), t]))[:, 0]
    right = ref(np.column_stack([np.ones_like(t), t]))[:, 0]
    np.testing.assert_array_equal(left, right)
    x = np.linspace(-1, 1, 41)
    np.testing.assert_allclose(ref(np.column_stack([x, 0 * x]))[:, 0], x**2 * np.cos(np.pi * x), atol=1e-12)
    # off-grid times against a direct solve with a finer step
    xs, ts, u = allen_cahn_etdrk4(2048, 5e-4, [0.1025, 0.5025])
    for j, tj in enumerate(ts):
        got = ref(np.column_stack([xs, np.full_like(xs, tj)]))[:, 0]
        assert np.abs(got - u[:, j]).max() < 1e-7


def test_allen_cahn_rejects_times_off_the_step():
    with pytest.raises(ValueError, match="multiples of dt"):
        allen_cahn_etdrk4(64, 1e-2, [0.005])
    with pytest.raises(ValueError, match="n_modes"):
        allen_cahn_etdrk4(63)
    with pytest.raises(ValueError, match="nt - 1 dividing"):
        allen_cahn_reference(nt=300)


# --- GridReference -------------------------------------------------------------------------


def _smooth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.stack([np.sin(2 * x) * np.cos(3 * y), np.exp(x - y) + x * y**2], axis=-1)


def test_grid_reference_cubic_interpolates_smooth_function_to_fourth_order():
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(0, 2, 2000), rng.uniform(-1, 1, 2000)])
    truth = _smooth(pts[:, 0], pts[:, 1])
    errors = []
    for n in (41, 81):
        x, y = np.linspace(0, 2, n), np.linspace(-1, 1, n)
        ref = GridReference((x, y), _smooth(x[:, None], y[None, :]))
        assert (ref.method, ref.dim, ref.n_out) == ("cubic", 2, 2)
        errors.append(np.abs(ref(pts) - truth).max())
    assert errors[1] < 1e-5
    assert errors[0] / errors[1] > 10  # h⁴: 16 in the limit
    linear = GridReference((x, y), _smooth(x[:, None], y[None, :]), method="linear")
    assert np.abs(linear(pts) - truth).max() > 100 * errors[1]


def test_grid_reference_cubic_is_scipy_cubic_interpolant():
    x, y = np.linspace(0, 1, 9), np.array([0.0, 0.1, 0.35, 0.6, 1.0])
    vals = np.cos(3 * x[:, None]) * np.exp(y[None, :])
    rng = np.random.default_rng(2)
    pts = rng.uniform(0, 1, (200, 2))
    want = RegularGridInterpolator((x, y), vals, method="cubic", solver=spsolve)(pts)
    got = GridReference((x, y), vals)(pts)
    assert got.shape == (200, 1)
    np.testing.assert_allclose(got[:, 0], want, atol=1e-12)


def test_grid_reference_linear_when_an_axis_is_short():
    x, y = np.linspace(0, 1, 11), np.array([0.0, 0.5, 1.0])
    ref = GridReference((x, y), 2 * x[:, None] + 3 * y[None, :])
    assert ref.method == "linear"
    pts = np.array([[0.33, 0.77], [0.91, 0.12]])
    np.testing.assert_allclose(ref(pts)[:, 0], 2 * pts[:, 0] + 3 * pts[:, 1], atol=1e-14)


def test_grid_reference_rejects_points_outside_but_tolerates_round_off():
    x = np.linspace(0, 1, 11)
    ref = GridReference((x, x), x[:, None] * x[None, :])
    np.testing.assert_allclose(ref(np.array([[1 + 1e-13, 0.5]]))[:, 0], [0.5], atol=1e-12)
    with pytest.raises(ValueError, match=r"x\[:, 1\].*allowed \[0, 1\]"):
        ref(np.array([[0.5, 1.01]]))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        ref(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="method"):
        GridReference((x, x), np.zeros((11, 11)), method="quadratic")
    with pytest.raises(ValueError, match="values must have shape"):
        GridReference((x, x), np.zeros((11, 10)))


def test_grid_reference_save_load_round_trip(tmp_path):
    x, y = np.linspace(0, 2, 12), np.linspace(-1, 1, 7)
    ref = GridReference((x, y), _smooth(x[:, None], y[None, :]))
    ref.save(tmp_path / "r.npz")
    back = GridReference.load(tmp_path / "r.npz")
    pts = np.array([[0.3, 0.2], [1.7, -0.9]])
    np.testing.assert_array_equal(back(pts), ref(pts))
    assert back.method == ref.method


# --- ODE references ------------------------------------------------------------------------


def test_ode_reference_exponential_decay():
    ref = ode_reference(lambda t, y: -y, (0.0, 5.0), [1.0])
    t = np.random.default_rng(3).uniform(0, 5, (300, 1))
    got = ref(t)
    assert got.shape == (300, 1)
    assert np.abs(got - np.exp(-t)).max() < 1e-10


def test_ode_reference_harmonic_oscillator():
    ref = ode_reference(lambda t, y: [y[1], -y[0]], (0.0, 10.0), [1.0, 0.0])
    t = np.linspace(0, 10, 401)
    got = ref(t[:, None])
    assert got.shape == (401, 2)
    assert np.abs(got[:, 0] - np.cos(t)).max() < 1e-10
    assert np.abs(got[:, 1] + np.sin(t)).max() < 1e-10
    with pytest.raises(ValueError, match=r"allowed \[0, 10\]"):
        ref(np.array([[10.5]]))


# --- cache ---------------------------------------------------------------------------------


def _counting_builder():
    calls = []

    def build() -> GridReference:
        calls.append(1)
        x = np.linspace(0, 1, 5)
        return GridReference((x,), x**2)

    return build, calls


def test_cache_returns_identical_object_without_disk(fresh_cache, tmp_path, monkeypatch):
    monkeypatch.delenv("KANPDE_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    build, calls = _counting_builder()
    a = cached("toy", {"n": 5, "scale": 1.0}, build)
    b = cached("toy", {"scale": 1.0, "n": 5}, build)
    assert a is b and len(calls) == 1
    c = cached("toy", {"n": 6, "scale": 1.0}, build)
    assert c is not a and len(calls) == 2
    assert list(tmp_path.iterdir()) == []


def test_cache_writes_and_reads_disk_only_when_asked(fresh_cache, tmp_path):
    build, calls = _counting_builder()
    first = cached("toy", {"n": 5}, build, cache_dir=tmp_path / "c")
    files = list((tmp_path / "c").iterdir())
    assert len(files) == 1 and files[0].name.startswith("toy-") and files[0].suffix == ".npz"
    clear_cache()
    second = cached("toy", {"n": 5}, build, cache_dir=tmp_path / "c")
    assert len(calls) == 1 and second is not first
    np.testing.assert_array_equal(second(np.array([[0.3]])), first(np.array([[0.3]])))


def test_cache_directory_from_environment(fresh_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("KANPDE_CACHE_DIR", str(tmp_path))
    build, _ = _counting_builder()
    cached("toy", {"n": 7}, build)
    assert [p.suffix for p in tmp_path.iterdir()] == [".npz"]


def test_cache_rejects_bad_names_and_params(fresh_cache):
    build, _ = _counting_builder()
    with pytest.raises(ValueError, match="name"):
        cached("../escape", {}, build)
    with pytest.raises(TypeError, match="params"):
        cached("toy", {"f": object()}, build)


def test_cached_keys_lists_what_the_memory_cache_holds(fresh_cache):
    assert cached_keys() == []
    ref = cached("unit", {"n": 3}, lambda: GridReference(([0.0, 1.0],), [0.0, 2.0]))
    assert cached_keys() == [("unit", '{"n": 3}')]
    assert cached("unit", {"n": 3}, lambda: None) is ref  # from memory: build is not called
