"""Symbolic suggestions for the edges of a KAN, and snapping edges to formulas (and back)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from kanpde.interpret.fit import TIE_TOL, Suggestion, fit_symbolic, rank
from kanpde.models.symbolic import LIBRARY, get_function

if TYPE_CHECKING:
    from kanpde.solution import Solution

__all__ = ["as_kan", "library_names", "kan_layer", "suggest_symbolic", "fix_symbolic", "unfix_symbolic", "Snap",
           "auto_symbolic"]


def as_kan(obj: Any) -> nn.Module:
    """The KAN itself, or the one a Solution holds; TypeError for anything else."""
    model = getattr(obj, "model", obj)
    if not hasattr(model, "layers") or not hasattr(model.layers[0], "edge_values"):
        raise TypeError(f"expected a KAN (or a Solution holding one), got {type(model).__name__}")
    return model


def library_names(lib: Sequence[str] | None) -> list[str]:
    """The names in ``lib`` (default: the whole library), each checked to exist."""
    names = list(LIBRARY) if lib is None else list(lib)
    for n in names:
        get_function(n)
    if not names:
        raise ValueError("lib must name at least one library function")
    return names


def _edge_samples(model: nn.Module, layer: int, i: int, j: int, x, n: int) -> tuple[Tensor, Tensor]:
    """Inputs and values of edge ``(layer, i, j)``: at ``x`` if given, else ``n`` points over the range seen."""
    lay = kan_layer(model, layer)
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


def kan_layer(model: nn.Module, layer: int) -> nn.Module:
    """Layer ``layer`` of ``model``; IndexError naming the layer count when out of range."""
    if not 0 <= layer < len(model.layers):
        raise IndexError(f"layer {layer!r} out of range: the KAN has {len(model.layers)} layers")
    return model.layers[layer]


def _input_range(lay, i: int) -> tuple[float, float]:
    """Range of input ``i`` over the last batch the layer saw (the grid range without one)."""
    last = lay.recorded_input
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
    model = as_kan(model)
    xs, ys = _edge_samples(model, layer, i, j, x, n)
    ranked = rank([fit_symbolic(xs, ys, name) for name in library_names(lib)], tol)
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
    model = as_kan(model)
    lay = kan_layer(model, layer)
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
    kan_layer(as_kan(model), layer).unfix_symbolic(i, j)


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
    model = as_kan(model)
    names = library_names(lib)
    todo = range(len(model.layers)) if layers is None else [int(v) for v in layers]
    out = []
    for l in todo:
        lay = kan_layer(model, l)
        for i in range(lay.in_features):
            for j in range(lay.out_features):
                if not bool(lay.edge_mask[i, j]) or lay.symbolic_edge(i, j) is not None:
                    continue
                best = suggest_symbolic(model, l, i, j, names, n=n, tol=tol)[0]
                ok = best.r2 >= r2_threshold
                if ok:
                    lay.fix_symbolic(i, j, best.name, best.params)
                out.append(Snap(l, i, j, best, ok))
        if lay.recorded_input is not None:
            with torch.no_grad():
                h = lay.recorded_input
                for nxt in model.layers[l:]:
                    h = nxt(h)
    return out
