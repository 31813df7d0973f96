"""More primitives: ellipses, triangles, n-D balls, and domains given as point clouds."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy.special import ellipe, gammaln, ndtri
from torch import Tensor

from kanpde.geom.base import (
    Geometry,
    Seed,
    _check_method,
    _check_n,
    _finite_array,
    _finite_positive,
    _rng,
    _thin,
    unit_cube_exact,
)
from kanpde.geom.primitives import Polygon

__all__ = ["Ellipse", "Triangle", "Ball", "PointCloud"]


class Ellipse(Geometry):
    """Closed ellipse in R^2 with semi-axes ``(a, b)`` along directions rotated by ``angle`` (radians)."""

    def __init__(self, center: Sequence[float] = (0.0, 0.0), semi_axes: Sequence[float] = (1.0, 0.5),
                 angle: float = 0.0):
        self.center = _finite_array("center", center, (2,))
        ax = _finite_array("semi_axes", semi_axes, (2,))
        if not np.all(ax > 0):
            raise ValueError(f"semi_axes must both be positive, got {ax.tolist()}")
        self.semi_axes, self.angle, self.dim = ax, float(_finite_array("angle", angle, ())), 2
        c, s = math.cos(self.angle), math.sin(self.angle)
        self._rot = np.array([[c, -s], [s, c]])  # columns: the two axis directions
        a, b = ax
        t = np.linspace(0.0, 2 * np.pi, 4097)  # arc length table for boundary sampling uniform in length
        speed = np.hypot(a * np.sin(t), b * np.cos(t))
        self._t = t
        self._s = np.concatenate([[0.0], np.cumsum((speed[1:] + speed[:-1]) / 2 * np.diff(t))])

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        half = np.sqrt((self._rot**2) @ self.semi_axes**2)
        return self.center - half, self.center + half

    @property
    def measure(self) -> float:
        return float(math.pi * np.prod(self.semi_axes))

    @property
    def boundary_measure(self) -> float:
        a, b = max(self.semi_axes), min(self.semi_axes)
        return float(4 * a * ellipe(1 - (b / a) ** 2))

    def _local(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=float) - self.center) @ self._rot

    def contains(self, x: np.ndarray) -> np.ndarray:
        return np.sum((self._local(x) / self.semi_axes) ** 2, axis=1) <= 1 + 1e-12

    def boundary_distance(self, x: np.ndarray) -> np.ndarray:
        q = self._local(x)
        f = np.sqrt(np.sum((q / self.semi_axes) ** 2, axis=1))
        g = np.linalg.norm(q / self.semi_axes**2, axis=1)  # |grad f| * f
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.abs(f - 1) * f / g
        return np.where(g > 0, d, min(self.semi_axes))

    def adf(self, x: Tensor) -> Tensor:
        """``(1 - |q / semi_axes|^2) * min(semi_axes) / 2`` in the ellipse's own frame ``q``: signed and smooth."""
        q = (x - torch.as_tensor(self.center).to(x)) @ torch.as_tensor(self._rot).to(x)
        ax = torch.as_tensor(self.semi_axes).to(x)
        return (1 - ((q / ax) ** 2).sum(1)) * (float(min(self.semi_axes)) / 2)

    def sample_interior(self, n: int, method: str = "sobol", seed: Seed = None) -> np.ndarray:
        u = unit_cube_exact(n, 2, method, seed)  # the polar map of the unit disk, stretched: area-preserving
        r, th = np.sqrt(u[:, 0]), 2 * np.pi * u[:, 1]
        return self.center + (np.stack([r * np.cos(th), r * np.sin(th)], 1) * self.semi_axes) @ self._rot.T

    def sample_boundary(self, n: int, method: str = "sobol", seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
        s = unit_cube_exact(n, 1, method, seed)[:, 0] * self._s[-1]
        t = np.interp(s, self._s, self._t)
        a, b = self.semi_axes
        q = np.stack([a * np.cos(t), b * np.sin(t)], 1)
        nrm = np.stack([b * np.cos(t), a * np.sin(t)], 1)
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        return self.center + q @ self._rot.T, nrm @ self._rot.T

    def __repr__(self) -> str:
        return f"Ellipse(center={self.center.tolist()}, semi_axes={self.semi_axes.tolist()}, angle={self.angle})"


class Triangle(Polygon):
    """The triangle with vertices ``a``, ``b``, ``c`` (either orientation)."""

    def __init__(self, a: Sequence[float], b: Sequence[float], c: Sequence[float]):
        pts = [_finite_array(name, v, (2,)) for name, v in (("a", a), ("b", b), ("c", c))]
        super().__init__(pts)

    def __repr__(self) -> str:
        return f"Triangle{tuple(v.tolist() for v in self.vertices)}"


class Ball(Geometry):
    """Closed ball ``|x - center| <= radius`` in R^d (d = ``len(center)``)."""

    def __init__(self, center: Sequence[float], radius: float = 1.0):
        c = np.atleast_1d(_finite_array("center", center))
        if c.ndim != 1:
            raise ValueError(f"center must be a 1-D sequence of coordinates, got shape {c.shape}")
        self.center, self.radius, self.dim = c, _finite_positive("radius", radius), len(c)

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        return self.center - self.radius, self.center + self.radius

    @property
    def measure(self) -> float:
        d = self.dim
        return float(np.exp(d / 2 * np.log(np.pi) - gammaln(d / 2 + 1)) * self.radius**d)

    @property
    def boundary_measure(self) -> float:
        return 2.0 if self.dim == 1 else self.dim * self.measure / self.radius

    def contains(self, x: np.ndarray) -> np.ndarray:
        return np.sum((np.asarray(x, dtype=float) - self.center) ** 2, axis=1) <= self.radius**2 * (1 + 1e-12)

    def boundary_distance(self, x: np.ndarray) -> np.ndarray:
        return np.abs(np.linalg.norm(np.asarray(x, dtype=float) - self.center, axis=1) - self.radius)

    def adf(self, x: Tensor) -> Tensor:
        """``(R^2 - |x - c|^2) / (2R)``: signed, smooth, normalised on the sphere."""
        c = torch.as_tensor(self.center).to(x)
        return (self.radius**2 - ((x - c) ** 2).sum(1)) / (2 * self.radius)

    def _directions(self, u: np.ndarray) -> np.ndarray:
        g = ndtri(np.clip(u, 1e-300, 1 - 1e-16))  # Gaussian vectors have uniformly distributed directions
        nrm = np.linalg.norm(g, axis=1, keepdims=True)
        return np.where(nrm > 0, g / np.where(nrm > 0, nrm, 1), np.eye(self.dim)[:1])

    def sample_interior(self, n: int, method: str = "sobol", seed: Seed = None) -> np.ndarray:
        n, d = _check_n(n), self.dim
        _check_method(method)
        if method == "grid" or d == 1:  # a Cartesian grid restricted to the ball (exact count)
            from kanpde.geom.csg import rejection_sample

            return rejection_sample(self, n, method, _rng(seed))
        u = unit_cube_exact(n, d + 1, method, seed)
        return self.center + self.radius * u[:, :1] ** (1.0 / d) * self._directions(u[:, 1:])

    def sample_boundary(self, n: int, method: str = "sobol", seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
        n = _check_n(n)
        if self.dim == 1:
            return self.center + self.radius * np.array([[-1.0], [1.0]]), np.array([[-1.0], [1.0]])
        if self.dim == 2:
            th = 2 * np.pi * unit_cube_exact(n, 1, method, seed)[:, 0]
            nrm = np.stack([np.cos(th), np.sin(th)], 1)
        else:
            nrm = self._directions(unit_cube_exact(n, self.dim, method, seed))
        return self.center + self.radius * nrm, nrm

    def __repr__(self) -> str:
        return f"Ball(center={self.center.tolist()}, radius={self.radius})"


class PointCloud(Geometry):
    """A domain known only by samples: interior points, boundary points and their outward normals.

    Sampling draws subsets of the given points (``grid``: evenly spread indices; other methods:
    a random subset), so ``n`` may not exceed the number of points given.  ``contains`` is
    approximate: a point is inside when it lies within the bounding box and on the inner side
    of the tangent plane at its nearest boundary point.  A point cloud cannot be combined with
    ``-``, ``|``, ``&``.
    """

    csg = False

    def __init__(self, points: np.ndarray, boundary_points: np.ndarray, normals: np.ndarray,
                 measure: float | None = None):
        x = _finite_array("points", points)
        xb = _finite_array("boundary_points", boundary_points)
        nb = _finite_array("normals", normals)
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(f"points must be an (N >= 1, d) array, got shape {x.shape}")
        if xb.ndim != 2 or xb.shape[1] != x.shape[1] or len(xb) == 0:
            raise ValueError(f"boundary_points must be an (M >= 1, {x.shape[1]}) array, got shape {xb.shape}")
        if nb.shape != xb.shape:
            raise ValueError(f"normals must have the shape of boundary_points {xb.shape}, got {nb.shape}")
        length = np.linalg.norm(nb, axis=1, keepdims=True)
        if np.any(length == 0):
            raise ValueError(f"normals must be non-zero; row {int(np.argmin(length[:, 0]))} is zero")
        self.points, self.boundary_points, self.normals = x, xb, nb / length
        self.dim = x.shape[1]
        self._measure = None if measure is None else _finite_positive("measure", measure)
        from scipy.spatial import cKDTree

        self._tree = cKDTree(xb)

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        allx = np.concatenate([self.points, self.boundary_points])
        return allx.min(0), allx.max(0)

    @property
    def measure(self) -> float:
        if self._measure is None:
            raise NotImplementedError("this PointCloud was built without measure=")
        return self._measure

    def boundary_distance(self, x: np.ndarray) -> np.ndarray:
        return self._tree.query(np.asarray(x, dtype=float))[0]

    def contains(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        lo, hi = self.bbox
        eps = 1e-12 * np.maximum(hi - lo, 1.0)
        d, j = self._tree.query(x)
        side = np.sum((x - self.boundary_points[j]) * self.normals[j], axis=1)
        return np.all((x >= lo - eps) & (x <= hi + eps), axis=1) & (side <= 1e-9 * self.scale)

    def _subset(self, total: int, n: int, method: str, seed: Seed, what: str) -> np.ndarray:
        n = _check_n(n)
        _check_method(method)
        if n > total:
            raise ValueError(f"n={n} exceeds the {total} {what} of this PointCloud; ask for at most {total}")
        if method == "grid":
            return _thin(total, n)
        return np.sort(_rng(seed).choice(total, n, replace=False))

    def sample_interior(self, n: int, method: str = "sobol", seed: Seed = None) -> np.ndarray:
        return self.points[self._subset(len(self.points), n, method, seed, "interior points")]

    def sample_boundary(self, n: int, method: str = "sobol", seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
        i = self._subset(len(self.boundary_points), n, method, seed, "boundary points")
        return self.boundary_points[i], self.normals[i]

    def __repr__(self) -> str:
        return f"PointCloud({len(self.points)} points, {len(self.boundary_points)} boundary points, dim={self.dim})"
