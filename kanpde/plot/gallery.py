"""Every figure of a results set written to one directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from kanpde.plot.benchmark import convergence, error_vs_params, error_vs_time
from kanpde.plot.fields import field
from kanpde.plot.style import ResultsLike, as_results

__all__ = ["save_all"]


def save_all(
    results: ResultsLike, out_dir: str | Path, fields: bool = True, fmt: str = "png", dpi: int = 110
) -> list[Path]:
    """Write every figure of a results set to ``out_dir``; return the paths written.

    Convergence (epoch and time), error vs parameters and vs FLOPs, error vs time, and for each
    problem x model the field of the seed with the median final error (when its model was saved).
    """
    from kanpde.solution import load as load_solution

    res = as_results(results)
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
