"""One KAN layer: a basis (any of :mod:`kanpde.models.bases`) followed by one contraction.

Edge ``i -> j`` carries

    phi_ij(x) = w_b[i, j] * b(x) + w_s[i, j] * sum_c coef[i, c, j] * B_c(x)

with ``b`` the base activation (SiLU by default) and ``B_c`` the layer's ``n_basis`` basis
functions of input ``i``.  Output ``j`` is ``sum_i phi_ij(x_i)``.  For input ``i`` the features are
``[b(x_i), B_0(x_i), ..., B_{n-1}(x_i), 0]`` (a padding column with zero weight) and the combined
weight is ``W[i, :, j] = [w_b, w_s * coef[i, :, j], 0]``, so a layer is basis features times
``W``, summed over inputs.  The layer never looks inside its basis; a basis that offers a fast
path for narrow layers (``basis.local(out)``, the B-spline's per-interval edge polynomials) is
asked to evaluate the spline part itself.

Jets (``forward_jet``, see :mod:`kanpde.models.jet`) go through one autograd node per layer with a
hand-written backward pass.  A layer whose input jet needs a gradient evaluates each edge
function's value and first three derivatives, ``Phi_m = phi^(m)_ij(h_i)`` (levels x N x in x out
numbers), and assembles the jet from them; the backward pass then needs no basis gradients
(``dPhi_m/dh = Phi_{m+1}``).  This is why the basis contract asks for a fourth level.  A dense layer
whose input jet needs none (the first layer) stacks the feature jet ``[E0, E1 dh, E2 dh^2 + E1 d2h]``
for all jet rows into one ``(R N, in (n+2))`` product instead, when it has at most two features per
output (then that product is no larger than the levels).

An input jet that needs no gradient depends on no parameter: in a PINN it is the jet of the
collocation points, the same tensor at every step until the points are resampled.  The layer keeps
what it computed for the last such jet, with the basis state it came from, and when the same tensor
comes back unchanged (same basis options, buffers and buffer versions) it contracts the kept feature
jet instead of evaluating the basis again: stored features-major (a faster product) up to
``SPARSE_FEATURES`` features per input, and in compressed-row form beyond (most of the jet's
derivative rows are zero, and a local basis is zero off its support), so that a training step's
first layer costs one product each way, which no longer grows with the grid of a local basis.  An
input seen once (the chunks of a large point set, new tensors at every step) takes the paths above
unchanged.  The kept forms give the same numbers to rounding (summation order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from kanpde.models.bases import Basis
from kanpde.models.kept_features import KeptFeaturesMixin, feature_jet, reused_features
from kanpde.models.mlp import MLP
from kanpde.models.symbolic import SymbolicLayerMixin

__all__ = ["KANLayer", "BASE_ACTIVATIONS", "ACT_FLOPS"]


def _silu_levels(h: Tensor, n: int) -> list[Tensor]:
    # with s = sigmoid(h), q = s (1 - s), a = 1 - 2 s the derivatives are s + h q, q (2 + h a) and
    # q (a (3 + h a) - 2 h q); fused ops, since this runs on every jet
    s = torch.sigmoid(h)
    out = [h * s]
    if n > 1:
        q = torch.addcmul(s, s, s, value=-1)
        out.append(torch.addcmul(s, h, q))
    if n > 2:
        a = torch.rsub(s, 1, alpha=2)
        ha = h * a
        out.append((ha + 2).mul_(q))
    if n > 3:
        out.append(torch.addcmul((ha + 3).mul_(a), h, q, value=-2).mul_(q))
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
#: FLOPs of a base activation at one point
ACT_FLOPS = {**MLP._ACT_FLOPS, "identity": 0}


class _LayerJet(torch.autograd.Function):
    """One KAN layer on a jet, with a hand-written backward pass (first order only).

    With ``Phi_m[i, n, j] = phi_ij^(m)(h_ni)`` the output jet is ``sum_i Phi_0``,
    ``sum_i Phi_1 dh`` and ``sum_i Phi_2 dh^2 + Phi_1 d2h``.  The backward pass reuses the next
    level ``Phi_{m+1}`` for the derivative with respect to ``h``, so no basis gradient is formed.
    ``Phi`` comes from dense basis features times the combined weight in one batched product, or
    from the basis's own fast path (``KANLayer._local_levels``).  A dense layer whose input jet
    needs no gradient (the first layer of a PINN) and has at most two features per output skips
    ``Phi``: it forms the jet of its features (``kept_features.feature_jet``) and contracts all rows
    with the weight in one product, so its backward pass is one product too; an input that comes back
    is contracted in the form ``kept_features.reused_features`` made of it.
    """

    @staticmethod
    def forward(ctx, T: Tensor, W: Tensor, layer: KANLayer, d: int, order: int) -> Tensor:
        R, N, I = T.shape
        O = W.shape[-1]
        L = order + 1
        nlev = L + 1 if ctx.needs_input_grad[0] else L
        hT = T[0].t().contiguous()
        local = layer.basis.local(O)
        first = not ctx.needs_input_grad[0]
        dense = not local and W.shape[1] <= 2 * O
        kept = layer.kept_input_features(T, ("first", d, order)) if first else None
        if kept is not None:
            # the same input again (a training step at the same points): its features are kept in the
            # fastest form, made once from what the first sight left (see reused_features)
            if kept[0] not in ("dense", "sparse"):
                kept = reused_features(kept, layer.feature_levels, hT, T, d, order)
                layer.keep_input_features(T, ("first", d, order), kept)
            ctx.kept, ctx.features, ctx.wshape = kept, True, W.shape
            if kept[0] == "sparse":
                return (kept[1] @ W.reshape(-1, O)).view(R, N, O)
            return (W.reshape(-1, O).t() @ kept[1]).view(O, R, N).permute(1, 2, 0)
        if first and dense:
            # an input jet without gradient (the first layer) and few features per output: contract
            # the jet of the features with W in one product
            E = feature_jet(layer.feature_levels(hT, L), T, d, order).view(R * N, -1)  # (R N, I C)
            layer.keep_input_features(T, ("first", d, order), ("jet", E))
            ctx.kept, ctx.features, ctx.wshape = ("jet", E), True, W.shape
            return (E @ W.reshape(-1, O)).view(R, N, O)
        if first:
            layer.keep_input_features(T, ("first", d, order), ("seen", None))
        ctx.features = False
        ctx.d, ctx.order, ctx.local, ctx.layer, ctx.wshape = d, order, local, layer, W.shape
        if local:
            # edge levels P (nlev, O, I, N): every sum over inputs runs over contiguous point rows
            P, saved = layer._local_levels(hT, W, nlev)
            AT = T[1:].transpose(1, 2).contiguous()  # (R-1, I, N)
            outT = T.new_empty(R, O, N)
            torch.sum(P[0], 1, out=outT[0])
            if order >= 1:
                torch.sum(P[1] * AT.unsqueeze(1), 2, out=outT[1:])
            if order >= 2:
                dT = AT[:d]
                outT[1 + d :] += (P[2] * (dT * dT).unsqueeze(1)).sum(2)
            ctx.save_for_backward(AT, P, *saved)
            ctx.state = layer.basis.local_state()  # this pass's basis state, even if the grid moves
            return outT.transpose(1, 2).contiguous()
        else:
            buf = layer.feature_levels(hT, nlev)  # (I, nlev, N, C)
            if first:
                layer.keep_input_features(T, ("first", d, order), ("levels", buf))
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
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G: Tensor):
        if ctx.features:
            if not ctx.needs_input_grad[1]:
                return None, None, None, None, None
            R, N, O = G.shape
            kind, E, *rest = ctx.kept
            if kind == "jet":  # E (R N, I C)
                gW = (G.reshape(R * N, O).t() @ E).t()
            elif kind == "dense":  # E^T (I C, R N)
                gW = (G.permute(2, 0, 1).reshape(O, R * N) @ E.t()).t()
            else:  # compressed E and E^T
                gW = rest[0] @ G.reshape(R * N, O)
            return None, gW.view(ctx.wshape[0], ctx.wshape[1], O), None, None, None
        if ctx.local:
            return _local_backward(ctx, G)
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
            feats = saved[0][:, :L].reshape(I, L * N, -1)
            # (gPhi^T feats)^T: with the few outputs as the rows MKL runs this product faster
            gW = torch.bmm(gPhi.view(I, L * N, O).transpose(1, 2), feats).transpose(1, 2)
        if ctx.needs_input_grad[0]:
            gT = T.new_empty(R, I, N)
            torch.sum((gPhi * Phi[:, 1:]).sum(1), -1, out=gT[0])
            if order >= 1:
                torch.sum(G[1:].unsqueeze(1) * Phi[:, 1], -1, out=gT[1:])
            if order >= 2:
                gT[1 : 1 + d] += 2 * TT[:d, ..., 0] * (G[1 + d :].unsqueeze(1) * Phi[:, 2]).sum(-1)
            gT = gT.transpose(1, 2)
        return gT, gW, None, None, None


def _local_backward(ctx, G: Tensor) -> tuple:
    """Backward pass of ``_LayerJet`` on the narrow-layer path, in the edge-major layout ``(L, O, I, N)``."""
    AT, P, *saved = ctx.saved_tensors
    d, order = ctx.d, ctx.order
    R1, I, N = AT.shape
    L, O = order + 1, P.shape[1]
    GT = G.transpose(1, 2).contiguous()  # (R, O, N)
    gP = G.new_empty(L, O, I, N)
    gP[0] = GT[0].unsqueeze(1)
    if order >= 1:
        torch.sum(GT[1:].unsqueeze(2) * AT.unsqueeze(1), 0, out=gP[1])
    if order >= 2:
        dT = AT[:d]
        torch.sum(GT[1 + d :].unsqueeze(2) * (dT * dT).unsqueeze(1), 0, out=gP[2])
    gT = gW = None
    if ctx.needs_input_grad[1]:
        gW = ctx.layer._local_weight_grad(gP, saved, ctx.wshape, ctx.state)
    if ctx.needs_input_grad[0]:
        gTT = G.new_empty(R1 + 1, I, N)
        torch.sum((gP * P[1 : L + 1]).sum(0), 0, out=gTT[0])
        if order >= 1:
            torch.sum(GT[1:].unsqueeze(2) * P[1], 1, out=gTT[1:])
        if order >= 2:
            gTT[1 : 1 + d] += 2 * AT[:d] * (GT[1 + d :].unsqueeze(2) * P[2]).sum(1)
        gT = gTT.transpose(1, 2)
    return gT, gW, None, None, None


class KANLayer(SymbolicLayerMixin, KeptFeaturesMixin, nn.Module):
    """One KAN layer ``(N, in_features) -> (N, out_features)`` with a basis expansion on every edge.

    Parameters: ``coef`` ``(in, n_basis, out)``, ``spline_scale`` and ``base_weight`` ``(in, out)``.
    Submodule ``basis`` (its grid, if any, is a buffer there).  Buffer ``edge_mask`` ``(in, out)``
    (1 for a live edge, 0 for a pruned one).  Initialisation (after the KAN paper): coefficients
    ``N(0, (noise_scale / size)^2)`` (``size`` the basis's grid or degree), base weights
    ``U(-1/sqrt(in), 1/sqrt(in))``, scales 1, drawn from ``generator`` (torch's global one when
    ``None``).

    Edges can be snapped to symbolic functions (:meth:`fix_symbolic`); they then live in the
    submodule ``symbolic`` (a :class:`~kanpde.models.symbolic.SymbolicEdges`), which is ``None``
    while no edge is symbolic, so that a purely numeric layer runs only its basis code.
    """

    def __init__(self, in_features: int, out_features: int, basis: Basis, base_activation: str = "silu",
                 noise_scale: float = 0.1, generator: torch.Generator | None = None):
        super().__init__()
        if base_activation not in BASE_ACTIVATIONS:
            raise ValueError(f"unknown base_activation {base_activation!r}; known: {sorted(BASE_ACTIVATIONS)}")
        if basis.in_features != in_features:
            raise ValueError(f"basis has {basis.in_features} inputs, the layer {in_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.base_activation = base_activation
        self._levels = BASE_ACTIVATIONS[base_activation]
        self.basis = basis
        nb, dt = basis.n_basis, torch.get_default_dtype()
        self.register_buffer("edge_mask", torch.ones(self.in_features, self.out_features))
        coef = torch.randn(self.in_features, nb, self.out_features, generator=generator, dtype=torch.float64)
        base = torch.rand(self.in_features, self.out_features, generator=generator, dtype=torch.float64)
        self.coef = nn.Parameter((coef * (noise_scale / basis.size)).to(dt))
        self.base_weight = nn.Parameter(((2 * base - 1) / math.sqrt(self.in_features)).to(dt))
        self.spline_scale = nn.Parameter(torch.ones(self.in_features, self.out_features))
        self._last_input: Tensor | None = None
        self.register_module("symbolic", None)

    @property
    def n_basis(self) -> int:
        """Number of basis functions per edge."""
        return self.basis.n_basis

    @property
    def grid_points(self) -> Tensor:
        """The basis's grid ``(in, G + 1)``, or the ends of its input range ``(in, 2)`` if it has none."""
        return self.basis.grid_points

    @property
    def recorded_input(self) -> Tensor | None:
        """The (detached) input of the most recent forward pass or jet, ``(N, in)``; ``None`` before any."""
        return self._last_input

    # -- evaluation -------------------------------------------------------------------------
    def combined_weight(self) -> Tensor:
        """The ``(in, n_basis + 2, out)`` weight acting on the features ``[b, B_0 .. B_{n-1}, 0]``."""
        m = self.edge_mask if self.symbolic is None else self.edge_mask * (1 - self.symbolic.mask)
        pad = self.coef.new_zeros(self.in_features, 1, self.out_features)
        spline = self.coef * (self.spline_scale * m).unsqueeze(1)
        return torch.cat([(self.base_weight * m).unsqueeze(1), spline, pad], 1)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, in)`` to ``(N, out)``; differentiable to any order by autograd."""
        self._last_input = x.detach()
        if self.symbolic is not None:
            return self._numeric_forward(x) + self.symbolic.levels(x, 1, self.edge_mask)[0].sum(1)
        return self._numeric_forward(x)

    def _numeric_forward(self, x: Tensor) -> Tensor:
        act = _PLAIN[self.base_activation](x)
        W = self.combined_weight()
        if self.basis.local(self.out_features):
            return self.basis.local_forward(x, W) + act @ W[:, 0]
        feats = torch.cat([act.unsqueeze(-1), self.basis.values(x)], -1)
        return feats.flatten(1) @ W[:, : self.n_basis + 1].reshape(-1, self.out_features)

    def forward_jet(self, T: Tensor, d: int, order: int) -> Tensor:
        """Propagate a jet (values and input derivatives, see ``kanpde.models.jet``)."""
        self._last_input = T[0].detach()
        out = _LayerJet.apply(T, self.combined_weight(), self, d, order)
        return out if self.symbolic is None else out + self.symbolic.jet(T, d, order, self.edge_mask)

    def feature_levels(self, hT: Tensor, nlev: int) -> Tensor:
        """Features ``[b, B_0 .. B_{n-1}, 0]`` and derivatives at ``hT`` ``(in, N)``: ``(in, nlev, N, n+2)``."""
        buf = self.basis.levels(hT, nlev)
        buf[..., 0] = torch.stack(self._levels(hT, nlev), 1)
        return buf

    def _local_levels(self, hT: Tensor, W: Tensor, nlev: int) -> tuple[Tensor, tuple]:
        """Edge-function levels ``(nlev, out, in, N)`` (contiguous) at ``hT`` from the basis's fast path."""
        O, I = W.shape[-1], hT.shape[0]
        A = torch.stack(self._levels(hT, nlev), 0)  # (nlev, I, N)
        Phi, saved = self.basis.local_levels(hT, W, nlev)
        P = hT.new_empty(nlev, O, I, hT.shape[1])
        torch.addcmul(Phi, A.unsqueeze(1), W[:, 0].t().view(1, O, I, 1), out=P)
        return P, (*saved, A)

    def _local_weight_grad(self, gP: Tensor, saved: Sequence[Tensor], wshape: torch.Size, state) -> Tensor:
        """Gradient of the combined weight for ``_local_levels`` given ``dL/dP`` ``(L, out, in, N)``."""
        *bsaved, A = saved
        L = gP.shape[0]
        gW = self.basis.local_weight_grad(gP.permute(2, 0, 3, 1), bsaved, wshape, state)
        gW[:, 0] += (gP * A[:L].unsqueeze(1)).sum((0, 3)).t()
        return gW

    def edge_values(self, x: Tensor) -> Tensor:
        """Every edge function at its input, ``phi_ij(x_i)``: ``(N, in) -> (N, in, out)``."""
        W = self.combined_weight()
        spline = torch.einsum("nic,ico->nio", self.basis.values(x), W[:, 1 : self.n_basis + 1])
        out = spline + _PLAIN[self.base_activation](x).unsqueeze(-1) * W[:, 0]
        return out if self.symbolic is None else out + self.symbolic.levels(x, 1, self.edge_mask)[0]

    def edge_magnitudes(self) -> Tensor:
        """Mean ``|phi_ij|`` over the last batch this layer saw, ``(in, out)`` (differentiable)."""
        if self._last_input is None:
            raise ValueError("edge magnitudes need a batch: call the model (forward or forward_jet) first")
        return self.edge_values(self._last_input).abs().mean(0)

    # -- basis changes -----------------------------------------------------------------------
    def _set_coef(self, coef: Tensor) -> None:
        if coef.shape == self.coef.shape:  # keep the tensor (an optimizer may hold it)
            self.coef.copy_(coef)
        else:
            self.coef = nn.Parameter(coef.to(self.coef).contiguous(), requires_grad=self.coef.requires_grad)

    @torch.no_grad()
    def update_grid(self, x: Tensor, grid_eps: float) -> None:
        """Adapt the basis's grid to the samples ``x`` ``(N, in)``, keeping the edge functions."""
        if not 0.0 <= grid_eps <= 1.0:
            raise ValueError(f"grid_eps must lie in [0, 1], got {grid_eps!r}")
        self._set_coef(self.basis.update_grid_(x, grid_eps, self.coef))

    @torch.no_grad()
    def refine_(self, size: int) -> None:
        """Change the basis's resolution to ``size`` in place, keeping the edge functions."""
        self._set_coef(self.basis.refine_(size, self.coef))
        self._last_input = None

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        old = prefix + "knots"  # files written before the basis became a submodule
        if old in state_dict and prefix + "basis.knots" not in state_dict:
            state_dict[prefix + "basis.knots"] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
