"""Reading a trained KAN: symbolic suggestions per edge, snapping edges to formulas, the network's equation.

Every KAN edge is a 1-D function ``phi(x)``.  :func:`suggest_symbolic` fits each library function
``f`` (see :data:`kanpde.models.symbolic.LIBRARY`) as ``phi(x) ~ c f(a x + b) + d`` and ranks the
fits by r^2, preferring the simpler function among near-ties (see :func:`rank`).
:func:`fix_symbolic` / :func:`auto_symbolic` snap edges to their fits (the edge then evaluates the
formula with trainable ``a, b, c, d``, so training can continue); :func:`unfix_symbolic` undoes it;
:func:`formula` writes the whole network as a sympy expression.

The fit: the edge is sampled on its input range, the input is standardised to ``t`` in
``[-1, 1]``, ``(a, b)`` (in ``t``) is searched on a grid over ``[-10, 10]^2`` -- for each pair
``(c, d)`` is the linear least-squares solution, so r^2 is a squared correlation -- and the best
grid points are refined by Nelder--Mead.  Pairs that take the argument out of the function's
domain on the data (``log``, ``sqrt``: positive; ``1/x``: one sign; ``tan``: one branch) are
rejected.

Variables: a model sees the problem's bounding box mapped onto ``[-1, 1]`` (see
:class:`kanpde.loss.InputScaling`), so ``formula(model)`` is in the model's own inputs
``z_1, z_2, ...``; ``formula(solution)`` (or ``formula(model, scaling=...)``) substitutes
``z = 2 (x - lo) / (hi - lo) - 1`` and is in the physical variables (``x`` for one coordinate,
``x, t`` or ``x_1, .., x_n, t`` for space-time, else ``x_1, x_2, ...``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from kanpde.models.symbolic import LIBRARY, get_function

if TYPE_CHECKING:
    from kanpde.loss import InputScaling
    from kanpde.solution import Solution


__all__ = [
    "Suggestion",
    "LIBRARY",
    "fit_symbolic",
    "suggest_symbolic",
    "fix_symbolic",
    "unfix_symbolic",
    "auto_symbolic",
    "formula",
    "variable_names",
]

#: fits count as tied (the simpler function ranks first) when their unexplained fractions
#: ``1 - r^2`` are within ``TIE_RATIO`` times the best one's plus ``TIE_TOL``
TIE_TOL = 1e-6
TIE_RATIO = 10.0


@dataclass(frozen=True)
class Suggestion:
    """One fit ``y ~ c f(a x + b) + d`` of an edge by the library function ``name``."""

    name: str
    r2: float
    complexity: int
    a: float
    b: float
    c: float
    d: float

    @property
    def params(self) -> tuple[float, float, float, float]:
        """``(a, b, c, d)``."""
        return (self.a, self.b, self.c, self.d)

    def __str__(self) -> str:
        return (
            f"{self.name}: r2={self.r2:.8f}, complexity={self.complexity}, "
            f"y = {self.c:.4g} * {self.name}({self.a:.4g} * x + {self.b:.4g}) + {self.d:.4g}"
        )


# -- fitting -----------------------------------------------------------------------------------------


def _model(obj: Any) -> nn.Module:
    model = getattr(obj, "model", obj)
    if not hasattr(model, "layers") or not hasattr(model.layers[0], "edge_values"):
        raise TypeError(f"expected a KAN (or a Solution holding one), got {type(model).__name__}")
    return model


def _lib(lib: Sequence[str] | None) -> list[str]:
    names = list(LIBRARY) if lib is None else list(lib)
    for n in names:
        get_function(n)
    if not names:
        raise ValueError("lib must name at least one library function")
    return names


def _r2_stats(F: Tensor, y: Tensor) -> Tensor:
    """Squared correlation of every row of ``F`` ``(K, N)`` with ``y`` ``(N,)`` (``-inf`` where undefined)."""
    Fc = F - F.mean(-1, keepdim=True)
    yc = y - y.mean()
    vf = (Fc * Fc).sum(-1)
    cov = Fc @ yc
    r2 = cov * cov / (vf * (yc * yc).sum())
    ok = torch.isfinite(r2) & (vf > 1e-24 * F.abs().amax(-1).clamp_min(1.0) ** 2 * F.shape[-1])
    return torch.where(ok, r2, torch.full_like(r2, -math.inf))


def _linear(f: Tensor, y: Tensor) -> tuple[float, float, float]:
    """Least-squares ``(c, d)`` of ``y ~ c f + d`` and its r^2."""
    fc, yc = f - f.mean(), y - y.mean()
    vf, vy = float((fc * fc).sum()), float((yc * yc).sum())
    if not math.isfinite(vf) or vf <= 1e-24 * max(1.0, float(f.abs().max())) ** 2 * len(f):
        c = 0.0
    else:
        c = float((fc * yc).sum()) / vf
    d = float(y.mean() - c * f.mean())
    res = float(((c * f + d - y) ** 2).sum())
    r2 = 1.0 - res / vy if vy > 1e-30 * max(1.0, float(y.abs().max())) ** 2 * len(y) else (1.0 if res <= 1e-20 else 0.0)
    return c, d, r2


class _one_thread:
    """Run small elementwise work on one intra-op thread (parallel dispatch only costs at these sizes)."""

    def __enter__(self):
        self.n = torch.get_num_threads()
        if self.n != 1:
            torch.set_num_threads(1)

    def __exit__(self, *exc):
        if self.n != 1:
            torch.set_num_threads(self.n)


def fit_symbolic(
    x: Tensor | np.ndarray, y: Tensor | np.ndarray, name: str, a_range: float = 10.0, grid: int = 41, refine: int = 3
) -> Suggestion:
    """Fit ``y ~ c f(a x + b) + d`` for the library function ``name`` on samples ``x, y`` (1-D)."""
    with _one_thread():
        return _fit(x, y, name, a_range, grid, refine)


def _fit(x, y, name: str, a_range: float, grid: int, refine: int) -> Suggestion:
    fn = get_function(name)
    x = torch.as_tensor(np.asarray(x, dtype=float) if not isinstance(x, Tensor) else x.detach(), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(y, dtype=float) if not isinstance(y, Tensor) else y.detach(), dtype=torch.float64)
    x, y = x.reshape(-1).cpu(), y.reshape(-1).cpu()
    if x.shape != y.shape or x.numel() < 2:
        raise ValueError(f"x and y must hold the same number (>= 2) of samples, got {x.numel()} and {y.numel()}")
    mid, half = float(x.max() + x.min()) / 2, float(x.max() - x.min()) / 2
    half = half if half > 0 else 1.0
    t = (x - mid) / half

    def finish(at: float, bt: float) -> Suggestion:
        c, d, r2 = _linear(fn(at * t + bt), y)
        a, b = at / half, bt - at * mid / half
        if name == "exp":  # c e^(a x + b): b only rescales c; fold it in (keeps c of order y)
            c, b = c * math.exp(b), 0.0
        return Suggestion(name, r2, fn.complexity, a, b, c, d)

    if name in ("0", "x"):  # (a, b) play no role
        if name == "0":
            d = float(y.mean())
            res, var = float(((y - d) ** 2).sum()), float(((y - y.mean()) ** 2).sum())
            return Suggestion(
                name, 1.0 if res <= 1e-20 * max(1.0, d * d) * len(y) else 1.0 - res / var, 0, 1.0, 0.0, 0.0, d
            )
        return finish(1.0, 0.0)

    vals = torch.linspace(-a_range, a_range, grid, dtype=torch.float64)
    A, B = torch.meshgrid(vals, vals, indexing="ij")
    A, B = A.reshape(-1), B.reshape(-1)
    A, B = A[A != 0], B[A != 0]
    sub = slice(None, None, max(1, len(t) // 128))  # the coarse search needs few samples
    with torch.no_grad():
        r2 = _r2_stats(fn(A[:, None] * t[sub] + B[:, None]), y[sub])
        if fn.domain is not None:
            r2 = torch.where(fn.domain(B - A.abs(), B + A.abs()), r2, torch.full_like(r2, -math.inf))
    order = torch.argsort(r2, descending=True)
    best = None
    for k in order[: max(refine, 1)].tolist():
        if not math.isfinite(float(r2[k])):
            break
        at, bt = _zoom(fn, t, y, float(A[k]), float(B[k]), 2 * a_range / (grid - 1))
        cand = finish(at, bt)
        if best is None or cand.r2 > best.r2:
            best = cand
    if best is None:  # no admissible (a, b): report a useless fit rather than failing the ranking
        return Suggestion(name, -math.inf, fn.complexity, 1.0, 0.0, 0.0, float(y.mean()))
    return best


def _zoom(
    fn, t: Tensor, y: Tensor, a: float, b: float, h: float, half: int = 5, shrink: float = 4.0, h_min: float = 1e-10
) -> tuple[float, float]:
    """Refine ``(a, b)`` by repeated local grid searches, the spacing shrinking by ``shrink`` each time."""
    k = torch.arange(-half, half + 1, dtype=t.dtype)
    da, db = (g.reshape(-1) for g in torch.meshgrid(k, k, indexing="ij"))
    best_r2 = -math.inf
    with torch.no_grad():
        while h > h_min:
            A, B = a + h * da, b + h * db
            r2 = _r2_stats(fn(A[:, None] * t + B[:, None]), y)
            if fn.domain is not None:
                r2 = torch.where(fn.domain(B - A.abs(), B + A.abs()), r2, torch.full_like(r2, -math.inf))
            r2 = torch.where(A != 0, r2, torch.full_like(r2, -math.inf))
            i = int(torch.argmax(r2))
            if float(r2[i]) >= best_r2:
                best_r2, a, b = float(r2[i]), float(A[i]), float(B[i])
            h /= shrink
    return a, b


def rank(suggestions: Sequence[Suggestion], tol: float = TIE_TOL, ratio: float = TIE_RATIO) -> list[Suggestion]:
    """Order by r^2, preferring the simpler function among near-ties.

    Repeatedly takes, among the remaining fits whose unexplained fraction ``1 - r^2`` is at most
    ``ratio * (1 - r2_best) + tol`` (``r2_best``: the best remaining), the least complex one.
    """
    rest = sorted(suggestions, key=lambda s: -s.r2 if math.isfinite(s.r2) else math.inf)
    out = []
    while rest:
        top = rest[0].r2
        bound = ratio * (1 - top) + tol
        ties = [s for s in rest if not math.isfinite(top) or 1 - s.r2 <= bound]
        pick = min(ties, key=lambda s: s.complexity)  # min is stable: the better r^2 among equals
        out.append(pick)
        rest.remove(pick)
    return out


def _edge_samples(model: nn.Module, layer: int, i: int, j: int, x, n: int) -> tuple[Tensor, Tensor]:
    """Inputs and values of edge ``(layer, i, j)``: at ``x`` if given, else ``n`` points over the range seen."""
    lay = _layer(model, layer)
    if not (0 <= i < lay.in_features and 0 <= j < lay.out_features):
        raise IndexError(f"edge ({i}, {j}) out of range for layer {layer} ({lay.in_features} -> {lay.out_features})")
    p = lay.coef
    if x is None:
        lo, hi = _input_range(lay, i)
        xs = torch.linspace(lo, hi, n, dtype=p.dtype, device=p.device)
    else:
        xs = torch.as_tensor(
            np.asarray(x, dtype=float) if not isinstance(x, Tensor) else x, dtype=p.dtype, device=p.device
        ).reshape(-1)
    full = torch.zeros(xs.numel(), lay.in_features, dtype=p.dtype, device=p.device)
    full[:, i] = xs
    with torch.no_grad():
        ys = lay.edge_values(full)[:, i, j]
    return xs, ys


def _layer(model: nn.Module, layer: int):
    if not 0 <= layer < len(model.layers):
        raise IndexError(f"layer {layer!r} out of range: the KAN has {len(model.layers)} layers")
    return model.layers[layer]


def _input_range(lay, i: int) -> tuple[float, float]:
    """Range of input ``i`` over the last batch the layer saw (the grid range without one)."""
    last = lay._last_input
    if last is not None and last.shape[0] >= 8:
        lo, hi = float(last[:, i].min()), float(last[:, i].max())
        if hi - lo > 1e-9 * max(1.0, abs(lo)):
            return lo, hi
    g = lay.grid_points[i]
    return float(g[0]), float(g[-1])


def suggest_symbolic(
    model: nn.Module | Solution,
    layer: int,
    i: int,
    j: int,
    lib: Sequence[str] | None = None,
    x: Tensor | np.ndarray | None = None,
    n: int = 256,
    tol: float = TIE_TOL,
    topk: int | None = None,
) -> list[Suggestion]:
    """Library functions ranked by how well ``c f(a x + b) + d`` fits edge ``i -> j`` of ``layer``.

    ``x``: the edge's input values to fit on (default: ``n`` equally spaced points over the range
    of the last batch the layer saw, or its grid range).  ``model`` may be a Solution.
    """
    model = _model(model)
    xs, ys = _edge_samples(model, layer, i, j, x, n)
    ranked = rank([fit_symbolic(xs, ys, name) for name in _lib(lib)], tol)
    return ranked if topk is None else ranked[:topk]


def fix_symbolic(
    model: nn.Module | Solution,
    layer: int,
    i: int,
    j: int,
    name: str,
    fit: bool = True,
    x: Tensor | np.ndarray | None = None,
    n: int = 256,
    params: Sequence[float] | None = None,
) -> Suggestion:
    """Snap edge ``i -> j`` of ``layer`` to ``c f(a x + b) + d`` (fitted to the edge, or ``params``)."""
    model = _model(model)
    lay = _layer(model, layer)
    if params is not None:
        a, b, c, d = (float(v) for v in params)
        s = Suggestion(name, math.nan, get_function(name).complexity, a, b, c, d)
    elif fit:
        xs, ys = _edge_samples(model, layer, i, j, x, n)
        s = fit_symbolic(xs, ys, name)
    else:
        s = Suggestion(name, math.nan, get_function(name).complexity, 1.0, 0.0, 1.0, 0.0)
    lay.fix_symbolic(i, j, name, s.params)
    return s


def unfix_symbolic(model: nn.Module | Solution, layer: int, i: int, j: int) -> None:
    """Return edge ``i -> j`` of ``layer`` to its spline (as it was before it was fixed)."""
    _layer(_model(model), layer).unfix_symbolic(i, j)


@dataclass(frozen=True)
class Snap:
    """What :func:`auto_symbolic` did to one edge (``fixed`` False: kept numeric, r^2 too low)."""

    layer: int
    i: int
    j: int
    suggestion: Suggestion
    fixed: bool

    def __str__(self) -> str:
        verb = "fixed" if self.fixed else "kept "
        return f"{verb} layer {self.layer} edge {self.i}->{self.j}: {self.suggestion}"


def auto_symbolic(
    model: nn.Module | Solution,
    lib: Sequence[str] | None = None,
    r2_threshold: float = 0.99,
    layers: Sequence[int] | None = None,
    n: int = 256,
    tol: float = TIE_TOL,
) -> list[Snap]:
    """Snap every live spline edge whose best suggestion reaches ``r2_threshold``; returns what was done.

    Layers are processed input first; after each layer the following layers' last inputs are
    recomputed from the first layer's, so later fits see the snapped edges' outputs.
    """
    model = _model(model)
    names = _lib(lib)
    todo = range(len(model.layers)) if layers is None else [int(v) for v in layers]
    out = []
    for l in todo:
        lay = _layer(model, l)
        for i in range(lay.in_features):
            for j in range(lay.out_features):
                if not bool(lay.edge_mask[i, j]) or lay.symbolic_edge(i, j) is not None:
                    continue
                best = suggest_symbolic(model, l, i, j, names, n=n, tol=tol)[0]
                ok = best.r2 >= r2_threshold
                if ok:
                    lay.fix_symbolic(i, j, best.name, best.params)
                out.append(Snap(l, i, j, best, ok))
        if lay._last_input is not None:
            with torch.no_grad():
                h = lay._last_input
                for nxt in model.layers[l:]:
                    h = nxt(h)
    return out


# -- formulas ----------------------------------------------------------------------------------------


def variable_names(obj: nn.Module | Solution) -> list[str]:
    """Names of the physical variables of a Solution (or Problem): ``x``; ``x, t``; ``x_1, .., t``; ``x_1, ..``."""
    from kanpde.geometry import SpaceTime

    problem = getattr(obj, "problem", obj)
    dom = problem.domain
    if isinstance(dom, SpaceTime):
        space = ["x"] if dom.space.dim == 1 else [f"x_{k + 1}" for k in range(dom.space.dim)]
        return [*space, "t"]
    return ["x"] if dom.dim == 1 else [f"x_{k + 1}" for k in range(dom.dim)]


def formula(
    obj: nn.Module | Solution,
    digits: int = 4,
    numeric: str = "raise",
    lib: Sequence[str] | None = None,
    variables: Sequence[str] | None = None,
    scaling: InputScaling | None = None,
    simplify: bool = True,
) -> Any:
    """The network as a sympy expression (a list of them for several outputs), constants rounded.

    ``obj``: a KAN (variables ``z_1, ..``: the model's own inputs, in ``[-1, 1]`` over the
    problem's bounding box) or a Solution (physical variables, see :func:`variable_names`); a
    ``scaling`` (:class:`~kanpde.loss.InputScaling`) also converts a bare model's formula.
    ``variables`` overrides the names.  ``digits``: decimal places kept (``None``: no rounding).
    Spline edges: ``numeric="raise"`` (default) refuses them -- snap them first with
    :func:`auto_symbolic` / :func:`fix_symbolic`; ``"suggest"`` writes each as its best suggestion
    from ``lib`` without changing the model (an approximation: check the suggestions' r^2).
    """
    import sympy as sp

    if numeric not in ("raise", "suggest"):
        raise ValueError(f"numeric must be 'raise' or 'suggest', got {numeric!r}")
    model = _model(obj)
    if scaling is None and hasattr(obj, "scaling") and hasattr(obj, "problem"):
        scaling = obj.scaling
    d = model.layers[0].in_features
    if variables is None:
        stem = "z" if scaling is None else "x"
        if hasattr(obj, "problem") and scaling is not None:
            variables = variable_names(obj)
        else:
            variables = [stem] if d == 1 else [f"{stem}_{k + 1}" for k in range(d)]
    if len(variables) != d:
        raise ValueError(f"variables must name the {d} inputs, got {list(variables)!r}")
    syms = [sp.Symbol(str(v)) for v in variables]
    if scaling is not None:
        lo, hi = np.asarray(scaling.lo, dtype=float), np.asarray(scaling.hi, dtype=float)
        nodes = [
            2 * (s - _rational(sp, a)) / (_rational(sp, b) - _rational(sp, a)) - 1
            for s, a, b in zip(syms, lo, hi, strict=True)
        ]
    else:
        nodes = list(syms)
    missing = []
    for l, lay in enumerate(model.layers):
        out = [sp.Integer(0)] * lay.out_features
        for i in range(lay.in_features):
            for j in range(lay.out_features):
                if not bool(lay.edge_mask[i, j]):
                    continue
                edge = lay.symbolic_edge(i, j)
                if edge is None:
                    if numeric == "raise":
                        missing.append((l, i, j))
                        continue
                    s = suggest_symbolic(model, l, i, j, lib)[0]
                    edge = (s.name, s.params)
                name, (a, b, c, dd) = edge
                u = sp.Float(a) * nodes[i] + sp.Float(b)
                out[j] = out[j] + sp.Float(c) * get_function(name).sympy(sp, u) + sp.Float(dd)
        nodes = out
    if missing:
        raise ValueError(
            f"edges {missing} (layer, i, j) are splines, not formulas: snap them with "
            f"kp.interpret.auto_symbolic / fix_symbolic first, or pass numeric='suggest'"
        )
    exprs = [_tidy(sp, e, digits, simplify) for e in nodes]
    return exprs[0] if len(exprs) == 1 else exprs


def _rational(sp, v: float):
    return sp.Rational(v).limit_denominator(10**9) if math.isfinite(v) else sp.Float(v)


def _fold_exp(sp, e):
    """``exp(k + rest) -> e^k exp(rest)`` for numeric ``k``, so constants gather in front."""

    def fold(node):
        if isinstance(node, sp.exp) and isinstance(node.args[0], sp.Add):
            k, rest = node.args[0].as_coeff_Add()
            if k != 0 and abs(float(k)) <= 30:
                return sp.exp(k) * sp.exp(rest)
        return node

    return e.replace(lambda n: isinstance(n, sp.exp), fold)


def _round(sp, e, digits: int | None):
    if digits is None:
        return e
    reps = {}
    for f in e.atoms(sp.Float):
        r = round(float(f), digits)
        reps[f] = sp.Integer(int(r)) if r == int(r) else sp.Float(r, max(digits + 2, 15))
    return e.xreplace(reps)


def _tidy(sp, e, digits: int | None, simplify: bool):
    """Expand products and powers (also inside functions), gather exp constants, then round."""
    if simplify:
        e = _fold_exp(sp, sp.expand(e, power_exp=False))
    for _ in range(3):  # rounding can expose new numeric factors (1.0 * ...): repeat until stable
        new = _round(sp, e, digits)
        if simplify:
            new = _fold_exp(sp, sp.expand(new, power_exp=False))
        if new == e:
            break
        e = new
    return e
