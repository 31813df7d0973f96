"""Conditions: the loss terms that hold on sampled points besides the residual.

Condition values (``value=``, ``derivative=``) are a number, a sequence (one per component),
or a function of a ``(N, d)`` float64 tensor of points returning ``(N,)`` or ``(N, k)``.
Boundary selectors (``on=``) take a numpy array of points and return a boolean mask.
A condition samples its points (``sample``), prepares per-point targets once per sample
(``prepare``) and returns its residual at them (``residual``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from kanpde import ops
from kanpde.geometry import Box, Geometry, Interval, SpaceTime

if TYPE_CHECKING:
    from kanpde.problem import Problem

__all__ = ["Condition", "Dirichlet", "Neumann", "Robin", "Periodic", "Initial", "Data", "evaluate_value", "Value"]

Value = float | Sequence[float] | Callable[[Tensor], Tensor]


def evaluate_value(value: Value, x: Tensor, k: int) -> Tensor:
    """Evaluate a condition value at points ``x`` as an ``(N, k)`` tensor."""
    if callable(value):
        v = value(x)
        v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
        if v.dim() == 0:
            v = v.expand(x.shape[0])
        if v.dim() > 2 or v.shape[0] != x.shape[0] or (v.dim() == 2 and v.shape[1] not in (1, k)):
            raise ValueError(f"condition value has shape {tuple(v.shape)} for {x.shape[0]} points; expected "
                             f"({x.shape[0]},) or ({x.shape[0]}, 1) or ({x.shape[0]}, {k})")
        v = v.reshape(x.shape[0], -1)
    else:
        v = torch.as_tensor(np.asarray(value, dtype=float), dtype=x.dtype, device=x.device).reshape(1, -1)
        v = v.expand(x.shape[0], v.shape[1])
    if v.shape[1] not in (1, k):
        raise ValueError(f"condition value has {v.shape[1]} components, expected 1 or {k}")
    return v.expand(x.shape[0], k)


def _components(component: int | Sequence[int] | None, m: int) -> list[int]:
    comps = list(range(m)) if component is None else (
        [component] if isinstance(component, int) else list(component))
    bad = [c for c in comps if not 0 <= c < m]
    if bad:
        raise ValueError(f"component {bad[0]} out of range for a problem with {m} outputs")
    return comps


def _select(u: Tensor, comps: list[int]) -> Tensor:
    return u if comps == list(range(u.shape[1])) else u[:, comps]


def _boundary_points(domain: Geometry, n: int, method: str, rng, on) -> tuple[np.ndarray, np.ndarray]:
    x, nrm = domain.sample_boundary(n, method, rng)
    if on is None:
        return x, nrm
    mask = np.asarray(on(x), dtype=bool)
    if mask.sum() == 0 or (mask.sum() < n and len(x) >= n):
        frac = max(mask.mean(), 1.0 / len(x))
        x, nrm = domain.sample_boundary(min(int(math.ceil(n / frac)) + 16, 200 * n), method, rng)
        mask = np.asarray(on(x), dtype=bool)
    if mask.sum() == 0:
        raise ValueError("the boundary selector `on` selects no boundary point")
    return x[mask][:n], nrm[mask][:n]


@dataclass(frozen=True, kw_only=True)
class Condition:
    """Base class: a loss term that holds on sampled points of the domain."""

    weight: float = 1.0
    name: str | None = None

    kind = "condition"
    order = 0  # highest input derivative the condition uses

    def sample(self, problem: Problem, n: int, method: str, rng: np.random.Generator) -> dict:
        """Points (``"x"``) and per-point data for this condition as numpy arrays."""
        raise NotImplementedError

    def prepare(self, problem: Problem, pts: dict, x: Tensor) -> dict:
        """Per-point tensors (targets, normals) computed once per sample."""
        return {}

    def residual(self, x: Tensor, u: Tensor, data: dict) -> Tensor:
        """Residual of the condition at its points."""
        raise NotImplementedError

    def n_rows(self, n_points: int) -> int:
        """Rows of the residual for ``n_points`` sampled points (one per point unless points pair up)."""
        return n_points


@dataclass(frozen=True)
class _Valued(Condition):
    value: Value = 0.0
    on: Callable[[np.ndarray], np.ndarray] | None = None
    component: int | Sequence[int] | None = None

    def sample(self, problem, n, method, rng):
        x, nrm = _boundary_points(problem.domain, n, method, rng, self.on)
        return {"x": x, "normal": nrm}

    def prepare(self, problem, pts, x):
        comps = _components(self.component, problem.d_out)
        return {"target": evaluate_value(self.value, x, len(comps)),
                "normal": torch.as_tensor(pts["normal"], dtype=x.dtype, device=x.device), "comps": comps}

    def _normal_derivative(self, x: Tensor, u: Tensor, data: dict) -> Tensor:
        n = data["normal"]
        return torch.stack([(ops.grad(u, x, c) * n).sum(1) for c in data["comps"]], 1)


@dataclass(frozen=True)
class Dirichlet(_Valued):
    """``u = value`` on the boundary (or the part selected by ``on``)."""

    kind = "dirichlet"

    def residual(self, x, u, data):
        return _select(u, data["comps"]) - data["target"]


@dataclass(frozen=True)
class Neumann(_Valued):
    """``du/dn = value`` (outward normal derivative) on the boundary."""

    kind = "neumann"
    order = 1

    def residual(self, x, u, data):
        return self._normal_derivative(x, u, data) - data["target"]


@dataclass(frozen=True)
class Robin(_Valued):
    """``alpha * u + beta * du/dn = value`` on the boundary."""

    alpha: float = 1.0
    beta: float = 1.0
    kind = "robin"
    order = 1

    def residual(self, x, u, data):
        return self.alpha * _select(u, data["comps"]) + self.beta * self._normal_derivative(x, u, data) - data["target"]


@dataclass(frozen=True)
class Periodic(Condition):
    """``u`` (and its first derivative across, when ``derivative=True``) equal on the two faces of ``dim``.

    ``hard=True`` makes it exact instead of penalised: coordinate ``dim`` reaches the model as
    ``(cos, sin)`` features of period ``hi - lo`` (see :class:`kanpde.loss.InputScaling`), so ``u``
    and all its derivatives are periodic for any weights and the condition adds no loss term.
    """

    dim: int = 0
    derivative: bool = True
    component: int | Sequence[int] | None = None
    hard: bool = False
    kind = "periodic"

    @property
    def order(self) -> int:  # type: ignore[override]
        return 1 if self.derivative else 0

    def sample(self, problem, n, method, rng):
        lo, hi = problem.domain.bbox
        if not 0 <= self.dim < len(lo):
            raise ValueError(f"periodic dim {self.dim} out of range for a {len(lo)}-D domain")
        space = problem.domain.space if isinstance(problem.domain, SpaceTime) else problem.domain
        if not isinstance(space, Box) or self.dim >= space.dim:
            raise ValueError(f"Periodic needs a box-shaped space and a space dimension dim < {space.dim}, "
                             f"got dim={self.dim} on {problem.domain!r}")
        box = Box(np.delete(lo, self.dim), np.delete(hi, self.dim)) if len(lo) > 1 else None
        other = box.sample_interior(n, method, rng) if box is not None else np.zeros((1, 0))
        a = np.insert(other, self.dim, lo[self.dim], axis=1)
        b = np.insert(other, self.dim, hi[self.dim], axis=1)
        return {"x": np.concatenate([a, b])}

    def prepare(self, problem, pts, x):
        return {"comps": _components(self.component, problem.d_out)}

    def n_rows(self, n_points: int) -> int:
        """One row per pair of points, one on each face."""
        return n_points // 2

    def residual(self, x, u, data):
        n = x.shape[0] // 2
        v = _select(u, data["comps"])
        res = [v[:n] - v[n:]]
        if self.derivative:
            du = torch.cat([ops.partial(u, x, self.dim, 1, c) for c in data["comps"]], 1)
            res.append(du[:n] - du[n:])
        return torch.cat(res, 1)


@dataclass(frozen=True)
class Initial(Condition):
    """``u = value`` at the initial time, and ``du/dt = derivative`` when given.

    The initial time is ``t0`` of a :class:`SpaceTime` domain, or the left end of an
    :class:`Interval` (an ODE in time).  Functions receive the full points ``(x, t0)``.
    """

    value: Value = 0.0
    derivative: Value | None = None
    component: int | Sequence[int] | None = None
    kind = "initial"

    @property
    def order(self) -> int:  # type: ignore[override]
        return 0 if self.derivative is None else 1

    def sample(self, problem, n, method, rng):
        dom = problem.domain
        if isinstance(dom, SpaceTime):
            return {"x": dom.sample_initial(n, method, rng)}
        if isinstance(dom, Interval):
            return {"x": dom.lo[None, :].copy()}
        raise ValueError(f"Initial needs a SpaceTime or Interval domain, got {dom!r}")

    def prepare(self, problem, pts, x):
        comps = _components(self.component, problem.d_out)
        out = {"comps": comps, "target": evaluate_value(self.value, x, len(comps))}
        if self.derivative is not None:
            out["dtarget"] = evaluate_value(self.derivative, x, len(comps))
        return out

    def residual(self, x, u, data):
        res = [_select(u, data["comps"]) - data["target"]]
        if self.derivative is not None:
            ut = torch.cat([ops.time_derivative(u, x, 1, c) for c in data["comps"]], 1)
            res.append(ut - data["dtarget"])
        return torch.cat(res, 1)


def _check_finite(what: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a).all(1)
    if bad.any():
        raise ValueError(f"Data {what} contain NaN or inf in {int(bad.sum())} row(s), first at row "
                         f"{int(np.argmax(bad))}; drop or fill those observations")


def _check_values(x: np.ndarray, values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2 or len(v) != len(x):
        raise ValueError(f"Data values must have one row per point: {len(x)} points but values of shape "
                         f"{np.shape(values)}")
    _check_finite("values", v)
    return v


@dataclass(frozen=True)
class Data(Condition):
    """Observations: ``u(points) = values`` (function fitting or data assimilation).

    ``points`` is ``(N, d_in)``, ``values`` ``(N,)`` or ``(N, k)`` with one column per selected
    ``component``; both must be finite, and the points must lie in the problem's (closed) domain.
    ``values`` may also be a function of the points, evaluated once when first needed (for samples
    of an expensive reference).  ``noise`` records the observations' noise level (a standard
    deviation; reported, not used).
    """

    points: Any = None
    values: Any = None
    component: int | Sequence[int] | None = None
    noise: float | None = None
    kind = "data"

    def __post_init__(self):
        x = np.asarray(self.points, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(f"Data points must be an (N, d) array with N >= 1, got shape {x.shape}")
        _check_finite("points", x)
        if self.noise is not None and not (isinstance(self.noise, (int, float)) and self.noise >= 0):
            raise ValueError(f"Data noise must be a non-negative number (a standard deviation), got {self.noise!r}")
        object.__setattr__(self, "points", x)
        if not callable(self.values):
            object.__setattr__(self, "values", _check_values(x, self.values))

    def observed(self) -> np.ndarray:
        """The observed values ``(N, k)``; values given as a function of the points are computed once, here."""
        if callable(self.values):  # e.g. samples of an expensive reference, drawn when first needed
            object.__setattr__(self, "values", _check_values(self.points, self.values(self.points)))
        return self.values

    @classmethod
    def from_arrays(cls, points: Any, values: Any, **kw: Any) -> Data:
        """Observations from arrays: ``points`` ``(N, d)`` (or ``(N,)``), ``values`` ``(N,)`` or ``(N, k)``."""
        return cls(points=points, values=values, **kw)

    @classmethod
    def from_csv(cls, path: str, inputs: Sequence[str], outputs: Sequence[str], **kw: Any) -> Data:
        """Observations from a CSV file with a header row, taking the named input and output columns."""
        import csv

        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            cols = reader.fieldnames or []
            missing = [c for c in [*inputs, *outputs] if c not in cols]
            if missing:
                raise ValueError(f"{path}: no column(s) {missing}; the file has {cols}")
            rows = list(reader)
        try:
            table = np.array([[float(r[c]) for c in [*inputs, *outputs]] for r in rows], dtype=float)
        except ValueError as e:
            raise ValueError(f"{path}: a value in columns {[*inputs, *outputs]} is not a number ({e})") from e
        if len(table) == 0:
            raise ValueError(f"{path}: no data rows")
        return cls(points=table[:, : len(inputs)], values=table[:, len(inputs):], **kw)

    def sample(self, problem, n, method, rng):
        x = self.points
        if x.shape[1] != problem.d_in:
            raise ValueError(f"Data points must have shape (N, {problem.d_in}) for problem {problem.name!r}, "
                             f"got {x.shape}")
        inside = problem.domain.contains(x)
        if not inside.all():
            i = int(np.argmin(inside))
            raise ValueError(f"{int((~inside).sum())} Data point(s) lie outside the domain of problem "
                             f"{problem.name!r}, first at row {i}: {x[i].tolist()}")
        return {"x": x}

    def prepare(self, problem, pts, x):
        comps = _components(self.component, problem.d_out)
        v = self.observed()
        if v.shape[1] != len(comps):
            raise ValueError(f"Data values have {v.shape[1]} column(s) but {len(comps)} component(s) are "
                             f"observed (component={self.component!r})")
        return {"comps": comps, "target": torch.as_tensor(v, dtype=x.dtype, device=x.device)}

    def residual(self, x, u, data):
        return _select(u, data["comps"]) - data["target"]
