"""Independent reference solutions: gridded fields, ODE solutions, Burgers and Allen–Cahn.

Everything here is numpy/scipy only and is meant to be checked against independent truth
(published values, convergence under refinement, residuals), never against a network.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp
from scipy.interpolate import NdBSpline, RegularGridInterpolator, make_interp_spline
from scipy.special import roots_hermite

__all__ = [
    "GridReference",
    "OdeReference",
    "ode_reference",
    "burgers_cole_hopf",
    "burgers_reference",
    "allen_cahn_etdrk4",
    "allen_cahn_reference",
    "cached",
    "clear_cache",
]

_METHODS = ("auto", "cubic", "linear")


def _out_of_range_error(name: str, values: np.ndarray, lo: float, hi: float) -> ValueError:
    return ValueError(f"{name} has values in [{values.min():.6g}, {values.max():.6g}]; allowed [{lo:.6g}, {hi:.6g}]")


class GridReference:
    """A field sampled on a tensor-product grid, evaluated anywhere inside it by interpolation.

    ``axes`` are strictly increasing 1-D coordinate arrays (in the order of the columns of the
    points it is called on, e.g. ``(x, t)``); ``values`` has shape ``(*grid,)`` or
    ``(*grid, n_out)``. ``method="cubic"`` is the tensor-product not-a-knot cubic spline
    interpolant (the interpolant of ``RegularGridInterpolator(method="cubic")``, built axis by
    axis with exact banded solves instead of that class's iterative global solve, which is slow on
    large grids and stops at a relative tolerance of 1e-5); ``"linear"`` is multilinear
    interpolation by ``RegularGridInterpolator``; ``"auto"`` picks cubic when every axis has at
    least 4 points and linear otherwise. Points outside the grid by more than ``tol`` times the
    axis length raise ``ValueError``; points within that tolerance are clipped onto the grid.
    """

    def __init__(
        self,
        axes: Sequence[ArrayLike],
        values: ArrayLike,
        *,
        method: str = "auto",
        tol: float = 1e-9,
    ) -> None:
        axes_ = tuple(np.array(a, dtype=float) for a in axes)
        if not axes_:
            raise ValueError("axes must hold at least one coordinate array; got none")
        for i, a in enumerate(axes_):
            if a.ndim != 1 or a.size < 2 or not np.all(np.isfinite(a)) or np.any(np.diff(a) <= 0):
                raise ValueError(
                    f"axes[{i}] must be a finite, strictly increasing 1-D array of at least 2 "
                    f"points; got shape {a.shape}"
                )
        grid = tuple(a.size for a in axes_)
        vals = np.array(values, dtype=float)
        self._scalar = vals.shape == grid
        if self._scalar:
            vals = vals[..., None]
        if vals.ndim != len(grid) + 1 or vals.shape[:-1] != grid:
            raise ValueError(f"values must have shape {grid} or {grid} + (n_out,); got {vals.shape}")
        if not np.all(np.isfinite(vals)):
            raise ValueError("values must be finite; got NaN or inf")
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}; got {method!r}")
        if method == "auto":
            method = "cubic" if min(grid) >= 4 else "linear"
        if method == "cubic" and min(grid) < 4:
            raise ValueError(f"method='cubic' needs at least 4 points per axis; got grid {grid}")
        if not tol >= 0:
            raise ValueError(f"tol must be >= 0; got {tol}")
        for a in axes_:
            a.setflags(write=False)
        vals.setflags(write=False)
        self.axes: tuple[np.ndarray, ...] = axes_
        self.values: np.ndarray = vals
        self.method: str = method
        self.tol: float = float(tol)
        self._interp = self._build()

    def __repr__(self) -> str:
        grid = tuple(a.size for a in self.axes)
        return f"GridReference(grid={grid}, n_out={self.n_out}, method={self.method!r}, bounds={self.bounds})"

    def _build(self) -> Callable[[np.ndarray], np.ndarray]:
        if self.method == "linear":
            return RegularGridInterpolator(self.axes, self.values, method="linear")
        coef = self.values
        knots = []
        for i, a in enumerate(self.axes):
            spline = make_interp_spline(a, coef, k=3, axis=i)
            coef = np.moveaxis(spline.c, 0, i)
            knots.append(spline.t)
        return NdBSpline(tuple(knots), coef, 3)

    @property
    def dim(self) -> int:
        """Number of coordinates of a point."""
        return len(self.axes)

    @property
    def n_out(self) -> int:
        """Number of output components."""
        return self.values.shape[-1]

    @property
    def bounds(self) -> tuple[tuple[float, float], ...]:
        """The (low, high) extent of every axis."""
        return tuple((float(a[0]), float(a[-1])) for a in self.axes)

    def __call__(self, x: ArrayLike) -> np.ndarray:
        """Interpolated values of shape (N, n_out) at points x of shape (N, dim)."""
        pts = np.array(x, dtype=float)
        if pts.ndim == 1 and self.dim == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}); got {pts.shape}")
        if not np.all(np.isfinite(pts)):
            raise ValueError("x must be finite; got NaN or inf")
        for i, a in enumerate(self.axes):
            col = pts[:, i]
            slack = self.tol * (a[-1] - a[0])
            if col.size and (col.min() < a[0] - slack or col.max() > a[-1] + slack):
                raise _out_of_range_error(f"x[:, {i}]", col, a[0], a[-1])
            pts[:, i] = np.clip(col, a[0], a[-1])
        if pts.shape[0] == 0:
            return np.zeros((0, self.n_out))
        return np.asarray(self._interp(pts), dtype=float).reshape(pts.shape[0], self.n_out)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the grid, values and method to an .npz file at path."""
        arrays = {f"axis{i}": a for i, a in enumerate(self.axes)}
        values = self.values[..., 0] if self._scalar else self.values
        np.savez(path, values=values, method=np.array(self.method), tol=np.array(self.tol), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GridReference:
        """Read a GridReference written by save."""
        with np.load(path, allow_pickle=False) as data:
            axes = [data[f"axis{i}"] for i in range(len(data.files) - 3)]
            return cls(axes, data["values"], method=str(data["method"]), tol=float(data["tol"]))


class OdeReference:
    """Solution of an initial value problem, evaluated at times of shape (N, 1) as (N, m) states.

    Built by ``ode_reference``; evaluation uses the integrator's dense output directly, so no
    grid interpolation error is added. Times outside ``t_span`` (beyond round-off) raise.
    """

    def __init__(self, solution: Any, t_span: tuple[float, float], n_state: int, nfev: int) -> None:
        self.solution = solution
        self.t_span = t_span
        self.n_state = n_state
        self.nfev = nfev

    def __call__(self, t: ArrayLike) -> np.ndarray:
        """States of shape (N, m) at times t of shape (N, 1) or (N,)."""
        times = np.array(t, dtype=float)
        if times.ndim == 2 and times.shape[1] == 1:
            times = times[:, 0]
        if times.ndim != 1:
            raise ValueError(f"t must have shape (N, 1) or (N,); got {np.shape(t)}")
        lo, hi = min(self.t_span), max(self.t_span)
        slack = 1e-12 * max(1.0, hi - lo)
        if times.size and (np.any(~np.isfinite(times)) or times.min() < lo - slack or times.max() > hi + slack):
            raise _out_of_range_error("t", times, lo, hi)
        if times.size == 0:
            return np.zeros((0, self.n_state))
        return np.asarray(self.solution(np.clip(times, lo, hi)), dtype=float).reshape(self.n_state, -1).T


def ode_reference(
    fun: Callable[[float, np.ndarray], ArrayLike],
    t_span: tuple[float, float],
    y0: ArrayLike,
    *,
    rtol: float = 1e-12,
    atol: float = 1e-12,
    method: str = "DOP853",
) -> OdeReference:
    """Tight-tolerance solution of y' = fun(t, y), y(t_span[0]) = y0, as a callable reference."""
    if len(t_span) != 2 or not np.all(np.isfinite(t_span)) or t_span[0] == t_span[1]:
        raise ValueError(f"t_span must be two distinct finite times; got {t_span}")
    y0_ = np.atleast_1d(np.asarray(y0, dtype=float))
    if y0_.ndim != 1:
        raise ValueError(f"y0 must be a scalar or a 1-D array; got shape {y0_.shape}")
    sol = solve_ivp(fun, t_span, y0_, method=method, rtol=rtol, atol=atol, dense_output=True)
    if sol.status != 0:
        raise RuntimeError(f"solve_ivp failed on t_span={t_span}: {sol.message}")
    span = (float(t_span[0]), float(t_span[1]))
    return OdeReference(sol.sol, span, y0_.size, int(sol.nfev))


def burgers_cole_hopf(x: ArrayLike, t: ArrayLike, nu: float = 0.01 / np.pi, *, n_quad: int = 100) -> np.ndarray:
    """Exact solution of u_t + u u_x = nu u_xx, u(x, 0) = -sin(pi x), u(±1, t) = 0 (Cole–Hopf).

    With f(y) = exp(-cos(pi y) / (2 pi nu)) and c = sqrt(4 nu t),

        u(x, t) = -∫ sin(pi (x - c z)) f(x - c z) e^{-z²} dz / ∫ f(x - c z) e^{-z²} dz,

    both integrals by ``n_quad``-node Gauss–Hermite quadrature with the largest exponent
    subtracted first, so no exponential overflows however small nu is. ``x`` and ``t`` broadcast
    against each other; t = 0 gives the initial condition exactly. For nu = 0.01/pi and t ≤ 1 the
    default 100 nodes agree with 300 nodes to 3e-15 everywhere on [-1, 1]; the published maximum
    shock slope u_x(0, t) = -152.00516 at t = 1.6037/pi (Basdevant et al. 1986) is reproduced.
    """
    if not nu > 0:
        raise ValueError(f"nu must be > 0; got {nu}")
    if int(n_quad) != n_quad or n_quad < 1:
        raise ValueError(f"n_quad must be a positive integer; got {n_quad}")
    xb, tb = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(t, dtype=float))
    if np.any(tb < 0):
        raise ValueError(f"t must be >= 0; got min {tb.min()}")
    z, w = roots_hermite(int(n_quad))
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    xf, tf = xb.ravel(), tb.ravel()
    out = np.empty(xf.shape)
    chunk = max(1, 2**21 // int(n_quad))
    for s in range(0, xf.size, chunk):
        # cos/sin of pi (x - c z) by angle addition, the z-part once per distinct time
        xs = np.pi * xf[s : s + chunk, None]
        t_distinct, which = np.unique(tf[s : s + chunk], return_inverse=True)
        shift = np.pi * np.sqrt(4.0 * nu * t_distinct)[:, None] * z
        cos_s, sin_s = np.cos(shift)[which], np.sin(shift)[which]
        cos_x, sin_x = np.cos(xs), np.sin(xs)
        cos_theta = cos_x * cos_s + sin_x * sin_s
        sin_theta = sin_x * cos_s - cos_x * sin_s
        expo = log_w - cos_theta / (2.0 * np.pi * nu)
        p = np.exp(expo - expo.max(axis=1, keepdims=True))
        out[s : s + chunk] = -(sin_theta * p).sum(axis=1) / p.sum(axis=1)
    out = out.reshape(xb.shape)
    return np.where(tb == 0, -np.sin(np.pi * xb), out)


def burgers_reference(
    nu: float = 0.01 / np.pi,
    *,
    nx: int = 2049,
    nt: int = 201,
    n_quad: int = 100,
    cache_dir: str | os.PathLike[str] | None = None,
) -> GridReference:
    """The Cole–Hopf Burgers solution on an (x, t) grid over [-1, 1] × [0, 1], cubic-interpolated.

    Defaults (2049 × 201 points, ~0.5 s to build) interpolate the exact solution for nu = 0.01/pi
    to a relative L2 error of about 2e-7 at random points of the domain, with a largest error of
    about 5e-6 inside the shock (|x| < 0.05) and below 1e-7 elsewhere. Call
    ``burgers_cole_hopf`` directly where the shock needs full accuracy.
    """
    for name, n in (("nx", nx), ("nt", nt)):
        if int(n) != n or n < 4:
            raise ValueError(f"{name} must be an integer >= 4; got {n}")

    def build() -> GridReference:
        x = np.linspace(-1.0, 1.0, int(nx))
        t = np.linspace(0.0, 1.0, int(nt))
        u = burgers_cole_hopf(x[:, None], t[None, :], nu, n_quad=n_quad)
        return GridReference((x, t), u)

    params = {"nu": float(nu), "nx": int(nx), "nt": int(nt), "n_quad": int(n_quad)}
    return cached("burgers", params, build, cache_dir=cache_dir)


def _etdrk4_coefficients(lin: np.ndarray, dt: float, n_contour: int) -> tuple[np.ndarray, ...]:
    """ETDRK4 coefficients for the diagonal linear operator lin (Kassam & Trefethen 2005)."""
    r = np.exp(1j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
    lr = dt * lin[:, None] + r[None, :]
    e_lr = np.exp(lr)
    q = dt * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = dt * np.real(np.mean((-4 - lr + e_lr * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = dt * np.real(np.mean((2 + lr + e_lr * (-2 + lr)) / lr**3, axis=1))
    f3 = dt * np.real(np.mean((-4 - 3 * lr - lr**2 + e_lr * (4 - lr)) / lr**3, axis=1))
    return np.exp(dt * lin), np.exp(dt * lin / 2), q, f1, f2, f3


def allen_cahn_etdrk4(
    n_modes: int = 1024,
    dt: float = 1e-3,
    t_out: ArrayLike | None = None,
    *,
    diffusion: float = 1e-4,
    reaction: float = 5.0,
    n_contour: int = 32,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve u_t = diffusion u_xx + reaction (u - u³), x ∈ [-1, 1) periodic, u(x, 0) = x² cos(pi x).

    Fourier pseudo-spectral in space on ``n_modes`` equispaced points x_j = -1 + 2j/n_modes,
    ETDRK4 in time (Kassam & Trefethen 2005; phi-functions by a contour mean over
    ``n_contour`` points). ``t_out`` (default 201 times over [0, 1]) must be increasing,
    >= 0 and whole multiples of ``dt``. Returns ``(x, t, u)`` with ``u`` of shape
    (n_modes, len(t)). The initial condition is periodic but has a derivative jump at x = ±1,
    so the spatial error falls algebraically: for the defaults the solution at t = 1 changes by
    about 1e-9 when n_modes doubles and by about 1e-11 when dt halves.
    """
    if int(n_modes) != n_modes or n_modes < 8 or n_modes % 2:
        raise ValueError(f"n_modes must be an even integer >= 8; got {n_modes}")
    if not dt > 0:
        raise ValueError(f"dt must be > 0; got {dt}")
    if int(n_contour) != n_contour or n_contour < 8:
        raise ValueError(f"n_contour must be an integer >= 8; got {n_contour}")
    times = np.linspace(0.0, 1.0, 201) if t_out is None else np.atleast_1d(np.asarray(t_out, dtype=float))
    steps_f = times / dt
    steps = np.rint(steps_f).astype(np.int64)
    if times.ndim != 1 or times.size == 0 or np.any(times < 0) or np.any(np.diff(times) <= 0):
        raise ValueError(f"t_out must be a non-empty, increasing 1-D array of times >= 0; got {times}")
    if np.any(np.abs(steps_f - steps) > 1e-6):
        raise ValueError(f"t_out must be whole multiples of dt={dt}; got {times}")
    n = int(n_modes)
    x = -1.0 + 2.0 * np.arange(n) / n
    k = np.pi * np.arange(n // 2 + 1)
    e, e2, q, f1, f2, f3 = _etdrk4_coefficients(-diffusion * k**2, dt, int(n_contour))

    def nonlinear(v: np.ndarray) -> np.ndarray:
        w = np.fft.irfft(v, n)
        return np.fft.rfft(reaction * (w - w**3))

    v = np.fft.rfft(x**2 * np.cos(np.pi * x))
    u = np.empty((n, times.size))
    done = 0
    for j, target in enumerate(steps):
        for _ in range(target - done):
            nv = nonlinear(v)
            a = e2 * v + q * nv
            na = nonlinear(a)
            b = e2 * v + q * na
            nb = nonlinear(b)
            c = e2 * a + q * (2 * nb - nv)
            nc = nonlinear(c)
            v = e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
        done = target
        u[:, j] = np.fft.irfft(v, n)
    return x, times, u


def allen_cahn_reference(
    n_modes: int = 2048,
    dt: float = 1e-3,
    nt: int = 201,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> GridReference:
    """The Allen–Cahn benchmark on an (x, t) grid over [-1, 1] × [0, 1], cubic-interpolated.

    The periodic grid is closed by repeating x = -1 at x = 1. Defaults (2049 × 201 points,
    ~0.5 s to build) carry a solver error of about 1e-9. Interpolating between grid points adds
    about 1e-6 at most inside the thin interfaces (relative L2 about 1e-7) and 1e-8 between
    output times, except near the initial kink at x = ±1 for t < 0.005, where it reaches 1e-4.
    """
    if not dt > 0 or abs(1.0 / dt - round(1.0 / dt)) > 1e-6:
        raise ValueError(f"dt must be 1/m for a whole number m; got {dt}")
    steps = round(1.0 / dt)
    if int(nt) != nt or nt < 4 or steps % (int(nt) - 1):
        raise ValueError(f"nt must be an integer >= 4 with nt - 1 dividing 1/dt = {steps}; got {nt}")

    def build() -> GridReference:
        t = dt * (np.arange(int(nt)) * (steps // (int(nt) - 1)))
        x, t, u = allen_cahn_etdrk4(n_modes, dt, t)
        return GridReference((np.append(x, 1.0), t), np.concatenate([u, u[:1]], axis=0))

    params = {"n_modes": int(n_modes), "dt": float(dt), "nt": int(nt)}
    return cached("allen_cahn", params, build, cache_dir=cache_dir)


_MEMORY: dict[tuple[str, str], GridReference] = {}


def _canonical(params: dict[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"params values must be numbers, strings, None or lists of them; got {value!r}")

    return json.dumps({str(k): plain(v) for k, v in params.items()}, sort_keys=True)


def cached(
    name: str,
    params: dict[str, Any],
    build: Callable[[], GridReference],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> GridReference:
    """The reference for (name, params): from memory, else from disk if enabled, else built.

    The in-memory cache lasts for the process (``clear_cache`` empties it). A disk cache is used
    only when ``cache_dir`` is given or the ``KANPDE_CACHE_DIR`` environment variable is set and
    non-empty; files are ``<cache_dir>/<name>-<hash>.npz``.
    """
    if not name or not all(ch.isalnum() or ch in "_-." for ch in name):
        raise ValueError(f"name must be non-empty and use only letters, digits, '_', '-', '.'; got {name!r}")
    key = (name, _canonical(params))
    if key in _MEMORY:
        return _MEMORY[key]
    directory = cache_dir if cache_dir is not None else os.environ.get("KANPDE_CACHE_DIR") or None
    ref = None
    path = None
    if directory is not None:
        digest = hashlib.sha256(key[1].encode()).hexdigest()[:16]
        path = Path(directory).expanduser() / f"{name}-{digest}.npz"
        if path.is_file():
            try:
                ref = GridReference.load(path)
            except (OSError, ValueError, KeyError):
                ref = None
    if ref is None:
        ref = build()
        if not isinstance(ref, GridReference):
            raise TypeError(f"build must return a GridReference; got {type(ref).__name__}")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    ref.save(fh)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    _MEMORY[key] = ref
    return ref


def clear_cache() -> None:
    """Empty the in-memory reference cache."""
    _MEMORY.clear()
