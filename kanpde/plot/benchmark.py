"""Figures of a benchmark results set: convergence with seed bands, final error vs parameters/FLOPs/time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from kanpde.plot.style import (
    ResultsLike,
    as_results,
    colors,
    final_error_axes,
    grid_shape,
    panel_legends,
    quiet_runtime_warnings,
    save_figure,
)
from kanpde.results import Results

__all__ = ["convergence", "error_vs_params", "error_vs_time"]


def _logspace_curves(xs: list[np.ndarray], ys: list[np.ndarray], grid: np.ndarray) -> np.ndarray:
    """Each (x, y) curve interpolated log-linearly on ``grid``; after its end a run keeps its last value."""
    out = np.full((len(xs), len(grid)), np.nan)
    for i, (x, y) in enumerate(zip(xs, ys, strict=False)):
        ok = np.isfinite(y) & (y > 0)
        if ok.sum() == 0:
            continue
        x, y = x[ok], np.log(y[ok])
        inside = grid >= x[0]
        out[i, inside] = np.exp(np.interp(grid[inside], x, y))  # np.interp holds the end value
    return out


def _band(ax: Axes, results: Results, problem: str, label: str, xkey: str, metric: str, color: str) -> None:
    idx = [i for i, r in enumerate(results) if r["problem"] == problem and r["label"] == label]
    hs = [results.history(i) for i in idx]
    ys = [np.asarray(getattr(h, metric), dtype=float) for h in hs]
    if xkey == "epoch":
        xs = [np.asarray(h.epoch, dtype=float) for h in hs]
        grid = np.unique(np.concatenate(xs))
    else:
        xs = [np.asarray(h.wall_time, dtype=float) for h in hs]
        top = max((x[-1] for x in xs if len(x)), default=1.0)
        grid = np.linspace(0.0, top, 300)
    if len(idx) == 1:
        x, y = xs[0], ys[0]
        ax.plot(x, np.where(y > 0, y, np.nan), color=color, lw=1.6, label=f"{label} (1 seed)")
        return
    per_seed = _logspace_curves(xs, ys, grid)  # (seeds, len(grid))
    with np.errstate(all="ignore"), quiet_runtime_warnings():
        med, lo, hi = np.nanmedian(per_seed, 0), np.nanmin(per_seed, 0), np.nanmax(per_seed, 0)
    ax.plot(grid, med, color=color, lw=1.6, label=f"{label} (median of {len(idx)} seeds)")
    ax.fill_between(grid, lo, hi, color=color, alpha=0.2, lw=0)


def convergence(
    results: ResultsLike,
    x: str = "both",
    problems: Sequence[str] | None = None,
    metric: str = "rel_l2",
    save: str | Path | None = None,
) -> Figure:
    """Error vs epoch and/or wall time per problem: median over seeds with a min-max band.

    ``x`` is ``"epoch"``, ``"time"`` or ``"both"`` (two rows); ``metric`` ``"rel_l2"``,
    ``"max_err"`` or ``"loss"``.
    """
    if x not in ("epoch", "time", "both"):
        raise ValueError(f"x must be 'epoch', 'time' or 'both', got {x!r}")
    if metric not in ("rel_l2", "max_err", "loss"):
        raise ValueError(f"metric must be 'rel_l2', 'max_err' or 'loss', got {metric!r}")
    res = as_results(results)
    probs = list(problems or res.problems())
    if not probs:
        raise ValueError("no finished runs to plot")
    rows = ["epoch", "time"] if x == "both" else [x]
    col = colors(res)
    fig = Figure(figsize=(max(5.2, 3.6 * len(probs)), 2.9 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), len(probs), squeeze=False)
    ylabel = {"rel_l2": "relative L2 error", "max_err": "max abs error", "loss": "training loss"}[metric]
    for j, p in enumerate(probs):
        for i, xk in enumerate(rows):
            ax = axes[i, j]
            for lab in res.labels(p):
                _band(ax, res, p, lab, xk, metric, col[lab])
            ax.set_yscale("log")
            ax.set_xlabel("epoch" if xk == "epoch" else "training time [s]")
            ax.set_ylabel(ylabel)
            ax.grid(True, which="major", alpha=0.3)
            if i == 0:
                ax.set_title(p)
            if i == 0 and j == 0:
                ax.legend(fontsize=7, loc="best")
    suite = res[0]["suite"] if len(res) else ""
    fig.suptitle(f"Convergence ({suite}): median, min-max over seeds", fontsize=10)
    return save_figure(fig, save)


def _stage_points(res: Results, i: int) -> list[tuple[float, float]]:
    """(parameters, rel L2 at the end of the stage) for each grid stage of a run whose size changed."""
    rec = res.records[i]
    trace = rec.get("params_trace") or []
    h = res.history(i)
    if len(set(trace)) < 2 or len(trace) != len(h.rel_l2):
        return []
    pts = []
    for j, n in enumerate(trace):
        if j + 1 == len(trace) or trace[j + 1] != n:
            pts.append((n, h.rel_l2[j]))
    return pts


def error_vs_params(
    results: ResultsLike, by: str = "params", problems: Sequence[str] | None = None, save: str | Path | None = None
) -> Figure:
    """Final rel L2 (median, min-max over seeds) vs parameter count (``by="params"``) or FLOPs.

    Models of one family (``family`` in the suite) are joined by a line; a run whose grid was
    extended during training also shows the error at the end of each grid stage (params only).
    Beyond three panels the figure has one legend below them instead of one per panel.
    """
    if by not in ("params", "flops"):
        raise ValueError(f"by must be 'params' or 'flops', got {by!r}")
    res = as_results(results)
    probs = list(problems or res.problems())
    if not probs:
        raise ValueError("no finished runs to plot")
    key = "n_params" if by == "params" else "n_flops"
    col = colors(res)
    fams = list(dict.fromkeys(r["family"] for r in res))
    markers = dict(zip(fams, "osD^v<>px*", strict=False))
    nr, nc = grid_shape(len(probs))
    fig = Figure(figsize=(max(5.2, 4.4 * nc), 3.4 * nr), layout="constrained")
    axes = fig.subplots(nr, nc, squeeze=False).ravel()
    for ax, p in zip(axes, probs, strict=False):
        for fam in fams:
            pts = []
            for lab in res.labels(p):
                runs = [r for r in res if r["problem"] == p and r["label"] == lab and r["family"] == fam]
                e = np.array([r["rel_l2"] for r in runs], dtype=float)
                e = e[np.isfinite(e)]
                if not len(e):
                    continue
                xv, med = float(np.median([r[key] for r in runs])), float(np.median(e))
                pts.append((xv, med))
                ax.errorbar(
                    [xv],
                    [med],
                    yerr=[[med - e.min()], [e.max() - med]],
                    fmt=markers[fam],
                    color=col[lab],
                    ms=6,
                    capsize=3,
                    label=f"{lab}",
                )
            if len(pts) > 1:
                pts.sort()
                ax.plot(*zip(*pts, strict=False), color="0.5", lw=1, ls="-", zorder=0)
        if by == "params":
            for i, r in enumerate(res):
                if r["problem"] != p:
                    continue
                st = _stage_points(res, i)
                if st:
                    ax.plot(
                        *zip(*st, strict=False),
                        ls="--",
                        marker=".",
                        color=col[r["label"]],
                        alpha=0.7,
                        label=f"{r['label']} grid stages"
                        if r["seed"] == min(q["seed"] for q in res if q["label"] == r["label"] and q["problem"] == p)
                        else None,
                    )
        final_error_axes(ax, "trainable parameters" if by == "params" else "forward FLOPs per point", p)
    for ax in axes[len(probs) :]:
        ax.set_visible(False)
    panel_legends(fig, axes[: len(probs)])
    fig.suptitle(
        f"Final error vs {'parameters' if by == 'params' else 'FLOPs'} (median, min-max over seeds)", fontsize=10
    )
    return save_figure(fig, save)


def error_vs_time(
    results: ResultsLike, problems: Sequence[str] | None = None, save: str | Path | None = None
) -> Figure:
    """Final rel L2 vs training wall time, one point per run, one colour per model."""
    res = as_results(results)
    probs = list(problems or res.problems())
    if not probs:
        raise ValueError("no finished runs to plot")
    col = colors(res)
    nr, nc = grid_shape(len(probs))
    fig = Figure(figsize=(max(5.2, 4.4 * nc), 3.4 * nr), layout="constrained")
    axes = fig.subplots(nr, nc, squeeze=False).ravel()
    for ax, p in zip(axes, probs, strict=False):
        for lab in res.labels(p):
            runs = [r for r in res if r["problem"] == p and r["label"] == lab]
            ax.scatter([r["wall_time"] for r in runs], [r["rel_l2"] for r in runs], color=col[lab], label=lab, s=22)
        final_error_axes(ax, "training time [s]", p)
    for ax in axes[len(probs) :]:
        ax.set_visible(False)
    panel_legends(fig, axes[: len(probs)])
    fig.suptitle("Final error vs training time (one point per run)", fontsize=10)
    return save_figure(fig, save)
