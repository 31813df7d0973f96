"""The geometry contract, sampling methods and shared helpers (see :mod:`kanpde.geometry`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import qmc
from torch import Tensor

__all__ = ["Geometry", "SAMPLING_METHODS", "Seed", "unit_cube", "BOUNDARY_TOL", "PartSelector"]

SAMPLING_METHODS = ("uniform", "sobol", "lhs", "grid")
Seed = int | np.random.Generator | None
BOUNDARY_TOL = 1e-9  # a point within BOUNDARY_TOL * (largest bounding-box width) of a boundary is on it


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_n(n: int, what: str = "n") -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


def _check_method(method: str) -> str:
    if method not in SAMPLING_METHODS:
        raise ValueError(f"unknown sampling method {method!r}; known: {list(SAMPLING_METHODS)}")
    return method


def _finite_array(name: str, value, shape: tuple | None = None) -> np.ndarray:
    """``value`` as a float64 array, checked finite (and of the given shape); errors name ``name``."""
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {value!r}") from None
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape} ({value!r})")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {a.tolist()}")
    return a


def _finite_positive(name: str, value) -> float:
    v = float(_finite_array(name, value, ()))
    if not v > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return v


def _thin(k: int, m: int) -> np.ndarray:
    """``m <= k`` distinct indices spread evenly over ``range(k)``."""
    return (np.arange(m) * k) // m


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    share = total * w / w.sum()
    counts = np.floor(share).astype(int)
    counts[np.argsort(-(share - counts), kind="stable")[: total - counts.sum()]] += 1
    return counts


def unit_cube(n: int, dim: int, method: str = "sobol", seed: Seed = None) -> np.ndarray:
    """``n`` points in ``[0, 1]^dim`` by the given sampling method (``grid``: about ``n`` for ``dim > 1``)."""
    n = _check_n(n)
    _check_method(method)
    rng = _rng(seed)
    if method == "uniform":
        return rng.random((n, dim))
    if method == "sobol":
        eng = qmc.Sobol(dim, scramble=True, seed=rng)
        m = math.ceil(math.log2(n))
        return eng.random_base2(m)[:n]
    if method == "lhs":
        return qmc.LatinHypercube(dim, seed=rng).random(n)
    per = max(2, round(n ** (1.0 / dim))) if dim > 1 else n
    if dim == 1:
        return ((np.arange(n) + 0.5) / n)[:, None]
    axes = [(np.arange(per) + 0.5) / per] * dim
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, dim)


def unit_cube_exact(n: int, dim: int, method: str = "sobol", seed: Seed = None) -> np.ndarray:
    """Exactly ``n`` points in ``[0, 1]^dim``; a grid finer than needed is thinned evenly."""
    n = _check_n(n)
    if method != "grid" or dim == 1:
        return unit_cube(n, dim, method, seed)
    per = max(2, math.ceil(n ** (1.0 / dim) - 1e-9))
    x = unit_cube(per**dim, dim, "grid", seed)
    return x[_thin(len(x), n)] if len(x) > n else x


class Geometry:
    """A closed domain in R^dim: bounding box, membership, interior and boundary sampling.

    Subclasses implement ``dim``, ``bbox``, ``contains`` and ``sample_boundary`` (and may
    override ``sample_interior``, which defaults to rejection from the bounding box).  To be
    combined with ``-``, ``|``, ``&`` a geometry also implements ``boundary_distance`` and
    ``boundary_measure``.  See :mod:`kanpde.geometry` for the full contract.
    """

    dim: int
    csg = True  # whether this geometry may be an operand of -, |, &

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper corners of the bounding box."""
        raise NotImplementedError

    def contains(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask of points inside the closed domain."""
        raise NotImplementedError

    def sample_interior(self, n: int, method: str = "sobol", seed: Seed = None) -> np.ndarray:
        """``n`` points inside the domain (rejection from the bounding box by default)."""
        n = _check_n(n)
        lo, hi = self.bbox
        rng = _rng(seed)
        out, have, tries = [], 0, 0
        while have < n:
            m = max(2 * (n - have), 64)
            x = lo + (hi - lo) * unit_cube(m, self.dim, method if tries == 0 else "uniform", rng)
            x = x[self.contains(x)]
            out.append(x)
            have += len(x)
            tries += 1
            if tries > 100:
                raise RuntimeError(f"{self!r}: rejection sampling found only {have} of {n} points")
        x = np.concatenate(out)
        if method == "grid" and len(out[0]) >= n:  # thin the grid evenly; a prefix is one corner of it
            return out[0][np.linspace(0, len(out[0]) - 1, n).round().astype(int)]
        return x[:n]

    def sample_boundary(self, n: int, method: str = "sobol", seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` boundary points and their outward unit normals."""
        raise NotImplementedError

    @property
    def measure(self) -> float:
        """Volume (length in 1-D, area in 2-D) of the domain."""
        raise NotImplementedError(f"{type(self).__name__} does not define its measure")

    @property
    def boundary_measure(self) -> float:
        """Measure of the boundary (perimeter in 2-D, surface area in 3-D, point count in 1-D)."""
        raise NotImplementedError(f"{type(self).__name__} does not define its boundary measure")

    def boundary_distance(self, x: np.ndarray) -> np.ndarray:
        """Distance from each point to the boundary (exact, or accurate to second order near it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define boundary_distance")

    def adf(self, x: Tensor) -> Tensor:
        """Signed approximate distance function ``(N,)`` of torch points: > 0 inside, 0 on the boundary, < 0 outside.

        Exactly zero on the boundary (to rounding) and smooth away from corners; used by hard
        constraints (:mod:`kanpde.hard`).  Combined domains compose their operands' ADFs with R-functions.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no approximate distance function, so conditions cannot be imposed hard on "
            f"it; supported: Interval, Box, Disk, Ball, Ellipse, Polygon (Triangle, LShape), their combinations with "
            f"-, |, &, and SpaceTime of these (or keep the condition soft: hard_constraints=False)")

    @property
    def scale(self) -> float:
        """Largest bounding-box width: the length that tolerances are relative to."""
        lo, hi = self.bbox
        return float(np.max(hi - lo))

    def contains_interior(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask of points inside the domain and not on its boundary."""
        x = np.asarray(x, dtype=float)
        return self.contains(x) & (self.boundary_distance(x) > BOUNDARY_TOL * self.scale)

    @property
    def parts(self) -> tuple[Geometry, ...]:
        """The primitives whose boundaries make up this boundary, in the order they were written."""
        return (self,)

    def on_part(self, x: np.ndarray, i: int | Sequence[int], tol: float | None = None) -> np.ndarray:
        """Boolean mask of boundary points ``x`` that lie on the boundary of ``parts[i]`` (or any of ``i``)."""
        parts = self.parts
        idx = [i] if isinstance(i, (int, np.integer)) else list(i)
        bad = [j for j in idx if not (isinstance(j, (int, np.integer)) and -len(parts) <= j < len(parts))]
        if bad or not idx:
            raise ValueError(f"part index must be an integer in [0, {len(parts)}) (parts: {list(parts)}), "
                             f"got {i!r}")
        x = np.asarray(x, dtype=float)
        tol = BOUNDARY_TOL * self.scale if tol is None else float(tol)
        mask = np.zeros(len(x), dtype=bool)
        for j in idx:
            mask |= parts[j].boundary_distance(x) <= tol
        if len(parts) > 1:  # only where the part is still boundary of the whole domain
            mask &= self.contains(x) & ~self.contains_interior(x)
        return mask

    def part(self, i: int | Sequence[int]) -> Callable[[np.ndarray], np.ndarray]:
        """A boundary selector for conditions: ``Dirichlet(0.0, on=dom.part(0))``."""
        self.on_part(np.zeros((0, self.dim)), i)  # validate the index now
        return PartSelector(self, i)

    def __sub__(self, other: Geometry) -> Geometry:
        from kanpde.geom.csg import Difference

        return Difference(self, other)

    def __or__(self, other: Geometry) -> Geometry:
        from kanpde.geom.csg import Union

        return Union(self, other)

    def __and__(self, other: Geometry) -> Geometry:
        from kanpde.geom.csg import Intersection

        return Intersection(self, other)


class PartSelector:
    """``on=`` selector of the boundary points on part(s) ``index`` of ``geometry`` (picklable, unlike a lambda)."""

    def __init__(self, geometry: Geometry, index: int | Sequence[int]):
        self.geometry, self.index = geometry, index

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask of the points of ``x`` on the selected parts."""
        return self.geometry.on_part(x, self.index)

    def __repr__(self) -> str:
        return f"PartSelector({self.geometry!r}, {self.index!r})"
