"""Shared machinery of the orthogonal-polynomial bases (Chebyshev, Legendre): ``P_0 .. P_D`` of ``t(x)``.

A subclass gives the three-term recurrence of its polynomials (the values), the exact
differentiation matrix of its basis (``P_c' = sum_j D[c, j] P_j``, so the ``m``-th derivatives are
the values times ``D^m``: one batched product for all levels) and its FLOP count.  The argument ``t`` comes from an
:class:`~kanpde.models.bases.base.InputMap` (``tanh`` by default, or ``affine`` on the grid
range); derivatives with respect to ``x`` follow by the chain rule (Faa di Bruno to third order).

Refine = degree elevation: the new polynomials ``P_{D+1} .. P_{D'}`` get zero coefficients, so the
function is unchanged exactly (the old space is a subspace of the new one).  There is no grid to
update: ``update_grid_`` raises.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanpde.models.bases.base import InputMap, LinearDerivativeBasis, check_size

__all__ = ["PolynomialBasis"]


class PolynomialBasis(LinearDerivativeBasis):
    """``P_0(t) .. P_D(t)`` with ``t = input_map(x)``; subclasses define :meth:`step`."""

    size_name = "degree"
    default_input_map = "tanh"

    def __init__(self, in_features: int, degree: int = 7, input_map: str | None = None,
                 grid_range: tuple[float, float] = (-1.0, 1.0)):
        super().__init__(in_features, grid_range)
        self.degree = check_size("degree", degree)
        self.map = InputMap(input_map or self.default_input_map, self.grid_range)

    @property
    def n_basis(self) -> int:
        """``D + 1``."""
        return self.degree + 1

    @property
    def size(self) -> int:
        """The degree ``D``."""
        return self.degree

    def prepare(self, t: Tensor) -> Tensor:
        """What :meth:`step` receives instead of ``t`` (e.g. ``2 t``, computed once); ``t`` by default."""
        return t

    def step(self, n: int, t: Tensor, V: Tensor, V_prev: Tensor) -> Tensor:
        """``P_{n+1}(t)`` from ``P_n`` (``V``) and ``P_{n-1}`` (``V_prev``); ``t`` as :meth:`prepare` made it."""
        raise NotImplementedError

    @staticmethod
    def derivative_matrix(degree: int) -> Tensor:
        """``D`` ``(D+1, D+1)`` float64 with ``P_c' = sum_j D[c, j] P_j`` (exact, integers)."""
        raise NotImplementedError

    def values_t(self, t: Tensor) -> Tensor:
        """``[P_0(t) .. P_D(t)]`` by the recurrence, stacked last: ``(*t.shape, D + 1)``."""
        V, t2 = [torch.ones_like(t), t], self.prepare(t)
        for n in range(1, self.degree):
            V.append(self.step(n, t2, V[n], V[n - 1]))
        return torch.stack(V[: self.degree + 1], -1)

    def derivative_matrix_t(self) -> Tensor:
        """The differentiation matrix at the current degree."""
        return self.derivative_matrix(self.degree)

    @torch.no_grad()
    def refine_(self, size: int, coef: Tensor) -> Tensor:
        """Degree elevation to ``size``: zero coefficients for the new polynomials (exact)."""
        pad = coef.new_zeros(coef.shape[0], size - self.degree, coef.shape[2])
        self.degree = int(size)
        return torch.cat([coef, pad], 1).to(torch.float64)

    def recurrence_flops(self) -> int:
        """FLOPs of one recurrence step (one polynomial at one point)."""
        raise NotImplementedError

    def edge_flops(self) -> int:
        """``map + (D - 1) r + 2 (D + 1) + 3``: the input map, ``D - 1`` recurrence steps of ``r``
        FLOPs, the combination with the coefficients and the base branch's weight, add and sum."""
        return self.map.flops + max(self.degree - 1, 0) * self.recurrence_flops() + 2 * self.n_basis + 3

    def config(self) -> dict:
        """``degree``, ``input_map`` and ``grid_range``."""
        return {"degree": self.degree, "input_map": self.map.kind, "grid_range": self.grid_range}
