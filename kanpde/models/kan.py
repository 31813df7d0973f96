"""Kolmogorov--Arnold network: a learnable 1-D function on every edge, summed into the nodes.

Edge ``i -> j`` of a layer carries

    phi_ij(x) = w_b[i, j] * b(x) + w_s[i, j] * sum_c coef[i, c, j] * B_c(x)

with ``b`` the base activation (SiLU by default) and ``B_c`` the ``G + k`` B-splines of degree
``k`` on the layer's grid of ``G`` intervals for input ``i`` (see :mod:`kanpde.models.bspline`).
Output ``j`` is ``sum_i phi_ij(x_i)``.

Evaluation.  For input ``i`` the features are ``[b(x_i), B_0(x_i), ..., B_{G+k-1}(x_i), 0]``
(a padding column with zero weight) and the combined weight is ``W[i, :, j] = [w_b, w_s *
coef[i, :, j], 0]``, so a layer is basis features times ``W``, summed over inputs.  Bases come
from :class:`~kanpde.models.bspline.KnotTables`: a closed form on uniform grids, per-interval
polynomials (derived once per grid by Cox--de Boor) on adapted ones.  A layer with few outputs,
``out * (k + 1) <= G + k + 2``, skips the dense features: it forms the per-interval polynomials of
its edge functions (``W`` times the basis pieces, a tiny product) and evaluates the one each
point falls in by Horner's rule.

Jets (``forward_jet``, see :mod:`kanpde.models.jet`) go through one autograd node per layer with a
hand-written backward pass.  Rather than stacking ``[E0, E1 dh, E2 dh^2 + E1 d2h]`` for all jet rows
into one ``(R N, in (G+k+1))`` product, the layer evaluates each edge function's value and first
three derivatives, ``Phi_m = phi^(m)_ij(h_i)`` (levels x N x in x out numbers), and assembles the
jet from them; the backward pass then needs no basis gradients (``dPhi_m/dh = Phi_{m+1}``).  At
PINN sizes this moves far fewer numbers than the stacked features and their gradient
(``benchmarks/kan_jet_micro.py`` times it against the MLP).

Initialisation (after the KAN paper): spline coefficients ``N(0, (noise_scale / G)^2)`` with
``noise_scale = 0.1``, so every edge starts as a small perturbation of its base branch; base
weights ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``; spline scales 1.  All draws come from a private
``torch.Generator`` seeded by ``seed`` (fresh entropy when ``None``); the global RNG is never used.

Grids: the first layer's grid covers ``grid_range = (-1, 1)``, which is where the trainer maps
every problem's bounding box.  Hidden layers start on the same range; their inputs drift during
training, and :meth:`KAN.update_grid` moves every layer's grid onto the values it actually sees.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from kanpde.models.bspline import KnotTables, bspline_basis, extend_grid, is_uniform, powers, spline_fit, uniform_grid
from kanpde.models.mlp import MLP
from kanpde.models.symbolic import SymbolicLayerMixin

__all__ = ["KAN", "KANLayer", "BASE_ACTIVATIONS"]


def _silu_levels(h: Tensor, n: int) -> list[Tensor]:
    s = torch.sigmoid(h)
    out = [h * s]
    if n > 1:
        q = s - s * s
        out.append(s + h * q)
    if n > 2:
        a = 1 - 2 * s
        out.append(q * (2 + h * a))
    if n > 3:
        out.append(q * (a * (3 + h * a) - 2 * h * q))
    return out


def _tanh_levels(h: Tensor, n: int) -> list[Tensor]:
    y = torch.tanh(h)
    f1 = 1 - y * y
    return [y, f1, -2 * y * f1, f1 * (4 * y * y - 2 * f1)][:n]


def _sin_levels(h: Tensor, n: int) -> list[Tensor]:
    s, c = torch.sin(h), torch.cos(h)
    return [s, c, -s, -c][:n]


def _identity_levels(h: Tensor, n: int) -> list[Tensor]:
    return [h, torch.ones_like(h), torch.zeros_like(h), torch.zeros_like(h)][:n]


#: base activation name -> function returning its first ``n`` derivative levels (n <= 4)
BASE_ACTIVATIONS = {"silu": _silu_levels, "tanh": _tanh_levels, "sin": _sin_levels, "identity": _identity_levels}
_PLAIN = {"silu": nn.functional.silu, "tanh": torch.tanh, "sin": torch.sin, "identity": lambda h: h}
_ACT_FLOPS = {**MLP._ACT_FLOPS, "identity": 0}


class _LayerJet(torch.autograd.Function):
    """One KAN layer on a jet, with a hand-written backward pass (first order only).

    With ``Phi_m[i, n, j] = phi_ij^(m)(h_ni)`` the output jet is ``sum_i Phi_0``,
    ``sum_i Phi_1 dh`` and ``sum_i Phi_2 dh^2 + Phi_1 d2h``.  The backward pass reuses the next
    level ``Phi_{m+1}`` for the derivative with respect to ``h``, so no basis gradient is formed.
    ``Phi`` comes from one of two evaluations (see ``KANLayer._local``): dense basis features
    times the combined weight in one batched product, or, for narrow outputs, per-interval
    polynomials of the edge functions gathered at each point.
    """

    @staticmethod
    def forward(ctx, T: Tensor, W: Tensor, layer: KANLayer, d: int, order: int) -> Tensor:
        R, N, I = T.shape
        O = W.shape[-1]
        L = order + 1
        nlev = L + 1 if ctx.needs_input_grad[0] else L
        hT = T[0].t().contiguous()
        local = layer._local
        if local:
            Phi, saved = layer._local_levels(hT, W, nlev)
        else:
            buf = layer._feature_levels(hT, nlev)  # (I, nlev, N, C)
            Phi, saved = torch.bmm(buf.view(I, nlev * N, -1), W).view(I, nlev, N, O), (buf,)
        out = T.new_empty(R, N, O)
        torch.sum(Phi[:, 0], 0, out=out[0])
        if order >= 1:
            TT = T[1:].transpose(1, 2).unsqueeze(-1)  # (R-1, I, N, 1)
            torch.sum(Phi[:, 1] * TT, 1, out=out[1:])
        if order >= 2:
            dT = TT[:d]
            out[1 + d :] += (Phi[:, 2] * (dT * dT)).sum(1)
        ctx.save_for_backward(T, Phi, *saved)
        ctx.d, ctx.order, ctx.local, ctx.layer, ctx.wshape = d, order, local, layer, W.shape
        ctx.tables = layer._tables()  # as used in this forward pass, even if the grid moves before backward
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G: Tensor):
        T, Phi, *saved = ctx.saved_tensors
        d, order = ctx.d, ctx.order
        R, N, I = T.shape
        L = order + 1
        O = Phi.shape[-1]
        G = G.contiguous()
        TT = T[1:].transpose(1, 2).unsqueeze(-1)  # (R-1, I, N, 1)
        gPhi = G.new_empty(I, L, N, O)
        gPhi[:, 0] = G[0]
        if order >= 1:
            torch.sum(G[1:].unsqueeze(1) * TT, 0, out=gPhi[:, 1])
        if order >= 2:
            dT = TT[:d]
            torch.sum(G[1 + d :].unsqueeze(1) * (dT * dT), 0, out=gPhi[:, 2])
        gT = gW = None
        if ctx.needs_input_grad[1]:
            if ctx.local:
                gW = ctx.layer._local_weight_grad(gPhi, saved, ctx.wshape, ctx.tables)
            else:
                feats = saved[0][:, :L].reshape(I, L * N, -1)
                gW = torch.bmm(feats.transpose(1, 2), gPhi.view(I, L * N, O))
        if ctx.needs_input_grad[0]:
            gT = T.new_empty(R, I, N)
            torch.sum((gPhi * Phi[:, 1:]).sum(1), -1, out=gT[0])
            if order >= 1:
                torch.sum(G[1:].unsqueeze(1) * Phi[:, 1], -1, out=gT[1:])
            if order >= 2:
                gT[1 : 1 + d] += 2 * TT[:d, ..., 0] * (G[1 + d :].unsqueeze(1) * Phi[:, 2]).sum(-1)
            gT = gT.transpose(1, 2)
        return gT, gW, None, None, None


class KANLayer(SymbolicLayerMixin, nn.Module):
    """One KAN layer ``(N, in_features) -> (N, out_features)`` with a spline on every edge.

    Parameters: ``coef`` ``(in, G + k, out)``, ``spline_scale`` and ``base_weight`` ``(in, out)``.
    Buffers: ``knots`` ``(in, G + 2k + 1)`` (the grid extended by ``k`` knots per side) and
    ``edge_mask`` ``(in, out)`` (1 for a live edge, 0 for a pruned one).

    Edges can be snapped to symbolic functions (:meth:`fix_symbolic`); they then live in the
    submodule ``symbolic`` (a :class:`~kanpde.models.symbolic.SymbolicEdges`), which is ``None``
    while no edge is symbolic, so that a purely numeric layer runs only its spline code.
    """

    def __init__(self, in_features: int, out_features: int, grid: int = 5, k: int = 3,
                 grid_range: tuple[float, float] = (-1.0, 1.0), base_activation: str = "silu",
                 noise_scale: float = 0.1, generator: torch.Generator | None = None):
        super().__init__()
        if base_activation not in BASE_ACTIVATIONS:
            raise ValueError(f"unknown base_activation {base_activation!r}; known: {sorted(BASE_ACTIVATIONS)}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.grid_size, self.k = int(grid), int(k)
        self.base_activation = base_activation
        self._levels = BASE_ACTIVATIONS[base_activation]
        nb, dt = self.n_basis, torch.get_default_dtype()
        self.register_buffer("knots", extend_grid(uniform_grid(self.in_features, grid, *grid_range), k).to(dt))
        self.register_buffer("edge_mask", torch.ones(self.in_features, self.out_features))
        coef = torch.randn(self.in_features, nb, self.out_features, generator=generator, dtype=torch.float64)
        base = torch.rand(self.in_features, self.out_features, generator=generator, dtype=torch.float64)
        self.coef = nn.Parameter((coef * (noise_scale / self.grid_size)).to(dt))
        self.base_weight = nn.Parameter(((2 * base - 1) / math.sqrt(self.in_features)).to(dt))
        self.spline_scale = nn.Parameter(torch.ones(self.in_features, self.out_features))
        self._tables_cache: KnotTables | None = None
        self._last_input: Tensor | None = None
        self.register_module("symbolic", None)

    @property
    def n_basis(self) -> int:
        """Number of B-splines per edge, ``G + k``."""
        return self.grid_size + self.k

    @property
    def grid_points(self) -> Tensor:
        """The grid without its extension, ``(in, G + 1)``."""
        return self.knots[:, self.k : self.k + self.grid_size + 1]

    def _apply(self, fn, recurse=True):
        # after a dtype move, re-space uniform knots exactly in the new precision, so that the
        # knots buffer holds the knots the closed-form evaluation uses (a float32 grid moved to
        # float64 is uniform only to float32 rounding otherwise)
        out = super()._apply(fn, recurse)
        knots = self.knots
        if knots.is_floating_point() and not knots.is_meta and is_uniform(knots):
            j = torch.arange(knots.shape[1], dtype=torch.float64, device=knots.device)
            k64 = knots.to(torch.float64)
            exact = k64[:, :1] + (k64[:, -1:] - k64[:, :1]) / (knots.shape[1] - 1) * j
            with torch.no_grad():
                knots.copy_(exact)
        return out

    def _tables(self) -> KnotTables:
        t = self._tables_cache
        if t is None or not t.fresh(self.knots):
            t = self._tables_cache = KnotTables(self.knots, self.k)
        return t

    @property
    def uniform(self) -> bool:
        """Whether the layer's knots are uniform (closed-form basis) rather than general."""
        return self._tables().uniform

    @property
    def _local(self) -> bool:
        # per-interval edge polynomials cost (k+1)*out numbers per point and input, dense basis
        # features (G+k+2) numbers followed by a product: take the smaller
        return self.out_features * (self.k + 1) <= self.n_basis + 2

    # -- evaluation -------------------------------------------------------------------------
    def combined_weight(self) -> Tensor:
        """The ``(in, G + k + 2, out)`` weight acting on the features ``[b, B_0 .. B_{G+k-1}, 0]``."""
        m = self.edge_mask if self.symbolic is None else self.edge_mask * (1 - self.symbolic.mask)
        pad = self.coef.new_zeros(self.in_features, 1, self.out_features)
        spline = self.coef * (self.spline_scale * m).unsqueeze(1)
        return torch.cat([(self.base_weight * m).unsqueeze(1), spline, pad], 1)

    def basis(self, x: Tensor) -> Tensor:
        """Spline bases of every input at ``x``: ``(N, in) -> (N, in, G + k)`` (differentiable)."""
        return self._tables().basis(x)[..., 1 : self.n_basis + 1]

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, in)`` to ``(N, out)``; differentiable to any order by autograd."""
        self._last_input = x.detach()
        if self.symbolic is not None:
            return self._spline_forward(x) + self.symbolic.levels(x, 1, self.edge_mask)[0].sum(1)
        return self._spline_forward(x)

    def _spline_forward(self, x: Tensor) -> Tensor:
        act = _PLAIN[self.base_activation](x)
        W = self.combined_weight()
        if self._local:
            t, (I, O) = self._tables(), (self.in_features, self.out_features)
            tau, index = t.locate(x.t())
            Qg = t.gather(t.pieces(W, 1).view(-1, (self.k + 1) * O), t.rows(index))  # ((k+1)*O, I*N)
            y = t.horner(Qg.view(self.k + 1, O, -1), tau.reshape(1, -1)).view(O, I, -1).sum(1)
            return y.t() + act @ W[:, 0]
        feats = torch.cat([act.unsqueeze(-1), self.basis(x)], -1)
        return feats.flatten(1) @ W[:, : self.n_basis + 1].reshape(-1, self.out_features)

    def forward_jet(self, T: Tensor, d: int, order: int) -> Tensor:
        """Propagate a jet (values and input derivatives, see ``kanpde.models.jet``)."""
        self._last_input = T[0].detach()
        out = _LayerJet.apply(T, self.combined_weight(), self, d, order)
        return out if self.symbolic is None else out + self.symbolic.jet(T, d, order, self.edge_mask)

    def _feature_levels(self, hT: Tensor, nlev: int) -> Tensor:
        """Features ``[b, B_0 .. B_{G+k-1}, 0]`` and derivatives at ``hT`` ``(in, N)``: ``(in, nlev, N, G+k+2)``."""
        buf = self._tables().levels(hT, nlev)
        buf[..., 0] = torch.stack(self._levels(hT, nlev), 1)
        return buf

    def _local_levels(self, hT: Tensor, W: Tensor, nlev: int) -> tuple[Tensor, tuple]:
        """Edge-function levels ``(in, nlev, N, out)`` at ``hT`` from gathered interval polynomials."""
        t, k, (I, N), O = self._tables(), self.k, hT.shape, W.shape[-1]
        tau, index = t.locate(hT)
        rows = t.rows(index)
        Qg = t.gather(t.pieces(W, nlev).view(I * t.J, -1), rows).view(k + 1, nlev * O, I * N)
        A = torch.stack(self._levels(hT, nlev), 0)  # (nlev, I, N)
        Phi = t.horner(Qg, tau.view(1, -1)).view(nlev, O, I, N)
        Phi = torch.addcmul(Phi, A.unsqueeze(1), W[:, 0].t().view(1, O, I, 1))
        return Phi.permute(2, 0, 3, 1), (tau, rows, A)

    def _local_weight_grad(self, gPhi: Tensor, saved: Sequence[Tensor], wshape: torch.Size,
                           t: KnotTables) -> Tensor:
        """Gradient of the combined weight for ``_local_levels`` given ``dL/dPhi`` ``(in, L, N, out)``."""
        tau, rows, A = saved
        k, (I, L, N, O) = t.k, gPhi.shape
        gT = gPhi.permute(1, 3, 0, 2).reshape(1, L * O, I * N)
        outer = (powers(tau.reshape(-1), k, 0).unsqueeze(1) * gT).reshape((k + 1) * L * O, I * N)
        gQ = outer.new_zeros(outer.shape[0], I * t.J).index_add_(1, rows, outer)  # ((k+1)*L*O, I*J)
        gQ = gQ.t().reshape(I * t.J, (k + 1) * L, O)
        gwin = torch.bmm(t.loc[L].transpose(1, 2), gQ)  # (I*J, k+1, O)
        gW = gQ.new_zeros(wshape[0] * wshape[1], O).index_add_(0, t.window, gwin.view(-1, O)).view(wshape)
        gW[:, 0] += (gPhi * A.transpose(0, 1)[:, :L].unsqueeze(-1)).sum((1, 2))
        return gW

    def edge_values(self, x: Tensor) -> Tensor:
        """Every edge function at its input, ``phi_ij(x_i)``: ``(N, in) -> (N, in, out)``."""
        W = self.combined_weight()
        spline = torch.einsum("nic,ico->nio", self.basis(x), W[:, 1 : self.n_basis + 1])
        out = spline + _PLAIN[self.base_activation](x).unsqueeze(-1) * W[:, 0]
        return out if self.symbolic is None else out + self.symbolic.levels(x, 1, self.edge_mask)[0]

    def edge_magnitudes(self) -> Tensor:
        """Mean ``|phi_ij|`` over the last batch this layer saw, ``(in, out)`` (differentiable)."""
        if self._last_input is None:
            raise ValueError("edge magnitudes need a batch: call the model (forward or forward_jet) first")
        return self.edge_values(self._last_input).abs().mean(0)

    # -- grids ---------------------------------------------------------------------------------
    def _spline_values(self, x: Tensor) -> Tensor:
        """Spline part ``sum_c coef B_c(x_i)`` per edge in float64, ``(in, N, out)``."""
        B = KnotTables(self.knots.to(torch.float64), self.k).basis(x.to(torch.float64))[..., 1 : self.n_basis + 1]
        return torch.einsum("nic,ico->ino", B, self.coef.to(torch.float64))

    def _refit(self, x: Tensor, new_grid: Tensor) -> None:
        """Move to ``new_grid`` ``(in, G' + 1)``, refitting the coefficients by least squares on ``x``."""
        Y = self._spline_values(x)
        knots = extend_grid(new_grid.to(torch.float64), self.k)
        A = bspline_basis(x.to(torch.float64), knots, self.k).transpose(0, 1)  # (in, N, nb)
        coef = spline_fit(A, Y)
        if knots.shape == self.knots.shape:  # keep the tensors (an optimizer may hold them)
            self.knots.copy_(knots)
            self.coef.copy_(coef)
        else:
            self.knots = knots.to(self.knots)
            self.coef = nn.Parameter(coef.to(self.coef).contiguous(), requires_grad=self.coef.requires_grad)
        self.grid_size = new_grid.shape[1] - 1

    @torch.no_grad()
    def update_grid(self, x: Tensor, grid_eps: float) -> None:
        """Adapt the grid to the samples ``x`` ``(N, in)``, keeping the edge functions."""
        if not 0.0 <= grid_eps <= 1.0:
            raise ValueError(f"grid_eps must lie in [0, 1], got {grid_eps!r}")
        xs = x.detach().to(torch.float64).sort(0).values.t()  # (in, N)
        G, n = self.grid_size, xs.shape[1]
        pos = torch.linspace(0, n - 1, G + 1, dtype=torch.float64, device=x.device)
        lo_i = pos.floor().long().clamp(max=n - 1)
        hi_i = (lo_i + 1).clamp(max=n - 1)
        w = pos - lo_i
        adaptive = xs[:, lo_i] * (1 - w) + xs[:, hi_i] * w
        frac = torch.linspace(0, 1, G + 1, dtype=torch.float64, device=x.device)
        lo, hi = xs[:, :1], xs[:, -1:]
        grid = grid_eps * (lo + (hi - lo) * frac) + (1 - grid_eps) * adaptive
        old = self.grid_points.to(torch.float64)
        span = (hi - lo)[:, 0]
        degenerate = ~(span > 1e-9 * old[:, -1].sub(old[:, 0]))
        grid[degenerate] = old[degenerate]  # a (near-)constant feature keeps its grid
        self._refit(x, grid)


def _interp_rows(g: Tensor, s: Tensor) -> Tensor:
    """Rows of ``g`` ``(I, G+1)`` interpolated linearly at fractional indices ``s`` ``(S,)``."""
    lo = s.floor().long().clamp(0, g.shape[1] - 2)
    w = s - lo
    return g[:, lo] * (1 - w) + g[:, lo + 1] * w


def _check_widths(widths: Sequence[int]) -> list[int]:
    try:
        ws = [int(w) for w in widths]
    except (TypeError, ValueError):
        raise ValueError(f"widths must be a sequence of positive integers, got {widths!r}") from None
    if len(ws) < 2 or any(w < 1 for w in ws) or any(w != v for w, v in zip(ws, widths)):
        raise ValueError(f"widths must list at least 2 positive integer layer sizes, got {list(widths)!r}")
    return ws


class KAN(nn.Module):
    """Kolmogorov--Arnold network ``widths[0] -> ... -> widths[-1]`` of :class:`KANLayer` s.

    ``grid``: intervals per edge grid; ``k``: spline degree; ``grid_range``: initial grid of every
    layer; ``grid_eps``: default mixing of :meth:`update_grid` (1 = uniform over the sample range,
    0 = sample quantiles); ``noise_scale``: spline-coefficient noise (std ``noise_scale / grid``).
    """

    def __init__(self, widths: Sequence[int], grid: int = 5, k: int = 3, grid_range: tuple[float, float] = (-1.0, 1.0),
                 base_activation: str = "silu", seed: int | None = None, grid_eps: float = 0.02,
                 noise_scale: float = 0.1):
        super().__init__()
        self._widths = _check_widths(widths)
        if isinstance(grid, bool) or int(grid) != grid or grid < 1:
            raise ValueError(f"grid (number of intervals) must be an integer >= 1, got {grid!r}")
        if isinstance(k, bool) or int(k) != k or k < 1:
            raise ValueError(f"k (spline degree) must be an integer >= 1, got {k!r}")
        lo, hi = (float(v) for v in grid_range)
        if not hi > lo:
            raise ValueError(f"grid_range must be (lo, hi) with lo < hi, got {tuple(grid_range)!r}")
        if not 0.0 <= grid_eps <= 1.0:
            raise ValueError(f"grid_eps must lie in [0, 1], got {grid_eps!r}")
        if base_activation not in BASE_ACTIVATIONS:
            raise ValueError(f"unknown base_activation {base_activation!r}; known: {sorted(BASE_ACTIVATIONS)}")
        self.grid, self.k, self.grid_range = int(grid), int(k), (lo, hi)
        self.base_activation, self.grid_eps, self.noise_scale = base_activation, float(grid_eps), float(noise_scale)
        self.seed = seed
        gen = torch.Generator()
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(int(seed))
        self.layers = nn.ModuleList(
            KANLayer(a, b, self.grid, self.k, self.grid_range, base_activation, noise_scale, gen)
            for a, b in zip(self._widths[:-1], self._widths[1:]))

    @property
    def widths(self) -> list[int]:
        """Layer sizes, input first."""
        return list(self._widths)

    @property
    def d_in(self) -> int:
        """Input dimension."""
        return self._widths[0]

    @property
    def d_out(self) -> int:
        """Output dimension."""
        return self._widths[-1]

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, d_in)`` inputs to ``(N, d_out)`` outputs."""
        for layer in self.layers:
            x = layer(x)
        return x

    def forward_jet(self, T: Tensor, d: int, order: int) -> Tensor:
        """Propagate a jet (values and input derivatives, see ``kanpde.models.jet``)."""
        if order not in (0, 1, 2) or T.shape[0] != 1 + d * order:
            raise ValueError(f"jet of shape {tuple(T.shape)} does not match d={d!r}, order={order!r} (order 0, 1 or 2)")
        for layer in self.layers:
            T = layer.forward_jet(T, d, order)
        return T

    # -- grids ---------------------------------------------------------------------------------
    @torch.no_grad()
    def update_grid(self, x: Tensor, grid_eps: float | None = None) -> None:
        """Adapt every layer's grid to the values it sees for the model inputs ``x``, keeping the function.

        Layer by layer: the new grid of each input is ``grid_eps`` times the uniform grid over the
        sample range plus ``1 - grid_eps`` times the sample quantiles; the coefficients are the
        least-squares fit of the old splines at the samples; the next layer sees the updated
        layer's outputs.  The function is kept up to the spline approximation error of the old
        edges on the new grids: small for smooth edges, larger for rough (e.g. just initialised)
        ones and for hidden layers whose grids shrink onto a narrow range.
        """
        eps = self.grid_eps if grid_eps is None else grid_eps
        for layer in self.layers:
            layer.update_grid(x, eps)
            x = layer(x)

    @torch.no_grad()
    def refine(self, grid: int) -> KAN:
        """A new KAN with the same function on finer grids of ``grid`` intervals (grid extension).

        Each layer's new grid interpolates its old grid points linearly at equally spaced
        fractional indices (a uniform grid stays uniform, an adapted one keeps its density); the
        coefficients are the least-squares fit of the old splines on dense samples of the grid
        range.  When ``grid`` is a multiple of the old grid size the new grid contains the old
        points, the new spline space contains the old one and the fit is exact to rounding.  The
        function is kept on each grid range; beyond it (the extension region, narrower on the
        finer grid) the edges change.  Raises ``ValueError`` unless ``grid`` exceeds the current.
        """
        if isinstance(grid, bool) or int(grid) != grid or grid <= self.grid:
            raise ValueError(f"refine needs an integer grid finer than the current grid={self.grid}, got {grid!r}")
        grid = int(grid)
        new = copy.deepcopy(self)
        new.grid = grid
        for layer in new.layers:
            g = layer.grid_points.to(torch.float64)
            G = g.shape[1] - 1
            new_grid = _interp_rows(g, torch.linspace(0, G, grid + 1, dtype=torch.float64, device=g.device))
            samples = torch.linspace(0, G, 8 * (grid + self.k) + 1, dtype=torch.float64, device=g.device)
            layer._refit(_interp_rows(g, samples).t(), new_grid)
            layer._last_input, layer._tables_cache = None, None
        return new

    # -- sparsity --------------------------------------------------------------------------------
    def edge_magnitudes(self) -> list[Tensor]:
        """Per layer, the mean ``|phi_ij|`` over the last batch seen, ``(in, out)`` each (differentiable)."""
        return [layer.edge_magnitudes() for layer in self.layers]

    def regularization(self, lamb_l1: float = 1.0, lamb_entropy: float = 2.0) -> Tensor:
        """Sparsity penalty of the KAN paper: ``sum_layers lamb_l1 |Phi|_1 + lamb_entropy S(Phi)``."""
        total = None
        for mag in self.edge_magnitudes():
            l1 = mag.sum()
            p = mag / (l1 + torch.finfo(mag.dtype).tiny)
            term = lamb_l1 * l1 - lamb_entropy * torch.special.xlogy(p, p).sum()
            total = term if total is None else total + term
        return total

    def node_scores(self) -> list[tuple[Tensor, Tensor]]:
        """Per hidden layer of nodes, (incoming, outgoing) importance: the max magnitude of its edges."""
        mags = [m.detach() for m in self.edge_magnitudes()]
        return [(a.amax(0), b.amax(1)) for a, b in zip(mags[:-1], mags[1:])]

    @torch.no_grad()
    def prune(self, threshold: float = 1e-2, edges: bool = True) -> KAN:
        """A smaller KAN without the hidden nodes (and, if ``edges``, edges) whose importance is ``<= threshold``."""
        mags = [m.detach() for m in self.edge_magnitudes()]
        keep = [torch.arange(self.d_in)]
        for a_in, a_out in self.node_scores():
            keep.append(torch.nonzero((a_in > threshold) & (a_out > threshold)).flatten())
        keep.append(torch.arange(self.d_out))
        widths = [int(k.numel()) for k in keep]
        if any(w == 0 for w in widths):
            raise ValueError(f"threshold {threshold!r} prunes every node of a hidden layer; use a smaller one")
        new = KAN(**{**self.config(), "widths": widths}, seed=0).to(self.layers[0].coef)
        for l, (old_l, new_l) in enumerate(zip(self.layers, new.layers)):
            ki, ko = keep[l].to(old_l.coef.device), keep[l + 1].to(old_l.coef.device)
            new_l.knots = old_l.knots[ki].clone()
            new_l.grid_size = old_l.grid_size
            new_l.coef.copy_(old_l.coef[ki][:, :, ko])
            new_l.base_weight.copy_(old_l.base_weight[ki][:, ko])
            new_l.spline_scale.copy_(old_l.spline_scale[ki][:, ko])
            mask = old_l.edge_mask[ki][:, ko].clone()
            if edges:
                mask[mags[l][ki][:, ko] <= threshold] = 0
            new_l.edge_mask.copy_(mask)
            if old_l.symbolic is not None:
                new_l.symbolic = old_l.symbolic.select(ki, ko)
                if not new_l.symbolic.names:
                    new_l.symbolic = None
        return new

    # -- bookkeeping -------------------------------------------------------------------------------
    def count_params(self) -> int:
        """Trained parameters of live edges: ``(G + k)`` coefficients, a base weight and a spline scale
        per spline edge, ``(a, b, c, d)`` per symbolic edge."""
        total = 0
        for l in self.layers:
            n_sym = 0 if l.symbolic is None else int((l.symbolic.mask * l.edge_mask).count_nonzero())
            total += (int(l.edge_mask.count_nonzero()) - n_sym) * (l.n_basis + 2) + 4 * n_sym
        return total

    def count_flops(self) -> int:
        """Forward FLOPs per input point, counted as in KANbeFair.

        Per live edge ``9 k (G + 1.5 k) + 2 G - 2.5 k + 3`` (B-splines by Cox--de Boor, their
        combination with the coefficients, the base branch's weight and the sum into the node),
        plus ``c_act`` per layer input for the base activation (4 for SiLU, as in ``MLP``).
        """
        k, G = self.k, self.grid
        per_edge = 9 * k * G + (27 * k * k - 5 * k) // 2 + 2 * G + 3
        c = _ACT_FLOPS[self.base_activation]
        return sum(int(l.edge_mask.count_nonzero()) * per_edge + c * l.in_features for l in self.layers)

    def config(self) -> dict:
        """Constructor arguments that rebuild this architecture (load the state dict for the grids)."""
        return {"widths": self.widths, "grid": self.grid, "k": self.k, "grid_range": self.grid_range,
                "base_activation": self.base_activation, "grid_eps": self.grid_eps, "noise_scale": self.noise_scale}

    def extra_repr(self) -> str:
        return f"widths={self.widths}, grid={self.grid}, k={self.k}, base_activation={self.base_activation!r}"
