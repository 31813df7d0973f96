"""Benchmarks: suites of problems x models x seeds, budget-matched models, resumable results.

A *suite* is data (a dict, or a JSON file with the same shape)::

    {"name": "mine",
     "problems": ["poisson2d", {"name": "poisson1d", "params": {"freq": 2}, "train": {"epochs": 800}}],
     "models": [{"label": "KAN", "model": "kan", "hidden": [10], "grid": 5},
                {"label": "MLP=params", "model": "mlp", "match": "KAN", "by": "params", "depth": 2},
                {"label": "MLP=flops", "model": "mlp", "match": "KAN", "by": "flops"}],
     "seeds": [0, 1],
     "train": {"epochs": 1000, "optimizer": "adam", "lr": 1e-2},
     "use_budget": false}

A model entry gives ``hidden`` widths (input and output widths come from the problem) or full
``widths``, other constructor arguments (``grid``, ``k``, ``activation``), and ``train``
overrides for that model only (e.g. a KAN ``grid_schedule``).  An entry with ``match`` is an
MLP sized so that its parameter count (``by: "params"``) or forward FLOPs (``by: "flops"``)
is within ``tol`` (10 %) of the model labelled ``match`` on the same problem.

The training configuration of a run is, in increasing priority: the problem's ``budget``
(when ``use_budget``), the suite's ``train``, the problem entry's ``train``, the model entry's
``train``, and the seed.  See :mod:`kanpde.results` for the files written and their schema.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import hashlib
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kanpde.results import (
    RUNS,
    RUNS_CSV,
    SCHEMA,
    SUMMARY_CSV,
    Results,
    append_jsonl,
    format_table,
    load,
    read_jsonl,
    repair_jsonl,
    summarize,
    time_to_accuracy,
    write_csv,
)
from kanpde.suites import SUITES

__all__ = ["SUITES", "Suite", "RunSpec", "get_suite", "list_suites", "match_mlp", "expand", "run", "load",
           "summarize", "format_table", "time_to_accuracy", "Results"]

#: keys of TrainConfig that do not change what a run computes (left out of the run key)
_NOT_KEYED = ("progress", "threads", "checkpoint")

def list_suites() -> list[str]:
    """Names of the shipped suites."""
    return sorted(SUITES)


@dataclass(frozen=True)
class Suite:
    """Problems x model specs x seeds with a training configuration (see the module docstring)."""

    name: str
    problems: tuple
    models: tuple
    seeds: tuple[int, ...] = (0,)
    train: Mapping[str, Any] = field(default_factory=dict)
    use_budget: bool = False
    description: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Suite:
        """Build (and validate) a suite from its plain-data form."""
        d = copy.deepcopy(dict(d))
        known = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(d) - known)
        if bad:
            raise ValueError(f"unknown suite key(s) {bad}; allowed: {sorted(known)}")
        for k in ("name", "problems", "models"):
            if k not in d:
                raise ValueError(f"suite needs {k!r}; got keys {sorted(d)}")
        probs = d["problems"]
        if probs == "*":
            from kanpde.api import list_problems

            probs = list_problems()
        probs = tuple({"name": p} if isinstance(p, str) else dict(p) for p in probs)
        labels = [m.get("label") or m.get("model") for m in d["models"]]
        if len(set(labels)) != len(labels):
            raise ValueError(f"model labels must be unique in a suite, got {labels}")
        for m in d["models"]:
            m.setdefault("label", m.get("model"))
            if "model" not in m:
                raise ValueError(f"model entry {m} needs 'model' (a registry name such as 'kan' or 'mlp')")
            if m.get("match") is not None:
                if m["match"] not in labels:
                    raise ValueError(f"model {m['label']!r} matches unknown label {m['match']!r}; labels: {labels}")
                if m.get("by", "params") not in ("params", "flops"):
                    raise ValueError(f"'by' must be 'params' or 'flops', got {m['by']!r}")
        seeds = d.get("seeds", (0,))
        return cls(name=str(d["name"]), problems=probs, models=tuple(d["models"]),
                   seeds=tuple(int(s) for s in seeds), train=dict(d.get("train", {})),
                   use_budget=bool(d.get("use_budget", False)), description=d.get("description", ""))

    def to_dict(self) -> dict:
        """Plain-data form (JSON)."""
        return {"name": self.name, "description": self.description, "problems": list(self.problems),
                "models": list(self.models), "seeds": list(self.seeds), "train": dict(self.train),
                "use_budget": self.use_budget}

    def replace(self, **changes: Any) -> Suite:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def get_suite(suite: str | Mapping | Suite) -> Suite:
    """A shipped suite by name, a suite JSON file, a dict, or a :class:`Suite` as is."""
    if isinstance(suite, Suite):
        return suite
    if isinstance(suite, Mapping):
        return Suite.from_dict(suite)
    if suite in SUITES:
        return Suite.from_dict(SUITES[suite])
    if str(suite).endswith(".json") and Path(suite).is_file():
        return Suite.from_dict(json.loads(Path(suite).read_text()))
    raise ValueError(f"unknown suite {suite!r}; known suites: {', '.join(list_suites())} (or a path to a .json spec)")


# -- budgets -------------------------------------------------------------------------------
def _mlp_count(d_in: int, d_out: int, width: int, depth: int, by: str, activation: str) -> int:
    from kanpde.models import MLP

    m = MLP([d_in, *[width] * depth, d_out], activation=activation)
    return m.count_params() if by == "params" else m.count_flops()


def match_mlp(target: int, d_in: int, d_out: int, *, by: str = "params", depth: int | None = 2,
              activation: str = "tanh", tol: float = 0.1) -> list[int]:
    """Widths of the MLP with equal hidden layers whose params (or FLOPs) are closest to ``target``.

    ``depth`` hidden layers are tried first; if no width comes within ``tol`` (relative) of the
    target, depths 1..4 are tried and the closest is returned.  Raises if none is within ``tol``.
    """
    if by not in ("params", "flops"):
        raise ValueError(f"by must be 'params' or 'flops', got {by!r}")
    if target < 1:
        raise ValueError(f"target count must be positive, got {target}")
    best = None
    for dep in ([depth] if depth else []) + [x for x in (1, 2, 3, 4) if x != depth]:
        lo, hi = 1, 1
        while _mlp_count(d_in, d_out, hi, dep, by, activation) < target:
            hi *= 2
        while lo < hi:  # smallest width with count >= target
            mid = (lo + hi) // 2
            if _mlp_count(d_in, d_out, mid, dep, by, activation) < target:
                lo = mid + 1
            else:
                hi = mid
        for w in {max(1, lo - 1), lo}:
            err = abs(_mlp_count(d_in, d_out, w, dep, by, activation) - target) / target
            if best is None or err < best[0] - 1e-12:
                best = (err, [d_in, *[w] * dep, d_out])
        if best[0] <= tol:
            return best[1]
    raise ValueError(f"no MLP of 1-4 equal hidden layers has {by} within {tol:.0%} of {target}; "
                     f"closest: {best[1]} ({best[0]:.0%} off)")


# -- runs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    """One training run: a problem, a fully sized model, a training configuration, a seed."""

    suite: str
    problem: str
    problem_params: Mapping[str, Any]
    label: str
    model: str
    family: str
    widths: tuple[int, ...]
    model_kwargs: Mapping[str, Any]
    config: Mapping[str, Any]
    seed: int
    match: Mapping[str, Any] | None = None

    @property
    def key(self) -> str:
        """Hash of everything that determines the run's result (not of threads or progress)."""
        cfg = {k: v for k, v in self.config.items() if k not in _NOT_KEYED}
        blob = json.dumps({"problem": self.problem, "params": self.problem_params, "label": self.label,
                           "model": self.model, "widths": list(self.widths), "kwargs": self.model_kwargs,
                           "config": cfg, "seed": self.seed}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def describe(self) -> str:
        """Short human-readable name."""
        return f"{self.problem} {self.label} seed {self.seed}"


def _build(model: str, widths: Sequence[int], kwargs: Mapping, seed: int | None = None):
    from kanpde.models import build_model, model_kwargs

    kw = dict(kwargs)
    if seed is not None and "seed" in model_kwargs(model):
        kw["seed"] = seed
    return build_model(model, widths[0], widths[-1], widths, **kw)


def _final_size(spec: dict, widths: Sequence[int], kwargs: Mapping, train: Mapping) -> tuple[int, int]:
    """Params and FLOPs of a model spec after its grid schedule (the model that is evaluated)."""
    from kanpde.solution import count_flops, count_params

    net = _build(spec["model"], widths, kwargs)
    sched = train.get("grid_schedule")
    if sched:
        last = dict(sorted((int(k), int(v)) for k, v in dict(sched).items()))
        net = net.refine(list(last.values())[-1])
    return count_params(net), count_flops(net)


_SPEC_KEYS = {"label", "model", "family", "hidden", "widths", "match", "by", "depth", "tol", "train"}


def expand(suite: str | Mapping | Suite, seeds: Sequence[int] | None = None) -> list[RunSpec]:
    """All runs of a suite, with matched models sized (raises on unknown problems or models)."""
    from kanpde.api import get_problem
    from kanpde.config import TrainConfig
    from kanpde.models import MODELS

    s = get_suite(suite)
    seeds = tuple(s.seeds if seeds is None else seeds)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    runs = []
    for pentry in s.problems:
        prob = get_problem(pentry["name"], **pentry.get("params", {}))
        base = {**({k: v for k, v in prob.budget.items() if k in fields} if s.use_budget else {}),
                **s.train, **pentry.get("train", {})}
        sized: dict[str, tuple] = {}
        for m in s.models:
            if m["model"] not in MODELS:
                raise ValueError(f"unknown model {m['model']!r} in suite {s.name!r}; known: {sorted(MODELS)}")
            kwargs = {k: v for k, v in m.items() if k not in _SPEC_KEYS}
            train = {**base, **m.get("train", {})}
            match = None
            if m.get("match") is not None:
                ref = sized[m["match"]] if m["match"] in sized else None
                if ref is None:
                    raise ValueError(f"model {m['label']!r} must come after {m['match']!r}, which it matches")
                by = m.get("by", "params")
                target = ref[1] if by == "params" else ref[2]
                widths = match_mlp(target, prob.d_in, prob.d_out, by=by, depth=m.get("depth", 2),
                                   activation=kwargs.get("activation", "tanh"), tol=m.get("tol", 0.1))
            elif m.get("widths") is not None:
                widths = [int(w) for w in m["widths"]]
                if widths[0] != prob.d_in or widths[-1] != prob.d_out:
                    raise ValueError(f"model {m['label']!r} widths {widths} do not fit problem {prob.name!r} "
                                     f"({prob.d_in} inputs, {prob.d_out} outputs)")
            else:
                from kanpde.models import DEFAULT_HIDDEN

                hidden = m.get("hidden", DEFAULT_HIDDEN.get(m["model"], (32,)))
                widths = [prob.d_in, *[int(w) for w in hidden], prob.d_out]
            n_p, n_f = _final_size(m, widths, kwargs, train)
            if m.get("match") is not None:
                ref = sized[m["match"]]
                by = m.get("by", "params")
                match = {"by": by, "ref": m["match"], "ref_params": ref[1], "ref_flops": ref[2],
                         "ratio": (n_p / ref[1]) if by == "params" else (n_f / ref[2])}
            sized[m["label"]] = (widths, n_p, n_f)
            if train.get("lbfgs_epochs") is not None and "epochs" in train and train["lbfgs_epochs"] > train["epochs"]:
                train["lbfgs_epochs"] = train["epochs"] // 2  # a shortened run (epochs override) keeps both phases
            for seed in seeds:
                cfg = TrainConfig(**{k: v for k, v in train.items() if k in fields}, seed=int(seed))
                bad = sorted(set(train) - fields)
                if bad:
                    raise ValueError(f"unknown training option(s) {bad} in suite {s.name!r}; "
                                     f"known: {sorted(fields)}")
                runs.append(RunSpec(suite=s.name, problem=prob.name, problem_params=dict(pentry.get("params", {})),
                                    label=m["label"], model=m["model"], family=m.get("family", m["model"]),
                                    widths=tuple(widths), model_kwargs=kwargs, config=cfg.to_dict(),
                                    seed=int(seed), match=match))
    return runs


def _environment(cfg) -> dict:
    import torch

    from kanpde import __version__

    return {"torch": torch.__version__, "python": platform.python_version(), "kanpde": __version__,
            "platform": platform.platform(terse=True), "dtype": cfg.dtype, "device": cfg.device,
            "threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}


def run_one(spec: RunSpec, out_dir: str | Path | None = None, *, position: int | None = None,
            bar: bool | None = None) -> dict:
    """Train one run and return its results record (saving the model under ``out_dir/models``)."""
    from tqdm.auto import tqdm

    from kanpde.api import get_problem
    from kanpde.config import TrainConfig
    from kanpde.solution import count_params
    from kanpde.train import train

    t0, started = time.perf_counter(), datetime.datetime.now().isoformat(timespec="seconds")
    rec: dict[str, Any] = {"schema": SCHEMA, "key": spec.key, "status": "ok", "suite": spec.suite,
                           "problem": spec.problem, "problem_params": dict(spec.problem_params), "label": spec.label,
                           "model": spec.model, "family": spec.family, "widths": list(spec.widths),
                           "model_kwargs": dict(spec.model_kwargs), "match": spec.match, "seed": spec.seed,
                           "started": started}
    try:
        cfg = TrainConfig.from_dict(spec.config)
        prob = get_problem(spec.problem, **spec.problem_params)
        net = _build(spec.model, spec.widths, spec.model_kwargs, seed=spec.seed)
        trace: list[int] = []
        pbar = tqdm(total=cfg.epochs, desc=f"{spec.problem} {spec.label} s{spec.seed}", leave=False,
                    position=position, disable=(None if bar is None else not bar), dynamic_ncols=True)

        def cb(epoch, model, hist):
            trace.append(count_params(model))
            pbar.update(epoch - pbar.n)
            pbar.set_postfix(rel_l2=f"{hist.rel_l2[-1]:.1e}", refresh=False)

        try:
            sol = train(prob, net, cfg, callbacks=[cb])
        finally:
            pbar.close()
        h = sol.history
        rec.update(config=cfg.to_dict(), n_params=sol.n_params, n_flops=sol.n_flops,
                   final={"rel_l2": h.rel_l2[-1], "max_err": h.max_err[-1], "loss": h.loss[-1],
                          "wall_time": h.wall_time[-1], "epochs": h.epoch[-1]},
                   diverged=h.diverged, message=h.message, history=h.to_dict(), params_trace=trace,
                   env=_environment(cfg))
        if out_dir is not None:
            rel = Path("models") / f"{spec.key}.pt"
            (Path(out_dir) / "models").mkdir(parents=True, exist_ok=True)
            sol.save(Path(out_dir) / rel)
            rec["solution"] = str(rel)
    except Exception as e:  # a failing run is recorded and the suite goes on
        rec.update(status="error", error=f"{type(e).__name__}: {e}", config=dict(spec.config))
    rec["elapsed"] = time.perf_counter() - t0
    return rec


# -- parallel execution --------------------------------------------------------------------
_SLOT: int | None = None


def _init_worker(threads: int, slots) -> None:
    global _SLOT
    import torch

    torch.set_num_threads(threads)
    _SLOT = slots.get()


def _work(spec: RunSpec, out_dir: str | None, bar: bool | None) -> dict:
    return run_one(spec, out_dir, position=(_SLOT or 0) + 1, bar=bar)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run(suite: str | Mapping | Suite, out_dir: str | Path | None = None, *, seeds: Sequence[int] | None = None,
        resume: bool = False, jobs: int | None = None, threads: int | None = None, device: str | None = None,
        dtype: str | None = None, epochs: int | None = None, progress: bool = True,
        on_result: Callable[[dict, int, int], Any] | None = None) -> Results:
    """Run a suite; write ``runs.jsonl``/``runs.csv``/``summary.csv`` to ``out_dir``; return the results.

    ``resume`` skips runs whose key already has a finished record in ``out_dir`` (an interrupted
    run has none and is redone); without it, earlier results there are moved aside to
    ``runs.jsonl.<time>.bak``.  ``jobs`` processes run in parallel (default: one per core, at most
    one per run) with ``threads`` torch threads each (default: cores // jobs).  ``device``,
    ``dtype`` and ``epochs`` override the suite's training configuration.
    """
    s = get_suite(suite)
    over = {k: v for k, v in (("device", device), ("dtype", dtype), ("epochs", epochs)) if v is not None}
    if over:
        s = s.replace(train={**s.train, **over})
    specs = expand(s, seeds)
    cores = _cpu_count()
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
    todo = [sp for sp in specs if sp.key not in done]
    jobs = max(1, min(jobs or cores, len(todo) or 1))
    threads = threads or max(1, cores // jobs)
    todo = [dataclasses.replace(sp, config={**sp.config, "threads": threads, "progress": False}) for sp in todo]
    records = {k: done[k] for k in (sp.key for sp in specs) if k in done}

    from tqdm.auto import tqdm

    overall = tqdm(total=len(specs), initial=len(specs) - len(todo), desc=f"suite {s.name}", position=0,
                   disable=not progress, dynamic_ncols=True, unit="run")
    bar = None if progress else False

    def finish(rec: dict) -> None:
        if out is not None:
            append_jsonl(out / RUNS, rec)
        records[rec["key"]] = rec
        overall.update(1)
        if progress:
            overall.write(_one_line(rec))
        if on_result is not None:
            on_result(rec, overall.n, len(specs))

    try:
        if jobs == 1:
            import torch

            old = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                for sp in todo:
                    finish(run_one(sp, out, position=1, bar=bar))
            finally:
                torch.set_num_threads(old)
        elif todo:
            _run_pool(todo, out, jobs, threads, bar, finish)
    finally:
        overall.close()
        if out is not None:
            write_outputs(out)
    res = Results([records[sp.key] for sp in specs if sp.key in records], out)
    return res


def _run_pool(todo: list[RunSpec], out: Path | None, jobs: int, threads: int, bar, finish) -> None:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    cuda = any(str(sp.config.get("device", "cpu")).startswith("cuda") for sp in todo)
    # fork (as torch's DataLoader does) needs no `if __name__ == "__main__"` guard in user scripts;
    # CUDA cannot be forked, so GPU runs use spawn
    method = "spawn" if cuda or sys.platform != "linux" else "fork"
    ctx = mp.get_context(method)
    slots = ctx.Queue()
    for i in range(jobs):
        slots.put(i)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(threads, slots))
    try:
        pending = {pool.submit(_work, sp, str(out) if out is not None else None, bar) for sp in todo}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                finish(f.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for p in list((getattr(pool, "_processes", None) or {}).values()):  # do not leave orphans training on
            p.terminate()
        raise
    pool.shutdown(wait=True)


def _one_line(rec: dict) -> str:
    tag = f"{rec['problem']} {rec['label']} seed {rec['seed']}"
    if rec.get("status") != "ok":
        return f"  {tag}: FAILED {rec.get('error')}"
    f = rec["final"]
    extra = " (diverged)" if rec.get("diverged") else ""
    return (f"  {tag}: rel L2 {f['rel_l2']:.2e}, max err {f['max_err']:.2e}, {rec['n_params']} params, "
            f"{f['epochs']} epochs, {f['wall_time']:.1f} s{extra}")


def write_outputs(out_dir: str | Path) -> Results | None:
    """Rewrite ``runs.csv`` and ``summary.csv`` from ``runs.jsonl``; return the results."""
    out = Path(out_dir)
    if not (out / RUNS).exists():
        return None
    res = load(out)
    write_csv(list(res), out / RUNS_CSV)
    write_csv(summarize(res), out / SUMMARY_CSV)
    return res


def report(results: Results, markdown: bool = False) -> str:
    """The summary table of ``results`` as text (or Markdown)."""
    return format_table(summarize(results), markdown=markdown)
