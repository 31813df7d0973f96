"""Solution, reference and error of a trained model, as lines (1-D) or heat maps (2-D and slices)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from kanpde.plot.style import save_figure

if TYPE_CHECKING:
    from kanpde.solution import Solution

__all__ = ["field"]


def field(
    solution: Solution,
    n: int | None = None,
    component: int = 0,
    title: str | None = None,
    save: str | Path | None = None,
) -> Figure:
    """Prediction, reference and absolute error of a :class:`kanpde.Solution`.

    1-D: lines (prediction over reference) and the error on a log axis.  2-D: three heat maps;
    for space-time problems ``x`` is horizontal and ``t`` vertical.  Higher dimensions: the slice
    through the middle of the bounding box in the remaining coordinates.  Points outside a
    non-rectangular domain are blank.
    """
    from kanpde.geometry import SpaceTime

    prob = solution.problem
    lo, hi = (np.asarray(v, dtype=float) for v in prob.domain.bbox)
    d = prob.d_in
    if not 0 <= component < prob.d_out:
        raise ValueError(f"component must be in [0, {prob.d_out}), got {component}")
    name = title or f"{prob.name}: {type(solution.model).__name__} ({solution.n_params} params)"
    truth = prob.has_truth
    if d == 1:
        n = n or 500
        x = np.linspace(lo[0], hi[0], n)[:, None]
        u = solution(x)[:, component]
        fig = Figure(figsize=(6.0, 4.6), layout="constrained")
        a1, a2 = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1.2])
        a1.plot(x[:, 0], u, color="#d62728", lw=1.6, label="PINN")
        if truth:
            ref = prob.truth(x)[:, component]
            a1.plot(x[:, 0], ref, "k--", lw=1.0, label="reference")
            err = np.abs(u - ref)
            a2.semilogy(x[:, 0], np.maximum(err, 1e-300), color="#1f77b4", lw=1.2)
            a2.set_ylabel("|error|")
        else:
            a2.set_visible(False)
        a1.set_ylabel("u" if prob.d_out == 1 else f"u[{component}]")
        a1.legend(fontsize=8)
        a2.set_xlabel("x")
        a2.grid(True, alpha=0.3)
        a1.grid(True, alpha=0.3)
        fig.suptitle(name, fontsize=10)
        return save_figure(fig, save)

    spacetime = isinstance(prob.domain, SpaceTime)
    iy = d - 1 if spacetime else 1
    n = n or 160
    gx, gy = np.linspace(lo[0], hi[0], n), np.linspace(lo[iy], hi[iy], n)
    X, Y = np.meshgrid(gx, gy)  # (n, n) plot coordinates: horizontal, vertical
    pts = np.tile((lo + hi) / 2, (n * n, 1))
    pts[:, 0], pts[:, iy] = X.ravel(), Y.ravel()
    inside = np.asarray(prob.domain.contains(pts), dtype=bool) if d == 2 else np.ones(len(pts), bool)
    if inside.sum() < len(pts) // 50:  # boundary-only test or a degenerate domain: show everything
        inside[:] = True
    u = np.full(len(pts), np.nan)
    u[inside] = solution(pts[inside])[:, component]
    panels = [("PINN", u)]
    if truth:
        ref = np.full(len(pts), np.nan)
        ref[inside] = prob.truth(pts[inside])[:, component]
        panels += [("reference", ref), ("|error|", np.abs(u - ref))]
    fig = Figure(figsize=(3.9 * len(panels), 3.4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    space = d - 1 if spacetime else d
    names = (["x", "y", "z"][:space] if space <= 3 else [f"x{i + 1}" for i in range(space)]) + (
        ["t"] if spacetime else []
    )
    vmin = np.nanmin([np.nanmin(v) for _, v in panels[:2]])
    vmax = np.nanmax([np.nanmax(v) for _, v in panels[:2]])
    for ax, (lab, v) in zip(axes, panels, strict=False):
        V = v.reshape(n, n)  # the panel's values on the (n, n) plot grid
        if lab == "|error|":
            pos = V[np.isfinite(V) & (V > 0)]
            norm = LogNorm(vmin=max(pos.min(), pos.max() * 1e-6), vmax=pos.max()) if len(pos) else None
            im = ax.pcolormesh(X, Y, np.where(V > 0, V, np.nan), cmap="magma", norm=norm, shading="auto")
        else:
            im = ax.pcolormesh(X, Y, V, cmap="viridis", vmin=vmin, vmax=vmax, shading="auto")
        fig.colorbar(im, ax=ax, shrink=0.85)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[iy])
        ax.set_title(lab, fontsize=9)
        ax.set_aspect("auto")
    sl = ""
    if d > 2:
        fixed = [f"{names[i]}={(lo[i] + hi[i]) / 2:.3g}" for i in range(d) if i not in (0, iy)]
        sl = " — slice " + ", ".join(fixed)
    fig.suptitle(name + sl, fontsize=10)
    return save_figure(fig, save)
