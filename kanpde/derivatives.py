"""The derivative context: where the operators of :mod:`kanpde.ops` get derivatives from.

A residual is written in mathematical form, ``residual(x, u)``, with plain tensors ``x`` (the
points, physical coordinates) and ``u`` (the network output).  The derivatives it asks for
(``ops.partial(u, x, 0)``, ``ops.laplacian(u, x)``, ...) come from the
:class:`DerivativeContext` that the loss engine opens around each term's evaluation, in the
way ``torch.autograd.forward_ad.dual_level`` scopes dual numbers: nothing is attached to
tensors, and outside any context the operators fall back to plain autograd.

A context knows one output tensor ``u`` and its points ``x`` and answers in one of two ways:

* **jet** -- the model propagated values, first and pure second derivatives forward
  (:mod:`kanpde.models.jet`); derivatives of ``u`` itself are read from those rows, at no cost;
* **autograd** -- ``x`` is a leaf with ``requires_grad``, ``u`` was computed by the plain forward
  pass, and every derivative (of ``u``, of a slice of it, of ``(1 + u**2) * u_x``, mixed or of any
  order) is one cached ``torch.autograd.grad`` call with ``create_graph=True``.

Which of the two a term uses is decided once per run, before sampling, by
:meth:`kanpde.loss.ResidualLoss.plan`: the term is evaluated on a few probe points inside a jet
context that refuses autograd (``autograd=False``); if it asks for something the jet does not
carry (a derivative of a tensor derived from ``u``, a mixed or a third derivative), it raises
:class:`NeedsAutograd` and the term is planned on the autograd path.  So every residual that can
be written with :mod:`kanpde.ops` trains with every model, and the fast path is used where it is
exact.

Extensions plug in here: an output transform (hard constraints, ``u = g + phi * N``) changes the
jet rows before the context is opened; trainable unknowns reach the residual as its third argument
and need nothing from the context.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["DerivativeContext", "Jet", "NeedsAutograd", "NeedsInputGrad", "current"]

_CURRENT: contextvars.ContextVar[DerivativeContext | None] = contextvars.ContextVar("kanpde_derivatives",
                                                                                   default=None)


class NeedsInputGrad(RuntimeError):
    """Raised when an autograd derivative is asked of ``u`` whose ``x`` does not require grad."""


class NeedsAutograd(NeedsInputGrad):
    """Raised by a context that refuses autograd when a derivative is not among its jet rows."""


@dataclass(frozen=True)
class Jet:
    """Propagated derivatives of ``u``: ``rows`` is ``(R, N, m)``, see :mod:`kanpde.models.jet`.

    ``rows[0]`` are the values, ``rows[1 : 1 + d]`` the first derivatives in each input and, for
    ``order == 2``, ``rows[1 + d : 1 + 2 d]`` the pure second derivatives.
    """

    rows: Tensor
    d: int
    order: int


def current() -> DerivativeContext | None:
    """The innermost open derivative context, or ``None``."""
    return _CURRENT.get()


def _column(v: Tensor, component: int) -> Tensor:
    v2 = v.unsqueeze(-1) if v.dim() == 1 else v
    if not 0 <= component < v2.shape[1]:
        raise IndexError(f"component {component} out of range for u with {v2.shape[1]} outputs")
    return v2[:, component]


class DerivativeContext:
    """Derivatives of one output tensor ``u`` (and of tensors derived from it) at points ``x``.

    ``jet`` (optional) holds the propagated derivative rows of ``u``; ``autograd=False`` makes
    every request the jet cannot answer raise :class:`NeedsAutograd` (used to plan a term).
    Use it as a context manager; the operators of :mod:`kanpde.ops` consult the innermost one.
    """

    def __init__(self, x: Tensor | None = None, u: Tensor | None = None, jet: Jet | None = None, *,
                 autograd: bool = True):
        if jet is not None and (x is None or u is None):
            raise ValueError("a jet needs the points x and the output u it belongs to")
        self.x, self.u, self.jet, self.autograd = x, u, jet, autograd
        self._grads: dict[tuple, Tensor] = {}
        self._alive: list[Tensor] = []  # keeps cached tensors alive so their ids stay unique
        self._token: contextvars.Token | None = None

    def __enter__(self) -> DerivativeContext:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *exc) -> None:
        _CURRENT.reset(self._token)
        self._token = None

    def _rows(self, v: Tensor, x: Tensor, order: int) -> Tensor | None:
        """The jet rows if they describe ``v`` at ``x`` up to ``order``, else ``None``."""
        j = self.jet
        if j is not None and v is self.u and x is self.x and j.order >= order:
            return j.rows
        return None

    def _autograd(self, y: Tensor, x: Tensor, key: tuple) -> Tensor:
        """``d(sum y)/dx`` of shape ``(N, d)``, cached under ``key``."""
        g = self._grads.get(key)
        if g is not None:
            return g
        if not self.autograd and x is self.x:
            raise NeedsAutograd("this derivative is not among the propagated (jet) derivatives")
        if not x.requires_grad:
            raise NeedsInputGrad(
                "derivative needs autograd but the input points do not require grad: call "
                "x.requires_grad_(True) before computing u = model(x)")
        g = torch.autograd.grad(y.sum(), x, create_graph=True, allow_unused=True)[0]
        g = torch.zeros_like(x) if g is None else g
        self._grads[key] = g
        return g

    def first(self, v: Tensor, x: Tensor, component: int, i: int) -> Tensor:
        """``dv_c/dx_i`` as an ``(N,)`` tensor."""
        rows = self._rows(v, x, 1)
        if rows is not None:
            return rows[1 + i][:, component]
        self._alive.append(v)
        return self._autograd(_column(v, component), x, ("g", id(v), id(x), component))[:, i]

    def second(self, v: Tensor, x: Tensor, component: int, i: int, k: int) -> Tensor:
        """``d2v_c/(dx_i dx_k)`` as an ``(N,)`` tensor."""
        rows = self._rows(v, x, 2)
        if rows is not None and i == k:
            return rows[1 + self.jet.d + i][:, component]
        a, b = min(i, k), max(i, k)
        if self._rows(v, x, 1) is not None and not self.autograd:
            raise NeedsAutograd("mixed second derivatives are not among the propagated (jet) derivatives")
        first = self.first(v, x, component, a)
        self._alive.append(first)
        return self._autograd(first, x, ("h", id(v), id(x), component, a))[:, b]

    def laplacian(self, v: Tensor, x: Tensor, component: int) -> Tensor | None:
        """Sum of all pure second derivatives from the jet in one reduction, or ``None``."""
        rows = self._rows(v, x, 2)
        if rows is None:
            return None
        d = self.jet.d
        return rows[1 + d : 1 + 2 * d, :, component].sum(0)
