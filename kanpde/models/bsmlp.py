"""MLP with learnable B-spline activations (KANbeFair's "MLP with B-spline activation").

Hidden neuron ``j`` of layer ``l`` applies its own activation

    sigma_lj(h) = tanh(h) + sum_c coef_l[j, c] B_c(h)

to its pre-activation ``h``: ``B_c`` are the ``G + k`` B-splines of degree ``k`` on a uniform grid
of ``G`` intervals over ``grid_range`` (``(-2, 2)`` by default: pre-activations of a
Xavier-initialised layer on inputs in ``[-1, 1]`` lie mostly there), and ``coef`` starts at zero,
so training starts from the tanh MLP and learns a correction of each neuron's activation.  The
activation is shared by the neuron's inputs (one spline per neuron), not one per edge as in a KAN.

Jets: the activation's value and first derivatives come from per-interval polynomials of each
neuron's spline (the B-spline basis's narrow-layer path), through one autograd node whose
backward pass uses the next level (as in the KAN layer).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from kanpde.models.bases.bspline import BSplineBasis
from kanpde.models.jet import elementwise_jet, linear_jet

__all__ = ["BSMLP"]


class _SplineActivation(torch.autograd.Function):
    """``S_m[n, j] = sum_c coef[j, c] B_c^(m)(h[n, j])`` for ``m < nlev``, ``(nlev, N, W)``; first order only.

    Each neuron's spline is a one-output "edge", evaluated by the B-spline basis's per-interval
    polynomial path (its ``local_*`` methods); the backward pass uses the next level for ``h``.
    """

    @staticmethod
    def forward(ctx, h: Tensor, coef: Tensor, basis: BSplineBasis, nlev: int) -> Tensor:
        Wp = nn.functional.pad(coef, (1, 1)).unsqueeze(-1)  # (W, nb + 2, 1), zero padding columns
        Phi, saved = basis.local_levels(h.t().contiguous(), Wp, nlev + 1)  # (nlev+1, 1, W, N)
        S = Phi[:, 0].transpose(1, 2)  # (nlev+1, N, W)
        ctx.save_for_backward(S, *saved)
        ctx.nlev, ctx.state, ctx.wshape, ctx.basis = nlev, basis.local_state(), Wp.shape, basis
        return S[:nlev]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g: Tensor):
        S, *saved = ctx.saved_tensors
        n = ctx.nlev
        gh = (g * S[1 : n + 1]).sum(0) if ctx.needs_input_grad[0] else None
        gc = None
        if ctx.needs_input_grad[1]:
            gPhi = g.permute(2, 0, 1).unsqueeze(-1).contiguous()  # (W, nlev, N, 1)
            gc = ctx.basis.local_weight_grad(gPhi, saved, ctx.wshape, ctx.state)[:, 1:-1, 0]
        return gh, gc, None, None


class BSMLP(nn.Module):
    """MLP ``widths[0] -> ... -> widths[-1]`` whose hidden neurons have learnable B-spline activations.

    ``grid``, ``k``, ``grid_range``: each neuron's spline (see the module docstring).  Linear
    weights: Xavier-normal, zero biases (as :class:`~kanpde.models.mlp.MLP`), from ``seed``'s
    private generator or torch's global one when ``None``.
    """

    def __init__(self, widths: Sequence[int], grid: int = 5, k: int = 3,
                 grid_range: tuple[float, float] = (-2.0, 2.0), seed: int | None = None):
        super().__init__()
        widths = [int(w) for w in widths]
        if len(widths) < 2 or any(w < 1 for w in widths):
            raise ValueError(f"widths must list at least 2 positive layer sizes, got {list(widths)}")
        self.widths, self.seed = widths, seed
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.acts = nn.ModuleList(BSplineBasis(w, grid, k, grid_range) for w in widths[1:-1])
        self.grid, self.k, self.grid_range = self.acts[0].grid_size if self.acts else int(grid), int(k), grid_range
        self.coefs = nn.ParameterList(nn.Parameter(torch.zeros(w, a.n_basis)) for w, a in zip(widths[1:-1], self.acts))
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        with torch.no_grad():
            for layer in self.layers:
                std = math.sqrt(2.0 / (layer.in_features + layer.out_features))
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) * std)
                layer.bias.zero_()

    @property
    def d_in(self) -> int:
        """Input dimension."""
        return self.widths[0]

    @property
    def d_out(self) -> int:
        """Output dimension."""
        return self.widths[-1]

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, d_in)`` inputs to ``(N, d_out)`` outputs (differentiable to any order)."""
        *hidden, last = self.layers
        for layer, basis, coef in zip(hidden, self.acts, self.coefs):
            h = layer(x)
            x = torch.tanh(h) + torch.einsum("nwc,wc->nw", basis.values(h), coef)
        return last(x)

    def forward_jet(self, T: Tensor, d: int, order: int) -> Tensor:
        """Propagate a jet (values and input derivatives, see ``kanpde.models.jet``)."""
        *hidden, last = self.layers
        for layer, basis, coef in zip(hidden, self.acts, self.coefs):
            T = linear_jet(T, layer.weight, layer.bias)
            h = T[0]
            S = _SplineActivation.apply(h, coef, basis, max(order, 1) + 1)
            y = torch.tanh(h)
            t1 = 1 - y * y
            T = elementwise_jet(T, d, order, y + S[0], t1 + S[1], -2 * y * t1 + S[2] if order >= 2 else None)
        return linear_jet(T, last.weight, last.bias)

    def count_params(self) -> int:
        """``sum_l (a_l b_l + b_l)`` over the linear layers plus ``G + k`` per hidden neuron."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def count_flops(self) -> int:
        """Forward FLOPs per point: ``sum_l (2 a_l b_l + b_l)`` for the linear layers and, per hidden
        neuron, tanh (5) plus the B-spline activation counted as one KAN edge (``9 k (G + 1.5 k) + 2 G
        - 2.5 k + 3``: Cox--de Boor, the combination with the coefficients, the add)."""
        mats = sum(2 * l.in_features * l.out_features + l.out_features for l in self.layers)
        return mats + sum(b.in_features * (5 + b.edge_flops()) for b in self.acts)

    def config(self) -> dict:
        """Constructor arguments that rebuild this architecture."""
        return {"widths": list(self.widths), "grid": self.grid, "k": self.k, "grid_range": tuple(self.grid_range)}

    def extra_repr(self) -> str:
        return f"widths={self.widths}, grid={self.grid}, k={self.k}"
