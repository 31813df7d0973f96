r"""Hard constraints: an output transform that satisfies Dirichlet and initial values by construction.

With ``TrainConfig(hard_constraints=True)`` the network ``N`` (the model) is wrapped as

.. math::  u(x) = g(x) + \varphi(x)\, N(x)

per output component, where :math:`\varphi` is an approximate distance function (ADF) that
vanishes exactly on the constrained boundary and is positive inside, and :math:`g` extends the
boundary data into the domain (Sukumar & Srivastava 2022, "Exact imposition of boundary
conditions with distance functions in physics-informed deep neural networks").  The imposed
conditions hold for any weights, so their loss terms are dropped (``history.meta
["hard_constraints"]`` lists them).  The transform is parameter-free and lives beside the model,
not inside it: the model stays the inner network ``N`` (saved, refined and interpreted as is),
and the loss engine, the trainer's error evaluation and :class:`~kanpde.Solution` apply it.

**Distance functions.**  ``Interval``/``Box``: the product of the per-dimension interval ADFs
:math:`(x_i - a_i)(b_i - x_i)/(b_i - a_i)`; ``Disk``/``Ball``: :math:`(R^2 - |x - c|^2)/(2R)`;
``Ellipse``: the same in its own frame; ``Polygon`` (``Triangle``, ``LShape``): the R-equivalence of
trimmed edge ADFs; ``a - b``, ``a | b``, ``a & b``: R0 conjunction/disjunction of the operands' signed
ADFs (``Geometry.adf``); the initial slice of a ``SpaceTime`` (or the left end of an ``Interval``
used as time): :math:`t - t_0`.  Other geometries (``PointCloud``, user geometries without
``adf``) raise an error naming the shape.

**Boundary data.**  A Dirichlet value is a constant or a torch function of the points; it is
evaluated *inside* the domain as the extension :math:`g`, so a callable must be defined (and
differentiable) on the whole domain -- catalog problems give the exact solution or a smooth formula.

**Parts of the boundary** (``on=``).  The boundary is split into pieces: the end points of an
interval, the faces of a box, the edges of a polygon, the primitives (``parts``) of a combined
domain.  ``on`` is evaluated on boundary samples; each piece must be selected wholly or not at all
(else an error), and :math:`\varphi` is the product of the selected pieces' ADFs.  Several
Dirichlet conditions on one component (different values on different pieces) are joined by
transfinite interpolation, :math:`g = \sum_k w_k g_k`, :math:`w_k = \prod_{j \ne k}\varphi_j /
\sum_i \prod_{j \ne i}\varphi_j`, :math:`\varphi = \prod_k \varphi_k`.

**Space-time.**  With lateral Dirichlet data :math:`h(x, t)` and initial data :math:`u_0(x)`,

.. math::  u = h(x, t) + u_0(x) - h(x, t_0) + \varphi_b(x)\,(t - t_0)\,N(x, t),

exact on both when the data agree where they meet (:math:`u_0 = h(\cdot, t_0)` on the spatial
boundary), which is checked on sample points when the transform is built.  Only one of the two:
:math:`u = h + \varphi_b N` or :math:`u = u_0 + (t - t_0) N`.

**What stays soft.**  Neumann, Robin, Periodic (``hard=True`` is separate) and Data terms; the
derivative part of an ``Initial(derivative=...)`` (its term is kept, its value part being zero).
``hard_constraints`` may also be a sequence of term names (``("dirichlet",)``) to impose only
those; naming a term of another kind raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from kanpde.conditions import Condition, Dirichlet, Initial, evaluate_value
from kanpde.geom.primitives import r_equivalence
from kanpde.geometry import CSG, Box, Geometry, Interval, Polygon, SpaceTime
from kanpde.problem import Problem

__all__ = ["HardConstraints", "term_names", "boundary_adf", "apply_jet", "jet_of"]

ADF = Callable[[Tensor], Tensor]
_SEED = 20240611  # fixed-seed samples for classifying boundary pieces and checking compatibility
_TOL = 1e-8  # a sample is on a piece when |adf| <= _TOL * scale


def term_names(problem: Problem) -> list[tuple[str, Condition | None]]:
    """The loss terms of ``problem`` by name, as the loss engine names them (``None``: the residual)."""
    slots = ([None] if problem.residual is not None else []) + [
        c for c in problem.conditions if not getattr(c, "hard", False)]
    names: list[str] = []
    for c in slots:
        base = "pde" if c is None else (c.name or c.kind)
        name, k = base, 1
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return list(zip(names, slots))


def boundary_adf(domain: Geometry) -> ADF:
    """An ADF of the whole boundary of ``domain``: ``(N, d) -> (N,)``, zero on it, positive inside."""
    if isinstance(domain, _Lateral):
        inner = boundary_adf(domain.st.space)
        return lambda x: inner(x[:, :-1])
    if isinstance(domain, Box):
        return lambda x: torch.prod(domain.interval_adfs(x), 1)
    if isinstance(domain, Polygon):  # unsigned is enough inside, and needs no membership test
        return lambda x: r_equivalence(domain.segment_adfs(x))
    if type(domain).adf is Geometry.adf:
        domain.adf(torch.zeros(1, domain.dim, dtype=torch.float64))  # raises, naming the shape
    return domain.adf


def _pieces(domain: Geometry) -> list[tuple[str, ADF]]:
    """The boundary's pieces (faces, edges, parts), each with an ADF that vanishes on it."""
    if isinstance(domain, _Lateral):
        return [(name, lambda x, f=f: f(x[:, :-1])) for name, f in _pieces(domain.st.space)]
    if isinstance(domain, Box):
        out = []
        for i in range(domain.dim):
            lo, hi = float(domain.lo[i]), float(domain.hi[i])
            out += [(f"x{i} = {lo}", lambda x, i=i, lo=lo: x[:, i] - lo),
                    (f"x{i} = {hi}", lambda x, i=i, hi=hi: hi - x[:, i])]
        return out
    if isinstance(domain, Polygon):
        return [(f"edge {k}", lambda x, k=k: domain.segment_adfs(x)[:, k]) for k in range(len(domain.vertices))]
    if isinstance(domain, CSG):
        return [(f"part {k} ({p!r})", p.adf) for k, p in enumerate(domain.parts)]
    return [("boundary", boundary_adf(domain))]


def _torch(x: np.ndarray) -> Tensor:
    return torch.as_tensor(np.asarray(x, dtype=float), dtype=torch.float64)


def _selected_adf(domain: Geometry, on: Callable | None, what: str) -> ADF:
    """The ADF of the part of ``domain``'s boundary selected by ``on`` (whole pieces only)."""
    if on is None:
        return boundary_adf(domain)
    pieces = _pieces(domain)
    rng = np.random.default_rng(_SEED)
    xb, _ = domain.sample_boundary(2048, "uniform", rng)
    mask = np.asarray(on(xb), dtype=bool)
    if not mask.any():
        raise ValueError(f"{what}: the boundary selector on= selects no boundary point of {domain!r}")
    xi = _torch(domain.sample_interior(512, "uniform", rng))
    chosen, signs, covered = [], [], np.zeros(len(xb), dtype=bool)
    for name, f in pieces:
        member = np.abs(f(_torch(xb)).numpy()) <= _TOL * domain.scale
        covered |= member
        if not member.any() or not mask[member].any():
            continue
        if not mask[member].all():
            raise ValueError(f"{what}: on= selects only part of the boundary piece {name} of {domain!r}; hard "
                             f"constraints impose whole pieces (box faces, interval ends, polygon edges, the "
                             f"parts of a combined domain), so keep this condition soft or select whole pieces")
        inside = f(xi).numpy()
        if not ((inside > 0).all() or (inside < 0).all()):
            raise ValueError(f"{what}: the boundary piece {name} of {domain!r} passes through the domain's interior, "
                             f"so it cannot be imposed hard on its own; keep this condition soft")
        chosen.append(f)
        signs.append(1.0 if (inside > 0).all() else -1.0)
    if (mask & ~covered).any():
        raise ValueError(f"{what}: on= selects boundary points of {domain!r} that belong to no piece it knows")
    if len(chosen) == len([1 for _, f in pieces if (np.abs(f(_torch(xb)).numpy()) <= _TOL * domain.scale).any()]):
        return boundary_adf(domain)  # every piece: the whole boundary
    return lambda x: torch.prod(torch.stack([s * f(x) for s, f in zip(signs, chosen)], 1), 1)


def jet_of(fn: Callable[[Tensor], Tensor], X: Tensor, order: int) -> Tensor:
    """Values, first and pure second derivatives of ``fn`` ``(N, d) -> (N, m)`` at ``X``, as rows ``(R, N, m)``."""
    x = X.detach().clone().requires_grad_(True)
    d = x.shape[1]
    with torch.enable_grad():
        v = fn(x)
        m = v.shape[1]
        rows = x.new_zeros(1 + d * order, x.shape[0], m)
        rows[0] = v.detach()
        for c in range(m):
            if order == 0 or not v.requires_grad:
                continue
            g = torch.autograd.grad(v[:, c].sum(), x, create_graph=order > 1, retain_graph=True, allow_unused=True)[0]
            if g is None:
                continue
            rows[1 : 1 + d, :, c] = g.detach().t()
            for i in range(d if order > 1 else 0):
                if g.requires_grad:
                    h = torch.autograd.grad(g[:, i].sum(), x, retain_graph=True, allow_unused=True)[0]
                    if h is not None:
                        rows[1 + d + i, :, c] = h[:, i].detach()
    return rows


def apply_jet(G: Tensor, P: Tensor, T: Tensor, d: int, order: int) -> Tensor:
    """Jet rows of ``u = g + phi * N`` from those of ``g`` (``G``), ``phi`` (``P``) and ``N`` (``T``), product rule."""
    n0 = T[:1]
    rows = [G[:1] + P[:1] * n0]
    if order >= 1:
        rows.append(G[1 : 1 + d] + P[1 : 1 + d] * n0 + P[:1] * T[1 : 1 + d])
    if order >= 2:
        rows.append(G[1 + d :] + P[1 + d :] * n0 + 2 * P[1 : 1 + d] * T[1 : 1 + d] + P[:1] * T[1 + d :])
    return torch.cat(rows, 0)


class HardConstraints:
    """The transform ``u = g(x) + phi(x) * N(x)`` of a problem's Dirichlet and Initial value conditions.

    ``select`` is ``True`` (every Dirichlet and Initial condition) or a sequence of term names.
    Call it on physical points and the network output; :meth:`jet` gives the rows of ``g`` and ``phi``.
    """

    def __init__(self, problem: Problem, select: bool | Sequence[str] = True):
        self.problem = problem
        named = term_names(problem)
        names = [n for n, _ in named]
        if select is True:
            chosen = [(n, c) for n, c in named if isinstance(c, (Dirichlet, Initial))]
        else:
            bad = sorted(set(select) - set(names))
            if bad:
                raise ValueError(f"hard_constraints names unknown term(s) {bad}; the terms of problem "
                                 f"{problem.name!r} are {names}")
            chosen = [(n, c) for n, c in named if n in set(select)]
            wrong = [f"{n} ({type(c).__name__ if c is not None else 'the residual'})" for n, c in chosen
                     if not isinstance(c, (Dirichlet, Initial))]
            if wrong:
                raise ValueError(f"hard_constraints can impose Dirichlet and Initial (value) conditions only, not "
                                 f"{', '.join(wrong)}; those stay soft (loss terms)")
        if not chosen:
            raise ValueError(f"hard_constraints: problem {problem.name!r} has no Dirichlet or Initial condition to "
                             f"impose (its terms: {names})")
        self.imposed = tuple(n for n, _ in chosen)
        self.dropped = tuple(n for n, c in chosen if not (isinstance(c, Initial) and c.derivative is not None))
        self._build(chosen)

    # -- construction -----------------------------------------------------------------------
    def _build(self, chosen: list[tuple[str, Condition]]) -> None:
        p, dom, m = self.problem, self.problem.domain, self.problem.d_out
        space = dom.space if isinstance(dom, SpaceTime) else dom
        dirichlet: list[list[tuple[ADF, Condition, int, str]]] = [[] for _ in range(m)]
        initial: list[tuple[Condition, int] | None] = [None] * m
        for name, c in chosen:
            comps = _comps(c.component, m)
            what = f"hard constraint {name!r} of problem {p.name!r}"
            if isinstance(c, Initial):
                if not isinstance(dom, (SpaceTime, Interval)):
                    raise ValueError(f"{what}: Initial needs a SpaceTime or Interval domain, got {dom!r}")
                for j, k in enumerate(comps):
                    if initial[k] is not None:
                        raise ValueError(f"{what}: component {k} already has a hard Initial condition")
                    initial[k] = (c, j)
                continue
            if isinstance(dom, SpaceTime):
                f = _selected_adf(_Lateral(dom), c.on, what)
            else:
                f = _selected_adf(dom, c.on, what)
            for j, k in enumerate(comps):
                dirichlet[k].append((f, c, j, name))
        for k in range(m):
            if initial[k] is not None and dirichlet[k] and not isinstance(dom, SpaceTime):
                raise ValueError(f"hard constraints on problem {p.name!r}: component {k} has both Dirichlet and "
                                 f"Initial conditions on an Interval; only a SpaceTime domain combines them")
        self._dirichlet, self._initial, self._space = dirichlet, initial, space
        self._check_disjoint()
        self._check_compatible()

    def _check_disjoint(self) -> None:
        """Several Dirichlet conditions on one component must hold on different pieces of the boundary."""
        dom = self.problem.domain
        for k, parts in enumerate(self._dirichlet):
            if len(parts) < 2:
                continue
            xb = _torch(dom.sample_boundary(512, "uniform", np.random.default_rng(_SEED))[0])
            zero = torch.stack([f(xb).abs() <= _TOL * dom.scale for f, _, _, _ in parts], 1)
            for a in range(len(parts)):
                for b in range(a + 1, len(parts)):
                    both = int((zero[:, a] & zero[:, b]).sum())
                    if both > 2:
                        raise ValueError(f"hard constraints on problem {self.problem.name!r}: the Dirichlet conditions "
                                         f"{parts[a][3]!r} and {parts[b][3]!r} both hold on the same part of the "
                                         f"boundary for component {k}; give each piece one condition")

    def _t0_points(self, x: Tensor) -> Tensor:
        dom = self.problem.domain
        if isinstance(dom, SpaceTime):
            return torch.cat([x[:, :-1], torch.full_like(x[:, -1:], dom.t0)], 1)
        return torch.full_like(x, float(dom.lo[0]))

    def _phi_t(self, x: Tensor) -> Tensor:
        dom = self.problem.domain
        return x[:, -1] - (dom.t0 if isinstance(dom, SpaceTime) else float(dom.lo[0]))

    def _boundary(self, k: int, x: Tensor) -> tuple[Tensor, Tensor] | None:
        """``(h, phi_b)`` of component ``k``'s Dirichlet data at ``x`` (transfinite for several), or ``None``."""
        parts = self._dirichlet[k]
        if not parts:
            return None
        phis = [f(x) for f, _, _, _ in parts]
        gs = [evaluate_value(c.value, x, len(_comps(c.component, self.problem.d_out)))[:, j] for _, c, j, _ in parts]
        if len(parts) == 1:
            return gs[0], phis[0]
        others = [torch.prod(torch.stack([q for i, q in enumerate(phis) if i != k2], 1), 1) for k2 in range(len(phis))]
        den = sum(others)
        h = sum(w * g for w, g in zip(others, gs)) / den
        return h, torch.prod(torch.stack(phis, 1), 1)

    def _initial_value(self, k: int, x: Tensor) -> Tensor:
        c, j = self._initial[k]
        x0 = self._t0_points(x)
        return evaluate_value(c.value, x0, len(_comps(c.component, self.problem.d_out)))[:, j]

    def g_phi(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``g`` and ``phi`` at physical points ``x``, each ``(N, d_out)``."""
        gs, phis = [], []
        for k in range(self.problem.d_out):
            b = self._boundary(k, x)
            g = torch.zeros_like(x[:, 0]) if b is None else b[0]
            phi = torch.ones_like(x[:, 0]) if b is None else b[1]
            if self._initial[k] is not None:
                u0 = self._initial_value(k, x)
                if b is not None:
                    hb = self._boundary(k, self._t0_points(x))[0]
                    g = g + u0 - hb
                else:
                    g = u0
                phi = phi * self._phi_t(x)
            gs.append(g)
            phis.append(phi)
        return torch.stack(gs, 1), torch.stack(phis, 1)

    def _check_compatible(self) -> None:
        """Initial and lateral data must agree on the spatial boundary at ``t0``, else ``u`` cannot meet both."""
        dom = self.problem.domain
        if not isinstance(dom, SpaceTime):
            return
        for k in range(self.problem.d_out):
            if self._initial[k] is None or not self._dirichlet[k]:
                continue
            xs, _ = self._space.sample_boundary(256, "uniform", np.random.default_rng(_SEED))
            x = _torch(np.concatenate([xs, np.full((len(xs), 1), dom.t0)], 1))
            h, phi = self._boundary(k, x)
            on = phi.abs() <= _TOL * dom.scale
            if not bool(on.any()):
                continue
            u0 = self._initial_value(k, x)[on]
            gap = float((u0 - h[on]).abs().max())
            if not gap <= 1e-9 * (1.0 + float(u0.abs().max())):
                raise ValueError(f"hard constraints on problem {self.problem.name!r}: the initial value and the "
                                 f"Dirichlet value of component {k} differ by up to {gap:.3e} where they meet (the "
                                 f"spatial boundary at t0 = {dom.t0}), so no u satisfies both exactly; make the data "
                                 f"compatible or keep one of them soft")

    # -- use --------------------------------------------------------------------------------
    def __call__(self, x: Tensor, n: Tensor) -> Tensor:
        """``u = g(x) + phi(x) * n`` for physical points ``x`` ``(N, d)`` and network output ``n`` ``(N, m)``."""
        g, phi = self.g_phi(x)
        return g.to(n) + phi.to(n) * n

    def jet(self, x: Tensor, order: int) -> tuple[Tensor, Tensor]:
        """Jet rows ``(R, N, m)`` of ``g`` and of ``phi`` at ``x`` (parameter-free: compute once per set of points)."""
        return jet_of(lambda z: self.g_phi(z)[0], x, order), jet_of(lambda z: self.g_phi(z)[1], x, order)

    def describe(self) -> dict:
        """What is imposed and which loss terms were dropped (for ``history.meta``)."""
        return {"imposed": list(self.imposed), "dropped_terms": list(self.dropped),
                "transform": "u = g(x) + phi(x) * N(x)"}


class _Lateral(Geometry):
    """The lateral boundary of a SpaceTime as a geometry of its own (pieces and ADFs of its space, lifted)."""

    csg = False

    def __init__(self, st: SpaceTime):
        self.st, self.dim = st, st.dim

    @property
    def bbox(self):
        return self.st.bbox

    def contains(self, x):
        return self.st.contains(x)

    def sample_boundary(self, n, method="sobol", seed=None):
        return self.st.sample_boundary(n, method, seed)

    def sample_interior(self, n, method="sobol", seed=None):
        return self.st.sample_interior(n, method, seed)


def _comps(component: int | Sequence[int] | None, m: int) -> list[int]:
    comps = list(range(m)) if component is None else ([component] if isinstance(component, int) else list(component))
    bad = [c for c in comps if not 0 <= c < m]
    if bad:
        raise ValueError(f"component {bad[0]} out of range for a problem with {m} outputs")
    return comps
