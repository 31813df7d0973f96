"""One run's training record: loss terms and errors per epoch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from kanpde.plot.style import PALETTE, save_figure

if TYPE_CHECKING:
    from kanpde.history import History

__all__ = ["history"]


def history(hist: History, title: str = "", save: str | Path | None = None) -> Figure:
    """One run's training record: loss terms (left) and rel L2 / max error (right) vs epoch."""
    fig = Figure(figsize=(8.4, 3.2), layout="constrained")
    a1, a2 = fig.subplots(1, 2)
    ep = np.asarray(hist.epoch, dtype=float)
    a1.semilogy(ep, hist.loss, color="k", lw=1.5, label="total")
    for i, (k, v) in enumerate(hist.terms.items()):
        a1.semilogy(ep, v, lw=1.0, color=PALETTE[i % len(PALETTE)], label=k)
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
    return save_figure(fig, save)
