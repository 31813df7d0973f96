"""Fourier basis: ``cos(w_k t), sin(w_k t)`` for ``k = 1 .. K`` with ``w_k = k pi / 2``.

``t`` maps the grid range affinely onto ``[-1, 1]`` (no tanh: the functions are bounded anyway),
so ``k = 1`` spans half a period over the range (edges need not be periodic) and ``k = 2`` a full
one.  ``n_basis = 2 K`` (cosines first); the constant is left to the layer's other edges and the
base branch.  ``degree`` is ``K``.  Derivatives stay in the span: ``d/dt cos(w t) = -w sin(w t)``,
``d/dt sin(w t) = w cos(w t)`` (a :class:`~kanpde.models.bases.base.LinearDerivativeBasis`).

Refine adds frequencies ``K + 1 .. K'`` with zero coefficients: the function is unchanged
exactly.  There is no grid to update.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from kanpde.models.bases.base import InputMap, LinearDerivativeBasis, check_size

__all__ = ["FourierBasis"]


class FourierBasis(LinearDerivativeBasis):
    """``[cos(w_1 t) .. cos(w_K t), sin(w_1 t) .. sin(w_K t)]`` on the affinely mapped input."""

    name = "fourier"
    size_name = "degree"

    def __init__(self, in_features: int, degree: int = 4, grid_range: tuple[float, float] = (-1.0, 1.0)):
        super().__init__(in_features, grid_range)
        self.degree = check_size("degree (number of frequencies)", degree)
        self.map = InputMap("affine", self.grid_range)

    @property
    def n_basis(self) -> int:
        """``2 K``."""
        return 2 * self.degree

    @property
    def size(self) -> int:
        """Number of frequencies ``K``."""
        return self.degree

    def _omega(self, like: Tensor) -> Tensor:
        return torch.arange(1, self.degree + 1, dtype=like.dtype, device=like.device) * (math.pi / 2)

    def values_t(self, t: Tensor) -> Tensor:
        """``[cos(w_k t)], [sin(w_k t)]`` stacked last, ``(*t.shape, 2 K)``."""
        theta = t.unsqueeze(-1) * self._omega(t)
        return torch.cat([torch.cos(theta), torch.sin(theta)], -1)

    def derivative_matrix_t(self) -> Tensor:
        """``d/dt cos(w t) = -w sin(w t)``, ``d/dt sin(w t) = w cos(w t)``."""
        K = self.degree
        w = torch.arange(1, K + 1, dtype=torch.float64) * (math.pi / 2)
        D = torch.zeros(2 * K, 2 * K, dtype=torch.float64)
        D[:K, K:] = torch.diag(-w)
        D[K:, :K] = torch.diag(w)
        return D

    @torch.no_grad()
    def refine_(self, size: int, coef: Tensor) -> Tensor:
        """More frequencies, up to ``size``: zero coefficients for the new ones (exact)."""
        K, I, O = self.degree, coef.shape[0], coef.shape[2]
        pad = coef.new_zeros(I, size - K, O)
        self.degree = int(size)
        return torch.cat([coef[:, :K], pad, coef[:, K:], pad], 1).to(torch.float64)

    def edge_flops(self) -> int:
        """``2 + 11 K + 2 (2K) + 3``: the affine map, per frequency a product and a sine and cosine
        (5 each), the combination with the coefficients, the base branch's weight, add and sum."""
        return 2 + 11 * self.degree + 2 * self.n_basis + 3

    def config(self) -> dict:
        """``degree`` and ``grid_range``."""
        return {"degree": self.degree, "grid_range": self.grid_range}
