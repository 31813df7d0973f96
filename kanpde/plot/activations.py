"""A KAN drawn as its network of edge functions, opacity by importance, formulas on snapped edges."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from kanpde.plot.style import save_figure

if TYPE_CHECKING:
    from torch import Tensor, nn

    from kanpde.solution import Solution

__all__ = ["kan"]


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
        n_in, n_out = lay.in_features, lay.out_features
        last = lay.recorded_input  # the layer's input in the last plain forward pass (None before one)
        with torch.no_grad():
            curves = []
            for i in range(n_in):
                if last is not None and last.shape[0] >= 2 and float(last[:, i].max() - last[:, i].min()) > 0:
                    lo, hi = float(last[:, i].min()), float(last[:, i].max())
                else:
                    g = lay.grid_points[i]
                    lo, hi = float(g[0]), float(g[-1])
                xs = torch.linspace(lo, hi, n, dtype=lay.coef.dtype, device=lay.coef.device)
                full = torch.zeros(n, n_in, dtype=xs.dtype, device=xs.device)
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
        offset = ncols - n_in * n_out  # center the row (two grid columns per panel)
        for j in range(n_out):
            for i in range(n_in):
                k = j * n_in + i  # panel index within the row
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
    return save_figure(fig, save, dpi)
