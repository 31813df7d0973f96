"""Kolmogorov--Arnold network: a learnable 1-D function on every edge, summed into the nodes.

A KAN is a stack of :class:`~kanpde.models.kan_layer.KANLayer` s, each a basis expansion followed
by one contraction.  The basis is chosen by name (``basis=``, see :mod:`kanpde.models.bases`):

* ``"bspline"`` (default; the KAN paper's): ``grid`` intervals, degree ``k``;
* ``"chebyshev"`` (cPIKAN) and ``"legendre"``: polynomials up to ``degree`` of ``tanh(x)`` (or of
  the affinely mapped input, ``input_map="affine"``);
* ``"rbf"`` (FastKAN): Gaussians centred on a grid of ``grid`` intervals;
* ``"fourier"``: cosines and sines of ``degree`` frequencies.

Every basis runs on the forward-jet path (exact derivatives in one forward pass).  Grid update
and refinement apply where the basis has a grid (``bspline``, ``rbf``); ``refine`` raises the
degree of the polynomial and Fourier bases; pruning, the sparsity penalty and symbolic snapping
work for every basis.

Initialisation (after the KAN paper): coefficients ``N(0, (noise_scale / size)^2)`` with
``noise_scale = 0.1``, so every edge starts as a small perturbation of its base branch; base
weights ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``; scales 1.  With ``seed=None`` the draws come from
torch's global generator (as for any torch module: ``torch.manual_seed`` makes them repeatable);
an explicit ``seed`` uses a private ``torch.Generator`` and leaves the global one alone.

Grids: the first layer's grid covers ``grid_range = (-1, 1)``, which is where the trainer maps
every problem's bounding box.  Hidden layers start on the same range; their inputs drift during
training, and :meth:`KAN.update_grid` moves every layer's grid onto the values it actually sees.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from kanpde.models.bases import BASES, make_basis
from kanpde.models.kan_layer import ACT_FLOPS, BASE_ACTIVATIONS, KANLayer

__all__ = ["KAN", "KANLayer", "BASE_ACTIVATIONS"]


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

    ``basis``: edge basis (``"bspline"``, ``"chebyshev"``, ``"legendre"``, ``"rbf"``,
    ``"fourier"``); ``grid``: intervals of a grid basis (B-spline 5, RBF 7); ``k``: spline degree
    (B-spline, default 3); ``degree``: degree of a polynomial basis (default 7) or number of Fourier
    frequencies (default 4) -- the defaults give every basis 10 parameters per edge; ``input_map``:
    ``"tanh"`` or ``"affine"`` for the polynomial bases; ``grid_range``: initial input range of
    every layer; ``grid_eps``: default mixing of :meth:`update_grid` (1 = uniform over the sample
    range, 0 = sample quantiles); ``noise_scale``: coefficient noise (std ``noise_scale / size``).
    Options a basis does not take raise.
    """

    def __init__(self, widths: Sequence[int], grid: int | None = None, k: int | None = None,
                 grid_range: tuple[float, float] = (-1.0, 1.0), base_activation: str = "silu",
                 seed: int | None = None, grid_eps: float = 0.02, noise_scale: float = 0.1,
                 basis: str = "bspline", degree: int | None = None, input_map: str | None = None):
        super().__init__()
        self._widths = _check_widths(widths)
        if basis not in BASES:
            raise ValueError(f"unknown basis {basis!r}; known: {sorted(BASES)}")
        lo, hi = (float(v) for v in grid_range)
        if not hi > lo:
            raise ValueError(f"grid_range must be (lo, hi) with lo < hi, got {tuple(grid_range)!r}")
        if not 0.0 <= grid_eps <= 1.0:
            raise ValueError(f"grid_eps must lie in [0, 1], got {grid_eps!r}")
        if base_activation not in BASE_ACTIVATIONS:
            raise ValueError(f"unknown base_activation {base_activation!r}; known: {sorted(BASE_ACTIVATIONS)}")
        opts = {n: v for n, v in {"grid": grid, "k": k, "degree": degree, "input_map": input_map}.items()
                if v is not None}
        self.basis_name, self.grid_range = basis, (lo, hi)
        self.base_activation, self.grid_eps, self.noise_scale = base_activation, float(grid_eps), float(noise_scale)
        self.seed = seed
        make_basis(basis, 1, **opts, grid_range=self.grid_range)  # check the options once
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        self.layers = nn.ModuleList(
            KANLayer(a, b, make_basis(basis, a, **opts, grid_range=self.grid_range), base_activation, noise_scale, gen)
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

    @property
    def grid(self) -> int:
        """The basis resolution that :meth:`refine` (and a training ``grid_schedule``) changes: grid
        intervals for ``bspline``/``rbf``, the degree (frequencies) for the others."""
        return self.layers[0].basis.size

    @property
    def k(self) -> int | None:
        """Spline degree of a B-spline KAN (``None`` for other bases)."""
        return self.layers[0].basis.config().get("k")

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

        Layer by layer (B-spline): the new grid of each input is ``grid_eps`` times the uniform grid
        over the sample range plus ``1 - grid_eps`` times the sample quantiles (RBF: uniform over
        the range); the coefficients are the least-squares fit of the old edges at the samples;
        the next layer sees the updated layer's outputs.  The function is kept up to the
        approximation error of the old edges on the new grids: small for smooth edges, larger for
        rough (e.g. just initialised) ones and for hidden layers whose grids shrink onto a narrow
        range.  Raises ``ValueError`` for a basis without a grid.
        """
        eps = self.grid_eps if grid_eps is None else grid_eps
        for layer in self.layers:
            layer.update_grid(x, eps)
            x = layer(x)

    @torch.no_grad()
    def refine(self, grid: int) -> KAN:
        """A new KAN with the same function at the finer resolution ``grid`` (see :attr:`grid`).

        B-spline (grid extension): each layer's new grid interpolates its old grid points linearly
        at equally spaced fractional indices (a uniform grid stays uniform, an adapted one keeps
        its density); the coefficients are the least-squares fit of the old splines on dense
        samples of the grid range.  When ``grid`` is a multiple of the old grid size the new
        spline space contains the old one and the fit is exact to rounding; beyond the grid range
        (the extension region) the edges change.  RBF: a finer uniform grid, least squares (kept
        to the approximation error).  Polynomial and Fourier bases: degree elevation (exact).
        Raises ``ValueError`` unless ``grid`` exceeds the current resolution.
        """
        name = self.layers[0].basis.size_name
        if isinstance(grid, bool) or int(grid) != grid or grid <= self.grid:
            raise ValueError(f"refine needs an integer {name} finer than the current {name}={self.grid}, got {grid!r}")
        new = copy.deepcopy(self)
        for layer in new.layers:
            layer.refine_(int(grid))
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
            new_l.basis = old_l.basis.select(ki)
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
        """Trained parameters of live edges: ``n_basis`` coefficients (``G + k`` for B-splines,
        ``D + 1`` for polynomials, ``G + 1`` for RBFs, ``2 K`` for Fourier), a base weight and a
        scale per basis edge, ``(a, b, c, d)`` per symbolic edge."""
        total = 0
        for l in self.layers:
            n_sym = 0 if l.symbolic is None else int((l.symbolic.mask * l.edge_mask).count_nonzero())
            total += (int(l.edge_mask.count_nonzero()) - n_sym) * (l.n_basis + 2) + 4 * n_sym
        return total

    def count_flops(self) -> int:
        """Forward FLOPs per input point, counted as in KANbeFair.

        Per live edge the basis's ``edge_flops()`` (B-spline: ``9 k (G + 1.5 k) + 2 G - 2.5 k + 3``
        for Cox--de Boor, the combination with the coefficients, the base branch's weight and the
        sum into the node; the other bases' formulas are in their ``edge_flops`` docstrings), plus
        ``c_act`` per layer input for the base activation (4 for SiLU, as in ``MLP``).
        """
        c = ACT_FLOPS[self.base_activation]
        return sum(int(l.edge_mask.count_nonzero()) * l.basis.edge_flops() + c * l.in_features for l in self.layers)

    def config(self) -> dict:
        """Constructor arguments that rebuild this architecture (load the state dict for the grids)."""
        basis = {k: v for k, v in self.layers[0].basis.config().items() if k != "grid_range"}
        return {"widths": self.widths, "basis": self.basis_name, **basis, "grid_range": self.grid_range,
                "base_activation": self.base_activation, "grid_eps": self.grid_eps, "noise_scale": self.noise_scale}

    def extra_repr(self) -> str:
        size = ", ".join(f"{k}={v!r}" for k, v in self.layers[0].basis.config().items() if k != "grid_range")
        return f"widths={self.widths}, basis={self.basis_name!r}, {size}, base_activation={self.base_activation!r}"
