"""Tight-tolerance solutions of initial value problems (scipy ``solve_ivp``), callable as references."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp

from kanpde.reference.grid import out_of_range_error

__all__ = ["OdeReference", "ode_reference"]


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
            raise out_of_range_error("t", times, lo, hi)
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
