"""Benchmark specs: suites of problems x models x seeds, budget-matched models, run specs and their keys.

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
is within ``tol`` (10 %) of the model labelled ``match`` on the same problem.  An entry with
``"recommended": true`` takes the widths and options of the problem's budget (its section for
the model's family), as ``kp.solve`` does for a model given by name.  An entry with
``"reference": true`` is trained and reported like the others but is not ranked in the verdicts
(:mod:`kanpde.verdict`): a yardstick at its own size, such as the recommended MLP beside models of
equal parameters.

The training configuration of a run is, in increasing priority: the problem's ``budget``
(when ``use_budget``), the suite's ``train``, the problem entry's ``train``, the model entry's
``train``, and the seed, merged by :func:`kanpde.resolve.resolve_config` (the same rules as
``kp.solve``).  This module is the bottom of the benchmark package: it imports nothing from
the rest of :mod:`kanpde.bench`.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kanpde.suites import SUITES

__all__ = ["SUITES", "Suite", "RunSpec", "get_suite", "list_suites", "match_mlp", "expand", "tuned_entry",
           "NOT_KEYED"]

#: keys of TrainConfig that do not change what a run computes (left out of the run key);
#: ``chunk_size`` changes the gradient by rounding only, like ``threads``
NOT_KEYED = ("progress", "threads", "checkpoint", "chunk_size")
#: options added after results were first written: left out of the key at these values, so a
#: finished run keeps its key (and ``--resume`` keeps it) when a later version adds an option
KEYED_UNLESS = {"hard_constraints": False}


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
            if not isinstance(m.get("reference", False), bool):
                raise ValueError(f"model {m['label']!r}: 'reference' must be true or false, got {m['reference']!r}")
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

    def only(self, problems: Sequence[str]) -> Suite:
        """The same suite on a subset of its problems (run keys unchanged, so results resume either way)."""
        names = [p["name"] for p in self.problems]
        bad = [p for p in problems if p not in names]
        if bad:
            raise ValueError(f"suite {self.name!r} has no problem(s) {bad}; its problems: {', '.join(names)}")
        return self.replace(problems=tuple(p for p in self.problems if p["name"] in set(problems)))


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
    #: relative cost estimate (epochs x FLOPs per point x points) to start long runs first; not in the key
    cost: float = 0.0
    #: where a tuned configuration came from (``study``, ``trial``, ``value``, ``storage``); None: the suite's own
    tuned: Mapping[str, Any] | None = None
    #: ``(epoch, rel L2)`` pairs: the run stops (is pruned) when its best rel L2 so far is above the line there
    prune_above: tuple[tuple[int, float], ...] = ()
    #: a yardstick: reported, not ranked in verdicts; not in the key
    reference: bool = False

    @property
    def key(self) -> str:
        """Hash of everything that determines the run's result (not of threads or progress).

        A tuned run's key also holds its study and trial, and a pruned trial's its line, so keys of
        runs without either are those of earlier versions (their results resume).
        """
        cfg = {k: v for k, v in self.config.items()
               if k not in NOT_KEYED and not (k in KEYED_UNLESS and v == KEYED_UNLESS[k])}
        what = {"problem": self.problem, "params": self.problem_params, "label": self.label, "model": self.model,
                "widths": list(self.widths), "kwargs": self.model_kwargs, "config": cfg, "seed": self.seed}
        if self.tuned is not None:
            what["tuned"] = {k: self.tuned.get(k) for k in ("study", "trial")}
        if self.prune_above:
            what["prune_above"] = [list(p) for p in self.prune_above]
        blob = json.dumps(what, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        """Plain-data form (JSON), the inverse of :meth:`from_dict`."""
        return {**dataclasses.asdict(self), "widths": list(self.widths),
                "prune_above": [list(p) for p in self.prune_above]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunSpec:
        """A run spec from its plain-data form."""
        line = tuple((int(e), float(v)) for e, v in d.get("prune_above", ()))
        return cls(**{**dict(d), "widths": tuple(d["widths"]), "prune_above": line})


def _final_size(spec: dict, widths: Sequence[int], kwargs: Mapping, train: Mapping) -> tuple[int, int]:
    """Params and FLOPs of a model spec after its grid schedule (the model that is evaluated)."""
    from kanpde.models import build_model
    from kanpde.solution import count_flops, count_params

    net = build_model(spec["model"], widths[0], widths[-1], widths, **kwargs)
    sched = train.get("grid_schedule")
    if sched:
        last = dict(sorted((int(k), int(v)) for k, v in dict(sched).items()))
        net = net.refine(list(last.values())[-1])
    return count_params(net), count_flops(net)


_SPEC_KEYS = {"label", "model", "family", "hidden", "widths", "match", "by", "depth", "tol", "train", "recommended",
              "reference"}


def tuned_entry(entry: Mapping[str, Any], best: Mapping[str, Any] | None) -> tuple[dict, dict | None]:
    """A suite model entry with a study's best configuration applied, and where it came from (None: kept as is).

    ``best`` is one value of :func:`kanpde.bench.tuned.best_configs`: ``options`` (``hidden``
    widths, model and training keywords of the best trial) and its ``study``/``trial``/``value``.
    A KAN entry takes it only when its basis is the study's (B-spline unless the options name
    one), so Chebyshev or Fourier KANs keep their own size.  An entry of its own size takes the
    hidden widths, model options and training options (``lr``, ``optimizer``, ...); an entry
    sized by ``match`` keeps its matching (now to the tuned reference) and takes the depth, the
    model options and the training options.  Epochs and points stay the suite's: every model of
    a tuned suite trains under the same budget.
    """
    from kanpde.resolve import split_options

    if best is None:
        return dict(entry), None
    opts = dict(best["options"])
    default = "bspline" if entry["model"] == "kan" else None
    if entry.get("basis", default) != opts.get("basis", default):
        return dict(entry), None
    hidden = [int(w) for w in opts.pop("hidden")]
    model_args, train_args = split_options(entry["model"], opts)
    new = {k: v for k, v in entry.items() if k not in ("hidden", "widths")}
    new.update(model_args)
    new["train"] = {**dict(entry.get("train") or {}), **train_args}
    if entry.get("match") is None:
        new["hidden"] = hidden
    else:
        new["depth"] = len(hidden)
    return new, {k: best.get(k) for k in ("study", "trial", "value", "storage")}


def expand(suite: str | Mapping | Suite, seeds: Sequence[int] | None = None,
           tuned: Mapping[str, Mapping[str, Any]] | None = None) -> list[RunSpec]:
    """All runs of a suite, with matched models sized (raises on unknown problems or models).

    ``tuned`` maps ``"PROBLEM/MODEL"`` to a study's best configuration (see
    :func:`kanpde.bench.tuned.best_configs`); the model entries of a problem without parameters
    take it as :func:`tuned_entry` says, and their runs carry ``tuned`` (where it came from).
    """
    from kanpde.api import get_problem
    from kanpde.models import DEFAULT_HIDDEN, MODELS
    from kanpde.resolve import budget_for, resolve_config

    s = get_suite(suite)
    seeds = tuple(s.seeds if seeds is None else seeds)
    runs = []
    for pentry in s.problems:
        prob = get_problem(pentry["name"], **pentry.get("params", {}))
        sized: dict[str, tuple] = {}
        for m in s.models:
            source = None
            if tuned is not None and not pentry.get("params"):
                m, source = tuned_entry(m, tuned.get(f"{prob.name}/{m['model']}"))
            if m["model"] not in MODELS:
                raise ValueError(f"unknown model {m['model']!r} in suite {s.name!r}; known: {sorted(MODELS)}")
            kwargs = {k: v for k, v in m.items() if k not in _SPEC_KEYS}
            if m.get("recommended"):  # the model kp.solve builds by name: the budget's widths and options
                rec = budget_for(prob, m["model"])[1] if s.use_budget else {}
                m = {**m, **{k: v for k, v in rec.items() if k in ("widths", "hidden")}}
                kwargs = {**{k: v for k, v in rec.items() if k not in ("widths", "hidden")}, **kwargs}
            layers = [s.train, pentry.get("train", {}), m.get("train", {})]
            try:  # the one resolution of a run's configuration (budget, layers, seed)
                base = resolve_config(prob, layers, family=m["model"], use_budget=s.use_budget)
            except ValueError as e:
                raise ValueError(f"suite {s.name!r}, problem {prob.name!r}, model {m['label']!r}: {e}") from None
            match = None
            if m.get("match") is not None:
                ref = sized[m["match"]] if m["match"] in sized else None
                if ref is None:
                    raise ValueError(f"model {m['label']!r} must come after {m['match']!r}, which it matches")
                by = m.get("by", "params")
                target = ref[1] if by == "params" else ref[2]
                widths = match_mlp(target, prob.n_features, prob.d_out, by=by, depth=m.get("depth", 2),
                                   activation=kwargs.get("activation", "tanh"), tol=m.get("tol", 0.1))
            elif m.get("widths") is not None:
                widths = [int(w) for w in m["widths"]]
                if widths[0] != prob.n_features or widths[-1] != prob.d_out:
                    raise ValueError(f"model {m['label']!r} widths {widths} do not fit problem {prob.name!r} "
                                     f"({prob.n_features} inputs, {prob.d_out} outputs)")
            else:
                hidden = m.get("hidden", DEFAULT_HIDDEN.get(m["model"], (32,)))
                widths = [prob.n_features, *[int(w) for w in hidden], prob.d_out]
            n_p, n_f = _final_size(m, widths, kwargs, base.to_dict())
            if m.get("match") is not None:
                ref = sized[m["match"]]
                by = m.get("by", "params")
                match = {"by": by, "ref": m["match"], "ref_params": ref[1], "ref_flops": ref[2],
                         "ratio": (n_p / ref[1]) if by == "params" else (n_f / ref[2])}
            sized[m["label"]] = (widths, n_p, n_f)
            points = (base.n_interior or prob.n_interior) + (base.n_boundary or prob.n_boundary)
            cost = float(base.epochs) * n_f * points
            for seed in seeds:
                cfg = base.replace(seed=int(seed))
                runs.append(RunSpec(suite=s.name, problem=prob.name, problem_params=dict(pentry.get("params", {})),
                                    label=m["label"], model=m["model"], family=m.get("family", m["model"]),
                                    widths=tuple(widths), model_kwargs=kwargs, config=cfg.to_dict(),
                                    seed=int(seed), match=match, cost=cost, tuned=source,
                                    reference=bool(m.get("reference", False))))
    return runs
