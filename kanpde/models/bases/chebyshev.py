"""Chebyshev basis (cPIKAN, Shukla et al. 2024): ``T_0(t) .. T_D(t)`` with ``t = tanh(x)`` by default.

``T_0 = 1``, ``T_1 = t``, ``T_{n+1} = 2 t T_n - T_{n-1}``; differentiated ``m`` times,
``T^(m)_{n+1} = 2 t T^(m)_n + 2 m T^(m-1)_n - T^(m)_{n-1}``, so values and the first three
derivatives come from one recurrence over stacked levels (stable for any degree on ``[-1, 1]``,
unlike the monomial form).  See :mod:`kanpde.models.bases.polynomial` for the input map, refine
(degree elevation, exact) and the absence of a grid.
"""

from __future__ import annotations

from torch import Tensor

from kanpde.models.bases.polynomial import PolynomialBasis

__all__ = ["ChebyshevBasis"]


class ChebyshevBasis(PolynomialBasis):
    """Chebyshev polynomials of the first kind up to ``degree`` on ``t = input_map(x)``."""

    name = "chebyshev"

    def step(self, n: int, t: Tensor, V: Tensor, V_prev: Tensor, shifted, m) -> Tensor:
        """``T^(m)_{n+1} = 2 t T^(m)_n + 2 m T^(m-1)_n - T^(m)_{n-1}``."""
        return 2 * t * V + 2 * m * shifted - V_prev

    def recurrence_flops(self) -> int:
        """``2 t T_n - T_{n-1}``: 3 FLOPs."""
        return 3
