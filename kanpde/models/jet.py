"""Forward-mode derivative propagation ("jets") shared by every model.

A jet of a batch of hidden activations ``h`` (shape ``(N, w)``) with respect to the ``d``
physical inputs is one stacked tensor ``T`` of shape ``(R, N, w)``:

* ``T[0]``                 -- the values ``h``;
* ``T[1 : 1 + d]``         -- first derivatives ``dh/dx_k`` for ``k = 0 .. d-1``;
* ``T[1 + d : 1 + 2 d]``   -- pure second derivatives ``d2h/dx_k2`` (only when ``order == 2``).

So ``R = 1 + d`` for ``order == 1`` and ``R = 1 + 2 d`` for ``order == 2``.  Mixed second
derivatives are not carried; operators that need them fall back to autograd.

A model that implements ``forward_jet(T, d, order) -> T`` lets the loss engine compute the
residual's derivatives in one forward pass and one ordinary backward pass, instead of
differentiating twice backwards.  Every layer type has a closed form:

* linear map ``y = h W^T + b``: every row is multiplied by ``W^T``; the bias only enters row 0;
* elementwise ``y = f(h)``: ``y' = f'(h) h'`` and ``y'' = f''(h) h'^2 + f'(h) h''``.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["seed_jet", "linear_jet", "elementwise_jet"]


def seed_jet(z: Tensor, scale: Tensor, order: int) -> Tensor:
    """Jet of the affine input map ``z = (x - shift) * scale`` with respect to ``x``.

    ``z`` has shape ``(N, d)``; ``scale`` shape ``(d,)``.  The first derivatives are the diagonal
    ``dz_i/dx_k = scale_i * delta_ik`` and the second derivatives vanish.
    """
    n, d = z.shape
    rows = [z.unsqueeze(0)]
    if order >= 1:
        eye = torch.diag(scale.to(z)).unsqueeze(1).expand(d, n, d)
        rows.append(eye)
    if order >= 2:
        rows.append(z.new_zeros(d, n, d))
    return torch.cat(rows, 0)


def linear_jet(T: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """Jet of ``h @ weight.T + bias`` given the jet ``T`` of ``h``."""
    z = T @ weight.t()
    if bias is None:
        return z
    return torch.cat([z[:1] + bias, z[1:]], 0)


def elementwise_jet(T: Tensor, d: int, order: int, f0: Tensor, f1: Tensor, f2: Tensor | None) -> Tensor:
    """Jet of ``f(h)`` given the jet ``T`` of ``h`` and ``f(h), f'(h), f''(h)`` at ``h = T[0]``."""
    if order == 0:
        return f0.unsqueeze(0)
    d1 = T[1 : 1 + d]
    rows = [f0.unsqueeze(0), f1 * d1]
    if order >= 2:
        d2 = T[1 + d : 1 + 2 * d]
        rows.append(f2 * d1 * d1 + f1 * d2)
    return torch.cat(rows, 0)
