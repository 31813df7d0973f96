"""A KAN whose edges are formulas, written as one sympy expression (in model or physical variables)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import nn

from kanpde.interpret.edges import as_kan, suggest_symbolic
from kanpde.models.symbolic import get_function

if TYPE_CHECKING:
    from kanpde.loss import InputScaling
    from kanpde.solution import Solution

__all__ = ["variable_names", "formula"]


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
    model = as_kan(obj)
    if scaling is None and hasattr(obj, "scaling") and hasattr(obj, "problem"):
        scaling = obj.scaling
    # with a scaling the formula is in the physical coordinates (fewer than the model's inputs when
    # Periodic(hard=True) feeds a coordinate as a (cos, sin) pair)
    d = model.layers[0].in_features if scaling is None else len(scaling.lo)
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
        nodes = []
        for i, (s, a, b) in enumerate(zip(syms, lo, hi, strict=True)):
            z = 2 * (s - _rational(sp, a)) / (_rational(sp, b) - _rational(sp, a)) - 1
            nodes += [sp.cos(sp.pi * z), sp.sin(sp.pi * z)] if i in scaling.periodic else [z]
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
