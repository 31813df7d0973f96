"""Ordinary differential equations in time ``x`` (one input coordinate)."""

from __future__ import annotations

import torch

from kanpde import ops
from kanpde.geometry import Interval
from kanpde.problem import Initial, Problem

__all__ = ["exp_decay", "PROBLEMS"]


def exp_decay(rate: float = 1.0, y0: float = 1.0, t_end: float = 2.0) -> Problem:
    r"""Exponential decay.

    .. math::  y'(x) = -k\,y(x), \quad x \in [0, T], \qquad y(0) = y_0

    with :math:`k` = ``rate`` (1), :math:`y_0` = ``y0`` (1), :math:`T` = ``t_end`` (2).
    Exact solution :math:`y(x) = y_0 e^{-k x}`.
    """

    def residual(x, u):
        return ops.partial(u, x, 0) + rate * u

    return Problem(
        name="exp_decay", domain=Interval(0.0, t_end), residual=residual, conditions=(Initial(y0),),
        exact=lambda x: y0 * torch.exp(-rate * x), order=1,
        params={"rate": rate, "y0": y0, "t_end": t_end}, equation="y' = -k y, y(0) = y0",
        tags=("ode",), n_interior=128, n_boundary=1, n_initial=1, n_eval=1000,
        budget={"epochs": 2000, "optimizer": "adam", "lr": 1e-2}, doc=exp_decay.__doc__)


PROBLEMS = {"exp_decay": exp_decay}
