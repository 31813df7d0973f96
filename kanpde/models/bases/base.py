"""The basis contract every KAN basis fills in, and helpers shared by the bases.

A *basis* is a family of ``n_basis`` one-dimensional functions ``B_0 .. B_{n-1}`` for each of a
layer's ``in_features`` inputs.  The KAN layer (:mod:`kanpde.models.kan_layer`) holds one basis
and a coefficient tensor ``coef`` ``(in, n_basis, out)``; edge ``i -> j`` is

    phi_ij(x) = w_b[i, j] b(x) + w_s[i, j] sum_c coef[i, c, j] B_c(x_i)

and the layer never looks inside its basis.  A basis is an ``nn.Module`` (its grid, if it has one,
is a buffer, so it moves with ``.to()`` and is saved in the state dict) and provides:

``n_basis``
    number of functions per input.
``size``, ``size_name``
    its resolution and what it is called: ``"grid"`` (intervals) for B-splines and RBFs,
    ``"degree"`` for polynomials and Fourier series.  :meth:`refine_` changes it.
``values(x)``
    ``(N, in) -> (N, in, n_basis)``, differentiable to any order by autograd (the plain forward
    pass, and derivatives by double backward).
``levels(hT, n)``
    values and first ``n - 1`` derivatives (``n <= 4``: a second-order jet needs three levels and
    its hand-written backward pass the fourth) at ``hT`` ``(in, N)`` in the *padded layout*
    ``(in, n, N, n_basis + 2)``: basis ``c`` in column ``c + 1``; columns ``0`` and ``n_basis + 1``
    hold any finite numbers (the layer overwrites column ``0`` with its base branch and weights
    column ``n_basis + 1`` by zero).  Need not be differentiable.
``domain``
    ``(in, 2)``: the input range the basis is laid out on (its grid's ends), used to plot edges.
``grid_points``
    ``(in, G + 1)`` grid points for a grid basis, ``domain`` otherwise.
``refine_(size, coef)``, ``update_grid_(x, grid_eps, coef)``
    change the basis in place and return float64 coefficients that keep the edge functions
    (within the tolerance each basis documents); a basis for which this makes no sense raises
    ``ValueError`` saying so (the defaults here do).
``select(rows)``
    a copy restricted to inputs ``rows`` (pruning).
``edge_flops()``
    forward FLOPs of one edge at one point (basis, combination, base branch, sum into the node).
``config()``
    the constructor options that rebuild it.

Input ranges.  B-splines and RBFs act on the raw input: they are laid out on the grid range
(``(-1, 1)`` by default, where the trainer maps every problem's box), vanish (B-spline) or decay
(RBF) outside it, and :meth:`refine_`/:meth:`update_grid_` move the grid onto the data.  Polynomial
bases need an argument in ``[-1, 1]``: by default they see ``t = tanh(x)`` (cPIKAN), which keeps
hidden-layer inputs that drift in range; ``input_map="affine"`` maps the grid range linearly onto
``[-1, 1]`` instead (exact polynomials in ``x`` on that range, unbounded outside).  The Fourier
basis maps the grid range affinely onto ``[-1, 1]``.  :class:`InputMap` holds the map and its
derivatives, and :func:`compose_levels` applies the chain rule.

Optional fast path.  A basis may evaluate the edge functions of a narrow layer directly
(``local(out_features) -> True`` and ``local_forward``, ``local_levels``, ``local_state``,
``local_weight_grad``): the B-spline basis through per-interval polynomials, and every
:class:`LinearDerivativeBasis` (polynomials, Fourier), whose derivatives are linear maps of its
values, through one product of the values with the derivative-transformed weights.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["Basis", "LinearDerivativeBasis", "InputMap", "compose_levels", "refit_coefficients", "check_size"]


def check_size(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int, or a ``ValueError`` naming ``name`` unless it is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class InputMap(nn.Module):
    """The map ``t(x)`` from a layer input to a basis argument, with its first three derivatives.

    ``"tanh"``: ``t = tanh(x)`` (into ``(-1, 1)`` whatever the input).  ``"affine"``: ``t = (2 x -
    lo - hi) / (hi - lo)`` for the grid range ``(lo, hi)``, so the range maps onto ``[-1, 1]``.
    """

    KINDS = ("tanh", "affine")

    def __init__(self, kind: str, grid_range: tuple[float, float]):
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"unknown input_map {kind!r}; known: {list(self.KINDS)}")
        self.kind = kind
        lo, hi = (float(v) for v in grid_range)
        self.lo, self.hi = lo, hi
        self.scale, self.shift = 2.0 / (hi - lo), -(lo + hi) / (hi - lo)

    def forward(self, x: Tensor) -> Tensor:
        """``t(x)``, differentiable."""
        return torch.tanh(x) if self.kind == "tanh" else x * self.scale + self.shift

    def levels(self, x: Tensor, n: int) -> list:
        """``[t, t', t'', t'''][:n]`` at ``x`` (derivatives of the affine map are numbers)."""
        if self.kind == "affine":
            return [x * self.scale + self.shift, self.scale, 0.0, 0.0][:n]
        t = torch.tanh(x)
        if n == 1:
            return [t]
        g1 = 1 - t * t
        return [t, g1, -2 * t * g1, g1 * (4 * t * t - 2 * g1)][:n]

    @property
    def flops(self) -> int:
        """FLOPs of the map at one point (tanh counted as 5, as in ``MLP``)."""
        return 5 if self.kind == "tanh" else 2


def compose_levels(Q: list[Tensor], g: list) -> list[Tensor]:
    """Derivatives of ``P(t(x))`` from ``Q[m] = P^(m)(t)`` and ``g = [t, t', t'', t''']`` (Faa di Bruno).

    ``f' = P' t'``, ``f'' = P'' t'^2 + P' t''``, ``f''' = P''' t'^3 + 3 P'' t' t'' + P' t'''``.
    """
    out = [Q[0]]
    n = len(Q)
    if n > 1:
        out.append(Q[1] * g[1])
    if n > 2:
        out.append(Q[2] * (g[1] * g[1]) + Q[1] * g[2])
    if n > 3:
        out.append(Q[3] * (g[1] * g[1] * g[1]) + 3 * Q[2] * (g[1] * g[2]) + Q[1] * g[3])
    return out


def refit_coefficients(old_design: Tensor, coef: Tensor, new_design: Tensor) -> Tensor:
    """Least-squares coefficients on ``new_design`` ``(N, in, m')`` of the functions ``old_design @ coef``."""
    from kanpde.models.bspline import spline_fit

    Y = torch.einsum("nic,ico->ino", old_design.to(torch.float64), coef.to(torch.float64))
    return spline_fit(new_design.to(torch.float64).transpose(0, 1), Y)


class Basis(nn.Module):
    """Base class of the KAN bases (see the module docstring for the contract)."""

    name = "basis"
    size_name = "grid"

    def __init__(self, in_features: int, grid_range: tuple[float, float]):
        super().__init__()
        self.in_features = int(in_features)
        lo, hi = (float(v) for v in grid_range)
        if not hi > lo:
            raise ValueError(f"grid_range must be (lo, hi) with lo < hi, got {tuple(grid_range)!r}")
        self.grid_range = (lo, hi)

    # -- required ----------------------------------------------------------------------------
    @property
    def n_basis(self) -> int:
        """Number of basis functions per input."""
        raise NotImplementedError

    @property
    def size(self) -> int:
        """Resolution (grid intervals or degree) that :meth:`refine_` changes."""
        raise NotImplementedError

    def values(self, x: Tensor) -> Tensor:
        """Basis values ``(N, in) -> (N, in, n_basis)``, differentiable."""
        raise NotImplementedError

    def levels(self, hT: Tensor, n: int) -> Tensor:
        """Values and ``n - 1`` derivatives at ``hT`` ``(in, N)``: ``(in, n, N, n_basis + 2)`` padded."""
        raise NotImplementedError

    def edge_flops(self) -> int:
        """Forward FLOPs of one edge at one point."""
        raise NotImplementedError

    def config(self) -> dict:
        """Constructor options that rebuild this basis."""
        raise NotImplementedError

    # -- defaults ----------------------------------------------------------------------------
    @property
    def domain(self) -> Tensor:
        """``(in, 2)``: the ends of the input range the basis is laid out on."""
        lo, hi = self.grid_range
        return torch.tensor([lo, hi], dtype=torch.float64).expand(self.in_features, 2)

    @property
    def grid_points(self) -> Tensor:
        """Grid points ``(in, G + 1)``; for a basis without a grid, :attr:`domain`."""
        return self.domain

    def refine_(self, size: int, coef: Tensor) -> Tensor:
        """Raise: this basis cannot change its resolution."""
        raise ValueError(f"the {self.name!r} basis cannot be refined")

    def update_grid_(self, x: Tensor, grid_eps: float, coef: Tensor) -> Tensor:
        """Raise: this basis has no grid to adapt."""
        raise ValueError(f"the {self.name!r} basis has no grid to update (update_grid applies to "
                         f"the 'bspline' and 'rbf' bases)")

    def select(self, rows: Tensor) -> Basis:
        """A copy restricted to inputs ``rows`` (pruning); stateless bases only change the count."""
        new = type(self)(len(rows), **self.config())
        return new

    def local(self, out_features: int) -> bool:
        """Whether the layer should use this basis's per-edge fast path (none by default)."""
        return False

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())



class LinearDerivativeBasis(Basis):
    """A basis of functions ``P_c(t)`` of ``t = map(x)`` whose ``t``-derivatives stay in its span.

    A subclass gives ``map`` (an :class:`InputMap`), ``values_t(t) -> (..., n_basis)`` and
    ``derivative_matrix_t()``: ``D`` ``(n_basis, n_basis)`` float64 with ``P_c' = sum_j D[c, j] P_j``.
    Then the ``m``-th derivative of an edge ``sum_c w_c P_c`` is ``sum_j (D^m)^T w)_j P_j``, so a
    narrow layer (``out < n_basis + 2``) evaluates all levels of all its edges as one product of the
    values ``(in, N, n)`` with the transformed weights ``(in, n, levels * out)``, followed by the
    chain rule through the input map on ``levels * out`` numbers per point instead of
    ``levels * (n + 2)``.
    """

    map: InputMap

    def values_t(self, t: Tensor) -> Tensor:
        """``P_c(t)`` stacked last, ``(*t.shape, n_basis)``."""
        raise NotImplementedError

    def derivative_matrix_t(self) -> Tensor:
        """``D`` with ``P_c' = sum_j D[c, j] P_j`` (float64)."""
        raise NotImplementedError

    def values(self, x: Tensor) -> Tensor:
        """``(N, in) -> (N, in, n_basis)`` (differentiable)."""
        return self.values_t(self.map(x))

    def derivative_powers(self, n: int, like: Tensor) -> Tensor:
        """``[D^0 .. D^(n-1)]`` ``(n, n_basis, n_basis)`` in ``like``'s dtype and device (cached)."""
        key = (n, self.n_basis, like.dtype, like.device)
        cache = self.__dict__.setdefault("_powers_cache", {})
        if key not in cache:
            D = self.derivative_matrix_t()
            P, out = torch.eye(self.n_basis, dtype=torch.float64), []
            for _ in range(n):
                out.append(P)
                P = P @ D
            if len(cache) >= 8:  # a few (levels, size, dtype, device) in use at once: forward and backward differ
                cache.clear()
            cache[key] = torch.stack(out).to(like)
        return cache[key]

    def level_matrices(self, n: int, like: Tensor) -> Tensor:
        """``(n, n_basis, n_basis + 2)``: ``(D^m)^T`` in the padded columns (times ``scale^m`` for an affine map)."""
        key = ("padded", n, self.n_basis, like.dtype, like.device)
        cache = self.__dict__.setdefault("_levels_cache", {})
        if key not in cache:
            P = self.derivative_powers(n, like).to(torch.float64)
            nb = self.n_basis
            M = torch.zeros(n, nb, nb + 2, dtype=torch.float64)
            for m in range(n):
                M[m, :, 1 : nb + 1] = P[m].t() * (self.map.scale**m if self.map.kind == "affine" else 1.0)
            if len(cache) >= 8:
                cache.clear()
            cache[key] = M.to(like)
        return cache[key]

    def levels(self, hT: Tensor, n: int) -> Tensor:
        """Values and ``x``-derivatives at ``hT`` ``(in, N)``, padded ``(in, n, N, n_basis + 2)``.

        The ``t``-derivatives are the values times ``(D^m)^T`` (one product), then the chain rule
        through a tanh map (an affine one is folded into the matrices).
        """
        g = self.map.levels(hT, n)
        out = torch.einsum("inc,mcd->imnd", self.values_t(g[0]), self.level_matrices(n, hT)).contiguous()
        if self.map.kind == "tanh" and n > 1:
            g1 = g[1].unsqueeze(-1)
            Q1, g11 = out[:, 1], g1 * g1  # levels are overwritten from the top, so Q1, Q2 are read first
            if n > 3:
                g2, g3 = g[2].unsqueeze(-1), g[3].unsqueeze(-1)
                out[:, 3].mul_(g11 * g1).addcmul_(out[:, 2], g1 * g2, value=3).addcmul_(Q1, g3)
            if n > 2:
                out[:, 2].mul_(g11).addcmul_(Q1, g[2].unsqueeze(-1))
            out[:, 1] *= g1
        return out

    def local(self, out_features: int) -> bool:
        """Edge levels cost ``out`` numbers per level and point, features ``n_basis + 2``."""
        return out_features < self.n_basis + 2

    def local_forward(self, x: Tensor, W: Tensor) -> Tensor:
        """``sum_i sum_c W[i, c + 1, o] P_c(t(x_i))`` ``(N, out)``."""
        nb = self.n_basis
        return self.values(x).flatten(1) @ W[:, 1 : nb + 1].reshape(-1, W.shape[-1])

    def local_levels(self, hT: Tensor, W: Tensor, nlev: int) -> tuple[Tensor, tuple]:
        """Basis part of the edge levels ``(nlev, out, in, N)`` at ``hT`` and what the backward needs."""
        (I, N), O, nb = hT.shape, W.shape[-1], self.n_basis
        g = self.map.levels(hT, nlev)
        V = self.values_t(g[0])  # (I, N, nb)
        Wd = torch.einsum("mcj,ico->ijmo", self.derivative_powers(nlev, hT), W[:, 1 : nb + 1])
        Pt = torch.bmm(V, Wd.reshape(I, nb, nlev * O)).view(I, N, nlev, O)
        gx = [v.unsqueeze(-1) if isinstance(v, Tensor) else v for v in g]
        Px = torch.stack(compose_levels(list(Pt.unbind(2)), gx), 0)  # (nlev, I, N, O)
        jac = torch.stack([torch.as_tensor(v, dtype=hT.dtype, device=hT.device).expand(I, N) for v in g[1:]]) \
            if nlev > 1 else hT.new_zeros(0, I, N)
        return Px.permute(0, 3, 1, 2), (V, jac)

    def local_state(self) -> None:
        """No state beyond the saved tensors."""
        return None

    def local_weight_grad(self, gPhi: Tensor, saved, wshape: torch.Size, state) -> Tensor:
        """Gradient of the padded weight's basis columns given ``dL/dPhi`` ``(in, L, N, out)``."""
        V, jac = saved
        I, L, N, O = gPhi.shape
        nb = self.n_basis
        g = [None] + [j.unsqueeze(-1) for j in jac.unbind(0)]
        gx = gPhi.unbind(1)
        # adjoint of the chain rule (compose_levels) in the x-derivative levels
        gt = [gx[0]]
        if L > 1:
            gt.append(gx[1] * g[1] + (gx[2] * g[2] if L > 2 else 0) + (gx[3] * g[3] if L > 3 else 0))
        if L > 2:
            gt.append(gx[2] * (g[1] * g[1]) + (3 * gx[3] * (g[1] * g[2]) if L > 3 else 0))
        if L > 3:
            gt.append(gx[3] * (g[1] * g[1] * g[1]))
        gWt = torch.bmm(V.transpose(1, 2), torch.stack(gt, 2).reshape(I, N, L * O)).view(I, nb, L, O)
        gW = gPhi.new_zeros(wshape)
        gW[:, 1 : nb + 1] = torch.einsum("mcj,ijmo->ico", self.derivative_powers(L, gPhi), gWt)
        return gW
