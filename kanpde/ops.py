"""Derivative operators for residuals: stateless, batched, differentiable.

Every operator takes the network output ``u`` (shape ``(N, m)`` or ``(N,)``) and the points
``x`` (shape ``(N, d)``) it was computed from, and returns derivatives with respect to the
physical coordinates, keeping the graph (``create_graph=True``) so a loss built from them can be
trained.

Two paths give identical numbers:

* **autograd** -- for any ``u`` computed from an ``x`` with ``requires_grad=True``; first and
  second derivatives are cached on ``u`` so a residual that asks for ``u_x`` twice pays once;
* **jet** -- during training the loss engine propagates values, first and pure second
  derivatives forward through the model (``kanpde.models.jet``) and attaches them to ``u``;
  operators then read them directly.  Mixed second derivatives are computed by one autograd
  pass over the propagated first derivatives.

Pass ``component=`` to pick an output of a vector-valued ``u`` rather than slicing ``u``: a
slice (or any tensor computed from ``u``) is differentiated by autograd, which is exact but
slower than reading the propagated derivatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "grad", "jacobian", "partial", "laplacian", "hessian", "divergence", "time_derivative",
    "Jet", "NeedsInputGrad",
]


class NeedsInputGrad(RuntimeError):
    """Raised when an autograd derivative is asked of ``u`` whose ``x`` does not require grad."""


@dataclass
class Jet:
    """Derivatives of ``u`` propagated forward, attached to ``u`` as ``u._kp_jet``.

    ``T`` holds rows ``[u, du/dx_0 .. du/dx_{d-1}, d2u/dx_0^2 ..]`` each ``(N, m)`` (first rows
    only for ``order`` 1, values only for ``order`` 0); ``x`` is the tensor the residual receives.
    """

    T: Tensor
    d: int
    order: int
    x: Tensor


def _col(t: Tensor) -> Tensor:
    return t.unsqueeze(-1) if t.dim() == 1 else t


def _component(u: Tensor, component: int) -> Tensor:
    u2 = _col(u)
    if not 0 <= component < u2.shape[1]:
        raise IndexError(f"component {component} out of range for u with {u2.shape[1]} outputs")
    return u2[:, component]


def _jet(u: Tensor, x: Tensor) -> Jet | None:
    j = getattr(u, "_kp_jet", None)
    return j if j is not None and j.x is x else None


def _cache(u: Tensor) -> dict:
    c = getattr(u, "_kp_cache", None)
    if c is None:
        c = {}
        u._kp_cache = c
    return c


def _autograd(y: Tensor, x: Tensor) -> Tensor:
    """d(sum y)/dx, keeping the graph."""
    if not x.requires_grad:
        raise NeedsInputGrad(
            "derivative needs autograd but the input points do not require grad: call "
            "x.requires_grad_(True) before computing u = model(x)")
    g = torch.autograd.grad(y.sum(), x, create_graph=True, allow_unused=True)[0]
    return torch.zeros_like(x) if g is None else g


def _first(u: Tensor, x: Tensor, component: int, i: int) -> Tensor:
    """du_c/dx_i as an (N,) tensor."""
    j = _jet(u, x)
    if j is not None and j.order >= 1:
        return j.T[1 + i][:, component]
    key = ("g", component)
    c = _cache(u)
    if key not in c:
        c[key] = _autograd(_component(u, component), x)
    return c[key][:, i]


def _second(u: Tensor, x: Tensor, component: int, i: int, k: int) -> Tensor:
    """d2u_c/(dx_i dx_k) as an (N,) tensor."""
    j = _jet(u, x)
    if j is not None and j.order >= 2 and i == k:
        return j.T[1 + j.d + i][:, component]
    a, b = min(i, k), max(i, k)
    key = ("h", component, a)
    c = _cache(u)
    if key not in c:
        first = j.T[1 + a][:, component] if j is not None and j.order >= 1 else _first(u, x, component, a)
        c[key] = _autograd(first, x)
    return c[key][:, b]


def _check_dim(x: Tensor, i: int) -> int:
    d = x.shape[-1]
    if not -d <= i < d:
        raise IndexError(f"input dimension {i} out of range for x with {d} coordinates")
    return i % d


def grad(u: Tensor, x: Tensor, component: int = 0) -> Tensor:
    """Gradient of output ``component`` of ``u`` with respect to ``x``, shape ``(N, d)``."""
    return torch.stack([_first(u, x, component, i) for i in range(x.shape[-1])], 1)


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
    if order == 1:
        return _first(u, x, component, i).unsqueeze(1)
    y = _second(u, x, component, i, i)
    for _ in range(order - 2):
        y = _autograd(y, x)[:, i]
    return y.unsqueeze(1)


def laplacian(u: Tensor, x: Tensor, component: int = 0, dims: Sequence[int] | None = None) -> Tensor:
    """Sum of pure second derivatives over ``dims`` (default: all inputs), shape ``(N, 1)``."""
    dims = range(x.shape[-1]) if dims is None else [_check_dim(x, i) for i in dims]
    j = _jet(u, x)
    if j is not None and j.order >= 2 and len(dims) == j.d:
        return j.T[1 + j.d :, :, component].sum(0).unsqueeze(1)
    return sum(_second(u, x, component, i, i) for i in dims).unsqueeze(1)


def hessian(u: Tensor, x: Tensor, component: int = 0) -> Tensor:
    """Hessian of output ``component``, shape ``(N, d, d)``."""
    d = x.shape[-1]
    rows = [[_second(u, x, component, i, k) for k in range(d)] for i in range(d)]
    return torch.stack([torch.stack(r, 1) for r in rows], 1)


def divergence(v: Tensor, x: Tensor) -> Tensor:
    """Divergence ``sum_i dv_i/dx_i`` of a field with as many outputs as inputs, shape ``(N, 1)``."""
    m, d = _col(v).shape[1], x.shape[-1]
    if m != d:
        raise ValueError(f"divergence needs a field with {d} components (one per input), got {m}")
    return sum(_first(v, x, i, i) for i in range(d)).unsqueeze(1)


def time_derivative(u: Tensor, x: Tensor, order: int = 1, component: int = 0) -> Tensor:
    """Derivative in time (the last coordinate), shape ``(N, 1)``."""
    return partial(u, x, x.shape[-1] - 1, order, component)
