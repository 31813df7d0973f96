"""B-spline basis (the KAN paper's): ``G + k`` splines of degree ``k`` on a grid of ``G`` intervals.

The basis acts on the raw input.  The grid (a buffer ``knots`` ``(in, G + 2k + 1)``: the grid
extended by ``k`` knots per side, see :mod:`kanpde.models.bspline`) starts uniform on
``grid_range``; the splines vanish beyond the extended knots.  Evaluation uses
:class:`~kanpde.models.bspline.KnotTables`: a closed form on uniform grids, per-interval
polynomials on adapted ones.  For a layer with few outputs, ``out * (k + 1) <= G + k + 2``, the
basis also offers the layer a fast path (``local_*``): it forms the per-interval polynomials of
the edge functions (the combined weight times the basis pieces, a tiny product) and evaluates the
one each point falls in by Horner's rule.

Refine = grid extension: the new grid interpolates the old grid points at equally spaced
fractional indices; coefficients are the least-squares fit of the old splines on dense samples of
the grid range.  When the new grid size is a multiple of the old one the spline spaces are
nested and the function is kept to rounding on the grid range; otherwise to the spline
approximation error.  ``update_grid_`` moves the grid onto the samples (``grid_eps`` mixes a
uniform grid over their range with their quantiles) and refits the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from kanpde.models.bases.base import Basis, check_size, refit_coefficients
from kanpde.models.bspline import KnotTables, bspline_basis, extend_grid, is_uniform, powers, uniform_grid

__all__ = ["BSplineBasis", "interp_rows"]


def interp_rows(g: Tensor, s: Tensor) -> Tensor:
    """Rows of ``g`` ``(I, G+1)`` interpolated linearly at fractional indices ``s`` ``(S,)``."""
    lo = s.floor().long().clamp(0, g.shape[1] - 2)
    w = s - lo
    return g[:, lo] * (1 - w) + g[:, lo + 1] * w


class BSplineBasis(Basis):
    """``G + k`` B-splines of degree ``k`` per input on a grid of ``G`` intervals (see module docstring)."""

    name = "bspline"
    size_name = "grid"

    def __init__(self, in_features: int, grid: int = 5, k: int = 3, grid_range: tuple[float, float] = (-1.0, 1.0)):
        super().__init__(in_features, grid_range)
        self.grid_size = check_size("grid (number of intervals)", grid)
        self.k = check_size("k (spline degree)", k)
        knots = extend_grid(uniform_grid(self.in_features, self.grid_size, *self.grid_range), self.k)
        self.register_buffer("knots", knots.to(torch.get_default_dtype()))
        self._tables_cache: KnotTables | None = None

    @property
    def n_basis(self) -> int:
        """``G + k``."""
        return self.grid_size + self.k

    @property
    def size(self) -> int:
        """Grid intervals ``G``."""
        return self.grid_size

    @property
    def grid_points(self) -> Tensor:
        """The grid without its extension, ``(in, G + 1)``."""
        return self.knots[:, self.k : self.k + self.grid_size + 1]

    @property
    def domain(self) -> Tensor:
        """Ends of the grid, ``(in, 2)``."""
        g = self.grid_points
        return torch.stack([g[:, 0], g[:, -1]], 1)

    @property
    def uniform(self) -> bool:
        """Whether the knots are uniform (closed-form evaluation) rather than general."""
        return self.tables().uniform

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

    def tables(self) -> KnotTables:
        """Evaluation tables of the current knots (rebuilt when the knots change)."""
        t = self._tables_cache
        if t is None or not t.fresh(self.knots):
            t = self._tables_cache = KnotTables(self.knots, self.k)
        return t

    def values(self, x: Tensor) -> Tensor:
        """Splines at ``x``: ``(N, in) -> (N, in, G + k)`` (differentiable)."""
        return self.tables().basis(x)[..., 1 : self.n_basis + 1]

    def levels(self, hT: Tensor, n: int) -> Tensor:
        """Splines and derivatives at ``hT`` ``(in, N)``, padded layout ``(in, n, N, G + k + 2)``."""
        return self.tables().levels(hT, n)

    # -- the narrow-layer fast path -----------------------------------------------------------
    def local(self, out_features: int) -> bool:
        """Per-interval edge polynomials cost ``(k+1) out`` numbers per point and input, dense
        features ``G + k + 2`` followed by a product: take the smaller."""
        return out_features * (self.k + 1) <= self.n_basis + 2

    def local_forward(self, x: Tensor, W: Tensor) -> Tensor:
        """Spline part ``sum_i sum_c W[i, c + 1, o] B_c(x_i)`` ``(N, out)`` for a padded weight ``W``."""
        t, k, (I, O) = self.tables(), self.k, (W.shape[0], W.shape[-1])
        tau, index = t.locate(x.t())
        Qg = t.gather(t.pieces(W, 1).view(-1, (k + 1) * O), t.rows(index))  # ((k+1)*O, I*N)
        return t.horner(Qg.view(k + 1, O, -1), tau.reshape(1, -1)).view(O, I, -1).sum(1).t()

    def local_levels(self, hT: Tensor, W: Tensor, nlev: int) -> tuple[Tensor, tuple]:
        """Spline part of the edge levels ``(nlev, out, in, N)`` at ``hT`` and what the backward needs."""
        t, k, (I, N), O = self.tables(), self.k, hT.shape, W.shape[-1]
        tau, index = t.locate(hT)
        rows = t.rows(index)
        Qg = t.gather(t.pieces(W, nlev).view(I * t.J, -1), rows).view(k + 1, nlev * O, I * N)
        return t.horner(Qg, tau.view(1, -1)).view(nlev, O, I, N), (tau, rows)

    def local_state(self) -> KnotTables:
        """The tables of this forward pass (kept for the backward, even if the grid moves between)."""
        return self.tables()

    def local_weight_grad(self, gPhi: Tensor, saved: Sequence[Tensor], wshape: torch.Size, t: KnotTables) -> Tensor:
        """Gradient of the padded weight's spline columns given ``dL/dPhi`` ``(in, L, N, out)``."""
        tau, rows = saved
        k, (I, L, N, O) = t.k, gPhi.shape
        gT = gPhi.permute(1, 3, 0, 2).reshape(1, L * O, I * N)
        outer = (powers(tau.reshape(-1), k, 0).unsqueeze(1) * gT).reshape((k + 1) * L * O, I * N)
        gQ = outer.new_zeros(outer.shape[0], I * t.J).index_add_(1, rows, outer)  # ((k+1)*L*O, I*J)
        gQ = gQ.t().reshape(I * t.J, (k + 1) * L, O)
        gwin = torch.bmm(t.loc[L].transpose(1, 2), gQ)  # (I*J, k+1, O)
        return gQ.new_zeros(wshape[0] * wshape[1], O).index_add_(0, t.window, gwin.view(-1, O)).view(wshape)

    # -- grids ---------------------------------------------------------------------------------
    def _design(self, x: Tensor) -> Tensor:
        """Splines at ``x`` in float64 ``(N, in, G + k)``."""
        return KnotTables(self.knots.to(torch.float64), self.k).basis(x.to(torch.float64))[..., 1 : self.n_basis + 1]

    def _refit(self, x: Tensor, new_grid: Tensor, coef: Tensor) -> Tensor:
        """Move to ``new_grid`` ``(in, G' + 1)``; the least-squares coefficients on ``x`` of the old splines."""
        knots = extend_grid(new_grid.to(torch.float64), self.k)
        new = refit_coefficients(self._design(x), coef, bspline_basis(x.to(torch.float64), knots, self.k))
        if knots.shape == self.knots.shape:
            self.knots.copy_(knots)
        else:
            self.knots = knots.to(self.knots)
        self.grid_size = new_grid.shape[1] - 1
        self._tables_cache = None
        return new

    @torch.no_grad()
    def update_grid_(self, x: Tensor, grid_eps: float, coef: Tensor) -> Tensor:
        """Adapt the grid to the samples ``x`` ``(N, in)``; returns coefficients keeping the splines."""
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
        return self._refit(x, grid, coef)

    @torch.no_grad()
    def refine_(self, size: int, coef: Tensor) -> Tensor:
        """Grid extension to ``size`` intervals; returns coefficients keeping the splines on the grid range."""
        g = self.grid_points.to(torch.float64)
        G = g.shape[1] - 1
        new_grid = interp_rows(g, torch.linspace(0, G, size + 1, dtype=torch.float64, device=g.device))
        samples = torch.linspace(0, G, 8 * (size + self.k) + 1, dtype=torch.float64, device=g.device)
        return self._refit(interp_rows(g, samples).t(), new_grid, coef)

    def select(self, rows: Tensor) -> BSplineBasis:
        """A copy restricted to inputs ``rows`` (their grids kept)."""
        new = BSplineBasis(len(rows), self.grid_size, self.k, self.grid_range)
        new.knots = self.knots[rows.to(self.knots.device)].clone()
        return new

    def edge_flops(self) -> int:
        """``9 k (G + 1.5 k) + 2 G - 2.5 k + 3`` (KANbeFair: Cox--de Boor, the combination with the
        coefficients, the base branch's weight and the sum into the node)."""
        k, G = self.k, self.grid_size
        return 9 * k * G + (27 * k * k - 5 * k) // 2 + 2 * G + 3

    def config(self) -> dict:
        """``grid``, ``k`` and ``grid_range``."""
        return {"grid": self.grid_size, "k": self.k, "grid_range": self.grid_range}
