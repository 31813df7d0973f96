"""Nonlinear elliptic problems with manufactured solutions."""

from __future__ import annotations

import math

import torch

from kanpde import ops
from kanpde.geometry import Box
from kanpde.problem import Dirichlet, Problem

__all__ = ["nonlinear_poisson", "PROBLEMS"]

PI = math.pi


def nonlinear_poisson(kappa: float = 1.0) -> Problem:
    r"""Semilinear Poisson equation with a cubic reaction.

    .. math::  -\Delta u + \kappa u^3 = f, \quad (x, y) \in [-1, 1]^2, \qquad u = 0 \text{ on the boundary},

    .. math::  f = 2\pi^2 \sin(\pi x)\sin(\pi y) + \kappa \sin^3(\pi x)\sin^3(\pi y)

    with :math:`\kappa` = ``kappa`` (1).  Exact solution :math:`u = \sin(\pi x)\sin(\pi y)`.
    """

    def exact(x):
        return torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:2])

    def residual(x, u):
        e = exact(x)
        return -ops.laplacian(u, x) + kappa * u**3 - (2 * PI**2 * e + kappa * e**3)

    return Problem(
        name="nonlinear_poisson", domain=Box([-1.0, -1.0], [1.0, 1.0]), residual=residual,
        conditions=(Dirichlet(0.0),), exact=exact, params={"kappa": kappa},
        equation="-lap u + k u^3 = f, u = sin(pi x) sin(pi y), u = 0 on the boundary",
        tags=("elliptic", "nonlinear"), n_interior=1000, n_boundary=256, n_eval=4096,
        budget={"epochs": 2000, "optimizer": "adam+lbfgs", "lr": 1e-2}, doc=nonlinear_poisson.__doc__)


PROBLEMS = {"nonlinear_poisson": nonlinear_poisson}
