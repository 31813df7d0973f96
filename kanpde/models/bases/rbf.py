"""Gaussian radial basis on a grid (FastKAN, Li 2024): ``exp(-((x - c_j) / h)^2)``, ``j = 0 .. G``.

The ``G + 1`` centres ``c_j`` form a uniform grid of ``G`` intervals on the grid range (a buffer
``grid`` ``(in, G + 1)``), and the width ``h`` is the grid spacing, as in FastKAN.  The basis acts
on the raw input and decays beyond the range.  With ``u = (x - c) / h``: ``B' = -2 u B / h``,
``B'' = (4 u^2 - 2) B / h^2``, ``B''' = (12 u - 8 u^3) B / h^3``.

Refine = a finer uniform grid on the same range, coefficients by least squares on dense samples of
the range: unlike B-splines the Gaussian spaces are not nested, so the function is kept only to the
approximation error of the finer basis. Gaussian sums whose width is the spacing have no centres
beyond the range to lean on, so that error is largest at the ends of the range: for a smooth edge,
below 5e-3 relative on the middle half of the range and up to about 6e-2 at its ends (measured in
``tests/test_bases.py``). ``update_grid_`` moves the grid uniformly onto the samples' range
(``grid_eps`` is not used: centres stay equally spaced so that one width fits all) and refits on the
samples.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanpde.models.bases.base import Basis, check_size, refit_coefficients
from kanpde.models.bspline import uniform_grid

__all__ = ["RBFBasis"]


def _scaled(x: Tensor, grid: Tensor) -> Tensor:
    """``u_j = (x - c_j) / h`` ``(..., in, G + 1)`` for ``x`` ``(..., in)`` on the uniform centres ``grid``
    ``(in, G + 1)``, as ``(x - c_0) / h - j`` (the centres are the ends and the spacing, exactly)."""
    G = grid.shape[1] - 1
    ih = G / (grid[:, -1] - grid[:, 0])
    j = torch.arange(G + 1, dtype=x.dtype, device=x.device)
    return ((x - grid[:, 0].to(x)) * ih.to(x)).unsqueeze(-1) - j


def _gauss(x: Tensor, grid: Tensor) -> Tensor:
    """The Gaussians of a uniform centre grid ``(in, G + 1)`` at ``x`` ``(N, in)``: ``(N, in, G + 1)``."""
    u = _scaled(x, grid)
    return torch.exp(-u * u)


class RBFBasis(Basis):
    """``G + 1`` Gaussians per input centred on a uniform grid, width the grid spacing."""

    name = "rbf"
    size_name = "grid"

    def __init__(self, in_features: int, grid: int = 7, grid_range: tuple[float, float] = (-1.0, 1.0)):
        super().__init__(in_features, grid_range)
        self.grid_size = check_size("grid (number of intervals)", grid)
        g = uniform_grid(self.in_features, self.grid_size, *self.grid_range)
        self.register_buffer("grid", g.to(torch.get_default_dtype()))

    @property
    def n_basis(self) -> int:
        """``G + 1``."""
        return self.grid_size + 1

    @property
    def size(self) -> int:
        """Grid intervals ``G``."""
        return self.grid_size

    @property
    def grid_points(self) -> Tensor:
        """The centres, ``(in, G + 1)``."""
        return self.grid

    @property
    def domain(self) -> Tensor:
        """Ends of the grid, ``(in, 2)``."""
        return torch.stack([self.grid[:, 0], self.grid[:, -1]], 1)

    def _inv_h(self) -> Tensor:
        return self.grid_size / (self.grid[:, -1:] - self.grid[:, :1])  # (in, 1)

    def values(self, x: Tensor) -> Tensor:
        """``(N, in) -> (N, in, G + 1)`` (differentiable)."""
        u = _scaled(x, self.grid)
        return torch.exp(-u * u)

    def levels(self, hT: Tensor, n: int) -> Tensor:
        """Values and derivatives at ``hT`` ``(in, N)``: padded ``(in, n, N, G + 3)``.

        The two padding columns are Gaussians ``10^3`` widths away from the point, whose
        values and derivatives are exactly zero, so that every level is computed in the padded
        layout directly and stacked once.
        """
        ih = self._inv_h().to(hT)  # (in, 1)
        u = _scaled(hT.t(), self.grid).transpose(0, 1)  # (in, N, G+1)
        far = torch.full_like(u[..., :1], 1e3)
        u = torch.cat([far, u, far], -1)  # (in, N, G+3)
        u2 = u * u
        e = torch.exp(-u2)
        rows = [e]
        if n > 1:
            ue = u * e
            rows.append(ue * (-2 * ih).unsqueeze(-1))
        if n > 2:
            rows.append((4 * u2 - 2) * e * (ih * ih).unsqueeze(-1))
        if n > 3:
            rows.append((12 - 8 * u2) * ue * (ih * ih * ih).unsqueeze(-1))
        return torch.stack(rows, 1)

    # -- the narrow-layer fast path -----------------------------------------------------------
    # With u_j = s - (j - r) (s = (x - c_0) / h - r, r = G / 2 centring the indices), the edge
    # levels are combinations of A_p = sum_j W_j e_j u_j^p: Phi_0 = A_0, Phi_1 = -2 A_1 / h,
    # Phi_2 = (4 A_2 - 2 A_0) / h^2, Phi_3 = (12 A_1 - 8 A_3) / h^3, and A_p expands in powers of s
    # times S_q = sum_j W_j (j - r)^q e_j: one product of the Gaussians with q-scaled weights.
    # Centring keeps |s|, |j - r| <= G / 2 + a few, so the expansion loses about 3 log10(G / 2)
    # digits of the third level (used only by the backward pass of second derivatives).

    def local(self, out_features: int) -> bool:
        """Edge levels cost about ``out`` numbers per level and point, dense features ``G + 3``."""
        return out_features < self.n_basis + 2

    def local_forward(self, x: Tensor, W: Tensor) -> Tensor:
        """``sum_i sum_j W[i, j + 1, o] B_j(x_i)`` ``(N, out)``."""
        return self.values(x).flatten(1) @ W[:, 1 : self.n_basis + 1].reshape(-1, W.shape[-1])

    def _offsets(self, like: Tensor) -> Tensor:
        return torch.arange(self.n_basis, dtype=like.dtype, device=like.device) - self.grid_size / 2

    def local_levels(self, hT: Tensor, W: Tensor, nlev: int) -> tuple[Tensor, tuple]:
        """Gaussian part of the edge levels ``(nlev, out, in, N)`` and what the backward needs."""
        (I, N), O, nb = hT.shape, W.shape[-1], self.n_basis
        ih = self._inv_h().to(hT)  # (I, 1)
        jj = self._offsets(hT)
        s = (hT - self.grid[:, :1].to(hT)) * ih - self.grid_size / 2  # (I, N)
        u = s.unsqueeze(-1) - jj
        e = torch.exp(-u * u)  # (I, N, nb)
        Wb = W[:, 1 : nb + 1]
        Wq = torch.stack([Wb * (jj**q).view(1, nb, 1) for q in range(nlev)], 2).view(I, nb, nlev * O)
        S = torch.bmm(e, Wq).view(I, N, nlev, O).unbind(2)
        sv, ihv = s.unsqueeze(-1), ih.unsqueeze(-1)
        A = [S[0]]
        if nlev > 1:
            A.append(sv * S[0] - S[1])
        if nlev > 2:
            A.append(sv * (sv * S[0] - 2 * S[1]) + S[2])
        if nlev > 3:
            A.append(sv * (sv * (sv * S[0] - 3 * S[1]) + 3 * S[2]) - S[3])
        Phi = [A[0]]
        if nlev > 1:
            Phi.append(-2 * ihv * A[1])
        if nlev > 2:
            Phi.append((ihv * ihv) * (4 * A[2] - 2 * A[0]))
        if nlev > 3:
            Phi.append((ihv * ihv * ihv) * (12 * A[1] - 8 * A[3]))
        return torch.stack(Phi, 0).permute(0, 3, 1, 2), (e, s, ih)

    def local_state(self) -> None:
        """No state beyond the saved tensors."""
        return None

    def local_weight_grad(self, gPhi: Tensor, saved, wshape: torch.Size, state) -> Tensor:
        """Gradient of the padded weight's Gaussian columns given ``dL/dPhi`` ``(in, L, N, out)``."""
        e, s, ih = saved
        I, L, N, O = gPhi.shape
        nb = e.shape[-1]
        jj = torch.arange(nb, dtype=e.dtype, device=e.device) - (nb - 1) / 2
        g = gPhi.unbind(1)
        sv, ihv = s.unsqueeze(-1), ih.unsqueeze(-1)
        gA = [g[0] - 2 * (ihv * ihv) * g[2] if L > 2 else g[0]]  # adjoint of A -> Phi
        if L > 1:
            gA.append(-2 * ihv * g[1] + (12 * ihv * ihv * ihv * g[3] if L > 3 else 0))
        if L > 2:
            gA.append(4 * (ihv * ihv) * g[2])
        if L > 3:
            gA.append(-8 * (ihv * ihv * ihv) * g[3])
        # adjoint of A_p = sum_q C(p, q) s^(p-q) (-1)^q S_q
        binom = [[1], [1, 1], [1, 2, 1], [1, 3, 3, 1]]
        spow = [None, sv, sv * sv, sv * sv * sv]
        gS = []
        for q in range(L):
            acc = None
            for p in range(q, L):
                term = gA[p] if p == q else gA[p] * spow[p - q]
                term = term * (binom[p][q] * (-1) ** q) if binom[p][q] * (-1) ** q != 1 else term
                acc = term if acc is None else acc + term
            gS.append(acc)
        gWq = torch.bmm(e.transpose(1, 2), torch.stack(gS, 2).reshape(I, N, L * O)).view(I, nb, L, O)
        gW = gPhi.new_zeros(wshape)
        gW[:, 1 : nb + 1] = sum(gWq[:, :, q] * (jj**q).view(1, nb, 1) for q in range(L))
        return gW

    def _move(self, new_grid: Tensor, x: Tensor, coef: Tensor) -> Tensor:
        x64 = x.to(torch.float64)
        G = new_grid.shape[1] - 1
        new = refit_coefficients(_gauss(x64, self.grid.to(torch.float64)), coef, _gauss(x64, new_grid))
        if new_grid.shape == self.grid.shape:
            self.grid.copy_(new_grid)
        else:
            self.grid = new_grid.to(self.grid)
        self.grid_size = G
        return new

    @torch.no_grad()
    def refine_(self, size: int, coef: Tensor) -> Tensor:
        """A uniform grid of ``size`` intervals on the same range; least-squares coefficients."""
        g = self.grid.to(torch.float64)
        lo, hi = g[:, :1], g[:, -1:]
        frac = torch.linspace(0, 1, size + 1, dtype=torch.float64, device=g.device)
        samples = torch.linspace(0, 1, 8 * (size + 1) + 1, dtype=torch.float64, device=g.device)
        return self._move(lo + (hi - lo) * frac, (lo + (hi - lo) * samples).t(), coef)

    @torch.no_grad()
    def update_grid_(self, x: Tensor, grid_eps: float, coef: Tensor) -> Tensor:
        """Centres uniform over the samples' range (a near-constant input keeps its grid); refit on ``x``."""
        xs = x.detach().to(torch.float64)
        lo, hi = xs.min(0).values.unsqueeze(1), xs.max(0).values.unsqueeze(1)
        old = self.grid.to(torch.float64)
        frac = torch.linspace(0, 1, self.grid_size + 1, dtype=torch.float64, device=xs.device)
        grid = lo + (hi - lo) * frac
        degenerate = ~((hi - lo)[:, 0] > 1e-9 * (old[:, -1] - old[:, 0]))
        grid[degenerate] = old[degenerate]
        return self._move(grid, xs, coef)

    def select(self, rows: Tensor) -> RBFBasis:
        """A copy restricted to inputs ``rows`` (their grids kept)."""
        new = RBFBasis(len(rows), self.grid_size, self.grid_range)
        new.grid = self.grid[rows.to(self.grid.device)].clone()
        return new

    def edge_flops(self) -> int:
        """``8 (G + 1) + 2 (G + 1) + 3``: per centre a difference, a scaling, a square and ``exp`` (5),
        the combination with the coefficients, the base branch's weight, add and sum."""
        return 10 * self.n_basis + 3

    def config(self) -> dict:
        """``grid`` and ``grid_range``."""
        return {"grid": self.grid_size, "grid_range": self.grid_range}
