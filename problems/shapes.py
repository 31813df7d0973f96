"""Elliptic problems on domains that are not boxes: a disk and the L-shape (a corner singularity)."""

from __future__ import annotations

import math

import torch

from kanpde import ops
from kanpde.geometry import Disk, LShape
from kanpde.problem import Dirichlet, Problem

__all__ = ["poisson_disk", "laplace_lshape", "PROBLEMS"]


def poisson_disk(radius: float = 1.0) -> Problem:
    r"""Poisson equation with a constant source on a disk.

    .. math::  -\Delta u = 1, \quad x^2 + y^2 \le R^2, \qquad u = 0 \text{ on } r = R

    with :math:`R` = ``radius`` (1).  Exact solution :math:`u = (R^2 - r^2)/4`, :math:`r^2 = x^2 + y^2`.
    """

    def exact(x):
        return 0.25 * (radius**2 - (x * x).sum(1, keepdim=True))

    def residual(x, u):
        return -ops.laplacian(u, x) - 1.0

    return Problem(
        name="poisson_disk", domain=Disk((0.0, 0.0), radius), residual=residual, conditions=(Dirichlet(0.0),),
        exact=exact, params={"radius": radius}, equation="-lap u = 1 on the disk r <= R, u = 0 on r = R",
        tags=("elliptic",), n_interior=1000, n_boundary=256, n_eval=4096,
        budget={"epochs": 2000, "optimizer": "adam+lbfgs", "lr": 1e-2}, doc=poisson_disk.__doc__)


def lshape_angle(x: torch.Tensor) -> torch.Tensor:
    r"""Polar angle :math:`\theta \in [0, 3\pi/2]` on the L-shape, continuous away from the origin.

    The branch cut runs along :math:`\theta = 7\pi/4`, through the removed quadrant, so
    :math:`\theta = 0` on the edge :math:`(0, 0)\text{--}(1, 0)` and :math:`3\pi/2` on
    :math:`(0, -1)\text{--}(0, 0)`.
    """
    X, Y = x[:, :1], x[:, 1:2]
    return torch.atan2(-(X + Y), Y - X) + 0.75 * math.pi  # angle of the point rotated by -3pi/4, shifted back


def laplace_lshape() -> Problem:
    r"""Laplace equation on the L-shaped domain: the classic re-entrant corner singularity.

    .. math::  \Delta u = 0, \quad \Omega = [-1, 1]^2 \setminus (0, 1] \times [-1, 0), \qquad
               u = r^{2/3} \sin(2\theta/3) \text{ on } \partial\Omega

    with polar coordinates about the re-entrant corner at the origin and
    :math:`\theta \in [0, 3\pi/2]` measured from the positive :math:`x` axis through the domain
    (so :math:`u = 0` on the two edges meeting at the corner).  Exact solution
    :math:`u = r^{2/3}\sin(2\theta/3)`: harmonic and smooth except at the origin, where
    :math:`\nabla u \sim r^{-1/3}` is unbounded.
    """

    def exact(x):
        r2 = (x * x).sum(1, keepdim=True)
        return r2 ** (1.0 / 3.0) * torch.sin(2.0 / 3.0 * lshape_angle(x))

    def residual(x, u):
        return ops.laplacian(u, x)

    return Problem(
        name="laplace_lshape", domain=LShape(), residual=residual, conditions=(Dirichlet(exact),), exact=exact,
        equation="lap u = 0 on the L-shape, u = r^(2/3) sin(2 theta/3) on the boundary",
        tags=("elliptic", "singular"), n_interior=1000, n_boundary=256, n_eval=4096,
        # the boundary weighted 100 and a long L-BFGS phase: rel L2 2.9e-3 with the default MLP (seed 1, ~80 s CPU);
        # the former 2000-epoch unweighted budget gave 3.2e-2
        budget={"epochs": 8000, "optimizer": "adam+lbfgs", "lr": 1e-3, "lbfgs_epochs": 6000,
                "weights": {"dirichlet": 100.0}, "threads": 1}, doc=laplace_lshape.__doc__)


PROBLEMS = {"poisson_disk": poisson_disk, "laplace_lshape": laplace_lshape}
