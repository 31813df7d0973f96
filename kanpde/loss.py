"""The residual-loss engine: weighted mean squares of the residual and of every condition.

All collocation points (interior and every condition's) are stacked into one tensor, mapped
from the problem's bounding box onto ``[-1, 1]^d`` by :class:`InputScaling`, and pushed through
the model once.  When the model implements ``forward_jet`` the derivatives the residual needs
are propagated forward with the values (see :mod:`kanpde.models.jet`); otherwise the operators
of :mod:`kanpde.ops` use autograd.  Either way derivatives are taken with respect to the
physical coordinates.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor, nn

from kanpde.geometry import SAMPLING_METHODS
from kanpde.models.jet import seed_jet
from kanpde.ops import Jet, NeedsInputGrad
from kanpde.problem import Problem

__all__ = ["InputScaling", "ResidualLoss", "DERIVATIVE_MODES"]

DERIVATIVE_MODES = ("auto", "jet", "autograd")


class InputScaling:
    """The fixed affine map ``z = 2 (x - lo) / (hi - lo) - 1`` from the bounding box onto ``[-1, 1]^d``.

    The same map is applied in front of every model (MLP and KAN alike); it has no trainable
    parameters, and derivatives are always taken with respect to ``x``.
    """

    def __init__(self, lo: np.ndarray, hi: np.ndarray):
        lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        self.lo, self.hi = lo, hi
        self._scale = torch.as_tensor(2.0 / (hi - lo), dtype=torch.float64)
        self._shift = torch.as_tensor((lo + hi) / 2.0, dtype=torch.float64)

    def scale(self, like: Tensor) -> Tensor:
        """The per-coordinate factor ``dz/dx`` on ``like``'s dtype and device."""
        return self._scale.to(like)

    def __call__(self, x: Tensor) -> Tensor:
        """Map physical points to model inputs."""
        return (x - self._shift.to(x)) * self._scale.to(x)

    def to_dict(self) -> dict:
        """Plain-data form."""
        return {"lo": self.lo.tolist(), "hi": self.hi.tolist()}


class ResidualLoss:
    """Weighted sum of mean-square residual and condition terms on sampled collocation points."""

    def __init__(self, problem: Problem, *, n_interior: int | None = None, n_boundary: int | None = None,
                 n_initial: int | None = None, method: str = "sobol", weights: Mapping[str, float] | None = None,
                 derivatives: str = "auto", dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu"):
        if method not in SAMPLING_METHODS:
            raise ValueError(f"unknown sampling method {method!r}; known: {list(SAMPLING_METHODS)}")
        if derivatives not in DERIVATIVE_MODES:
            raise ValueError(f"derivatives must be one of {list(DERIVATIVE_MODES)}, got {derivatives!r}")
        self.problem = problem
        self.n_interior = _positive("n_interior", n_interior, problem.n_interior)
        self.n_boundary = _positive("n_boundary", n_boundary, problem.n_boundary)
        self.n_initial = _positive("n_initial", n_initial, problem.n_initial)
        self.method, self.derivatives, self.dtype, self.device = method, derivatives, dtype, torch.device(device)
        self.scaling = InputScaling(*problem.domain.bbox)
        self.names = self._term_names()
        weights = dict(weights or {})
        unknown = set(weights) - set(self.names)
        if unknown:
            raise ValueError(f"weights name unknown terms {sorted(unknown)}; terms are {self.names}")
        self.weights = [float(weights.get(n, 1.0 if c is None else c.weight)) for n, c in zip(self.names, self._slots)]
        self.order = min(2, max([problem.order if problem.residual else 0] + [c.order for c in problem.conditions]))
        self._x_grad = False
        self._parts: list[tuple[slice, Tensor, dict]] = []

    @property
    def _slots(self) -> list:
        """One entry per term: ``None`` for the residual, then the conditions."""
        return ([None] if self.problem.residual is not None else []) + list(self.problem.conditions)

    def _term_names(self) -> list[str]:
        names = ["pde"] if self.problem.residual is not None else []
        for c in self.problem.conditions:
            base = c.name or c.kind
            name, k = base, 1
            while name in names:
                name, k = f"{base}_{k}", k + 1
            names.append(name)
        if not names:
            raise ValueError(f"problem {self.problem.name!r} has neither a residual nor conditions")
        return names

    def sample(self, seed: int | np.random.Generator | None = 0) -> None:
        """Draw the collocation points of every term."""
        rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
        p = self.problem
        chunks, extras = [], []
        if p.residual is not None:
            chunks.append(p.domain.sample_interior(self.n_interior, self.method, rng))
            extras.append({})
        for c in p.conditions:
            n = self.n_initial if c.kind == "initial" else self.n_boundary
            pts = c.sample(p, n, self.method, rng)
            chunks.append(pts["x"])
            extras.append(pts)
        self._np_chunks, self._np_extras = chunks, extras
        self._build()

    def _build(self) -> None:
        bounds = np.cumsum([0] + [len(c) for c in self._np_chunks])
        X = torch.as_tensor(np.concatenate(self._np_chunks), dtype=self.dtype, device=self.device)
        self.X = X
        self._parts = []
        for i, cond in enumerate(self._slots):
            sl = slice(int(bounds[i]), int(bounds[i + 1]))
            # with autograd derivatives every term gets a leaf of its own, so that anything the
            # residual derives from u (u[:, 1:2], u**2, ...) is differentiable w.r.t. its x
            xp = X[sl].clone().requires_grad_(True) if self._x_grad else X[sl]
            data = {} if cond is None else cond.prepare(self.problem, self._np_extras[i], xp.detach())
            self._parts.append((sl, xp, data))
        self._Z = self.scaling(X)
        self._T0 = None if self._x_grad else seed_jet(self._Z, self.scaling.scale(X), self.order)

    def model_inputs(self) -> Tensor:
        """The (scaled) interior collocation points as the model sees them, detached."""
        sl = self._parts[0][0] if self.problem.residual is not None else slice(None)
        return self._Z[sl].detach()

    def _use_jet(self, model: nn.Module) -> bool:
        if self.derivatives == "autograd":
            return False
        has = hasattr(model, "forward_jet")
        if self.derivatives == "jet" and not has:
            raise ValueError(f"derivatives='jet' needs a model with forward_jet; {type(model).__name__} has none")
        return has and (self.derivatives == "jet" or getattr(model, "prefers_jet", True))

    def terms(self, model: nn.Module) -> dict[str, Tensor]:
        """Unweighted mean-square value of every term, by name."""
        if not self._parts:
            self.sample()
        try:
            return self._terms(model)
        except NeedsInputGrad:
            if self._x_grad:
                raise
            self._x_grad = True  # the residual needs autograd derivatives from now on
            self._build()
            return self._terms(model)

    def _terms(self, model: nn.Module) -> dict[str, Tensor]:
        d, jet = self.problem.d_in, self._use_jet(model)
        if not jet and not self._x_grad and self.order > 0:
            self._x_grad = True
            self._build()
        X = torch.cat([xp for _, xp, _ in self._parts]) if self._x_grad else self.X
        if jet:
            T0 = self._T0 if self._T0 is not None else seed_jet(self.scaling(X), self.scaling.scale(X), self.order)
            T, order = model.forward_jet(T0, d, self.order), self.order
        else:
            T, order = model(self.scaling(X)).unsqueeze(0), 0
        out = {}
        for name, cond, (sl, xp, data) in zip(self.names, self._slots, self._parts):
            Tp = T[:, sl]
            u = Tp[0]
            u._kp_jet = Jet(Tp, d, order, xp)
            r = self.problem.residual_terms(xp, u) if cond is None else cond.residual(xp, u, data)
            out[name] = (r * r).mean()
        return out

    def __call__(self, model: nn.Module) -> tuple[Tensor, dict[str, Tensor]]:
        """Total weighted loss and the unweighted terms."""
        terms = self.terms(model)
        total = sum(w * t for w, t in zip(self.weights, terms.values()))
        return total, terms


def _positive(name: str, value: int | None, default: int) -> int:
    v = default if value is None else value
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(v)
