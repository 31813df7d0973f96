"""Function fitting: no differential equation, only data (the KAN paper's symbolic-discovery examples)."""

from __future__ import annotations

import math

import numpy as np
import torch

from kanpde.geometry import Box
from kanpde.problem import Data, Problem

__all__ = ["fit_exp_sin", "PROBLEMS"]


def fit_exp_sin(n_data: int = 1000, seed: int = 0) -> Problem:
    r"""Fit :math:`f(x_1, x_2) = \exp(\sin(\pi x_1) + x_2^2)` on :math:`[-1, 1]^2` from samples.

    .. math::  u(x_i) = f(x_i) = e^{\sin(\pi x_{i,1}) + x_{i,2}^2}, \qquad x_i \in [-1, 1]^2,\ i = 1..n

    No residual: the loss is the mean square misfit at ``n_data`` points drawn uniformly with
    ``numpy.random.default_rng(seed)`` (the :class:`Data` condition ``data``).  A KAN
    ``[2, 5, 1]`` trained with sparsity prunes to ``[2, 1, 1]``, whose edges are
    :math:`\sin(\pi x_1)`, :math:`x_2^2` and :math:`\exp` (the KAN paper's first example).
    """
    if not (isinstance(n_data, int) and n_data >= 1):
        raise ValueError(f"n_data must be a positive integer, got {n_data!r}")

    def exact(x):
        return torch.exp(torch.sin(math.pi * x[:, 0:1]) + x[:, 1:2] ** 2)

    pts = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n_data, 2))
    values = exact(torch.as_tensor(pts, dtype=torch.float64)).numpy()
    return Problem(
        name="fit_exp_sin", domain=Box([-1.0, -1.0], [1.0, 1.0]), residual=None,
        conditions=(Data(points=pts, values=values, name="data"),), exact=exact, order=0,
        params={"n_data": n_data, "seed": seed}, equation="u = exp(sin(pi x1) + x2^2) (data only)",
        tags=("fitting",), n_interior=n_data, n_boundary=n_data, n_eval=2000,
        budget={"epochs": 200, "optimizer": "lbfgs", "lr": 1e-2}, doc=fit_exp_sin.__doc__)


PROBLEMS = {"fit_exp_sin": fit_exp_sin}
