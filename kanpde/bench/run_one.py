"""Train one run spec and return its result record; no results files are written here.

Imports only :mod:`kanpde.bench.specs` (below it) and the training stack.  The trained model
travels back inside the record as bytes (``record[SOLUTION_BLOB]``, the contents of a
:meth:`kanpde.Solution.save` file), so that an executor on another machine needs no access to
the results directory: the driver writes it to ``models/<key>.pt`` and drops the bytes.
"""

from __future__ import annotations

import datetime
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from kanpde.bench.specs import RunSpec
from kanpde.results import SCHEMA, stopped_by_time

__all__ = ["run_one", "error_record", "SOLUTION_BLOB"]

#: record key holding the saved solution's bytes (popped by the driver before the record is written)
SOLUTION_BLOB = "solution_blob"


def _environment(meta: dict) -> dict:
    from kanpde import __version__

    env = {k: meta[k] for k in ("torch", "python", "dtype", "device", "threads") if k in meta}
    return {**env, "kanpde": __version__, "platform": platform.platform(terse=True), "cpu_count": os.cpu_count()}


def _solution_bytes(sol: Any) -> bytes:
    with tempfile.TemporaryDirectory(prefix="kanpde-run-") as d:
        path = Path(d) / "solution.pt"
        sol.save(path)
        return path.read_bytes()


def _base_record(spec: RunSpec) -> dict[str, Any]:
    return {"schema": SCHEMA, "key": spec.key, "status": "ok", "suite": spec.suite, "problem": spec.problem,
            "problem_params": dict(spec.problem_params), "label": spec.label, "model": spec.model,
            "family": spec.family, "widths": list(spec.widths), "model_kwargs": dict(spec.model_kwargs),
            "match": spec.match, "reference": spec.reference, "seed": spec.seed, "tuned": spec.tuned is not None,
            "tuned_from": dict(spec.tuned) if spec.tuned is not None else None,
            "started": datetime.datetime.now().isoformat(timespec="seconds")}


def error_record(spec: RunSpec, error: str) -> dict:
    """The record of a run that failed outside ``run_one`` (e.g. its worker died past its retries)."""
    return {**_base_record(spec), "status": "error", "error": error, "config": dict(spec.config), "elapsed": 0.0}


def run_one(spec: RunSpec, *, save_model: bool = True, position: int | None = None, bar: bool | None = None) -> dict:
    """Train ``spec`` and return its results record (with the solution's bytes when ``save_model``).

    A failing run gives a record with ``status: "error"`` and the message, never an exception,
    so that a suite goes on.  ``position``/``bar`` place or disable the per-run progress bar.
    """
    from tqdm.auto import tqdm

    from kanpde.config import TrainConfig
    from kanpde.resolve import resolve
    from kanpde.solution import count_params
    from kanpde.train import train

    t0 = time.perf_counter()
    rec = _base_record(spec)
    try:
        from kanpde.api import get_problem

        prob, net, cfg = resolve(get_problem(spec.problem, **spec.problem_params), spec.model, widths=spec.widths,
                                 model_options=spec.model_kwargs, config=TrainConfig.from_dict(spec.config))
        trace: list[int] = []
        line = dict(spec.prune_above)
        pruned: list[int] = []
        pbar = tqdm(total=cfg.epochs, desc=f"{spec.problem} {spec.label} s{spec.seed}", leave=False,
                    position=position, disable=(None if bar is None else not bar), dynamic_ncols=True)

        def cb(epoch, model, hist):
            trace.append(count_params(model))
            pbar.update(epoch - pbar.n)
            pbar.set_postfix(rel_l2=f"{hist.rel_l2[-1]:.1e}", refresh=False)
            if epoch in line:  # the best error so far above the line there: pruned (NaN is never above it)
                best = min((v for v in hist.rel_l2 if v == v), default=float("nan"))
                if best > line[epoch]:
                    pruned.append(epoch)
                    return True
            return None

        try:
            sol = train(prob, net, cfg, callbacks=[cb])
        finally:
            pbar.close()
        h = sol.history
        rec.update(config=cfg.to_dict(), n_params=sol.n_params, n_flops=sol.n_flops,
                   final={"rel_l2": h.rel_l2[-1], "max_err": h.max_err[-1], "loss": h.loss[-1],
                          "wall_time": h.wall_time[-1], "epochs": h.epoch[-1]},
                   diverged=h.diverged, message=h.message, history=h.to_dict(), params_trace=trace,
                   env=_environment(h.meta))
        if spec.prune_above:
            rec["pruned_at"] = pruned[0] if pruned else None
        rec["stopped_by_time"] = stopped_by_time({k: rec[k] for k in ("config", "final", "diverged")})
        if save_model:
            rec[SOLUTION_BLOB] = _solution_bytes(sol)
    except Exception as e:  # a failing run is recorded and the suite goes on
        rec.update(status="error", error=f"{type(e).__name__}: {e}", config=dict(spec.config))
    rec["elapsed"] = time.perf_counter() - t0
    return rec
