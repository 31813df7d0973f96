"""Gaussian radial basis on a grid (FastKAN, Li 2024): ``exp(-((x - c_j) / h)^2)``, ``j = 0 .. G``.

The ``G + 1`` centres ``c_j`` form a uniform grid of ``G`` intervals on the grid range (a buffer
``grid`` ``(in, G + 1)``), and the width ``h`` is the grid spacing, as in FastKAN.  The basis acts
on the raw input and decays beyond the range.  With ``u = (x - c) / h``: ``B' = -2 u B / h``,
``B'' = (4 u^2 - 2) B / h^2``, ``B''' = (12 u - 8 u^3) B / h^3``.

Local support.  At each point only the ``WINDOW = 11`` centres nearest to it are evaluated (all of
them when ``G + 1 <= 11``, so small grids are exact): the window is ``j0 .. j0 + 10`` with
``j0 = round(u_0) - 5`` clamped into the grid, and every Gaussian left out is at least
``5.5`` spacings (``7.8`` standard deviations) away, where ``exp(-5.5^2) < 8e-14``.  Each
basis function and derivative is therefore the Gaussian formula or a number below
``8e-14 max(1, |12 u - 8 u^3|) / h^m`` set to zero (measured against the dense formula in
``tests/test_bases.py``), the jumps where a point's window moves are below that too, and the cost
per point does not grow with ``G``: the window's values are scattered into (dense layers) or its
weights gathered from (narrow layers, ``local_*``) the ``G + 1`` columns, as the B-spline basis
does with its ``k + 1`` pieces.

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

__all__ = ["RBFBasis", "WINDOW"]

#: centres evaluated per point (odd, so that the window is centred on the nearest centre)
WINDOW = 11


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


def _window(s: Tensor, nb: int) -> tuple[Tensor | None, Tensor, int]:
    """Window of the centres nearest to positions ``s = (x - c_0) / h``: ``(j0, t, K)``.

    ``j0`` (long, like ``s``; ``None`` when all ``nb`` centres are kept) is the first centre of the
    window, ``K`` its size, and ``t = s - j0 - (K - 1) / 2`` the position relative to its middle,
    so that ``u`` of window centre ``k`` is ``t - (k - (K - 1) / 2)``.
    """
    if nb <= WINDOW:
        return None, s - (nb - 1) / 2, nb
    r = (WINDOW - 1) // 2
    # a non-finite position (a diverged input) takes some window and stays non-finite through t
    mid = (s.detach() + 0.5).floor_().nan_to_num_(0.0).clamp_(r, nb - 1 - r)  # the middle centre, a whole number
    return mid.long() - r, s - mid, WINDOW


def _gauss_levels(u: Tensor, ih: Tensor, n: int) -> list[Tensor]:
    """``[B, B', B'', B''']`` (first ``n``) of Gaussians at ``u``; ``ih`` (1 / spacing) broadcasts to ``u``."""
    u2 = u * u
    e = torch.exp(-u2)
    rows = [e]
    if n > 1:
        ue = u * e
        rows.append(ue * (-2 * ih))
    if n > 2:
        rows.append((4 * u2 - 2) * e * (ih * ih))
    if n > 3:
        rows.append((12 - 8 * u2) * ue * (ih * ih * ih))
    return rows


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
    def window(self) -> int:
        """Centres evaluated per point: ``min(G + 1, WINDOW)``."""
        return min(self.n_basis, WINDOW)

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

    def _offsets(self, K: int, like: Tensor) -> Tensor:
        """``k - (K - 1) / 2`` for the ``K`` centres of a window."""
        return torch.arange(K, dtype=like.dtype, device=like.device) - (K - 1) / 2

    def values(self, x: Tensor) -> Tensor:
        """``(N, in) -> (N, in, G + 1)`` (differentiable; zero outside each point's window)."""
        if self.n_basis <= WINDOW:
            u = _scaled(x, self.grid)
            return torch.exp(-u * u)
        s = (x - self.grid[:, 0].to(x)) * self._inv_h()[:, 0].to(x)
        j0, t, K = _window(s, self.n_basis)
        u = t.unsqueeze(-1) - self._offsets(K, x)
        idx = j0.unsqueeze(-1) + torch.arange(K, device=x.device)
        return x.new_zeros(*x.shape, self.n_basis).scatter(-1, idx, torch.exp(-u * u))

    def levels(self, hT: Tensor, n: int) -> Tensor:
        """Values and derivatives at ``hT`` ``(in, N)``: padded ``(in, n, N, G + 3)``.

        Without a window, the two padding columns are Gaussians ``10^3`` widths away from the point,
        whose values and derivatives are exactly zero, so that every level is computed in the padded
        layout directly and stacked once; with one, the window's levels are scattered into zeros.
        """
        ih = self._inv_h().to(hT)  # (in, 1)
        if self.n_basis > WINDOW:
            s = (hT - self.grid[:, :1].to(hT)) * ih
            j0, t, K = _window(s, self.n_basis)
            u = t.unsqueeze(-1) - self._offsets(K, hT)  # (in, N, K)
            win = torch.stack(_gauss_levels(u, ih.unsqueeze(-1), n), 1)  # (in, n, N, K)
            idx = (j0.unsqueeze(-1) + 1 + torch.arange(K, device=hT.device)).unsqueeze(1).expand_as(win)
            return hT.new_zeros(*win.shape[:3], self.n_basis + 2).scatter_(-1, idx, win)
        u = _scaled(hT.t(), self.grid).transpose(0, 1)  # (in, N, G+1)
        far = torch.full_like(u[..., :1], 1e3)
        u = torch.cat([far, u, far], -1)  # (in, N, G+3)
        return torch.stack(_gauss_levels(u, ih.unsqueeze(-1), n), 1)

    # -- the narrow-layer fast path -----------------------------------------------------------
    # With u_k = t - o_k (t the position relative to the middle of the point's window, o_k = k -
    # (K - 1) / 2 the window centres' offsets), the edge levels are combinations of
    # A_p = sum_k W_k e_k u_k^p: Phi_0 = A_0, Phi_1 = -2 A_1 / h, Phi_2 = (4 A_2 - 2 A_0) / h^2,
    # Phi_3 = (12 A_1 - 8 A_3) / h^3, and A_p expands in powers of t times S_q = sum_k W_k o_k^q e_k.
    # Without a window (G + 1 <= WINDOW) the weights W_k are the same for every point and S_q is one
    # product of the Gaussians with o^q-scaled weights; with one, the K weights of each point's
    # window are gathered.  |t| <= 1/2 inside the grid and |o_k| <= (K - 1) / 2 <= 5, so the
    # expansion loses at most about 3 log10(5) digits of the third level (used only by the
    # backward pass of second derivatives).

    def local(self, out_features: int) -> bool:
        """Windowed: when the gathered weights (``K out`` per point) are no more than the dense
        features (``G + 3``); otherwise when the edge levels (``out`` per level) are fewer."""
        if self.n_basis > WINDOW:
            return out_features * WINDOW <= self.n_basis + 2
        return out_features < self.n_basis + 2

    def _gathered(self, W: Tensor, j0: Tensor, K: int) -> Tensor:
        """Rows of the padded weight ``W`` ``(in, G + 3, O)`` in each point's window ``j0`` ``(in, N)``:
        ``(in, N, K, O)`` (differentiable).

        Every window of every input is laid out once (``in (G + 2 - K)`` rows of ``K O`` weights, a
        few thousand numbers) and each point looks up its window's row: one row lookup per point
        instead of one per weight, several times faster.
        """
        I, C, O = W.shape
        nw = self.n_basis - K + 1  # windows per input
        wins = W[:, 1 : self.n_basis + 1].unfold(1, K, 1).transpose(2, 3).reshape(I * nw, K * O)
        rows = (j0 + (torch.arange(I, device=W.device) * nw).view(I, 1)).flatten()
        return wins.index_select(0, rows).view(*j0.shape, K, O)

    @staticmethod
    def _flat_rows(j0: Tensor, K: int, C: int) -> Tensor:
        """Index of each point's window weights into the rows of the padded weight ``(in * C, O)``: ``(in N K,)``."""
        base = (torch.arange(j0.shape[0], device=j0.device) * C + 1).view(-1, 1)
        return ((j0 + base).unsqueeze(-1) + torch.arange(K, device=j0.device)).flatten()

    def local_forward(self, x: Tensor, W: Tensor) -> Tensor:
        """``sum_i sum_j W[i, j + 1, o] B_j(x_i)`` ``(N, out)``."""
        if self.n_basis <= WINDOW:
            return self.values(x).flatten(1) @ W[:, 1 : self.n_basis + 1].reshape(-1, W.shape[-1])
        s = (x - self.grid[:, 0].to(x)) * self._inv_h()[:, 0].to(x)  # (N, I)
        j0, t, K = _window(s.t(), self.n_basis)
        u = t.unsqueeze(-1) - self._offsets(K, x)
        Wg = self._gathered(W, j0, K)  # (I, N, K, O)
        return (torch.exp(-u * u).unsqueeze(-1) * Wg).sum((0, 2))

    def local_levels(self, hT: Tensor, W: Tensor, nlev: int) -> tuple[Tensor, tuple]:
        """Gaussian part of the edge levels ``(nlev, out, in, N)`` and what the backward needs."""
        (I, N), O, nb = hT.shape, W.shape[-1], self.n_basis
        ih = self._inv_h().to(hT)  # (I, 1)
        s = (hT - self.grid[:, :1].to(hT)) * ih
        j0, t, K = _window(s, nb)
        oo = self._offsets(K, hT)
        u = t.unsqueeze(-1) - oo
        e = u.mul_(u).neg_().exp_()  # (I, N, K)
        opow = torch.stack([oo**q for q in range(nlev)], 0)  # (nlev, K)
        if j0 is None:
            Wq = (W[:, 1 : nb + 1].unsqueeze(2) * opow.t().view(1, K, nlev, 1)).reshape(I, K, nlev * O)
            S = torch.bmm(e, Wq).view(I, N, nlev, O).unbind(2)
        else:
            Wg = self._gathered(W, j0, K)  # (I, N, K, O)
            ew = (e.unsqueeze(-1) * Wg) if O > 1 else (e * Wg.view(I, N, K)).unsqueeze(-1)
            ew = ew.transpose(2, 3).reshape(I * N * O, K)
            # (opow ew^T)^T: the few levels as the rows of the product, which MKL runs faster
            S = (opow @ ew.t()).view(nlev, I, N, O).unbind(0)
        sv, ihv = t.unsqueeze(-1), ih.unsqueeze(-1)
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
        return torch.stack(Phi, 0).permute(0, 3, 1, 2), (e, t, ih, j0)

    def local_state(self) -> None:
        """No state beyond the saved tensors."""
        return None

    def local_weight_grad(self, gPhi: Tensor, saved, wshape: torch.Size, state) -> Tensor:
        """Gradient of the padded weight's Gaussian columns given ``dL/dPhi`` ``(in, L, N, out)``."""
        e, s, ih, j0 = saved
        I, L, N, O = gPhi.shape
        K = e.shape[-1]
        oo = self._offsets(K, e)
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
        gW = gPhi.new_zeros(wshape)
        if j0 is None:
            gWq = torch.bmm(e.transpose(1, 2), torch.stack(gS, 2).reshape(I, N, L * O)).view(I, K, L, O)
            gW[:, 1 : K + 1] = sum(gWq[:, :, q] * (oo**q).view(1, K, 1) for q in range(L))
            return gW
        opow = torch.stack([oo**q for q in range(L)], 0)  # (L, K)
        # e_k sum_q o_k^q gS_q, accumulated level by level in the layout of e: (I, N, O, K)
        H = gS[0].unsqueeze(-1).expand(I, N, O, K) if L == 1 else torch.addcmul(gS[0].unsqueeze(-1),
                                                                                gS[1].unsqueeze(-1), opow[1])
        for q in range(2, L):
            H.addcmul_(gS[q].unsqueeze(-1), opow[q])
        gWg = (H * e.unsqueeze(2)).transpose(2, 3).reshape(-1)
        rows = self._flat_rows(j0, K, wshape[1])
        if O == 1:
            return gW.view(-1).scatter_add_(0, rows, gWg).view(wshape)
        return gW.view(-1, O).index_add_(0, rows, gWg.view(-1, O)).view(wshape)

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
        """``10 K + 3`` with ``K = min(G + 1, WINDOW)`` the centres evaluated: per centre a difference, a
        scaling, a square and ``exp`` (5, together 8) and the combination with its coefficient (2); the
        base branch's weight, add and sum."""
        return 10 * self.window + 3

    def config(self) -> dict:
        """``grid`` and ``grid_range``."""
        return {"grid": self.grid_size, "grid_range": self.grid_range}
