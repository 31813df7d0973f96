"""Linear advection on a periodic interval: a translated profile."""

from __future__ import annotations

import math

import torch

from kanpde import ops
from kanpde.geometry import Interval, SpaceTime
from kanpde.problem import Initial, Periodic, Problem

__all__ = ["advection1d", "PROBLEMS"]


def advection1d(speed: float = 2.0, t_end: float = 1.0) -> Problem:
    r"""One-dimensional linear advection with periodic boundaries.

    .. math::  u_t + \beta u_x = 0, \quad x \in [0, 2\pi],\ t \in [0, T], \qquad
               u(0, t) = u(2\pi, t), \qquad u(x, 0) = g(x) = \sin x + \tfrac12 \sin 2x

    with :math:`\beta` = ``speed`` (2) and :math:`T` = ``t_end`` (1).  Exact solution: the
    translated profile :math:`u = g(x - \beta t)`.
    """

    def g(s):
        return torch.sin(s) + 0.5 * torch.sin(2 * s)

    def exact(x):
        return g(x[:, :1] - speed * x[:, 1:2])

    def residual(x, u):
        return ops.time_derivative(u, x) + speed * ops.partial(u, x, 0)

    return Problem(
        name="advection1d", domain=SpaceTime(Interval(0.0, 2 * math.pi), 0.0, t_end), residual=residual,
        conditions=(Periodic(dim=0, derivative=False), Initial(exact)), exact=exact, order=1,
        params={"speed": speed, "t_end": t_end},
        equation="u_t + beta u_x = 0, periodic in x, u(x,0) = sin x + sin(2x)/2",
        tags=("hyperbolic",), n_interior=1000, n_boundary=200, n_initial=200, n_eval=4096,
        budget={"epochs": 2000, "optimizer": "adam+lbfgs", "lr": 1e-2}, doc=advection1d.__doc__)


PROBLEMS = {"advection1d": advection1d}
