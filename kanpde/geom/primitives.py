"""The original primitives: intervals, boxes, disks, polygons and the space-time product."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from kanpde.geom.base import (
    Geometry,
    Seed,
    _check_n,
    _finite_array,
    _finite_positive,
    _rng,
    unit_cube,
    unit_cube_exact,
)

__all__ = ["Interval", "Box", "Rectangle", "Disk", "Polygon", "LShape", "SpaceTime"]


class Box(Geometry):
    """Axis-aligned box ``[lo_0, hi_0] x ... x [lo_{d-1}, hi_{d-1}]``."""

    def __init__(self, lo: Sequence[float], hi: Sequence[float]):
        lo = np.atleast_1d(_finite_array("lo", lo))
        hi = np.atleast_1d(_finite_array("hi", hi))
        if lo.shape != hi.shape or lo.ndim != 1:
            raise ValueError(f"lo and hi must be 1-D of equal length, got {lo.tolist()} and {hi.tolist()}")
        bad = np.nonzero(~(lo < hi))[0]
        if len(bad):
            i = int(bad[0])
            raise ValueError(f"lower bound must be below upper bound in every dimension; dimension {i} has "
                             f"lo={lo[i]} >= hi={hi[i]}")
        self.lo, self.hi, self.dim = lo, hi, len(lo)

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lo.copy(), self.hi.copy()

    @property
    def measure(self) -> float:
        return float(np.prod(self.hi - self.lo))

    @property
    def boundary_measure(self) -> float:
        w = self.hi - self.lo
        return 2.0 if self.dim == 1 else float(2 * sum(np.prod(np.delete(w, i)) for i in range(self.dim)))

    def contains(self, x: np.ndarray) -> np.ndarray:
        eps = 1e-12 * (self.hi - self.lo)
        return np.all((x >= self.lo - eps) & (x <= self.hi + eps), axis=1)

    def boundary_distance(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        inside = np.min(np.minimum(x - self.lo, self.hi - x), axis=1)
        outside = np.linalg.norm(np.maximum(np.maximum(self.lo - x, x - self.hi), 0.0), axis=1)
        return np.where(inside >= 0, inside, outside)

    def sample_interior(self, n: int, method: str = "sobol", seed: Seed = None) -> np.ndarray:
        return self.lo + (self.hi - self.lo) * unit_cube(n, self.dim, method, seed)

    def interval_adfs(self, x: Tensor) -> Tensor:
        """Per-dimension interval ADFs ``(x_i - lo_i)(hi_i - x_i)/(hi_i - lo_i)``, shape ``(N, dim)``."""
        lo, hi = torch.as_tensor(self.lo).to(x), torch.as_tensor(self.hi).to(x)
        return (x - lo) * (hi - x) / (hi - lo)

    def adf(self, x: Tensor) -> Tensor:
        """The R0 conjunction of the per-dimension interval ADFs (signed; the 1-D interval ADF itself)."""
        f = self.interval_adfs(x)
        out = f[:, 0]
        for i in range(1, self.dim):
            out = r_and(out, f[:, i])
        return out

    def sample_boundary(self, n: int, method: str = "sobol", seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
        n = _check_n(n)
        d, lo, hi = self.dim, self.lo, self.hi
        if d == 1:
            return np.array([lo, hi]), np.array([[-1.0], [1.0]])
        widths = hi - lo
        areas = np.array([np.prod(np.delete(widths, i)) for i in range(d)])
        faces = np.repeat(areas, 2) / (2 * areas.sum())  # face 2i at lo_i, 2i+1 at hi_i
        counts = np.floor(faces * n).astype(int)
        counts[np.argsort(-(faces * n - counts))[: n - counts.sum()]] += 1
        rng = _rng(seed)
        pts, nrm = [], []
        for f, m in enumerate(counts):
            if m == 0:
                continue
            i, side = divmod(f, 2)
            u = unit_cube_exact(int(m), d - 1, method, rng)  # exact: a face needs m points for its m normals
            x = np.insert(lo[np.arange(d) != i] + widths[np.arange(d) != i] * u, i, hi[i] if side else lo[i], axis=1)
            nv = np.zeros((int(m), d))
            nv[:, i] = 1.0 if side else -1.0
            pts.append(x)
            nrm.append(nv)
        return np.concatenate(pts), np.concatenate(nrm)

    def __repr__(self) -> str:
        return f"Box(lo={self.lo.tolist()}, hi={self.hi.tolist()})"


class Interval(Box):
    """The interval ``[a, b]``; its boundary is the two end points."""

    def __init__(self, a: float, b: float):
        _finite_array("a", a, ())
        _finite_array("b", b, ())
        super().__init__([a], [b])

    def __repr__(self) -> str:
        return f"Interval({self.lo[0]}, {self.hi[0]})"


def Rectangle(x0: float, x1: float, y0: float, y1: float) -> Box:
    """The rectangle ``[x0, x1] x [y0, y1]``."""
    for name, v in (("x0", x0), ("x1", x1), ("y0", y0), ("y1", y1)):
        _finite_array(name, v, ())
    return Box([x0, y0], [x1, y1])


class Disk(Geometry):
    """Closed disk of the given centre and radius in R^2."""

    def __init__(self, center: Sequence[float] = (0.0, 0.0), radius: float = 1.0):
        radius = _finite_positive("radius", radius)
        self.center, self.radius, self.dim = _finite_array("center", center, (2,)), radius, 2

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        return self.center - self.radius, self.center + self.radius

    @property
    def measure(self) -> float:
        return math.pi * self.radius**2

    @property
    def boundary_measure(self) -> float:
        return 2 * math.pi * self.radius

    def contains(self, x: np.ndarray) -> np.ndarray:
        return np.sum((x - self.center) ** 2, axis=1) <= self.radius**2 * (1 + 1e-12)

    def boundary_distance(self, x: np.ndarray) -> np.ndarray:
        return np.abs(np.linalg.norm(np.asarray(x, dtype=float) - self.center, axis=1) - self.radius)

    def adf(self, x: Tensor) -> Tensor:
        """``(R^2 - |x - c|^2) / (2R)``: signed, smooth, normalised on the circle."""
        c = torch.as_tensor(self.center).to(x)
        return (self.radius**2 - ((x - c) ** 2).sum(1)) / (2 * self.radius)

    def sample_interior(self, n: int, method: str = "sobol", seed: Seed = None) -> np.ndarray:
        u = unit_cube(n, 2, method, seed)  # area-preserving polar map keeps low discrepancy
        r, th = self.radius * np.sqrt(u[:, 0]), 2 * np.pi * u[:, 1]
        return self.center + np.stack([r * np.cos(th), r * np.sin(th)], 1)

    def sample_boundary(self, n: int, method: str = "sobol", seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
        th = 2 * np.pi * unit_cube(n, 1, method, seed)[:, 0]
        nrm = np.stack([np.cos(th), np.sin(th)], 1)
        return self.center + self.radius * nrm, nrm

    def __repr__(self) -> str:
        return f"Disk(center={self.center.tolist()}, radius={self.radius})"


class Polygon(Geometry):
    """Simple polygon in R^2 from its vertices (either orientation)."""

    def __init__(self, vertices: Sequence[Sequence[float]]):
        v = np.asarray(vertices, dtype=float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise ValueError(f"vertices must be an (m >= 3, 2) array, got shape {v.shape}")
        _finite_array("vertices", v)
        area2 = np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1])
        if area2 == 0:
            raise ValueError("polygon has zero area")
        self.vertices = v if area2 > 0 else v[::-1].copy()  # counter-clockwise
        self.dim = 2
        e = np.roll(self.vertices, -1, 0) - self.vertices
        self._edges, self._lengths = e, np.linalg.norm(e, axis=1)
        self._normals = np.stack([e[:, 1], -e[:, 0]], 1) / self._lengths[:, None]  # outward for CCW
        self._area = abs(float(area2)) / 2

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(0), self.vertices.max(0)

    @property
    def measure(self) -> float:
        return self._area

    @property
    def boundary_measure(self) -> float:
        return float(self._lengths.sum())

    def contains(self, x: np.ndarray) -> np.ndarray:
        from matplotlib.path import Path

        return Path(self.vertices).contains_points(x, radius=1e-9) | self._on_boundary(x)

    def boundary_distance(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        p = x[:, None, :] - self.vertices[None]
        t = np.clip(np.sum(p * self._edges[None], -1) / self._lengths[None] ** 2, 0, 1)
        return np.min(np.linalg.norm(p - t[..., None] * self._edges[None], axis=-1), axis=1, initial=np.inf)

    def segment_adfs(self, x: Tensor) -> Tensor:
        """Unsigned ADF of each edge (Sukumar & Srivastava 2022, trimmed line distance), shape ``(N, edges)``."""
        v = torch.as_tensor(self.vertices).to(x)
        e = torch.as_tensor(self._edges).to(x)
        L = torch.as_tensor(self._lengths).to(x)
        p = x[:, None, :] - v[None]
        f = (p[..., 0] * e[:, 1] - p[..., 1] * e[:, 0]) / L  # signed distance to the edge's line
        c = x[:, None, :] - (v + e / 2)[None]
        t = ((L / 2) ** 2 - (c * c).sum(-1)) / L  # >= 0 exactly on the disk having the edge as diameter
        vphi = torch.sqrt(t * t + f**4)
        return torch.sqrt(f * f + ((vphi - t) / 2) ** 2)

    def adf(self, x: Tensor) -> Tensor:
        """The R-equivalence (m = 1) of the edge ADFs, signed by membership (> 0 inside)."""
        s = torch.as_tensor(np.where(self.contains(x.detach().cpu().numpy()), 1.0, -1.0)).to(x)
        return s * r_equivalence(self.segment_adfs(x))

    def _on_boundary(self, x: np.ndarray, tol: float = 1e-10) -> np.ndarray:
        return self.boundary_distance(x) <= tol

    def sample_boundary(self, n: int, method: str = "sobol", seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
        s = unit_cube(n, 1, method, seed)[:, 0] * self._lengths.sum()
        cum = np.concatenate([[0.0], np.cumsum(self._lengths)])
        k = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(self._lengths) - 1)
        t = (s - cum[k]) / self._lengths[k]
        return self.vertices[k] + t[:, None] * self._edges[k], self._normals[k].copy()

    def __repr__(self) -> str:
        return f"Polygon({self.vertices.tolist()})"


def r_and(a: Tensor, b: Tensor) -> Tensor:
    """R0 conjunction ``a + b - sqrt(a^2 + b^2)``: > 0 where both are, 0 where one is 0 and the other >= 0."""
    return a + b - torch.sqrt(a * a + b * b)


def r_or(a: Tensor, b: Tensor) -> Tensor:
    """R0 disjunction ``a + b + sqrt(a^2 + b^2)``: > 0 where either is."""
    return a + b + torch.sqrt(a * a + b * b)


def r_equivalence(phis: Tensor) -> Tensor:
    """``1 / sum_k 1/phi_k`` of the columns of ``phis`` ``(N, K)``, written without division by zero."""
    K = phis.shape[1]
    if K == 1:
        return phis[:, 0]
    num = torch.prod(phis, 1)
    den = sum(torch.prod(phis[:, [j for j in range(K) if j != k]], 1) for k in range(K))
    return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(num))


def LShape() -> Polygon:
    """The L-shaped domain ``[-1, 1]^2`` minus ``(0, 1] x [-1, 0)`` (re-entrant corner at 0)."""
    return Polygon([(-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1)])


class SpaceTime(Geometry):
    """Product ``space x [t0, t1]``; time is the last coordinate.

    The boundary is the lateral boundary ``(boundary of space) x [t0, t1]``; the initial slice
    ``space x {t0}`` is sampled by :meth:`sample_initial`.  Combine spatial domains with
    ``-``, ``|``, ``&`` before taking the product: ``SpaceTime(a - b, t0, t1)``.
    """

    csg = False

    def __init__(self, space: Geometry, t0: float, t1: float):
        if not isinstance(space, Geometry):
            raise TypeError(f"space must be a kanpde Geometry, got {type(space).__name__}")
        _finite_array("t0", t0, ())
        _finite_array("t1", t1, ())
        if not t0 < t1:
            raise ValueError(f"time span must have t0 < t1, got t0={t0}, t1={t1}")
        self.space, self.t0, self.t1, self.dim = space, float(t0), float(t1), space.dim + 1

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.space.bbox
        return np.append(lo, self.t0), np.append(hi, self.t1)

    @property
    def measure(self) -> float:
        return self.space.measure * (self.t1 - self.t0)

    def contains(self, x: np.ndarray) -> np.ndarray:
        return self.space.contains(x[:, :-1]) & (x[:, -1] >= self.t0) & (x[:, -1] <= self.t1)

    def sample_interior(self, n: int, method: str = "sobol", seed: Seed = None) -> np.ndarray:
        n = _check_n(n)
        rng = _rng(seed)
        if isinstance(self.space, Box):
            return Box(*self.bbox).sample_interior(n, method, rng)
        if method == "grid":  # tensor product of a space grid and a time grid, about n points
            xs = self.space.sample_interior(max(1, round(n ** (self.space.dim / self.dim))), method, rng)
            nt = max(2, round(n / len(xs)))
            t = self.t0 + (self.t1 - self.t0) * unit_cube(nt, 1, method, rng)
            return np.concatenate([np.repeat(xs, nt, 0), np.tile(t, (len(xs), 1))], 1)
        xs = self.space.sample_interior(n, method, rng)
        t = self.t0 + (self.t1 - self.t0) * unit_cube(n, 1, method, rng)
        return np.concatenate([xs, t[rng.permutation(n)]], 1)

    def sample_boundary(self, n: int, method: str = "sobol", seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
        n = _check_n(n)
        rng = _rng(seed)
        xs, nrm = self.space.sample_boundary(n, method, rng)
        if len(xs) < n:  # 1-D space: the two end points, alternating, spread over time
            reps = math.ceil(n / len(xs))
            xs, nrm = np.tile(xs, (reps, 1))[:n], np.tile(nrm, (reps, 1))[:n]
        t = self.t0 + (self.t1 - self.t0) * unit_cube(len(xs), 1, method, rng)
        return np.concatenate([xs, t], 1), np.concatenate([nrm, np.zeros((len(xs), 1))], 1)

    def sample_initial(self, n: int, method: str = "sobol", seed: Seed = None) -> np.ndarray:
        """``n`` points on the initial slice ``t = t0``."""
        xs = self.space.sample_interior(n, method, seed)
        return np.concatenate([xs, np.full((len(xs), 1), self.t0)], 1)

    def __repr__(self) -> str:
        return f"SpaceTime({self.space!r}, {self.t0}, {self.t1})"
