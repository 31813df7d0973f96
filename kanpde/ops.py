"""Derivative operators for residuals: stateless, batched, differentiable.

Every operator takes the network output ``u`` (shape ``(N, m)`` or ``(N,)``) -- or any tensor
computed from it -- and the points ``x`` (shape ``(N, d)``) it was computed from, and returns
derivatives with respect to the physical coordinates, keeping the graph (``create_graph=True``)
so a loss built from them can be trained.

Where the derivatives come from is the business of the open
:class:`~kanpde.derivatives.DerivativeContext` (propagated jets or cached autograd, decided once
per term by the loss engine); outside any context the operators use plain autograd, so ``x`` must
require grad.  Pass ``component=`` to pick an output of a vector-valued ``u`` rather than slicing
``u``: a slice is differentiated by autograd, which is exact but slower than the propagated rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from kanpde.derivatives import DerivativeContext, NeedsInputGrad, current

__all__ = [
    "grad", "jacobian", "partial", "laplacian", "hessian", "divergence", "time_derivative",
    "NeedsInputGrad",
]


def _ctx() -> DerivativeContext:
    """The open derivative context, or a fresh autograd one for this call."""
    return current() or DerivativeContext()


def _col(t: Tensor) -> Tensor:
    return t.unsqueeze(-1) if t.dim() == 1 else t


def _component(u: Tensor, component: int) -> Tensor:
    u2 = _col(u)
    if not 0 <= component < u2.shape[1]:
        raise IndexError(f"component {component} out of range for u with {u2.shape[1]} outputs")
    return u2[:, component]


def _check_dim(x: Tensor, i: int) -> int:
    d = x.shape[-1]
    if not -d <= i < d:
        raise IndexError(f"input dimension {i} out of range for x with {d} coordinates")
    return i % d


def grad(u: Tensor, x: Tensor, component: int = 0) -> Tensor:
    """Gradient of output ``component`` of ``u`` with respect to ``x``, shape ``(N, d)``."""
    _component(u, component)
    c = _ctx()
    return torch.stack([c.first(u, x, component, i) for i in range(x.shape[-1])], 1)


def jacobian(u: Tensor, x: Tensor) -> Tensor:
    """Jacobian ``du_c/dx_i`` of all outputs, shape ``(N, m, d)``."""
    m = _col(u).shape[1]
    return torch.stack([grad(u, x, c) for c in range(m)], 1)


def partial(u: Tensor, x: Tensor, i: int, order: int = 1, component: int = 0) -> Tensor:
    """``order``-th partial derivative of output ``component`` in input ``i``, shape ``(N, 1)``."""
    i = _check_dim(x, i)
    if not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be a non-negative integer, got {order!r}")
    if order == 0:
        return _component(u, component).unsqueeze(1)
    _component(u, component)
    c = _ctx()
    if order == 1:
        return c.first(u, x, component, i).unsqueeze(1)
    y = c.second(u, x, component, i, i)
    for _ in range(order - 2):  # higher orders: one more autograd pass each
        y = c.first(y, x, 0, i)
    return y.unsqueeze(1)


def laplacian(u: Tensor, x: Tensor, component: int = 0, dims: Sequence[int] | None = None) -> Tensor:
    """Sum of pure second derivatives over ``dims`` (default: all inputs), shape ``(N, 1)``."""
    dims = range(x.shape[-1]) if dims is None else [_check_dim(x, i) for i in dims]
    _component(u, component)
    c = _ctx()
    if len(dims) == x.shape[-1]:
        fast = c.laplacian(u, x, component)
        if fast is not None:
            return fast.unsqueeze(1)
    return sum(c.second(u, x, component, i, i) for i in dims).unsqueeze(1)


def hessian(u: Tensor, x: Tensor, component: int = 0) -> Tensor:
    """Hessian of output ``component``, shape ``(N, d, d)``."""
    _component(u, component)
    d, c = x.shape[-1], _ctx()
    rows = [[c.second(u, x, component, i, k) for k in range(d)] for i in range(d)]
    return torch.stack([torch.stack(r, 1) for r in rows], 1)


def divergence(v: Tensor, x: Tensor) -> Tensor:
    """Divergence ``sum_i dv_i/dx_i`` of a field with as many outputs as inputs, shape ``(N, 1)``."""
    m, d = _col(v).shape[1], x.shape[-1]
    if m != d:
        raise ValueError(f"divergence needs a field with {d} components (one per input), got {m}")
    c = _ctx()
    return sum(c.first(v, x, i, i) for i in range(d)).unsqueeze(1)


def time_derivative(u: Tensor, x: Tensor, order: int = 1, component: int = 0) -> Tensor:
    """Derivative in time (the last coordinate), shape ``(N, 1)``."""
    return partial(u, x, x.shape[-1] - 1, order, component)
