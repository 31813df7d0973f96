"""Viscous Burgers equation: the shock-forming PINN benchmark (Raissi et al. 2019)."""

from __future__ import annotations

import math

import torch

from kanpde import ops
from kanpde.geometry import Interval, SpaceTime
from kanpde.problem import Dirichlet, Initial, Problem
from kanpde.reference import burgers_reference

__all__ = ["burgers1d", "PROBLEMS"]


def burgers1d(nu: float = 0.01 / math.pi) -> Problem:
    r"""Viscous Burgers equation with a steepening front.

    .. math::  u_t + u u_x = \nu u_{xx}, \quad x \in [-1, 1],\ t \in [0, 1], \qquad
               u(\pm 1, t) = 0, \qquad u(x, 0) = -\sin(\pi x)

    with :math:`\nu` = ``nu`` (:math:`0.01/\pi`).  Reference: the Cole--Hopf solution
    (Gauss--Hermite quadrature, :func:`kanpde.reference.burgers_cole_hopf`) on a 2049 x 201
    grid, cubic-interpolated (relative L2 error about 2e-7).  The front at :math:`x = 0` is
    steepest, :math:`u_x = -152.0051`, at :math:`t = 1.6037/\pi`.
    """

    def residual(x, u):
        return ops.time_derivative(u, x) + u * ops.partial(u, x, 0) - nu * ops.partial(u, x, 0, order=2)

    def reference(x):
        return burgers_reference(nu)(x)

    return Problem(
        name="burgers1d", domain=SpaceTime(Interval(-1.0, 1.0), 0.0, 1.0), residual=residual,
        conditions=(Dirichlet(0.0), Initial(lambda x: -torch.sin(math.pi * x[:, 0]))), reference=reference,
        params={"nu": nu}, equation="u_t + u u_x = nu u_xx, u(+-1,t) = 0, u(x,0) = -sin(pi x)",
        tags=("parabolic", "nonlinear"), n_interior=2000, n_boundary=200, n_initial=200, n_eval=4096,
        # the default two hidden layers of 32 stall near 1e-1 whatever the budget; four layers of 32, the boundary and
        # initial values imposed exactly, RAD (points follow |residual| to the front) every 750 epochs up to epoch
        # 4500, then a long L-BFGS phase on fixed points: rel L2 7.5e-4 (seed 1, ~200 s CPU); with soft conditions
        # and RAD through the L-BFGS phase 4.1e-3
        budget={"epochs": 9000, "optimizer": "adam+lbfgs", "lr": 1e-3, "lbfgs_epochs": 7500, "hard_constraints": True,
                "methods": [{"method": "RAD", "every": 750, "until": 4500}], "threads": 1,
                "mlp": {"widths": [2, 32, 32, 32, 32, 1]}},
        doc=burgers1d.__doc__)


PROBLEMS = {"burgers1d": burgers1d}
