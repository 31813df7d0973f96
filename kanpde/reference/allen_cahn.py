"""Allen–Cahn: a Fourier pseudo-spectral ETDRK4 solver and its gridded, cached reference."""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import ArrayLike

from kanpde.reference.cache import cached
from kanpde.reference.grid import GridReference

__all__ = ["allen_cahn_etdrk4", "allen_cahn_reference"]


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
    k = np.pi * np.arange(n // 2 + 1)  # wavenumbers of the rfft modes on a period of length 2
    # names as in Kassam & Trefethen's listing: e = exp(dt L), e2 = exp(dt L / 2), q and f1..f3 the
    # phi-function weights; v is the solution's spectrum, a, b, c the three stage spectra, n* their
    # nonlinear terms
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

    The periodic grid is closed by repeating x = -1 at x = 1. Defaults (2049 × 201 points; build
    time in benchmarks/README.md) carry a solver error of about 1e-9. Interpolating between grid
    points adds about 1e-6 at most inside the thin interfaces (relative L2 about 1e-7) and 1e-8 between
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
