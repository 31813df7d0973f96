"""Fitting one edge's samples by a library function, ``y ~ c f(a x + b) + d``, and ranking the fits.

The fit: the edge is sampled on its input range, the input is standardised to ``t`` in
``[-1, 1]``, ``(a, b)`` (in ``t``) is searched on a grid over ``[-10, 10]^2`` -- for each pair
``(c, d)`` is the linear least-squares solution, so r^2 is a squared correlation -- and the best
grid points are refined by repeated local grid searches.  Pairs that take the argument out of the
function's domain on the data (``log``, ``sqrt``: positive; ``1/x``: one sign; ``tan``: one
branch) are rejected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from kanpde.models.symbolic import get_function
from kanpde.runtime import torch_threads

__all__ = ["TIE_TOL", "TIE_RATIO", "Suggestion", "fit_symbolic", "rank"]

#: fits count as tied (the simpler function ranks first) when their unexplained fractions
#: ``1 - r^2`` are within ``TIE_RATIO`` times the best one's plus ``TIE_TOL``
TIE_TOL = 1e-6
TIE_RATIO = 10.0


@dataclass(frozen=True)
class Suggestion:
    """One fit ``y ~ c f(a x + b) + d`` of an edge by the library function ``name``."""

    name: str
    r2: float
    complexity: int
    a: float
    b: float
    c: float
    d: float

    @property
    def params(self) -> tuple[float, float, float, float]:
        """``(a, b, c, d)``."""
        return (self.a, self.b, self.c, self.d)

    def __str__(self) -> str:
        return (
            f"{self.name}: r2={self.r2:.8f}, complexity={self.complexity}, "
            f"y = {self.c:.4g} * {self.name}({self.a:.4g} * x + {self.b:.4g}) + {self.d:.4g}"
        )


def _r2_stats(F: Tensor, y: Tensor) -> Tensor:
    """Squared correlation of every row of ``F`` ``(K, N)`` with ``y`` ``(N,)`` (``-inf`` where undefined)."""
    Fc = F - F.mean(-1, keepdim=True)  # F: one candidate f(a t + b) per row; Fc, yc: centred
    yc = y - y.mean()
    vf = (Fc * Fc).sum(-1)
    cov = Fc @ yc
    r2 = cov * cov / (vf * (yc * yc).sum())
    ok = torch.isfinite(r2) & (vf > 1e-24 * F.abs().amax(-1).clamp_min(1.0) ** 2 * F.shape[-1])
    return torch.where(ok, r2, torch.full_like(r2, -math.inf))


def _linear(f: Tensor, y: Tensor) -> tuple[float, float, float]:
    """Least-squares ``(c, d)`` of ``y ~ c f + d`` and its r^2."""
    fc, yc = f - f.mean(), y - y.mean()
    vf, vy = float((fc * fc).sum()), float((yc * yc).sum())
    if not math.isfinite(vf) or vf <= 1e-24 * max(1.0, float(f.abs().max())) ** 2 * len(f):
        c = 0.0
    else:
        c = float((fc * yc).sum()) / vf
    d = float(y.mean() - c * f.mean())
    res = float(((c * f + d - y) ** 2).sum())
    r2 = 1.0 - res / vy if vy > 1e-30 * max(1.0, float(y.abs().max())) ** 2 * len(y) else (1.0 if res <= 1e-20 else 0.0)
    return c, d, r2


def fit_symbolic(
    x: Tensor | np.ndarray, y: Tensor | np.ndarray, name: str, a_range: float = 10.0, grid: int = 41, refine: int = 3
) -> Suggestion:
    """Fit ``y ~ c f(a x + b) + d`` for the library function ``name`` on samples ``x, y`` (1-D)."""
    with torch_threads(1):  # small elementwise work: parallel dispatch only costs here
        return _fit(x, y, name, a_range, grid, refine)


def _fit(x, y, name: str, a_range: float, grid: int, refine: int) -> Suggestion:
    fn = get_function(name)
    x = torch.as_tensor(np.asarray(x, dtype=float) if not isinstance(x, Tensor) else x.detach(), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(y, dtype=float) if not isinstance(y, Tensor) else y.detach(), dtype=torch.float64)
    x, y = x.reshape(-1).cpu(), y.reshape(-1).cpu()
    if x.shape != y.shape or x.numel() < 2:
        raise ValueError(f"x and y must hold the same number (>= 2) of samples, got {x.numel()} and {y.numel()}")
    mid, half = float(x.max() + x.min()) / 2, float(x.max() - x.min()) / 2
    half = half if half > 0 else 1.0
    t = (x - mid) / half

    def finish(at: float, bt: float) -> Suggestion:  # (at, bt): a and b in the standardised input t
        c, d, r2 = _linear(fn(at * t + bt), y)
        a, b = at / half, bt - at * mid / half
        if name == "exp":  # c e^(a x + b): b only rescales c; fold it in (keeps c of order y)
            c, b = c * math.exp(b), 0.0
        return Suggestion(name, r2, fn.complexity, a, b, c, d)

    if name in ("0", "x"):  # (a, b) play no role
        if name == "0":
            d = float(y.mean())
            res, var = float(((y - d) ** 2).sum()), float(((y - y.mean()) ** 2).sum())
            return Suggestion(
                name, 1.0 if res <= 1e-20 * max(1.0, d * d) * len(y) else 1.0 - res / var, 0, 1.0, 0.0, 0.0, d
            )
        return finish(1.0, 0.0)

    vals = torch.linspace(-a_range, a_range, grid, dtype=torch.float64)
    A, B = torch.meshgrid(vals, vals, indexing="ij")  # every candidate (a, b) in t, flattened below
    A, B = A.reshape(-1), B.reshape(-1)
    A, B = A[A != 0], B[A != 0]
    sub = slice(None, None, max(1, len(t) // 128))  # the coarse search needs few samples
    with torch.no_grad():
        r2 = _r2_stats(fn(A[:, None] * t[sub] + B[:, None]), y[sub])
        if fn.domain is not None:
            r2 = torch.where(fn.domain(B - A.abs(), B + A.abs()), r2, torch.full_like(r2, -math.inf))
    order = torch.argsort(r2, descending=True)
    best = None
    for k in order[: max(refine, 1)].tolist():
        if not math.isfinite(float(r2[k])):
            break
        at, bt = _zoom(fn, t, y, float(A[k]), float(B[k]), 2 * a_range / (grid - 1))
        cand = finish(at, bt)
        if best is None or cand.r2 > best.r2:
            best = cand
    if best is None:  # no admissible (a, b): report a useless fit rather than failing the ranking
        return Suggestion(name, -math.inf, fn.complexity, 1.0, 0.0, 0.0, float(y.mean()))
    return best


def _zoom(
    fn, t: Tensor, y: Tensor, a: float, b: float, h: float, half: int = 5, shrink: float = 4.0, h_min: float = 1e-10
) -> tuple[float, float]:
    """Refine ``(a, b)`` by repeated local grid searches, the spacing shrinking by ``shrink`` each time."""
    k = torch.arange(-half, half + 1, dtype=t.dtype)
    da, db = (g.reshape(-1) for g in torch.meshgrid(k, k, indexing="ij"))
    best_r2 = -math.inf
    with torch.no_grad():
        while h > h_min:
            A, B = a + h * da, b + h * db  # the local grid of candidate (a, b) around the best so far
            r2 = _r2_stats(fn(A[:, None] * t + B[:, None]), y)
            if fn.domain is not None:
                r2 = torch.where(fn.domain(B - A.abs(), B + A.abs()), r2, torch.full_like(r2, -math.inf))
            r2 = torch.where(A != 0, r2, torch.full_like(r2, -math.inf))
            i = int(torch.argmax(r2))
            if float(r2[i]) >= best_r2:
                best_r2, a, b = float(r2[i]), float(A[i]), float(B[i])
            h /= shrink
    return a, b


def rank(suggestions: Sequence[Suggestion], tol: float = TIE_TOL, ratio: float = TIE_RATIO) -> list[Suggestion]:
    """Order by r^2, preferring the simpler function among near-ties.

    Repeatedly takes, among the remaining fits whose unexplained fraction ``1 - r^2`` is at most
    ``ratio * (1 - r2_best) + tol`` (``r2_best``: the best remaining), the least complex one.
    """
    rest = sorted(suggestions, key=lambda s: -s.r2 if math.isfinite(s.r2) else math.inf)
    out = []
    while rest:
        top = rest[0].r2
        bound = ratio * (1 - top) + tol
        ties = [s for s in rest if not math.isfinite(top) or 1 - s.r2 <= bound]
        pick = min(ties, key=lambda s: s.complexity)  # min is stable: the better r^2 among equals
        out.append(pick)
        rest.remove(pick)
    return out
