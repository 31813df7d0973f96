"""Shared look of the figures: the colour palette, log axes, saving, and reading a results set."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from kanpde.results import Results, load

__all__ = ["PALETTE", "ResultsLike", "as_results", "colors", "grid_shape", "loglog", "final_error_axes",
           "panel_legends", "save_figure", "quiet_runtime_warnings"]

#: a results set, or the directory it was written to
ResultsLike = Results | str | Path

PALETTE = [
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


def as_results(results: ResultsLike) -> Results:
    """``results`` itself, or the results set loaded from the directory it names."""
    return results if isinstance(results, Results) else load(results)


def colors(results: Results) -> dict[str, str]:
    """One colour per model label, stable across the figures of a results set."""
    return {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(results.labels())}


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of a panel grid for ``n`` panels: three per row, four beyond twelve panels."""
    cols = min(n, 3 if n <= 12 else 4)
    return math.ceil(n / cols), cols


def loglog(ax: Axes) -> None:
    """Log axes; minor tick labels only where no power of ten is in view (they overlap otherwise)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        lo, hi = (math.log10(v) for v in sorted(lim))
        if math.floor(hi) >= math.ceil(lo):
            axis.set_minor_formatter(NullFormatter())


def final_error_axes(ax: Axes, xlabel: str, problem: str) -> None:
    """Log-log axes of final rel L2 against a budget, labelled, with grid (the legend: :func:`panel_legends`)."""
    loglog(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("final relative L2 error")
    ax.set_title(problem)
    ax.grid(True, which="major", alpha=0.3)


def panel_legends(fig: Figure, axes: Sequence[Axes]) -> None:
    """A legend in each of up to three panels; beyond three, one legend below them all (labels once each)."""
    if len(axes) <= 3:
        for ax in axes:
            ax.legend(fontsize=7, loc="best")
        return
    seen: dict[str, object] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncols=min(len(seen), 5), fontsize=8)


def save_figure(fig: Figure, save: str | Path | None, dpi: int = 110) -> Figure:
    """Write ``fig`` to ``save`` (creating its directory) when a path is given; return ``fig``."""
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=dpi)
    return fig


@contextmanager
def quiet_runtime_warnings() -> Iterator[None]:
    """Silence numpy's RuntimeWarnings (all-NaN slices at epochs no seed reached)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
