"""Loss balancing: LRA (term weights from gradient statistics) and RBA (point weights from residuals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from kanpde.methods.base import Method, positive, positive_int

__all__ = ["LRA", "RBA"]


@dataclass(frozen=True)
class LRA(Method):
    """Learning-rate annealing of the term weights (Wang, Teng & Perdikaris, SIAM J. Sci. Comput. 2021).

    Every ``every`` epochs of the Adam phase, for each condition term ``i``:

        lambda_hat_i = max |grad_theta L_pde| / mean |grad_theta L_i|,
        lambda_i    <- (1 - alpha) lambda_i + alpha lambda_hat_i.

    The residual term keeps weight 1 (the reference); the weights applied are in ``history.weights``.
    """

    every: int = 10
    alpha: float = 0.1

    def __post_init__(self):
        positive_int("LRA", "every", self.every)
        if not (isinstance(self.alpha, (int, float)) and 0 < self.alpha <= 1):
            raise ValueError(f"LRA: alpha must be in (0, 1], got {self.alpha!r}")

    def check(self, problem, model, config):
        if problem.residual is None or not problem.conditions:
            raise ValueError(f"LRA balances conditions against the residual; problem {problem.name!r} needs both")

    def before_step(self, run: Any) -> None:
        if not run.in_adam_phase or run.epoch % self.every:
            return
        params = [p for p in run.model.parameters() if p.requires_grad]
        per_term = run.loss.term_grads(run.model, params)  # chunk by chunk on large point sets

        def grads(g):  # |d t / d theta| over every parameter (0 where t does not depend on it)
            return torch.cat([(torch.zeros_like(p) if x is None else x).reshape(-1).abs() for x, p in zip(g, params)])

        ref = grads(per_term["pde"]).max()
        for name, g in per_term.items():
            if name == "pde":
                continue
            mean = grads(g).mean()
            if not (torch.isfinite(mean) and mean > 0):
                continue
            old = run.loss.weight(name)
            run.loss.set_weight(name, (1 - self.alpha) * old + self.alpha * float(ref / mean))


@dataclass(frozen=True)
class RBA(Method):
    """Residual-based attention point weights (Anagnostopoulos, Toscano, Stergiopulos & Karniadakis, CMAME 2024).

    Each point of the chosen ``terms`` carries a multiplier ``lambda_i`` (starting at 1), updated
    before every Adam step from the latest residuals:

        lambda_i <- gamma lambda_i + eta |r_i| / max_j |r_j|,

    and its squared residual is weighted by ``lambda_i ** 2``.  With ``gamma = 0.999`` and
    ``eta = 0.01`` the multipliers settle at ``eta / (1 - gamma) |r_i| / max|r| <= 10``.
    """

    gamma: float = 0.999
    eta: float = 0.01
    terms: tuple[str, ...] = ("pde",)

    def __post_init__(self):
        if not (isinstance(self.gamma, (int, float)) and 0 <= self.gamma < 1):
            raise ValueError(f"RBA: gamma must be in [0, 1), got {self.gamma!r}")
        positive("RBA", "eta", self.eta)
        object.__setattr__(self, "terms", tuple(self.terms))

    def check(self, problem, model, config):
        if "pde" in self.terms and problem.residual is None:
            raise ValueError(f"RBA weights the residual's points, but problem {problem.name!r} has no residual")

    def start(self, run: Any) -> None:
        unknown = [t for t in self.terms if t not in run.loss.names]
        if unknown:
            raise ValueError(f"RBA: unknown term(s) {unknown}; terms are {run.loss.names}")

    def before_step(self, run: Any) -> None:
        if not run.in_adam_phase:
            return
        res = run.loss.last_residuals()
        for name in self.terms:
            if name not in res:  # points just replaced: the next evaluation brings residuals
                continue
            r = res[name].abs().sum(1)
            lam = run.loss.point_weights(name)
            lam = torch.ones_like(r) if lam is None or lam.shape != r.shape else lam.sqrt()
            lam = self.gamma * lam + self.eta * r / r.max().clamp_min(1e-300)
            run.loss.set_point_weights(name, lam * lam)
