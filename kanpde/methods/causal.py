"""Causal training: respect the arrow of time (Wang, Sankaran & Perdikaris, CMAME 2024)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from kanpde.geometry import Interval, SpaceTime
from kanpde.methods.base import Method, positive, positive_int
from kanpde.methods.time_marching import time_window

__all__ = ["Causal"]


@dataclass(frozen=True)
class Causal(Method):
    """Causal weighting of the residual over ``slices`` time slices.

    With ``L_k`` the mean squared residual in slice ``k`` (ordered in time), slice ``k`` is
    weighted by ``w_k = exp(-eps * sum_{j<k} L_j)`` (not differentiated), so later times are
    trained only once earlier ones are resolved; the residual term becomes ``mean_k w_k L_k``.
    With :class:`TimeMarching` the slices divide the open time window.
    Weights follow the latest residuals before each Adam step and are frozen for L-BFGS.
    The minimum slice weight is in ``history.meta["causal_min_weight"]`` at the end.
    """

    eps: float = 1.0
    slices: int = 16

    def __post_init__(self):
        positive("Causal", "eps", self.eps)
        positive_int("Causal", "slices", self.slices)

    def check(self, problem, model, config):
        dom = problem.domain
        timed = isinstance(dom, SpaceTime) or (isinstance(dom, Interval) and "ode" in problem.tags)
        if not timed or problem.residual is None:
            raise ValueError(f"Causal weights residuals over time, but problem {problem.name!r} has no time "
                             f"coordinate (its domain is {dom!r}; Causal needs a SpaceTime domain or an ODE)")

    def before_step(self, run: Any) -> None:
        r = run.loss.last_residuals().get("pde")
        if not run.in_adam_phase or r is None:  # frozen for L-BFGS; or points just replaced
            return
        t = run.loss.points()["pde"][:, -1]
        lo, hi = time_window(run) if isinstance(run.problem.domain, SpaceTime) else (
            run.problem.domain.bbox[0][-1], run.problem.domain.bbox[1][-1])
        k = np.minimum(((t - lo) / (hi - lo) * self.slices).astype(int), self.slices - 1)
        idx = torch.as_tensor(k, device=r.device)
        r2 = (r * r).sum(1)
        count = torch.zeros(self.slices, dtype=r.dtype, device=r.device).index_add_(0, idx, torch.ones_like(r2))
        per = torch.zeros_like(count).index_add_(0, idx, r2) / count.clamp_min(1)
        w = torch.exp(-self.eps * (torch.cumsum(per, 0) - per))
        present = (count > 0).sum()
        # point weight so that mean_i w_i r_i^2 = mean over occupied slices of w_k L_k
        point = w[idx] * len(r2) / (present * count[idx])
        run.loss.set_point_weights("pde", point)
        run.history.meta["causal_min_weight"] = float(w[count > 0].min())
