"""Legendre basis: ``P_0(t) .. P_D(t)`` with ``t = tanh(x)`` by default.

``P_0 = 1``, ``P_1 = t``, ``(n + 1) P_{n+1} = (2n + 1) t P_n - n P_{n-1}``; differentiated ``m``
times, ``(n + 1) P^(m)_{n+1} = (2n + 1) (t P^(m)_n + m P^(m-1)_n) - n P^(m)_{n-1}``.  Orthogonal on
``[-1, 1]`` with unit weight, ``P_n(1) = 1``.  See :mod:`kanpde.models.bases.polynomial` for the
input map, refine (degree elevation, exact) and the absence of a grid.
"""

from __future__ import annotations

from torch import Tensor

from kanpde.models.bases.polynomial import PolynomialBasis

__all__ = ["LegendreBasis"]


class LegendreBasis(PolynomialBasis):
    """Legendre polynomials up to ``degree`` on ``t = input_map(x)``."""

    name = "legendre"

    def step(self, n: int, t: Tensor, V: Tensor, V_prev: Tensor, shifted, m) -> Tensor:
        """``P^(m)_{n+1} = ((2n+1) (t P^(m)_n + m P^(m-1)_n) - n P^(m)_{n-1}) / (n+1)``."""
        return ((2 * n + 1) * (t * V + m * shifted) - n * V_prev) / (n + 1)

    def recurrence_flops(self) -> int:
        """``((2n+1) t P_n - n P_{n-1}) / (n+1)``: 5 FLOPs."""
        return 5
