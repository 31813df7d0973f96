"""Constructive solid geometry: ``a - b`` (difference), ``a | b`` (union), ``a & b`` (intersection).

Interior points come by rejection from the bounding box with an exactly guaranteed count.
Boundary points are drawn from the boundary of every primitive (``parts``) in proportion to its
boundary measure and kept where they are boundary of the combined domain, so the result is
proportional to boundary measure; the normals are outward (on a hole they point into the hole).
The rules below decide with a step of length ``h`` along a candidate's normal ``n`` (outward for
the operand it came from), which also settles faces that two operands share.
"""

from __future__ import annotations

import math

import numpy as np
from torch import Tensor

from kanpde.geom.base import (
    Geometry,
    Seed,
    _allocate,
    _check_method,
    _check_n,
    _rng,
    _thin,
    unit_cube,
)
from kanpde.geom.primitives import r_and, r_or

__all__ = ["CSG", "Difference", "Union", "Intersection", "rejection_sample"]

_STEP = 1e-7  # the step h, relative to the domain's scale; above BOUNDARY_TOL, far below any feature size
_PROBES = 2**14  # fixed-seed probes used to estimate the volume fraction of the bounding box
_MAX_DRAW = 2**26  # most coordinates drawn at once by rejection (about 0.5 GB)


def _volume_fraction(geom: Geometry) -> float:
    lo, hi = geom.bbox
    u = unit_cube(_PROBES, geom.dim, "sobol", 20240917)
    frac = float(np.mean(geom.contains(lo + (hi - lo) * u)))
    if frac == 0:
        raise ValueError(f"{geom!r} looks empty: none of {_PROBES} probes of its bounding box lies inside it")
    return frac


def rejection_sample(geom: Geometry, n: int, method: str, rng: np.random.Generator,
                     fraction: float | None = None) -> np.ndarray:
    """Exactly ``n`` points of ``geom`` by rejection from its bounding box (``grid``: a thinned grid)."""
    n = _check_n(n)
    _check_method(method)
    lo, hi = geom.bbox
    frac = _volume_fraction(geom) if fraction is None else fraction
    m = math.ceil(n / frac * 1.1) + 32
    for _ in range(10):
        if m * geom.dim > _MAX_DRAW:
            raise ValueError(f"{geom!r} fills only about {frac:.1e} of its bounding box: too thin to draw n={n} "
                             f"points by rejection")
        x = lo + (hi - lo) * unit_cube(m, geom.dim, method, rng)
        x = x[geom.contains(x)]
        if len(x) >= n:
            return x[_thin(len(x), n)] if method == "grid" else x[:n]
        m = math.ceil(m * 1.5 * n / max(len(x), 1)) + 32
    raise ValueError(f"{geom!r}: rejection sampling found only {len(x)} of {n} points; the domain is too thin")


class CSG(Geometry):
    """Base of the three set operations; ``parts`` lists the primitives in the order written."""

    symbol = "?"

    def __init__(self, a: Geometry, b: Geometry):
        for name, g in (("a", a), ("b", b)):
            if not isinstance(g, Geometry):
                raise TypeError(f"operand {name} of {self.symbol!r} must be a kanpde Geometry, got "
                                f"{type(g).__name__}")
            if not g.csg:
                raise TypeError(f"{type(g).__name__} cannot be an operand of {self.symbol!r} (operand {name}: "
                                f"{g!r}); combine spatial domains first, e.g. SpaceTime(a - b, t0, t1)")
            for what in ("boundary_distance", "boundary_measure"):
                if not isinstance(g, CSG) and getattr(type(g), what) is getattr(Geometry, what):
                    raise TypeError(f"operand {name} ({type(g).__name__}) must implement {what} to be combined "
                                    f"with {self.symbol!r}")
        if a.dim != b.dim:
            raise ValueError(f"operands of {self.symbol!r} must have the same dimension, got {a.dim} and {b.dim}")
        self.a, self.b, self.dim = a, b, a.dim
        self._fraction: float | None = None

    @property
    def parts(self) -> tuple[Geometry, ...]:
        return self.a.parts + self.b.parts

    @property
    def measure(self) -> float:
        """Volume, estimated from fixed-seed quasi-random probes of the bounding box (about 3 digits)."""
        lo, hi = self.bbox
        return float(np.prod(hi - lo)) * self._frac()

    @property
    def boundary_measure(self) -> float:
        """Boundary measure, estimated from fixed-seed samples of each part's boundary."""
        meas = np.array([g.boundary_measure for g in self.parts])
        ms = np.full(len(meas), 4096)
        cands = self._candidates(ms, "sobol", np.random.default_rng(20240917), _STEP * self.scale)
        return float(sum(m * len(p) / r for m, (p, _, r) in zip(meas, cands) if r))

    def _frac(self) -> float:
        if self._fraction is None:
            self._fraction = _volume_fraction(self)
        return self._fraction

    def _keep_a(self, x: np.ndarray, n: np.ndarray, h: float) -> np.ndarray:
        raise NotImplementedError

    def _keep_b(self, x: np.ndarray, n: np.ndarray, h: float) -> np.ndarray:
        raise NotImplementedError

    flip_b = False

    def _candidates(self, ms: np.ndarray, method: str, rng: np.random.Generator, h: float) -> list:
        """Per part: (points, normals, number drawn) of its boundary points kept on this boundary."""
        na = len(self.a.parts)
        out = []
        for g, counts, keep, flip in ((self.a, ms[:na], self._keep_a, False), (self.b, ms[na:], self._keep_b,
                                                                                self.flip_b)):
            for x, nrm, r in _part_candidates(g, counts, method, rng, h):
                k = keep(x, nrm, h) if len(x) else np.zeros(0, dtype=bool)
                out.append((x[k], -nrm[k] if flip else nrm[k], r))
        return out

    def sample_interior(self, n: int, method: str = "sobol", seed: Seed = None) -> np.ndarray:
        return rejection_sample(self, n, method, _rng(seed), self._frac())

    def sample_boundary(self, n: int, method: str = "sobol", seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
        n = _check_n(n)
        _check_method(method)
        rng = _rng(seed)
        meas = np.array([g.boundary_measure for g in self.parts], dtype=float)
        h = _STEP * self.scale
        if self.dim == 1:  # the boundary is a finite set of points: all of them, as for an Interval
            cands = self._candidates(np.ones(len(meas), dtype=int), method, rng, h)
            x = np.concatenate([c[0] for c in cands])
            nrm = np.concatenate([c[1] for c in cands])
            order = np.argsort(x[:, 0], kind="stable")
            return x[order], nrm[order]
        m = math.ceil(1.25 * n) + 16
        kept = np.zeros(1, dtype=int)
        while m * self.dim <= _MAX_DRAW:
            cands = self._candidates(_allocate(m, meas), method, rng, h)
            kept = np.array([len(c[0]) for c in cands])
            drawn = np.array([c[2] for c in cands])
            weight = np.where(drawn > 0, meas * kept / np.maximum(drawn, 1), 0.0)
            if weight.sum() > 0:
                counts = _allocate(n, weight)
                if np.all(counts <= kept):
                    x = np.concatenate([c[0][_thin(k, j)] for c, k, j in zip(cands, kept, counts)])
                    nrm = np.concatenate([c[1][_thin(k, j)] for c, k, j in zip(cands, kept, counts)])
                    perm = rng.permutation(n)  # any prefix is then a fair subsample (boundary selectors use one)
                    return x[perm], nrm[perm]
                m = math.ceil(m * 1.5 * np.max(counts[kept > 0] / kept[kept > 0], initial=1.0)) + 16
            elif m >= 2**16:  # no part keeps any boundary point: the domain is empty
                break
            else:
                m *= 8
        raise ValueError(f"{self!r}: found too few boundary points ({int(kept.sum())} of {n}); is the domain empty "
                         f"or its boundary too small a part of its parts' boundaries?")

    def __repr__(self) -> str:
        return f"({self.a!r} {self.symbol} {self.b!r})"


def _part_candidates(g: Geometry, counts: np.ndarray, method: str, rng: np.random.Generator, h: float) -> list:
    if isinstance(g, CSG):
        return g._candidates(counts, method, rng, h)
    m = int(counts[0])
    if m == 0:
        return [(np.zeros((0, g.dim)), np.zeros((0, g.dim)), 0)]
    x, nrm = g.sample_boundary(m, method, rng)
    return [(x, nrm, len(x))]


class Difference(CSG):
    """``a - b``: the points of ``a`` not inside ``b``; ``b``'s boundary becomes a hole with normals into ``b``."""

    symbol = "-"
    flip_b = True

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        return self.a.bbox

    def contains(self, x: np.ndarray) -> np.ndarray:
        return self.a.contains(x) & ~self.b.contains_interior(x)

    def contains_interior(self, x: np.ndarray) -> np.ndarray:
        return self.a.contains_interior(x) & ~self.b.contains(x)

    def adf(self, x: Tensor) -> Tensor:
        """R0 conjunction of ``a``'s ADF and the negated ADF of ``b``."""
        return r_and(self.a.adf(x), -self.b.adf(x))

    def _keep_a(self, x, n, h):  # stepping into a does not enter b
        return ~self.b.contains(x - h * n)

    def _keep_b(self, x, n, h):  # b's boundary strictly inside a (both sides in a)
        return self.a.contains(x + h * n) & self.a.contains(x - h * n)


class Union(CSG):
    """``a | b``: the points in ``a`` or in ``b``."""

    symbol = "|"

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        (la, ha), (lb, hb) = self.a.bbox, self.b.bbox
        return np.minimum(la, lb), np.maximum(ha, hb)

    def contains(self, x: np.ndarray) -> np.ndarray:
        return self.a.contains(x) | self.b.contains(x)

    def contains_interior(self, x: np.ndarray) -> np.ndarray:
        return self.a.contains_interior(x) | self.b.contains_interior(x)

    def adf(self, x: Tensor) -> Tensor:
        """R0 disjunction of the operands' ADFs."""
        return r_or(self.a.adf(x), self.b.adf(x))

    def _keep_a(self, x, n, h):  # stepping out of a does not enter b
        return ~self.b.contains(x + h * n)

    def _keep_b(self, x, n, h):  # b's boundary outside a (a face shared with a is kept from a)
        return ~self.a.contains(x + h * n) & ~self.a.contains(x - h * n)


class Intersection(CSG):
    """``a & b``: the points in both ``a`` and ``b``."""

    symbol = "&"

    def __init__(self, a: Geometry, b: Geometry):
        super().__init__(a, b)
        lo, hi = self.bbox
        if not np.all(lo < hi):
            raise ValueError(f"{a!r} & {b!r} is empty: their bounding boxes do not overlap")

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        (la, ha), (lb, hb) = self.a.bbox, self.b.bbox
        return np.maximum(la, lb), np.minimum(ha, hb)

    def contains(self, x: np.ndarray) -> np.ndarray:
        return self.a.contains(x) & self.b.contains(x)

    def contains_interior(self, x: np.ndarray) -> np.ndarray:
        return self.a.contains_interior(x) & self.b.contains_interior(x)

    def adf(self, x: Tensor) -> Tensor:
        """R0 conjunction of the operands' ADFs."""
        return r_and(self.a.adf(x), self.b.adf(x))

    def _keep_a(self, x, n, h):  # stepping into a stays in b
        return self.b.contains(x - h * n)

    def _keep_b(self, x, n, h):  # b's boundary strictly inside a (a face shared with a is kept from a)
        return self.a.contains(x + h * n) & self.a.contains(x - h * n)
