"""Heat equation: parabolic, with an exact Fourier-series solution."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from kanpde import ops
from kanpde.geometry import Interval, SpaceTime
from kanpde.problem import Dirichlet, Initial, Problem

__all__ = ["heat1d", "PROBLEMS"]

PI = math.pi


def heat1d(alpha: float = 0.1, modes: Sequence[int] = (1, 3), amplitudes: Sequence[float] = (1.0, 0.5),
           t_end: float = 1.0) -> Problem:
    r"""One-dimensional heat equation with homogeneous Dirichlet ends.

    .. math::  u_t = \alpha u_{xx}, \quad x \in [0, 1],\ t \in [0, T], \qquad u(0, t) = u(1, t) = 0,
               \qquad u(x, 0) = \sum_j b_j \sin(n_j \pi x)

    with :math:`\alpha` = ``alpha`` (0.1), :math:`n_j` = ``modes`` (1, 3), :math:`b_j` =
    ``amplitudes`` (1, 0.5), :math:`T` = ``t_end`` (1).  Exact solution
    :math:`u = \sum_j b_j \sin(n_j\pi x)\, e^{-\alpha n_j^2 \pi^2 t}`.
    """
    modes, amplitudes = tuple(int(m) for m in modes), tuple(float(b) for b in amplitudes)
    if len(modes) != len(amplitudes) or not modes:
        raise ValueError(f"modes and amplitudes must be non-empty and of equal length, got {modes}, {amplitudes}")

    def exact(x):
        X, T = x[:, :1], x[:, 1:2]
        return sum(b * torch.sin(n * PI * X) * torch.exp(-alpha * (n * PI) ** 2 * T)
                   for n, b in zip(modes, amplitudes, strict=True))

    def residual(x, u):
        return ops.time_derivative(u, x) - alpha * ops.partial(u, x, 0, order=2)

    return Problem(
        name="heat1d", domain=SpaceTime(Interval(0.0, 1.0), 0.0, t_end), residual=residual,
        conditions=(Dirichlet(0.0), Initial(exact)), exact=exact,
        params={"alpha": alpha, "modes": list(modes), "amplitudes": list(amplitudes), "t_end": t_end},
        equation="u_t = alpha u_xx, u(0,t) = u(1,t) = 0, u(x,0) = sum b_j sin(n_j pi x)",
        tags=("parabolic",), n_interior=1000, n_boundary=200, n_initial=200, n_eval=4096,
        budget={"epochs": 2000, "optimizer": "adam+lbfgs", "lr": 1e-2}, doc=heat1d.__doc__)


PROBLEMS = {"heat1d": heat1d}
