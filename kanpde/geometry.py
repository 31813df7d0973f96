"""Domains and collocation sampling.

Every geometry samples interior points and boundary points (with outward unit normals) as
numpy ``float64`` arrays of shape ``(n, dim)``.  Sampling methods:

* ``"uniform"`` -- i.i.d. uniform;
* ``"sobol"``   -- scrambled Sobol' sequence (``scipy.stats.qmc``), the default;
* ``"lhs"``     -- Latin hypercube;
* ``"grid"``    -- a tensor-product grid (about ``n`` points for boxes and disks, exactly ``n`` in
  1-D and for the shapes added later: ellipses, balls, point clouds and combined domains).

Randomness comes only from the ``seed`` argument (an int or a ``numpy.random.Generator``).
For space-time problems use :class:`SpaceTime`; time is always the last coordinate.

Primitives: :class:`Interval`, :class:`Box` (:func:`Rectangle`), :class:`Disk`, :class:`Ellipse`,
:class:`Ball` (any dimension), :class:`Polygon` (:class:`Triangle`, :func:`LShape`),
:class:`PointCloud` (a domain given by samples).  Bad bounds (non-finite, inverted, non-positive
radii) raise ``ValueError`` at construction, naming the argument.

Combined domains (constructive solid geometry)::

    dom = Box((-0.5, -0.5), (0.5, 0.5)) - Disk((0.3, 0.3), 0.1) - Disk((-0.3, 0.3), 0.1)
    dom.parts                       # (Box, Disk, Disk): the primitives, in the order written
    dom.on_part(x, 0)               # mask: boundary points x on the outer square
    Dirichlet(0.0, on=dom.part([1, 2]))   # a condition on the two holes only

``a - b`` (difference), ``a | b`` (union) and ``a & b`` (intersection) work in any dimension.
Interior sampling is by rejection from the bounding box and returns exactly ``n`` points for
every method (``ValueError`` if the domain looks empty).  Boundary sampling is proportional to
boundary measure; the normals point out of the domain, so on a hole they point into the hole.
Part ``i`` of the boundary is the piece of the domain's boundary lying on the boundary of
``parts[i]`` (to ``BOUNDARY_TOL`` times the largest bounding-box width).

Writing your own geometry: subclass :class:`Geometry` and provide

* ``dim`` -- the number of coordinates;
* ``bbox`` -- property, ``(lo, hi)`` arrays of the bounding box;
* ``contains(x)`` -- ``(N,)`` boolean mask of points of ``x`` (``(N, dim)``) in the closed domain;
* ``sample_boundary(n, method, seed)`` -- ``(points, normals)``, both ``(n, dim)``, normals outward
  and of unit length;
* optionally ``sample_interior(n, method, seed)`` -- ``(n, dim)`` points (the default rejects
  from the bounding box) and ``measure`` (volume);
* to be combined with ``-``, ``|``, ``&`` (and for ``on_part``): ``boundary_distance(x)`` (distance
  to the boundary, at least accurate near it) and ``boundary_measure`` (perimeter, surface area);
* for hard constraints (:mod:`kanpde.hard`): ``adf(x)`` -- a signed approximate distance function of
  a torch tensor ``(N, dim)``: ``(N,)``, zero on the boundary, positive inside, negative outside.

Everything else (``contains_interior``, ``parts``, ``on_part``, ``part``, the operators) comes
from the base class.  A geometry is then usable as a ``Problem`` domain.
"""

from __future__ import annotations

from kanpde.geom.base import BOUNDARY_TOL, SAMPLING_METHODS, Geometry, PartSelector, Seed, unit_cube, unit_cube_exact
from kanpde.geom.csg import CSG, Difference, Intersection, Union
from kanpde.geom.primitives import Box, Disk, Interval, LShape, Polygon, Rectangle, SpaceTime
from kanpde.geom.shapes import Ball, Ellipse, PointCloud, Triangle

__all__ = [
    "Geometry", "Interval", "Box", "Rectangle", "Disk", "Polygon", "LShape", "SpaceTime",
    "SAMPLING_METHODS", "unit_cube",
    "Ellipse", "Triangle", "Ball", "PointCloud", "CSG", "Difference", "Union", "Intersection",
    "BOUNDARY_TOL", "Seed", "unit_cube_exact", "PartSelector",
]
