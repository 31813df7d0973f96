"""Symbolic KAN edges: a library of 1-D functions and the per-layer store of snapped edges.

A snapped ("symbolic") edge ``i -> j`` evaluates ``c f(a x_i + b) + d`` with trainable
``(a, b, c, d)`` instead of its spline.  Every library function gives its value and first two
derivatives as differentiable torch expressions, so a symbolic edge works in the plain forward
pass (derivatives by autograd) and in a forward jet, where with ``u = a h + b``

    y = c f(u) + d,   y' = c a f'(u) h',   y'' = c a^2 f''(u) h'^2 + c a f'(u) h''.

Functions with singularities are evaluated in guarded ("safe") forms that agree with the exact
function away from the singularity and stay finite and differentiable everywhere:
``1/x -> x / (x^2 + eps^2)``, ``1/x^2 -> 1 / (x^2 + eps^2)``, ``sqrt`` and ``log`` clamp their
argument at ``eps`` from below; ``exp`` caps its argument at 60 (so that a wild optimizer step gives
a large loss rather than ``inf``).  The fit in :mod:`kanpde.interpret` only accepts ``(a, b)`` that
keep the argument inside the function's domain on the data, where the safe and exact forms agree.

The sympy form of each function is built lazily (sympy is only needed by ``formula``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["SymbolicFunction", "LIBRARY", "get_function", "SymbolicEdges", "SymbolicLayerMixin"]

_EPS = 1e-6
_EXP_MAX = 60.0  # exp's argument is capped here, so a wild optimizer step gives a large loss, not inf/nan


@dataclass(frozen=True)
class SymbolicFunction:
    """A library entry: ``levels(u, n)`` gives ``[f, f', f''][:n]``; ``sympy(sp, u)`` the formula."""

    name: str
    complexity: int
    levels: Callable[[Tensor, int], list[Tensor]]
    sympy: Callable
    domain: Callable[[Tensor, Tensor], Tensor] | None = None  # ok(umin, umax) -> bool tensor
    value: Callable[[Tensor], Tensor] | None = None  # f alone (cheaper than levels(u, 1)[0])

    def __call__(self, u: Tensor) -> Tensor:
        return self.value(u) if self.value is not None else self.levels(u, 1)[0]


def _poly(p: int):
    def levels(u, n):
        if p == 1:
            out = [u, torch.ones_like(u), torch.zeros_like(u)]
        elif p == 2:
            out = [u * u, 2 * u, torch.full_like(u, 2.0)]
        else:
            out = [u**p, p * u ** (p - 1), p * (p - 1) * u ** (p - 2)]
        return out[:n]

    return levels


def _zero(u, n):
    z = torch.zeros_like(u)
    return [z] * n


def _recip(u, n):
    q = u * u + _EPS**2
    return [u / q, (_EPS**2 - u * u) / (q * q), 2 * u * (u * u - 3 * _EPS**2) / (q * q * q)][:n]


def _recip2(u, n):
    q = u * u + _EPS**2
    return [1 / q, -2 * u / (q * q), (6 * u * u - 2 * _EPS**2) / (q * q * q)][:n]


def _sqrt(u, n):
    inside = u > _EPS
    s = torch.sqrt(u.clamp_min(_EPS))
    zero = torch.zeros_like(u)
    return [s, torch.where(inside, 0.5 / s, zero), torch.where(inside, -0.25 / (s * s * s), zero)][:n]


def _log(u, n):
    inside = u > _EPS
    v = u.clamp_min(_EPS)
    zero = torch.zeros_like(u)
    return [torch.log(v), torch.where(inside, 1 / v, zero), torch.where(inside, -1 / (v * v), zero)][:n]


def _exp(u, n):
    e = torch.exp(u.clamp_max(_EXP_MAX))
    return [e] * n


def _sin(u, n):
    s, c = torch.sin(u), torch.cos(u)
    return [s, c, -s][:n]


def _cos(u, n):
    s, c = torch.sin(u), torch.cos(u)
    return [c, -s, -c][:n]


def _tan(u, n):
    t = torch.tan(u)
    sec2 = 1 + t * t
    return [t, sec2, 2 * t * sec2][:n]


def _tanh(u, n):
    t = torch.tanh(u)
    s = 1 - t * t
    return [t, s, -2 * t * s][:n]


def _sigmoid(u, n):
    s = torch.sigmoid(u)
    q = s * (1 - s)
    return [s, q, q * (1 - 2 * s)][:n]


def _gaussian(u, n):
    g = torch.exp(-u * u)
    return [g, -2 * u * g, (4 * u * u - 2) * g][:n]


def _abs(u, n):
    return [torch.abs(u), torch.sign(u), torch.zeros_like(u)][:n]


def _sgn(u, n):
    return [torch.sign(u), torch.zeros_like(u), torch.zeros_like(u)][:n]


def _arctan(u, n):
    q = 1 + u * u
    return [torch.atan(u), 1 / q, -2 * u / (q * q)][:n]


def _positive(lo, hi):
    return lo > 0


def _one_sign(lo, hi):
    return (lo > 0) | (hi < 0)


def _tan_branch(lo, hi):
    return (lo > -math.pi / 2 + 1e-3) & (hi < math.pi / 2 - 1e-3)


_ENTRIES = [  # name, complexity, levels, value (or None: levels(u, 1)[0]), sympy, domain
    ("0", 0, _zero, torch.zeros_like, lambda sp, u: sp.Integer(0), None),
    ("x", 1, _poly(1), lambda u: u, lambda sp, u: u, None),
    ("x^2", 2, _poly(2), lambda u: u * u, lambda sp, u: u**2, None),
    ("x^3", 3, _poly(3), lambda u: u**3, lambda sp, u: u**3, None),
    ("x^4", 4, _poly(4), lambda u: u**4, lambda sp, u: u**4, None),
    ("1/x", 2, _recip, lambda u: u / (u * u + _EPS**2), lambda sp, u: 1 / u, _one_sign),
    ("1/x^2", 3, _recip2, lambda u: 1 / (u * u + _EPS**2), lambda sp, u: 1 / u**2, _one_sign),
    ("sqrt", 2, _sqrt, lambda u: torch.sqrt(u.clamp_min(_EPS)), lambda sp, u: sp.sqrt(u), _positive),
    ("exp", 2, _exp, lambda u: torch.exp(u.clamp_max(_EXP_MAX)), lambda sp, u: sp.exp(u), None),
    ("log", 2, _log, lambda u: torch.log(u.clamp_min(_EPS)), lambda sp, u: sp.log(u), _positive),
    ("sin", 2, _sin, torch.sin, lambda sp, u: sp.sin(u), None),
    ("cos", 2, _cos, torch.cos, lambda sp, u: sp.cos(u), None),
    ("tan", 3, _tan, torch.tan, lambda sp, u: sp.tan(u), _tan_branch),
    ("tanh", 3, _tanh, torch.tanh, lambda sp, u: sp.tanh(u), None),
    ("sigmoid", 3, _sigmoid, torch.sigmoid, lambda sp, u: 1 / (1 + sp.exp(-u)), None),
    ("gaussian", 3, _gaussian, lambda u: torch.exp(-u * u), lambda sp, u: sp.exp(-(u**2)), None),
    ("abs", 3, _abs, torch.abs, lambda sp, u: sp.Abs(u), None),
    ("sgn", 3, _sgn, torch.sign, lambda sp, u: sp.sign(u), None),
    ("arctan", 4, _arctan, torch.atan, lambda sp, u: sp.atan(u), None),
]

#: name -> :class:`SymbolicFunction`; the default library of ``suggest_symbolic``/``auto_symbolic``
LIBRARY: dict[str, SymbolicFunction] = {n: SymbolicFunction(n, c, f, s, dom, v) for n, c, f, v, s, dom in _ENTRIES}


def get_function(name: str) -> SymbolicFunction:
    """The library function ``name`` (raises with the known names otherwise)."""
    if name not in LIBRARY:
        raise ValueError(f"unknown symbolic function {name!r}; known: {list(LIBRARY)}")
    return LIBRARY[name]


class SymbolicEdges(nn.Module):
    """The snapped edges of one KAN layer.

    ``mask`` ``(in, out)``: 1 where the edge is symbolic; ``affine`` ``(in, out, 4)``: its
    ``(a, b, c, d)``; ``names``: the function of every symbolic edge (kept in the state dict as
    extra state).  The layer adds ``levels`` of these edges to its spline edges, whose weights it
    masks with ``1 - mask``.
    """

    def __init__(self, in_features: int, out_features: int, like: Tensor | None = None):
        super().__init__()
        opts = {} if like is None else {"dtype": like.dtype, "device": like.device}
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.register_buffer("mask", torch.zeros(in_features, out_features, **opts))
        self.affine = nn.Parameter(torch.zeros(in_features, out_features, 4, **opts))
        self.names: dict[tuple[int, int], str] = {}

    def set(self, i: int, j: int, name: str, params: tuple[float, float, float, float]) -> None:
        """Make edge ``i -> j`` the function ``name`` with ``(a, b, c, d) = params``."""
        get_function(name)
        with torch.no_grad():
            self.affine[i, j] = torch.as_tensor([float(p) for p in params], dtype=self.affine.dtype)
            self.mask[i, j] = 1.0
        self.names[(int(i), int(j))] = name

    def clear(self, i: int, j: int) -> None:
        """Return edge ``i -> j`` to its spline."""
        with torch.no_grad():
            self.mask[i, j] = 0.0
        self.names.pop((int(i), int(j)), None)

    def get_extra_state(self) -> dict:
        return {"names": [[i, j, n] for (i, j), n in sorted(self.names.items())]}

    def set_extra_state(self, state: dict) -> None:
        self.names = {(int(i), int(j)): str(n) for i, j, n in state["names"]}

    def select(self, rows: Tensor, cols: Tensor) -> SymbolicEdges:
        """The store restricted to inputs ``rows`` and outputs ``cols`` (for pruning)."""
        new = SymbolicEdges(len(rows), len(cols), self.affine)
        r, c = rows.tolist(), cols.tolist()
        with torch.no_grad():
            new.affine.copy_(self.affine[rows][:, cols])
            new.mask.copy_(self.mask[rows][:, cols])
        new.names = {(r.index(i), c.index(j)): n for (i, j), n in self.names.items() if i in r and j in c}
        return new

    def levels(self, h: Tensor, n: int, edge_mask: Tensor) -> list[Tensor]:
        """``[c f(u) + d, c a f'(u), c a^2 f''(u)][:n]`` with ``u = a h_i + b``, each ``(N, in, out)``.

        Zero on edges that are not symbolic (or are pruned).
        """
        N, I, O = h.shape[0], self.in_features, self.out_features
        groups: dict[str, list[int]] = {}
        for (i, j), name in self.names.items():
            groups.setdefault(name, []).append(i * O + j)
        A = self.affine.view(I * O, 4)
        live = (self.mask * edge_mask).view(-1)
        out = [h.new_zeros(N, I * O) for _ in range(n)]
        for name, flat in groups.items():
            idx = torch.as_tensor(flat, device=h.device)
            a, b, c, d = A.index_select(0, idx).unbind(1)
            u = h.index_select(1, idx // O) * a + b
            fn = LIBRARY[name]
            F = fn.levels(u, n) if n > 1 else [fn(u)]
            g = c * live.index_select(0, idx)
            for m in range(n):
                v = F[m] * g if m == 0 else F[m] * (g * a**m)
                if m == 0:
                    v = v + d * live.index_select(0, idx)
                out[m] = out[m].index_copy(1, idx, v)
        return [o.view(N, I, O) for o in out]

    def jet(self, T: Tensor, d: int, order: int, edge_mask: Tensor) -> Tensor:
        """The jet ``(R, N, out)`` of the symbolic edges' sum, given the layer's input jet ``T``."""
        L = self.levels(T[0], order + 1, edge_mask)
        rows = [L[0].sum(1).unsqueeze(0)]
        if order >= 1:
            d1 = T[1 : 1 + d].unsqueeze(-1)
            rows.append((L[1] * d1).sum(2))
        if order >= 2:
            d2 = T[1 + d : 1 + 2 * d].unsqueeze(-1)
            rows.append((L[2] * (d1 * d1) + L[1] * d2).sum(2))
        return torch.cat(rows, 0)


class SymbolicLayerMixin:
    """Snapping of a KAN layer's edges (mixed into ``KANLayer``, which owns ``symbolic``)."""

    def fix_symbolic(self, i: int, j: int, name: str, params: Sequence[float] = (1.0, 0.0, 1.0, 0.0)) -> None:
        """Make edge ``i -> j`` evaluate ``c f(a x + b) + d`` (library function ``name``, ``params = (a, b, c, d)``)."""
        if not (0 <= i < self.in_features and 0 <= j < self.out_features):
            raise IndexError(f"edge ({i}, {j}) out of range for a layer {self.in_features} -> {self.out_features}")
        if self.symbolic is None:
            self.symbolic = SymbolicEdges(self.in_features, self.out_features, self.coef)
        self.symbolic.set(i, j, name, tuple(params))

    def unfix_symbolic(self, i: int, j: int) -> None:
        """Return edge ``i -> j`` to its spline (kept unchanged while the edge was symbolic)."""
        if self.symbolic is not None:
            self.symbolic.clear(i, j)
            if not self.symbolic.names:
                self.symbolic = None

    def symbolic_edge(self, i: int, j: int) -> tuple[str, tuple[float, ...]] | None:
        """``(name, (a, b, c, d))`` of a symbolic edge, ``None`` for a spline edge."""
        if self.symbolic is None or (i, j) not in self.symbolic.names:
            return None
        return self.symbolic.names[(i, j)], tuple(self.symbolic.affine[i, j].detach().tolist())

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        has = any(k.startswith(prefix + "symbolic.") for k in state_dict)
        if has and self.symbolic is None:
            self.symbolic = SymbolicEdges(self.in_features, self.out_features, self.coef)
        elif not has:
            self.symbolic = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
