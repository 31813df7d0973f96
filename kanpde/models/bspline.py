"""B-spline bases of any degree on per-feature knot vectors, with derivatives.

Conventions.  A *grid* of ``G`` intervals has ``G + 1`` points per input feature; the degree-``k``
basis on it lives on the *knot vector* that extends the grid by ``k`` knots on each side
(:func:`extend_grid`), so there are ``M = G + 2k + 1`` knots and ``G + k`` basis functions.
Inputs ``x`` have shape ``(..., I)`` (``I`` features) and knots shape ``(I, M)``; bases come back
as ``(..., I, G + k)``.  Every function works on the whole batch and all features at once.

Two evaluations are provided and agree to rounding:

* :func:`bspline_derivatives` -- the Cox--de Boor recursion, for any (non-uniform) knots; the
  ``nu``-th derivative follows from the degree ``k - nu`` bases by the derivative recursion
  ``B'_{i,p} = p (B_{i,p-1} / (t_{i+p} - t_i) - B_{i+1,p-1} / (t_{i+p+1} - t_{i+1}))``;
* :func:`uniform_bspline_derivatives` -- for uniform knots ``t_j = t_0 + j s``: on the interval
  ``[t_j, t_{j+1})`` with local coordinate ``tau = (x - t_j) / s`` the ``k + 1`` non-zero bases are
  fixed polynomials of ``tau`` (:func:`local_polynomials`), so all bases and derivatives are one
  small matrix product followed by a scatter into their columns.

For repeated evaluation on one grid, :class:`KnotTables` precomputes the per-interval polynomial
pieces of any knot vector (:func:`interval_polynomials`, from Cox--de Boor once), so that
non-uniform grids are evaluated by a lookup and Horner's rule instead of the recursion.  It also
serves the KAN layer, whose combined weights it turns into per-interval edge polynomials.

The bases are half-open: ``B_{i,0} = 1`` on ``[t_i, t_{i+1})``; outside ``[t_0, t_{M-1})`` all
bases and derivatives are zero.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache

import torch
from torch import Tensor, nn

__all__ = [
    "extend_grid",
    "uniform_grid",
    "is_uniform",
    "bspline_basis",
    "bspline_derivatives",
    "local_polynomials",
    "uniform_bspline_derivatives",
    "interval_polynomials",
    "uniform_pieces",
    "scatter_pieces",
    "powers",
    "spline_fit",
    "KnotTables",
]


def _check_k(k: int) -> int:
    if int(k) != k or k < 1:
        raise ValueError(f"spline degree k must be an integer >= 1, got {k!r}")
    return int(k)


def uniform_grid(n_features: int, grid: int, lo: float, hi: float, dtype: torch.dtype = torch.float64) -> Tensor:
    """Uniform grid of ``grid`` intervals on ``[lo, hi]`` for each feature, shape ``(n_features, grid + 1)``."""
    if int(grid) != grid or grid < 1:
        raise ValueError(f"grid (number of intervals) must be an integer >= 1, got {grid!r}")
    if not hi > lo:
        raise ValueError(f"grid range must satisfy lo < hi, got ({lo!r}, {hi!r})")
    row = torch.linspace(float(lo), float(hi), int(grid) + 1, dtype=torch.float64)
    return row.expand(n_features, -1).to(dtype).contiguous()


def extend_grid(grid: Tensor, k: int) -> Tensor:
    """Knot vector of the degree-``k`` bases on ``grid`` (``(..., G+1) -> (..., G+1+2k)``).

    The ``k`` extra knots on each side continue with the mean interval width of the grid, so a
    uniform grid extends to a uniform knot vector.
    """
    k = _check_k(k)
    n = grid.shape[-1] - 1
    if n < 1:
        raise ValueError(f"a grid needs at least 2 points, got shape {tuple(grid.shape)}")
    step = (grid[..., -1:] - grid[..., :1]) / n
    j = torch.arange(1, k + 1, dtype=grid.dtype, device=grid.device)
    left = grid[..., :1] - step * j.flip(0)
    right = grid[..., -1:] + step * j
    return torch.cat([left, grid, right], -1)


def is_uniform(knots: Tensor, rtol: float = 1e-5) -> bool:
    """Whether every feature's knots are equally spaced, to ``rtol`` of the spacing.

    The default tolerance accepts a uniform grid that was once stored in float32 (models are
    built in the default dtype and often moved to float64 afterwards).
    """
    diff = knots.diff(dim=-1)
    step = (knots[..., -1:] - knots[..., :1]) / diff.shape[-1]
    return bool((step > 0).all()) and bool(((diff - step).abs() <= rtol * step).all())


def _safe_recip(v: Tensor) -> Tensor:
    """``1 / v`` where ``v > 0`` and ``0`` where ``v == 0`` (repeated knots)."""
    return torch.where(v > 0, 1.0 / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))


def bspline_derivatives(x: Tensor, knots: Tensor, k: int, nder: int = 0) -> Tensor:
    """Degree-``k`` B-spline bases at ``x`` and their first ``nder`` derivatives, by Cox--de Boor.

    ``x``: ``(..., I)``; ``knots``: ``(I, M)`` non-decreasing (or any shape that broadcasts against
    ``x[..., None]``).  Returns ``(nder + 1, ..., I, M - k - 1)``, row ``nu`` being the ``nu``-th
    derivative.  Differentiable with respect to ``x`` (to any order) by autograd.
    """
    k = _check_k(k)
    if nder < 0:
        raise ValueError(f"nder must be >= 0, got {nder!r}")
    t = knots.to(x.dtype)
    xe = x.unsqueeze(-1)
    B = ((xe >= t[..., :-1]) & (xe < t[..., 1:])).to(x.dtype)
    keep: dict[int, Tensor] = {}
    if k - nder <= 0:
        keep[0] = B
    for p in range(1, k + 1):
        left = (xe - t[..., : -(p + 1)]) * _safe_recip(t[..., p:-1] - t[..., : -(p + 1)])
        right = (t[..., p + 1 :] - xe) * _safe_recip(t[..., p + 1 :] - t[..., 1:-p])
        B = left * B[..., :-1] + right * B[..., 1:]
        if p >= k - nder:
            keep[p] = B
    rows = []
    for nu in range(nder + 1):
        if nu > k:
            rows.append(torch.zeros_like(keep[k]))
            continue
        A = keep[k - nu]
        for p in range(k - nu + 1, k + 1):
            A = p * (A[..., :-1] * _safe_recip(t[..., p:-1] - t[..., : -(p + 1)])
                     - A[..., 1:] * _safe_recip(t[..., p + 1 :] - t[..., 1:-p]))
        rows.append(A)
    return torch.stack(rows, 0)


def bspline_basis(x: Tensor, knots: Tensor, k: int) -> Tensor:
    """Degree-``k`` B-spline bases at ``x``: ``(..., I)`` and knots ``(I, M)`` -> ``(..., I, M-k-1)``."""
    return bspline_derivatives(x, knots, k, 0)[0]


@cache
def _local_polynomials(k: int, nder: int) -> tuple:
    # piece m of the cardinal B-spline N_k on [m, m+1], as a polynomial in tau = s - m:
    # N_k(m + tau) = 1/k! sum_{j<=m} (-1)^j C(k+1, j) (m - j + tau)^k
    poly = [[Fraction(0)] * (k + 1) for _ in range(k + 1)]  # poly[m][p]
    for m in range(k + 1):
        for j in range(m + 1):
            c = Fraction((-1) ** j * math.comb(k + 1, j), math.factorial(k))
            for p in range(k + 1):
                poly[m][p] += c * math.comb(k, p) * Fraction(m - j) ** (k - p)
    out = []
    for nu in range(nder + 1):
        level = [[0.0] * (k + 1) for _ in range(k + 1)]  # level[p][r]
        for r in range(k + 1):  # basis i = j - k + r uses piece m = k - r
            for p in range(nu, k + 1):
                level[p - nu][r] = float(poly[k - r][p] * math.perm(p, nu))
        out.append(level)
    return tuple(tuple(tuple(row) for row in lv) for lv in out)


def local_polynomials(k: int, nder: int) -> Tensor:
    """Coefficients ``C[nu, p, r]`` of ``tau**p`` in the ``nu``-th ``tau``-derivative of the ``r``-th
    non-zero uniform basis on an interval (basis ``j - k + r`` on interval ``j``), float64."""
    k = _check_k(k)
    return torch.tensor(_local_polynomials(k, int(nder)), dtype=torch.float64)


def uniform_pieces(x: Tensor, start: Tensor, inv_step: Tensor, n_intervals: int) -> tuple[Tensor, Tensor]:
    """Local coordinate ``tau`` in ``[0, 1)`` and padded interval index of ``x`` on uniform knots.

    The knots are ``start + j / inv_step`` (``j = 0 .. n_intervals``).  The padded index is
    ``j + 1`` for a point in ``[t_j, t_{j+1})``, ``0`` left of the knots and ``n_intervals + 1``
    right of them (points outside are moved half an interval beyond the knots, where every basis
    vanishes).  With bases stored in the padded layout (basis ``b`` in column ``b + 1``), piece
    ``r`` of a point sits in column ``index - k + r``.
    """
    u = torch.addcmul(start.neg() * inv_step + 1.0, x, inv_step)
    u = u.clamp(0.5, n_intervals + 1.5)
    index = u.detach().long()
    return u - index.to(u.dtype), index


def interval_polynomials(knots: Tensor, k: int, nder: int) -> Tensor:
    """Polynomial pieces of the bases on every knot interval, float64.

    Returns ``C`` of shape ``(I, M - 1, nder + 1, k + 1, k + 1)``: ``C[i, j, nu, p, r]`` is the
    coefficient of ``tau**p`` in the ``nu``-th ``x``-derivative of basis ``j - k + r`` on interval
    ``j`` of feature ``i``, where ``tau = (x - t_j) / (t_{j+1} - t_j)``.  Bases that do not exist
    and empty intervals get zeros.  Built from the Taylor expansion at the left knot.
    """
    k = _check_k(k)
    t = knots.to(torch.float64)
    I, M = t.shape
    n_int, nb = M - 1, M - k - 1
    D = bspline_derivatives(t[:, :-1].t().contiguous(), t, k, k).permute(0, 2, 1, 3)  # (q, I, n_int, nb)
    b = torch.arange(n_int).unsqueeze(1) - k + torch.arange(k + 1)  # (n_int, k+1)
    valid = ((b >= 0) & (b < nb)).to(torch.float64)
    D = D.gather(-1, b.clamp(0, nb - 1).expand(k + 1, I, n_int, k + 1).to(t.device)) * valid.to(t.device)
    delta = t.diff(dim=1)
    rinv = _safe_recip(delta)
    C = t.new_zeros(I, n_int, nder + 1, k + 1, k + 1)
    for q in range(k + 1):
        taylor = D[q] * (delta**q / math.factorial(q)).unsqueeze(-1)  # coefficient of tau^q, (I, n_int, r)
        for nu in range(min(q, nder) + 1):
            C[:, :, nu, q - nu] = taylor * (math.perm(q, nu) * rinv**nu).unsqueeze(-1)
    return C


def scatter_pieces(values: Tensor, col: Tensor, n_cols: int) -> Tensor:
    """Scatter per-interval values ``(..., L, k+1)`` into ``(..., L, n_cols)`` padded basis columns.

    ``col`` (broadcastable to ``values.shape[:-1]``) is the padded column of piece ``r = 0``;
    columns outside ``[0, n_cols)`` are clamped into the two padding columns.
    """
    kp1 = values.shape[-1]
    idx = (col.unsqueeze(-1) + torch.arange(kp1, device=col.device)).clamp_(0, n_cols - 1)
    idx = idx.expand(values.shape)
    return values.new_zeros(values.shape[:-1] + (n_cols,)).scatter_(-1, idx, values)


def powers(tau: Tensor, k: int, dim: int = -1) -> Tensor:
    """``[1, tau, ..., tau**k]`` stacked along a new dimension ``dim``."""
    cols = [torch.ones_like(tau), tau]
    for _ in range(2, k + 1):
        cols.append(cols[-1] * tau)
    return torch.stack(cols[: k + 1], dim)


def uniform_bspline_derivatives(x: Tensor, start: Tensor | float, step: Tensor | float, n_basis: int,
                                k: int, nder: int = 0) -> Tensor:
    """Bases and derivatives on the uniform knots ``start + j * step`` (``j = 0 .. n_basis + k``).

    ``x``: ``(..., I)``; ``start`` and ``step``: scalars or ``(I,)``.  Returns
    ``(nder + 1, ..., I, n_basis)``, the same as :func:`bspline_derivatives` on those knots.
    Differentiable with respect to ``x`` (to any order) by autograd.
    """
    k = _check_k(k)
    start = torch.as_tensor(start, dtype=x.dtype, device=x.device)
    inv_step = 1.0 / torch.as_tensor(step, dtype=x.dtype, device=x.device)
    tau, index = uniform_pieces(x, start, inv_step, n_basis + k)
    C = local_polynomials(k, nder).to(x)  # (L, p, r)
    P = powers(tau, k)  # (..., I, k+1)
    V = torch.einsum("...p,lpr->...lr", P, C)  # (..., I, L, k+1)
    scale = inv_step.unsqueeze(-1) ** torch.arange(nder + 1, dtype=x.dtype, device=x.device)  # (I?, L)
    V = V * scale.unsqueeze(-1)
    dense = scatter_pieces(V, (index - k).unsqueeze(-1), n_basis + 2)[..., 1 : n_basis + 1]  # (..., I, L, n_basis)
    return dense.movedim(-2, 0)


class KnotTables:
    """Evaluation tables of the degree-``k`` bases on a knot vector ``(I, M)``, built once per grid.

    Points are located by a *padded interval index*: ``j + 1`` on ``[t_j, t_{j+1})``, ``0`` left
    of the knots and ``M`` right of them (``J = M + 1`` indices; the two outer "intervals" have
    every basis zero).  Bases live in a *padded column layout* of ``n_basis + 2`` columns: basis
    ``b`` in column ``b + 1``; column ``0`` is left to the caller and column ``n_basis + 1``
    collects the pieces of bases that do not exist (a caller gives it zero weight).

    Uniform knots (to :func:`is_uniform`'s tolerance) are treated as exactly uniform from the
    first knot with the mean spacing, and evaluated in closed form; others through
    :func:`interval_polynomials` gathered per point.  ``levels`` is the number of derivative
    levels (values included) the tables serve, at most ``MAX_LEVELS``.
    """

    MAX_LEVELS = 4  # values and three derivatives: a second-order jet plus its backward pass

    def __init__(self, knots: Tensor, k: int):
        k = _check_k(k)
        self.src, self.version, self.k = knots, knots._version, k
        I, M = knots.shape
        self.n_intervals, self.n_basis, self.J = M - 1, M - k - 1, M + 1
        L, dev = self.MAX_LEVELS, knots.device
        opts = {"dtype": knots.dtype, "device": dev}
        self.uniform = is_uniform(knots)
        t = knots.to(torch.float64)
        if self.uniform:
            step = (t[:, -1:] - t[:, :1]) / (M - 1)
            t = t[:, :1] + step * torch.arange(M, dtype=torch.float64, device=dev)
            self.start, self.inv_step = t[:, :1].to(**opts), (1 / step).to(**opts)
            P = local_polynomials(k, L - 1).to(t)  # (level, p, r), tau-derivatives
            scaled = P * (step.view(I, 1, 1, 1) ** -torch.arange(L, dtype=torch.float64, device=dev).view(L, 1, 1))
            full = scaled.permute(0, 2, 1, 3).reshape(I, k + 1, L * (k + 1)).to(**opts)
            self.mats = {n: full[..., : n * (k + 1)].contiguous() for n in range(1, L + 1)}
            self.values = P[0].to(**opts).contiguous()
        else:
            self.sorted_knots = knots.contiguous()
            pad = t.new_zeros(I, 1)
            self.left = torch.cat([pad, t[:, :-1], pad], 1).to(**opts)
            self.rinv = torch.cat([pad, _safe_recip(t.diff(dim=1)), pad], 1).to(**opts)
        poly = interval_polynomials(t, k, L - 1)  # (I, M-1, level, p, r)
        zero = poly.new_zeros(I, 1, *poly.shape[2:])
        poly = torch.cat([zero, poly, zero], 1).transpose(2, 3)  # (I, J, p, level, r)
        #: per padded interval, rows (power, level), columns pieces: (I*J, (k+1)*n, k+1)
        self.loc = {n: poly[:, :, :, :n].reshape(I * self.J, (k + 1) * n, k + 1).to(**opts).contiguous()
                    for n in range(1, L + 1)}
        # padded column of every piece on every padded interval (missing bases: the last column)
        b = torch.arange(-1, M, device=dev).unsqueeze(1) - k + torch.arange(k + 1, device=dev)
        col = torch.where((b >= 0) & (b < self.n_basis), b + 1, self.n_basis + 1)  # (J, k+1)
        self.window = (torch.arange(I, device=dev).view(I, 1, 1) * (self.n_basis + 2) + col).flatten()
        self.rowbase = torch.arange(I, device=dev).unsqueeze(1) * self.J

    def fresh(self, knots: Tensor) -> bool:
        """Whether these tables were built from ``knots`` as it is now."""
        return self.src is knots and self.version == knots._version

    def locate(self, xT: Tensor) -> tuple[Tensor, Tensor]:
        """Local coordinate ``tau`` (differentiable) and padded interval index of ``xT`` ``(I, N)``."""
        if self.uniform:
            return uniform_pieces(xT, self.start, self.inv_step, self.n_intervals)
        index = torch.searchsorted(self.sorted_knots, xT.detach().contiguous(), right=True)
        return (xT - self.left.gather(1, index)) * self.rinv.gather(1, index), index

    def rows(self, index: Tensor) -> Tensor:
        """Flat rows ``(I*N,)`` of the per-interval tables for padded interval indices ``(I, N)``."""
        return (index + self.rowbase).flatten()

    def horner(self, coef: Tensor, tau: Tensor) -> Tensor:
        """``sum_p coef[p] tau^p`` for coefficients ``(k+1, ...)`` and ``tau`` broadcastable to ``coef[0]``."""
        acc = coef[self.k]
        for p in range(self.k - 1, -1, -1):
            acc = torch.addcmul(coef[p], acc, tau)
        return acc

    def gather(self, table: Tensor, rows: Tensor) -> Tensor:
        """Rows ``rows`` of a per-interval table ``(I*J, F)``, transposed: ``(F, len(rows))``.

        Points along the last dimension keep the elementwise work that follows vectorised.
        Differentiable with respect to ``table``.
        """
        tT = table.t().contiguous()
        return torch.gather(tT, 1, rows.unsqueeze(0).expand(tT.shape[0], -1))

    def basis(self, x: Tensor) -> Tensor:
        """Bases at ``x`` ``(N, I)`` in the padded layout ``(N, I, n_basis + 2)`` (differentiable)."""
        k = self.k
        if self.uniform:
            tau, index = uniform_pieces(x, self.start[:, 0], self.inv_step[:, 0], self.n_intervals)
            V = powers(tau, k) @ self.values
        else:
            tau, index = self.locate(x.t())
            pieces = nn.functional.embedding(self.rows(index), self.loc[1].view(self.loc[1].shape[0], -1))
            V = self.horner(pieces.view(-1, k + 1, k + 1).transpose(0, 1), tau.reshape(-1, 1))
            V = V.view(x.shape[1], -1, k + 1)
            V, index = V.transpose(0, 1), index.t()
        return scatter_pieces(V.unsqueeze(-2), (index - k).unsqueeze(-1), self.n_basis + 2).squeeze(-2)

    def levels(self, xT: Tensor, n: int) -> Tensor:
        """Bases and their first ``n - 1`` derivatives at ``xT`` ``(I, N)``: ``(I, n, N, n_basis + 2)``.

        Padded layout; column 0 is zero.  Not differentiable (meant for hand-written backward passes).
        """
        k, (I, N) = self.k, xT.shape
        tau, index = self.locate(xT)
        if self.uniform:
            V = torch.bmm(powers(tau, k, 0).permute(1, 2, 0), self.mats[n])
        else:
            pieces = nn.functional.embedding(self.rows(index), self.loc[n].view(self.loc[n].shape[0], -1))
            V = self.horner(pieces.view(I * N, k + 1, -1).transpose(0, 1), tau.view(-1, 1))
        V = V.view(I, N, n, k + 1).transpose(1, 2)
        return scatter_pieces(V, (index - k).unsqueeze(1), self.n_basis + 2)

    def pieces(self, W: Tensor, n: int) -> Tensor:
        """Per-interval polynomials of the spline combinations ``W`` (padded layout ``(I, n_basis+2, O)``).

        Returns ``(I*J, k+1, n*O)``: coefficient of ``tau^p`` of derivative level ``m`` of
        ``sum_c W[i, c, o] B_c`` on each padded interval.  Differentiable with respect to ``W``.
        """
        O = W.shape[-1]
        win = W.reshape(-1, O).index_select(0, self.window).view(-1, self.k + 1, O)
        return torch.bmm(self.loc[n], win).view(-1, self.k + 1, n * O)


def spline_fit(A: Tensor, Y: Tensor, ridge: float = 1e-10) -> Tensor:
    """Least-squares coefficients ``C`` minimising ``|A C - Y|^2`` per batch entry, in float64.

    ``A``: ``(..., n, m)`` design matrices; ``Y``: ``(..., n, q)``.  The normal equations are
    scaled to unit diagonal (columns that are all zero are left as they are) and solved by
    Cholesky with a ridge ``ridge`` (raised tenfold until the factorisation succeeds) and two
    steps of iterative refinement, so rank-deficient designs still give finite, deterministic
    coefficients while well-posed ones are solved to rounding.
    """
    A64, Y64 = A.to(torch.float64), Y.to(torch.float64)
    AtA = A64.transpose(-1, -2) @ A64
    AtY = A64.transpose(-1, -2) @ Y64
    diag = AtA.diagonal(dim1=-2, dim2=-1)
    s = torch.where(diag > 0, diag.clamp_min(1e-300).rsqrt(), torch.ones_like(diag))  # Jacobi scaling
    M = AtA * s.unsqueeze(-1) * s.unsqueeze(-2)
    b = AtY * s.unsqueeze(-1)
    eye = torch.eye(M.shape[-1], dtype=torch.float64, device=A.device)
    lam = ridge
    for _ in range(12):
        L, info = torch.linalg.cholesky_ex(M + lam * eye)
        if not bool((info > 0).any()):
            y = torch.cholesky_solve(b, L)
            for _ in range(2):  # iterative refinement removes the ridge's bias on well-posed directions
                y = y + torch.cholesky_solve(b - M @ y, L)
            return y * s.unsqueeze(-1)
        lam *= 10.0
    raise RuntimeError("spline least-squares: normal equations could not be factorised")
