"""Chebyshev basis (cPIKAN, Shukla et al. 2024): ``T_0(t) .. T_D(t)`` with ``t = tanh(x)`` by default.

``T_0 = 1``, ``T_1 = t``, ``T_{n+1} = 2 t T_n - T_{n-1}`` (stable for any degree on ``[-1, 1]``,
unlike the monomial form). Derivatives: ``T_n' = 2 n sum_{j < n, n - j odd} T_j / c_j`` with
``c_0 = 2``, ``c_j = 1`` otherwise (from ``T_n' = n U_{n-1}``). See :mod:`kanpde.models.bases.polynomial`
for the input map, refine (degree elevation, exact) and the absence of a grid.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanpde.models.bases.polynomial import PolynomialBasis

__all__ = ["ChebyshevBasis"]


class ChebyshevBasis(PolynomialBasis):
    """Chebyshev polynomials of the first kind up to ``degree`` on ``t = input_map(x)``."""

    name = "chebyshev"

    def prepare(self, t: Tensor) -> Tensor:
        """``2 t``, once per evaluation."""
        return 2 * t

    def step(self, n: int, t2: Tensor, V: Tensor, V_prev: Tensor) -> Tensor:
        """``T_{n+1} = 2 t T_n - T_{n-1}`` (``t2 = 2 t``)."""
        return torch.addcmul(-V_prev, t2, V)

    @staticmethod
    def derivative_matrix(degree: int) -> Tensor:
        """``D[n, j] = 2 n / c_j`` for ``j < n`` with ``n - j`` odd (``c_0 = 2``, else 1), zero otherwise."""
        D = torch.zeros(degree + 1, degree + 1, dtype=torch.float64)
        for n in range(1, degree + 1):
            for j in range(n - 1, -1, -2):
                D[n, j] = 2 * n / (2 if j == 0 else 1)
        return D

    def recurrence_flops(self) -> int:
        """``2 t T_n - T_{n-1}``: 3 FLOPs."""
        return 3
