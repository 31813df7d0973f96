"""One forward pass over the stacked points of several loss terms, on one derivative path.

Used by :class:`kanpde.loss.ResidualLoss`: on the jet path the points' input jets (and the
parameter-free jets of a hard-constraint transform) are built once per set of points, the model
propagates them, and each term's residual is evaluated inside its own
:class:`~kanpde.derivatives.DerivativeContext`; on the autograd path every term's points are a
leaf of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor, nn

from kanpde.derivatives import DerivativeContext, Jet
from kanpde.hard import apply_jet
from kanpde.problem import Problem, as_columns

if TYPE_CHECKING:
    from kanpde.loss import ResidualLoss

__all__ = ["Batch"]


class Batch:
    """The points of several terms stacked for one forward pass, on one derivative path."""

    def __init__(self, loss: ResidualLoss, xs: list[np.ndarray], conds: list, names: list[str], grad: bool,
                 data: list[dict] | None = None):
        self.loss, self.conds, self.names = loss, conds, names
        bounds = np.cumsum([0] + [len(x) for x in xs])
        self.slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        X = torch.as_tensor(np.concatenate(xs), dtype=loss.dtype, device=loss.device)
        # on the autograd path every term gets a leaf of its own, so that anything the residual
        # derives from u (u[:, 1:2], u**2, ...) is differentiable w.r.t. that term's x
        self.xs = [X[sl].clone().requires_grad_(True) if grad else X[sl] for sl in self.slices]
        self.X = X
        self.T0 = None if grad else loss.scaling.jet(X, loss.order)
        self.GP = None if grad or loss.hard is None else loss.hard.jet(X, loss.order)  # parameter-free: once
        self.data = None if data is None else self._prepare(data)

    def _prepare(self, pts: list[dict]) -> list[dict]:
        p, out = self.loss.problem, []
        for name, c, pt, x in zip(self.names, self.conds, pts, self.xs):
            try:
                out.append({} if c is None else c.prepare(p, pt, x.detach()))
            except ValueError as e:
                raise ValueError(f"the {name!r} condition of problem {p.name!r}: {e}") from e
        return out

    def residuals(self, model: nn.Module, problem: Problem, jet: bool, autograd: bool,
                  data: list[dict] | None = None) -> list[Tensor]:
        """Each term's residual as an ``(N_term, k)`` tensor."""
        data = self._prepare(data) if data is not None else self.data
        loss, d = self.loss, problem.d_in
        p = loss.unknowns.values() if problem.takes_unknowns else None
        if jet:
            T = model.forward_jet(self.T0, d, loss.order)
            if self.GP is not None:  # the output transform by the product rule, before any context opens
                T = apply_jet(*self.GP, T, d, loss.order)
        else:
            X = torch.cat(self.xs) if len(self.xs) > 1 else self.xs[0]
            T = model(loss.scaling(X))
            T = (T if loss.hard is None else loss.hard(X, T)).unsqueeze(0)
        out = []
        for name, cond, sl, x, dat in zip(self.names, self.conds, self.slices, self.xs, data):
            Tp = T[:, sl]
            u = Tp[0]
            ctx = DerivativeContext(x, u, Jet(Tp, d, loss.order) if jet else None, autograd=autograd)
            with ctx:
                r = problem.call_residual(x, u, p) if cond is None else cond.residual(x, u, dat)
            n = x.shape[0] if cond is None else cond.n_rows(x.shape[0])
            out.append(as_columns(r, n, problem.name, name))
        return out
