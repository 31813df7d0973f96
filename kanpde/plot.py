"""Figures: convergence with seed bands, error vs parameters/FLOPs/time, solution and error fields, KAN activations.

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot`` (no window
ever opens, no backend is switched) and writes a file only when given ``save=``.  Functions
taking ``results`` accept a :class:`kanpde.results.Results` or a results directory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from kanpde.results import Results, load

if TYPE_CHECKING:
    from torch import Tensor, nn

    from kanpde.history import History
    from kanpde.solution import Solution

#: a results set, or the directory it was written to
ResultsLike = Results | str | Path

__all__ = ["convergence", "error_vs_params", "error_vs_time", "field", "history", "kan", "save_all", "colors"]

_PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


def _res(results: ResultsLike) -> Results:
    return results if isinstance(results, Results) else load(results)


def colors(results: Results) -> dict[str, str]:
    """One colour per model label, stable across the figures of a results set."""
    return {lab: _PALETTE[i % len(_PALETTE)] for i, lab in enumerate(results.labels())}


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 3)
    return math.ceil(n / cols), cols


def _loglog(ax) -> None:
    """Log axes; minor tick labels only where no power of ten is in view (they overlap otherwise)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        lo, hi = (math.log10(v) for v in sorted(lim))
        if math.floor(hi) >= math.ceil(lo):
            axis.set_minor_formatter(NullFormatter())


def _final_error_axes(ax, xlabel: str, problem: str) -> None:
    """Log-log axes of final rel L2 against a budget, labelled, with grid and legend."""
    _loglog(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("final relative L2 error")
    ax.set_title(problem)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def _save(fig: Figure, save: str | Path | None, dpi: int = 110) -> Figure:
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=dpi)
    return fig


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


def _band(ax, results: Results, problem: str, label: str, xkey: str, metric: str, color: str) -> None:
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
    Y = _logspace_curves(xs, ys, grid)
    with np.errstate(all="ignore"), _quiet():
        med, lo, hi = np.nanmedian(Y, 0), np.nanmin(Y, 0), np.nanmax(Y, 0)
    ax.plot(grid, med, color=color, lw=1.6, label=f"{label} (median of {len(idx)} seeds)")
    ax.fill_between(grid, lo, hi, color=color, alpha=0.2, lw=0)


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *a):
        self._w.__exit__(*a)


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
    res = _res(results)
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
    return _save(fig, save)


def _stage_points(res: Results, i: int, by: str) -> list[tuple[float, float]]:
    """(size, rel L2 at the end of the stage) for each grid stage of a run whose size changed."""
    rec = res.records[i]
    trace = rec.get("params_trace") or []
    h = res.history(i)
    if len(set(trace)) < 2 or len(trace) != len(h.rel_l2):
        return []
    pts = []
    for j, n in enumerate(trace):
        if j + 1 == len(trace) or trace[j + 1] != n:
            size = n if by == "params" else float("nan")
            pts.append((size, h.rel_l2[j]))
    return pts


def error_vs_params(
    results: ResultsLike, by: str = "params", problems: Sequence[str] | None = None, save: str | Path | None = None
) -> Figure:
    """Final rel L2 (median, min-max over seeds) vs parameter count (``by="params"``) or FLOPs.

    Models of one family (``family`` in the suite) are joined by a line; a run whose grid was
    extended during training also shows the error at the end of each grid stage (params only).
    """
    if by not in ("params", "flops"):
        raise ValueError(f"by must be 'params' or 'flops', got {by!r}")
    res = _res(results)
    probs = list(problems or res.problems())
    if not probs:
        raise ValueError("no finished runs to plot")
    key = "n_params" if by == "params" else "n_flops"
    col = colors(res)
    fams = list(dict.fromkeys(r["family"] for r in res))
    markers = dict(zip(fams, "osD^v<>px*", strict=False))
    nr, nc = _grid(len(probs))
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
                st = _stage_points(res, i, by)
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
        _final_error_axes(ax, "trainable parameters" if by == "params" else "forward FLOPs per point", p)
    for ax in axes[len(probs) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"Final error vs {'parameters' if by == 'params' else 'FLOPs'} (median, min-max over seeds)", fontsize=10
    )
    return _save(fig, save)


def error_vs_time(
    results: ResultsLike, problems: Sequence[str] | None = None, save: str | Path | None = None
) -> Figure:
    """Final rel L2 vs training wall time, one point per run, one colour per model."""
    res = _res(results)
    probs = list(problems or res.problems())
    if not probs:
        raise ValueError("no finished runs to plot")
    col = colors(res)
    nr, nc = _grid(len(probs))
    fig = Figure(figsize=(max(5.2, 4.4 * nc), 3.4 * nr), layout="constrained")
    axes = fig.subplots(nr, nc, squeeze=False).ravel()
    for ax, p in zip(axes, probs, strict=False):
        for lab in res.labels(p):
            runs = [r for r in res if r["problem"] == p and r["label"] == lab]
            ax.scatter([r["wall_time"] for r in runs], [r["rel_l2"] for r in runs], color=col[lab], label=lab, s=22)
        _final_error_axes(ax, "training time [s]", p)
    for ax in axes[len(probs) :]:
        ax.set_visible(False)
    fig.suptitle("Final error vs training time (one point per run)", fontsize=10)
    return _save(fig, save)


# -- fields ----------------------------------------------------------------------------------
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
        return _save(fig, save)

    spacetime = isinstance(prob.domain, SpaceTime)
    iy = d - 1 if spacetime else 1
    n = n or 160
    gx, gy = np.linspace(lo[0], hi[0], n), np.linspace(lo[iy], hi[iy], n)
    X, Y = np.meshgrid(gx, gy)
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
        V = v.reshape(n, n)
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
    return _save(fig, save)


def save_all(
    results: ResultsLike, out_dir: str | Path, fields: bool = True, fmt: str = "png", dpi: int = 110
) -> list[Path]:
    """Write every figure of a results set to ``out_dir``; return the paths written.

    Convergence (epoch and time), error vs parameters and vs FLOPs, error vs time, and for each
    problem x model the field of the seed with the median final error (when its model was saved).
    """
    from kanpde.solution import load as load_solution

    res = _res(results)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def keep(fig: Figure, name: str) -> None:
        p = out / f"{name}.{fmt}"
        fig.savefig(p, dpi=dpi)
        written.append(p)

    if not len(res):
        return written
    keep(convergence(res), "convergence")
    keep(error_vs_params(res, "params"), "error_vs_params")
    keep(error_vs_params(res, "flops"), "error_vs_flops")
    keep(error_vs_time(res), "error_vs_time")
    if fields:
        for p in res.problems():
            for lab in res.labels(p):
                idx = [i for i, r in enumerate(res) if r["problem"] == p and r["label"] == lab]
                errs = np.array([res[i]["rel_l2"] for i in idx], dtype=float)
                if not np.isfinite(errs).any():
                    continue
                order = np.argsort(np.nan_to_num(errs, nan=np.inf))
                i = idx[order[(np.isfinite(errs).sum() - 1) // 2]]
                path = res.solution_path(i)
                if path is None:
                    continue
                sol = load_solution(path)
                safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in lab)
                keep(
                    field(sol, title=f"{p}: {lab}, seed {res[i]['seed']} (rel L2 {res[i]['rel_l2']:.2e})"),
                    f"field_{p}_{safe}",
                )
    return written


def history(hist: History, title: str = "", save: str | Path | None = None) -> Figure:
    """One run's training record: loss terms (left) and rel L2 / max error (right) vs epoch."""
    fig = Figure(figsize=(8.4, 3.2), layout="constrained")
    a1, a2 = fig.subplots(1, 2)
    ep = np.asarray(hist.epoch, dtype=float)
    a1.semilogy(ep, hist.loss, color="k", lw=1.5, label="total")
    for i, (k, v) in enumerate(hist.terms.items()):
        a1.semilogy(ep, v, lw=1.0, color=_PALETTE[i % len(_PALETTE)], label=k)
    a1.set_xlabel("epoch")
    a1.set_ylabel("loss")
    a1.legend(fontsize=7)
    if np.isfinite(np.asarray(hist.rel_l2, dtype=float)).any():
        a2.semilogy(ep, hist.rel_l2, color="#1f77b4", label="relative L2")
        a2.semilogy(ep, hist.max_err, color="#d62728", label="max abs error")
        a2.legend(fontsize=7)
    a2.set_xlabel("epoch")
    a2.set_ylabel("error")
    for ax in (a1, a2):
        ax.grid(True, alpha=0.3)
    fig.suptitle(title or "training history", fontsize=10)
    return _save(fig, save)


def _edge_label(name: str, params: Sequence[float]) -> str:
    a, b, c, d = params
    inner = f"{a:.3g}x{b:+.3g}" if abs(b) > 5e-4 else f"{a:.3g}x"
    text = f"{c:.3g}·{name}({inner})"
    return text + (f"{d:+.3g}" if abs(d) > 5e-4 else "")


def kan(
    model: nn.Module | Solution,
    x: Tensor | np.ndarray | None = None,
    n: int = 100,
    title: str | None = None,
    panel_size: float = 1.3,
    save: str | Path | None = None,
    dpi: int = 110,
) -> Figure:
    """Every edge function of a KAN, laid out layer by layer (inputs at the bottom), like the network.

    Each panel shows ``phi_ij`` over the range of the values its input took in the last batch
    (after running the model on ``x`` when given; the grid range without a batch).  Line opacity
    follows the edge's importance (mean ``|phi|`` relative to the strongest edge of its layer);
    symbolic edges are drawn in red and labelled with their formula; pruned edges are left blank.
    ``model`` may be a Solution, in which case ``x`` holds physical points.
    """
    import torch

    net = getattr(model, "model", model)
    if not hasattr(net, "layers") or not hasattr(net.layers[0], "edge_values"):
        raise TypeError(f"kan() plots a KAN (or a Solution holding one), got {type(net).__name__}")
    if x is not None:
        p = net.layers[0].coef
        xt = torch.as_tensor(
            np.asarray(x, dtype=float) if not isinstance(x, torch.Tensor) else x, dtype=p.dtype, device=p.device
        )
        if xt.dim() == 1:
            xt = xt[:, None]
        if hasattr(model, "scaling") and model is not net:
            xt = model.scaling(xt)
        with torch.no_grad():
            net(xt)
    layers = list(net.layers)
    ncols = max(l.in_features * l.out_features for l in layers)
    fig = Figure(figsize=(max(4.0, panel_size * ncols), panel_size * 1.15 * len(layers) + 0.6))
    gs = fig.add_gridspec(len(layers), 2 * ncols)
    for li, lay in enumerate(layers):
        I, O = lay.in_features, lay.out_features
        last = lay._last_input
        with torch.no_grad():
            curves = []
            for i in range(I):
                if last is not None and last.shape[0] >= 2 and float(last[:, i].max() - last[:, i].min()) > 0:
                    lo, hi = float(last[:, i].min()), float(last[:, i].max())
                else:
                    g = lay.grid_points[i]
                    lo, hi = float(g[0]), float(g[-1])
                xs = torch.linspace(lo, hi, n, dtype=lay.coef.dtype, device=lay.coef.device)
                full = torch.zeros(n, I, dtype=xs.dtype, device=xs.device)
                full[:, i] = xs
                curves.append((xs.cpu().numpy(), lay.edge_values(full)[:, i, :].cpu().numpy()))
            mag = (
                lay.edge_magnitudes()
                if last is not None and last.shape[0] >= 2
                else torch.as_tensor(np.stack([np.abs(c[1]).mean(0) for c in curves]))
            )
            mag = mag.detach().cpu().numpy() * lay.edge_mask.cpu().numpy()
        top = mag.max() if mag.max() > 0 else 1.0
        row = len(layers) - 1 - li
        offset = ncols - I * O  # center the row (two grid columns per panel)
        for j in range(O):
            for i in range(I):
                k = j * I + i
                ax = fig.add_subplot(gs[row, offset + 2 * k : offset + 2 * k + 2])
                ax.set_xticks([])
                ax.set_yticks([])
                if not bool(lay.edge_mask[i, j]):
                    for side in ax.spines.values():
                        side.set_alpha(0.2)
                    ax.set_title(f"{i}→{j} pruned", fontsize=6, alpha=0.4)
                    continue
                alpha = float(np.clip(mag[i, j] / top, 0.08, 1.0))
                sym = lay.symbolic_edge(i, j)
                xs, ys = curves[i]
                ax.plot(xs, ys[:, j], color="#d62728" if sym else "black", alpha=alpha, lw=1.4)
                for side in ax.spines.values():
                    side.set_alpha(max(alpha, 0.25))
                label = _edge_label(*sym) if sym else f"φ{li},{i}→{j}"
                ax.set_title(label, fontsize=6 if sym else 7, alpha=max(alpha, 0.4))
                if i == 0 and j == 0:
                    ax.set_ylabel(f"layer {li}", fontsize=7)
    fig.suptitle(title or f"KAN {net.widths}: edge activations (opacity = importance)", fontsize=9)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.04, top=0.88, hspace=0.55, wspace=0.35)
    return _save(fig, save, dpi)
