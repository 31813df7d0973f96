"""Shared machinery of the orthogonal-polynomial bases (Chebyshev, Legendre): ``P_0 .. P_D`` of ``t(x)``.

A subclass gives the three-term recurrence of its polynomials, differentiated ``m`` times (one
rule for every derivative level at once), and its FLOP count.  The argument ``t`` comes from an
:class:`~kanpde.models.bases.base.InputMap` (``tanh`` by default, or ``affine`` on the grid
range); derivatives with respect to ``x`` follow by the chain rule (:func:`compose_levels`).

Refine = degree elevation: the new polynomials ``P_{D+1} .. P_{D'}`` get zero coefficients, so the
function is unchanged exactly (the old space is a subspace of the new one).  There is no grid to
update: ``update_grid_`` raises.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanpde.models.bases.base import Basis, InputMap, check_size, compose_levels

__all__ = ["PolynomialBasis"]


class PolynomialBasis(Basis):
    """``P_0(t) .. P_D(t)`` with ``t = input_map(x)``; subclasses define :meth:`step`."""

    size_name = "degree"
    default_input_map = "tanh"

    def __init__(self, in_features: int, degree: int = 5, input_map: str | None = None,
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

    def step(self, n: int, t: Tensor, V: Tensor, V_prev: Tensor, shifted: Tensor, m) -> Tensor:
        """``P^(m)_{n+1}`` from ``P^(m)_n`` (``V``), ``P^(m)_{n-1}`` (``V_prev``), ``P^(m-1)_n`` (``shifted``)."""
        raise NotImplementedError

    def _polys(self, t: Tensor, L: int) -> list[Tensor]:
        """``[P_0 .. P_D]`` with their ``t``-derivatives stacked in front: each ``(L, *t.shape)``."""
        one = torch.ones_like(t)
        if L == 1:
            V = [one.unsqueeze(0), t.unsqueeze(0)]
        else:
            z = torch.zeros((L - 1, *t.shape), dtype=t.dtype, device=t.device)
            V = [torch.cat([one.unsqueeze(0), z]), torch.cat([t.unsqueeze(0), one.unsqueeze(0), z[1:]])]
        m = torch.arange(L, dtype=t.dtype, device=t.device).view(L, *([1] * t.dim()))
        for n in range(1, self.degree):
            shifted = torch.cat([torch.zeros_like(V[n][:1]), V[n][:-1]]) if L > 1 else 0.0
            V.append(self.step(n, t, V[n], V[n - 1], shifted, m))
        return V[: self.degree + 1]

    def values(self, x: Tensor) -> Tensor:
        """``P_c(t(x))``: ``(N, in) -> (N, in, D + 1)`` (differentiable)."""
        return torch.stack([v[0] for v in self._polys(self.map(x), 1)], -1)

    def levels(self, hT: Tensor, n: int) -> Tensor:
        """Values and ``x``-derivatives at ``hT`` ``(in, N)``: padded ``(in, n, N, D + 3)``."""
        g = self.map.levels(hT, n)
        Q = torch.stack(self._polys(g[0], n), -1)  # (n, in, N, D+1)
        g = [v.unsqueeze(-1) if isinstance(v, Tensor) else v for v in g]
        return self.padded(compose_levels(list(Q.unbind(0)), g), hT)

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
