"""Allen--Cahn equation: stiff reaction--diffusion with thin interfaces (a PINN stress test)."""

from __future__ import annotations

import math

import torch

from kanpde import ops
from kanpde.geometry import Interval, SpaceTime
from kanpde.problem import Initial, Periodic, Problem
from kanpde.reference import allen_cahn_reference

__all__ = ["allen_cahn1d", "PROBLEMS"]


def allen_cahn1d() -> Problem:
    r"""One-dimensional Allen--Cahn equation with periodic boundaries.

    .. math::  u_t = 10^{-4} u_{xx} - 5u^3 + 5u, \quad x \in [-1, 1],\ t \in [0, 1], \qquad
               u(x, 0) = x^2 \cos(\pi x),

    periodic in :math:`x`, exactly (``Periodic(hard=True)``: x enters the model through cos, sin).  Reference:
    Fourier pseudo-spectral in space (2048 modes) with ETDRK4 in time (dt = 1e-3),
    :func:`kanpde.reference.allen_cahn_reference`, on a 2049 x 201 grid, cubic-interpolated
    (solver error about 1e-9, interpolation error up to 1e-6 inside the interfaces).
    """

    def residual(x, u):
        return ops.time_derivative(u, x) - 1e-4 * ops.partial(u, x, 0, order=2) + 5 * u**3 - 5 * u

    def reference(x):
        return allen_cahn_reference()(x)

    def u0(x):
        s = x[:, 0]
        return s**2 * torch.cos(math.pi * s)

    return Problem(
        name="allen_cahn1d", domain=SpaceTime(Interval(-1.0, 1.0), 0.0, 1.0), residual=residual,
        conditions=(Periodic(dim=0, hard=True), Initial(u0)), reference=reference,
        equation="u_t = 1e-4 u_xx - 5 u^3 + 5 u, periodic in x, u(x,0) = x^2 cos(pi x)",
        tags=("parabolic", "nonlinear"), n_interior=2000, n_boundary=200, n_initial=200, n_eval=4096,
        # exact periodicity, the initial values imposed exactly (u = u0 + t N), Causal weighting in a short Adam
        # phase (1000 epochs), a long L-BFGS phase and, for the MLP, four hidden layers of 24 (1921 parameters):
        # rel L2 2.8e-3 / 5.1e-3 / 4.9e-3 (seeds 0 / 1 / 2 at 12000 epochs, ~200 s CPU; the error stalls after
        # about 11000); without Causal 7.4e-3 / 1.3e-2 / 8.0e-3, without hard initial values 0.15 (median).  The
        # default two layers of 32 (1217 parameters) reached 1.1e-2 / 1.6e-2 / 1.8e-2 only after 18000 epochs;
        # three layers of 32 gave 7.8e-3 (seed 1, 14000 epochs).  With 3000 Adam epochs 0.37, the
        # former soft-periodic budget 0.97; TimeMarching (10 windows through the L-BFGS phase) 0.10; RAD, 4000
        # points or random Fourier features did not help (benchmarks/results/hard_tuning.json, docs/methods.md)
        budget={"epochs": 12000, "optimizer": "adam+lbfgs", "lr": 1e-3, "lbfgs_epochs": 11000, "hard_constraints": True,
                "methods": [{"method": "Causal", "eps": 1.0}], "threads": 1, "mlp": {"hidden": [24, 24, 24, 24]}},
        doc=allen_cahn1d.__doc__)


PROBLEMS = {"allen_cahn1d": allen_cahn1d}
