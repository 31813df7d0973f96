"""The driver: expand a suite, pick an executor, and alone write the results files.

``runs.jsonl`` gets one line per finished run, appended, flushed and fsynced as each record
arrives from the executor, whichever executor it is; resume skips every key with an ``ok``
record there, so a suite started under one executor can be finished under another.  The
trained models go to ``models/<key>.pt`` (from the bytes in the record).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kanpde.bench.executors import Executor, get_executor
from kanpde.bench.report import one_line, write_outputs
from kanpde.bench.run_one import SOLUTION_BLOB
from kanpde.bench.specs import Suite, expand, get_suite
from kanpde.results import RUNS, Results, append_jsonl, read_jsonl, repair_jsonl

__all__ = ["run", "cpu_count"]


def cpu_count() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _store(out: Path, rec: dict) -> dict:
    blob = rec.pop(SOLUTION_BLOB, None)
    if blob is not None:
        rel = Path("models") / f"{rec['key']}.pt"
        (out / "models").mkdir(parents=True, exist_ok=True)
        tmp = out / f"{rel}.part"
        tmp.write_bytes(blob)
        os.replace(tmp, out / rel)  # a model file is complete or absent
        rec["solution"] = str(rel)
    append_jsonl(out / RUNS, rec)
    return rec


def run(suite: str | Mapping | Suite, out_dir: str | Path | None = None, *, executor: str | Executor | None = None,
        address: str | None = None, seeds: Sequence[int] | None = None, resume: bool = False,
        jobs: int | None = None, threads: int | None = None, device: str | None = None, dtype: str | None = None,
        epochs: int | None = None, progress: bool = True, problems: Sequence[str] | None = None,
        tuned: str | Path | Mapping[str, Mapping] | None = None,
        on_result: Callable[[dict, int, int], Any] | None = None) -> Results:
    """Run a suite; write ``runs.jsonl``/``runs.csv``/``summary.csv``/``models/`` to ``out_dir``; return the results.

    ``executor`` is ``"serial"``, ``"process"`` (a local pool) or ``"ray"`` (``address`` of a
    running cluster, or a local instance); by default ``process`` when more than one job runs,
    else ``serial``.  ``resume`` skips runs whose key already has a finished record in
    ``out_dir`` (an interrupted run has none and is redone); without it, earlier results there
    are moved aside to ``runs.jsonl.<time>.bak``.  ``jobs`` runs in parallel (default: one per
    core, at most one per run) with ``threads`` torch threads each (default: 1; PINN-sized networks
    train fastest single-threaded, and a run then gives the same bits under every executor).
    ``device``, ``dtype`` and ``epochs`` override the suite's training configuration;
    ``problems`` runs only those of the suite's problems (keys unchanged: a later full run resumes).
    ``tuned`` (an Optuna storage URL, a SQLite file from ``kanpde tune``, or the table of
    :func:`kanpde.bench.tuned.best_configs`) gives each (problem, model family) with a study its
    best configuration (:func:`kanpde.bench.specs.tuned_entry`); rows say ``tuned: true/false``,
    and ``tuned.json`` in ``out_dir`` keeps the table used.
    """
    from tqdm.auto import tqdm

    full = get_suite(suite)
    over = {k: v for k, v in (("device", device), ("dtype", dtype), ("epochs", epochs)) if v is not None}
    if over:
        full = full.replace(train={**full.train, **over})
    s = full.only(problems) if problems else full
    table = None
    if tuned is not None:
        from kanpde.bench.tuned import best_configs

        table = dict(tuned) if isinstance(tuned, Mapping) else best_configs(tuned)
    # the whole suite is expanded once: a --problems subset keeps its runs' positions in it
    every = expand(full, seeds, tuned=table) if problems else None
    specs = [sp for sp in every if sp.problem in set(problems)] if problems else expand(s, seeds, tuned=table)
    cores = cpu_count()
    out = Path(out_dir) if out_dir is not None else None
    done: dict[str, dict] = {}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / RUNS
        if resume:
            repair_jsonl(path)
            done = {r["key"]: r for r in read_jsonl(path) if r.get("status", "ok") == "ok"}
        elif path.exists() and path.stat().st_size > 0:
            path.rename(out / f"{RUNS}.{datetime.datetime.now():%Y%m%d-%H%M%S}.bak")
        (out / "suite.json").write_text(json.dumps(s.to_dict(), indent=1, default=str))
        if table is not None:
            (out / "tuned.json").write_text(json.dumps(table, indent=1, default=str))
    todo = [sp for sp in specs if sp.key not in done]
    if executor is None:
        executor = "process" if min(jobs or cores, len(todo) or 1) > 1 else "serial"
    name = executor.name if isinstance(executor, Executor) else executor
    if jobs is None:
        jobs = 1 if name == "serial" else cores
    jobs = max(1, min(jobs, len(todo) or 1))
    threads = threads or 1  # single-threaded runs: fastest at PINN sizes, and the same bits under every executor
    todo = [dataclasses.replace(sp, config={**sp.config, "threads": threads, "progress": False}) for sp in todo]
    if name != "serial":  # longest first: the last run to start is a short one, so workers finish together
        todo.sort(key=lambda sp: -sp.cost)
    records = {k: done[k] for k in (sp.key for sp in specs) if k in done}
    order = {sp.key: i for i, sp in enumerate(every if problems else specs)}
    ex = get_executor(executor, jobs, **({"address": address} if address is not None else {}))

    overall = tqdm(total=len(specs), initial=len(specs) - len(todo), desc=f"suite {s.name}", position=0,
                   disable=not progress, dynamic_ncols=True, unit="run")
    try:
        # closing(): on Ctrl-C or an error here the executor's generator is closed at once, stopping its workers
        with ex, contextlib.closing(ex.map(todo, save_model=out is not None, bar=None if progress else False)) as got:
            for rec in got:
                rec = {**rec, "order": order[rec["key"]]}  # the suite's order, whatever order runs finish in
                rec = _store(out, rec) if out is not None else {k: v for k, v in rec.items() if k != SOLUTION_BLOB}
                records[rec["key"]] = rec
                overall.update(1)
                if progress:
                    overall.write(one_line(rec))
                if on_result is not None:
                    on_result(rec, overall.n, len(specs))
    finally:
        overall.close()
        if out is not None:
            write_outputs(out)
    return Results([records[sp.key] for sp in specs if sp.key in records], out)
