"""Elliptic problems: Poisson equations with manufactured or exact solutions."""

from __future__ import annotations

import math

import torch

from kanpde import ops
from kanpde.geometry import Box, Interval
from kanpde.problem import Dirichlet, Problem

__all__ = ["poisson1d", "poisson2d", "PROBLEMS"]

PI = math.pi


def poisson1d(freq: float = 1.0) -> Problem:
    r"""One-dimensional Poisson equation with homogeneous Dirichlet conditions.

    .. math::  -u''(x) = (a\pi)^2 \sin(a\pi x), \quad x \in [-1, 1], \qquad u(\pm 1) = 0

    with :math:`a` = ``freq`` (an integer, default 1).  Exact solution :math:`u = \sin(a\pi x)`.
    """
    w = freq * PI

    def residual(x, u):
        return -ops.partial(u, x, 0, order=2) - w**2 * torch.sin(w * x)

    return Problem(
        name="poisson1d", domain=Interval(-1.0, 1.0), residual=residual, conditions=(Dirichlet(0.0),),
        exact=lambda x: torch.sin(w * x), params={"freq": freq}, equation="-u'' = (a pi)^2 sin(a pi x), u(+-1) = 0",
        tags=("elliptic",), n_interior=128, n_boundary=2, n_eval=1000,
        budget={"epochs": 2000, "optimizer": "adam", "lr": 3e-3}, doc=poisson1d.__doc__)


def poisson2d() -> Problem:
    r"""Two-dimensional Poisson equation on the square.

    .. math::  -\Delta u = 2\pi^2 \sin(\pi x)\sin(\pi y), \quad (x, y) \in [-1, 1]^2,
               \qquad u = 0 \text{ on the boundary}

    Exact solution :math:`u = \sin(\pi x)\sin(\pi y)`.
    """

    def exact(x):
        return torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:2])

    def residual(x, u):
        return -ops.laplacian(u, x) - 2 * PI**2 * exact(x)

    return Problem(
        name="poisson2d", domain=Box([-1.0, -1.0], [1.0, 1.0]), residual=residual, conditions=(Dirichlet(0.0),),
        exact=exact, equation="-lap u = 2 pi^2 sin(pi x) sin(pi y), u = 0 on the boundary",
        tags=("elliptic",), n_interior=1000, n_boundary=256, n_eval=4096,
        budget={"epochs": 2000, "optimizer": "adam+lbfgs", "lr": 1e-2}, doc=poisson2d.__doc__)


PROBLEMS = {"poisson1d": poisson1d, "poisson2d": poisson2d}
