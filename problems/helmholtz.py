"""Helmholtz equation with a manufactured solution."""

from __future__ import annotations

import math

import torch

from kanpde import ops
from kanpde.geometry import Box
from kanpde.problem import Dirichlet, Problem

__all__ = ["helmholtz2d", "PROBLEMS"]

PI = math.pi


def helmholtz2d(a1: float = 1.0, a2: float = 4.0, k: float = 1.0) -> Problem:
    r"""Two-dimensional Helmholtz equation (the benchmark of Wang, Teng & Perdikaris 2021).

    .. math::  \Delta u + k^2 u = q, \quad (x, y) \in [-1, 1]^2, \qquad u = 0 \text{ on the boundary},

    .. math::  q = \bigl(k^2 - (a_1^2 + a_2^2)\pi^2\bigr) \sin(a_1\pi x)\sin(a_2\pi y)

    with :math:`a_1, a_2` = ``a1``, ``a2`` (1, 4; integers keep the boundary values zero) and
    :math:`k` = ``k`` (1).  Exact solution :math:`u = \sin(a_1\pi x)\sin(a_2\pi y)`.
    """
    if a1 != int(a1) or a2 != int(a2):
        raise ValueError(f"a1 and a2 must be whole numbers (u = 0 on the boundary), got {a1}, {a2}")
    lam = k**2 - (a1**2 + a2**2) * PI**2

    def exact(x):
        return torch.sin(a1 * PI * x[:, :1]) * torch.sin(a2 * PI * x[:, 1:2])

    def residual(x, u):
        return ops.laplacian(u, x) + k**2 * u - lam * exact(x)

    return Problem(
        name="helmholtz2d", domain=Box([-1.0, -1.0], [1.0, 1.0]), residual=residual, conditions=(Dirichlet(0.0),),
        exact=exact, params={"a1": a1, "a2": a2, "k": k},
        equation="lap u + k^2 u = q, u = sin(a1 pi x) sin(a2 pi y), u = 0 on the boundary",
        tags=("elliptic",), n_interior=2000, n_boundary=400, n_eval=4096,
        # boundary values imposed exactly (u = (1 - x^2)(1 - y^2) N / 4), a long L-BFGS phase and, for the MLP, sin
        # activations: rel L2 1.2e-4 / 1.4e-4 / 1.4e-4 (seeds 0 / 1 / 2, ~190 s CPU).  Soft boundary values (weight
        # 100, kept for the plain PINN) gave 1.5e-3 / 6.5e-4 / 1.1e-3 with sin activations after 13000 epochs; with
        # tanh 1.1e-3 (hard boundary values 1.5e-3, three hidden layers 2.1e-3, random Fourier features sigma 2
        # 1.3e-1); four sin layers of 24 8.1e-4 (seed 2); the former 3000-epoch budget gave 7.1e-2
        budget={"epochs": 9000, "optimizer": "adam+lbfgs", "lr": 1e-3, "lbfgs_epochs": 7000, "hard_constraints": True,
                "weights": {"dirichlet": 100.0}, "threads": 1, "mlp": {"activation": "sin"}},
        doc=helmholtz2d.__doc__)


PROBLEMS = {"helmholtz2d": helmholtz2d}
