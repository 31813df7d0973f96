"""Time-marching: train on a growing time window (Wight & Zhao 2020; Krishnapriyan et al. 2021)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kanpde.geometry import SpaceTime
from kanpde.methods.base import Method, positive, positive_int

__all__ = ["TimeMarching", "time_window"]

#: ``history.meta`` keys: the current window ``[t0, t_end]`` and the epoch it was opened
WINDOW_KEY, SINCE_KEY = "time_window", "time_window_since"


def time_window(run: Any) -> tuple[float, float]:
    """The time interval the residual's points currently cover: the open window, else the whole span."""
    dom = run.problem.domain
    w = run.history.meta.get(WINDOW_KEY)
    return (float(w[0]), float(w[1])) if w is not None else (float(dom.t0), float(dom.t1))


def sample_in_window(run: Any, n: int, window: tuple[float, float] | None = None) -> np.ndarray:
    """``n`` uniform interior points of the problem's domain with time mapped into ``window`` (default: open one)."""
    dom = run.problem.domain
    lo, hi = window if window is not None else time_window(run)
    x = dom.sample_interior(n, "uniform", run.rng)
    x[:, -1] = lo + (x[:, -1] - dom.t0) * ((hi - lo) / (dom.t1 - dom.t0))
    return x


@dataclass(frozen=True)
class TimeMarching(Method):
    """Train the residual on a growing time window ``[t0, t0 + k dt]``, ``dt = (t1 - t0) / windows``.

    Wight & Zhao, "Solving Allen-Cahn and Cahn-Hilliard equations using the adaptive physics
    informed neural networks" (2020, adaptive time sampling); Krishnapriyan, Gholami, Zhe, Kirby &
    Mahoney, "Characterizing possible failure modes in physics-informed neural networks" (NeurIPS
    2021, sequence-to-sequence learning).  A PINN trained on the whole time span at once can fit
    a wrong late-time solution before the early times are resolved; marching propagates the
    initial condition forward instead.

    At the start the residual's collocation points are redrawn (same number, uniform) in the
    first window.  The window grows by ``dt`` (and the points are redrawn in it) after ``every``
    epochs in a window, or sooner when ``tol`` is given and the mean squared residual of the
    latest evaluation falls below it (after at least ``min_every`` epochs in the window).  The
    window is the whole span once ``windows`` windows are open, and at the latest when L-BFGS
    starts, unless ``lbfgs=True``: then marching goes on in the L-BFGS phase on the same schedule
    (each growth restarts L-BFGS, whose curvature pairs belong to the old window).  RAD, RAR and
    Causal work inside the open window.  The window is recorded in ``history.meta["time_window"]``
    (and the epoch it opened in ``"time_window_since"``).

    Measured on allen_cahn1d (benchmarks/results/hard_tuning.json): it did not help there within
    a 300 s CPU budget; its budget trains on the whole span with Causal weighting instead.
    """

    windows: int = 10
    every: int = 500
    tol: float | None = None
    min_every: int = 100
    lbfgs: bool = False

    def __post_init__(self):
        positive_int("TimeMarching", "windows", self.windows)
        positive_int("TimeMarching", "every", self.every)
        positive_int("TimeMarching", "min_every", self.min_every)
        if self.tol is not None:
            positive("TimeMarching", "tol", self.tol)
        if not isinstance(self.lbfgs, bool):
            raise ValueError(f"TimeMarching: lbfgs must be True or False, got {self.lbfgs!r}")

    def check(self, problem, model, config):
        if not isinstance(problem.domain, SpaceTime) or problem.residual is None:
            raise ValueError(f"TimeMarching grows a time window, but problem {problem.name!r} has no time "
                             f"coordinate with a residual (its domain is {problem.domain!r}; TimeMarching needs "
                             f"a SpaceTime domain)")

    def window_end(self, problem: Any, k: int) -> float:
        """The end of the ``k``-th window (``k = 1 .. windows``)."""
        dom = problem.domain
        return float(dom.t1) if k >= self.windows else float(dom.t0 + k * (dom.t1 - dom.t0) / self.windows)

    def start(self, run: Any) -> None:
        self._open(run, 1)

    def _open(self, run: Any, k: int) -> None:
        dom = run.problem.domain
        run.history.meta[WINDOW_KEY] = [float(dom.t0), self.window_end(run.problem, k)]
        run.history.meta[SINCE_KEY] = run.epoch
        run.set_points("pde", sample_in_window(run, len(run.loss.points()["pde"])))

    def _index(self, run: Any) -> int:
        """Which window is open (1 .. windows)."""
        dom = run.problem.domain
        end = time_window(run)[1]
        return int(round((end - dom.t0) / (dom.t1 - dom.t0) * self.windows))

    def before_step(self, run: Any) -> None:
        k = self._index(run)
        if k >= self.windows:
            return
        if not self.lbfgs and (not run.in_adam_phase or run.epoch >= run.config.adam_epochs):
            self._open(run, self.windows)  # L-BFGS (or its first step) trains on the whole span
            return
        age = run.epoch - run.history.meta[SINCE_KEY]
        grow = age >= self.every
        if not grow and self.tol is not None and age >= self.min_every:
            r = run.loss.last_residuals().get("pde")
            grow = r is not None and float((r * r).sum(1).mean()) < self.tol
        if grow:
            self._open(run, k + 1)
