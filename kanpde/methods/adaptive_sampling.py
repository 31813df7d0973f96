"""Residual-based adaptive collocation: RAD (resample) and RAR (refine)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kanpde.methods.base import Method, positive, positive_int
from kanpde.methods.time_marching import WINDOW_KEY, sample_in_window

__all__ = ["RAD", "RAR"]


def _pool_residuals(run: Any, pool: int) -> tuple[np.ndarray, np.ndarray]:
    """A uniform candidate pool in the domain (or the open time window) and ``|residual|`` there (summed over
    residual columns)."""
    if WINDOW_KEY in run.history.meta:  # time-marching: candidates inside the open time window
        x = sample_in_window(run, pool)
    else:
        x = run.problem.domain.sample_interior(pool, "uniform", run.rng)
    r = run.loss.residuals_at(run.model, "pde", x)
    return x, np.abs(r).sum(1)


def _needs_residual(owner: str, problem: Any) -> None:
    if problem.residual is None:
        raise ValueError(f"{owner} moves the residual's collocation points, but problem {problem.name!r} has "
                         f"no residual (pure data fitting)")


@dataclass(frozen=True)
class RAD(Method):
    """Residual-based adaptive distribution (Wu, Zhu, Tan, Kartha & Lu, CMAME 2023).

    Every ``every`` epochs the interior points are redrawn, without replacement, from a uniform
    candidate pool of ``pool_factor`` times their number, with probability

        p(x) ∝ |r(x)|^k / mean(|r|^k) + c.

    ``k = 1, c = 1`` is the paper's robust default; ``c -> inf`` is uniform resampling.
    ``until`` stops resampling after that epoch; ``adam_only=True`` stops it when L-BFGS starts
    (a resample restarts L-BFGS, whose progress it can undo).
    """

    every: int = 500
    k: float = 1.0
    c: float = 1.0
    pool_factor: int = 8
    until: int | None = None
    adam_only: bool = False

    def __post_init__(self):
        positive_int("RAD", "every", self.every)
        if self.until is not None:
            positive_int("RAD", "until", self.until)
        positive_int("RAD", "pool_factor", self.pool_factor)
        positive("RAD", "k", self.k, allow_zero=True)
        positive("RAD", "c", self.c, allow_zero=True)

    def check(self, problem, model, config):
        _needs_residual("RAD", problem)

    def before_step(self, run):
        if not self._due(run, self.every) or (self.until is not None and run.epoch > self.until) or (
                self.adam_only and not run.in_adam_phase):
            return
        n = len(run.loss.points()["pde"])
        x, r = _pool_residuals(run, self.pool_factor * n)
        rk = r**self.k
        dens = rk / max(rk.mean(), 1e-300) + self.c
        idx = run.rng.choice(len(x), size=n, replace=False, p=dens / dens.sum())
        run.set_points("pde", x[np.sort(idx)])


@dataclass(frozen=True)
class RAR(Method):
    """Residual-based adaptive refinement (Lu, Meng, Mao & Karniadakis, SIAM Review 2021).

    Every ``every`` epochs, ``add`` points with the largest ``|r|`` among a uniform pool of
    ``pool_factor`` times the current number are added to the interior set (greedy RAR-G), up to
    ``max_points`` in total.
    """

    every: int = 500
    add: int = 100
    pool_factor: int = 8
    max_points: int | None = None

    def __post_init__(self):
        positive_int("RAR", "every", self.every)
        positive_int("RAR", "add", self.add)
        positive_int("RAR", "pool_factor", self.pool_factor)
        if self.max_points is not None:
            positive_int("RAR", "max_points", self.max_points)

    def check(self, problem, model, config):
        _needs_residual("RAR", problem)

    def before_step(self, run):
        if not self._due(run, self.every):
            return
        old = run.loss.points()["pde"]
        room = self.add if self.max_points is None else min(self.add, self.max_points - len(old))
        if room <= 0:
            return
        x, r = _pool_residuals(run, self.pool_factor * len(old))
        worst = np.argsort(-r, kind="stable")[:room]
        run.set_points("pde", np.concatenate([old, x[worst]]))
