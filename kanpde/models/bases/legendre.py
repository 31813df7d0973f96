"""Legendre basis: ``P_0(t) .. P_D(t)`` with ``t = tanh(x)`` by default.

``P_0 = 1``, ``P_1 = t``, ``(n + 1) P_{n+1} = (2n + 1) t P_n - n P_{n-1}``.  Derivatives:
``P_n' = sum_{j < n, n - j odd} (2 j + 1) P_j``.  Orthogonal on
``[-1, 1]`` with unit weight, ``P_n(1) = 1``.  See :mod:`kanpde.models.bases.polynomial` for the
input map, refine (degree elevation, exact) and the absence of a grid.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanpde.models.bases.polynomial import PolynomialBasis

__all__ = ["LegendreBasis"]


class LegendreBasis(PolynomialBasis):
    """Legendre polynomials up to ``degree`` on ``t = input_map(x)``."""

    name = "legendre"

    def step(self, n: int, t: Tensor, V: Tensor, V_prev: Tensor) -> Tensor:
        """``P_{n+1} = ((2n+1) t P_n - n P_{n-1}) / (n+1)``."""
        return torch.addcmul(V_prev * (-n / (n + 1)), t, V, value=(2 * n + 1) / (n + 1))

    @staticmethod
    def derivative_matrix(degree: int) -> Tensor:
        """``D[n, j] = 2 j + 1`` for ``j < n`` with ``n - j`` odd, zero otherwise."""
        D = torch.zeros(degree + 1, degree + 1, dtype=torch.float64)
        for n in range(1, degree + 1):
            for j in range(n - 1, -1, -2):
                D[n, j] = 2 * j + 1
        return D

    def recurrence_flops(self) -> int:
        """``a_n t P_n - b_n P_{n-1}`` with constant ``a_n, b_n``: 4 FLOPs."""
        return 4
