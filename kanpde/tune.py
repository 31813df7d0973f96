"""Tuning on Optuna: the best model configuration for a problem under a fixed per-trial budget.

``kp.tune("poisson2d", "kan", trials=20, budget="60s", storage="sqlite:///runs/tune.db")``
runs an Optuna study with the TPE sampler and a median pruner fed with the error logged during
training (rel L2 every ``log_every`` epochs; past the first quarter of its epochs, a trial whose
best error so far is worse than the median of at least three complete trials at the same epoch
stops).  The study lives in ``storage`` (any Optuna RDB URL:
a SQLite file here, a SQLAlchemy URL on a cluster) under ``study`` (default
``"<problem>-<model>-<budget>"``), so calling again with the same storage continues it.

**Budget.** Each trial gets the same budget: an integer is a number of epochs; ``"60s"`` is a
wall-time cap (``max_time``) on top of the problem's recommended epochs, i.e. a trial stops at
whichever comes first.  Trials are resolved like every run (:func:`kanpde.resolve.resolve`):
the problem's budget, then the sampled options, then the budget above, then the seed.

**Search spaces** (``SPACES``), one per model family:

=========== ================================================================================
``kan``     hidden width 2..16 (one hidden layer, or two with ``depth``), ``grid`` in
            {3, 5, 7, 10}, spline degree ``k`` in {2, 3}, ``lr`` log-uniform 1e-3..5e-2,
            ``optimizer`` adam or adam+lbfgs
``mlp``     ``depth`` 1..4 hidden layers of width 8..64, ``activation`` tanh/sin/silu, ``lr``
            log-uniform 1e-4..3e-2, ``optimizer`` adam or adam+lbfgs
=========== ================================================================================

**Trials in parallel.** Each trial is a :class:`~kanpde.bench.specs.RunSpec` trained by
:func:`~kanpde.bench.run_one.run_one` under a benchmark executor (``serial``, ``process``,
``ray``), ``jobs`` at a time.  This process alone talks to the storage, with Optuna's ask/tell
interface: when a worker frees up it asks the study for the next trial (TPE sees every trial
told so far), and it tells each result as it arrives.  Workers never open the storage, so a
SQLite file needs no concurrent writers (SQLite's locking is the weak point of several
processes calling ``study.optimize`` on one file) and Ray workers on other machines need no
access to it.  The rule of Optuna's ``MedianPruner(n_startup_trials=3, n_min_trials=3,
n_warmup_steps=epochs // 4)`` runs inside the worker: a trial starts with the line "median rel
L2 of the complete trials at each logged epoch" (once ``STARTUP`` = 3 are complete, at epochs
past the warm-up where ``MIN_TRIALS`` = 3 of them logged one) and stops, pruned, when its best
rel L2 so far is above that line (with several trials at once, the line is the one known when
the trial started).  The warm-up and the three-trial minimum matter under a wall-time budget:
trials then reach different epochs, and a median of the one fast trial that got far would prune
trials that end better than it.  Its logged
errors are reported to the study afterwards, so later lines include it.  An interrupted call
(Ctrl-C) marks its unfinished trials failed; calling again continues the study with new
trials (a driver killed outright leaves its trials ``RUNNING``, which count as neither).

Needs ``pip install "kanpde[tune]"`` (Optuna).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable
from typing import Any

from kanpde.problem import Problem

__all__ = ["tune", "SPACES", "parse_budget", "trial_options", "recommended_params", "INSTALL_HINT"]

INSTALL_HINT = 'tuning needs Optuna: pip install "kanpde[tune]" (or pip install "optuna>=3.4")'


def _kan_space(trial) -> dict[str, Any]:
    depth = trial.suggest_int("depth", 1, 2)
    width = trial.suggest_int("width", 2, 16)
    return {"hidden": [width] * depth, "grid": trial.suggest_categorical("grid", [3, 5, 7, 10]),
            "k": trial.suggest_categorical("k", [2, 3]), "lr": trial.suggest_float("lr", 1e-3, 5e-2, log=True),
            "optimizer": trial.suggest_categorical("optimizer", ["adam", "adam+lbfgs"])}


def _mlp_space(trial) -> dict[str, Any]:
    depth = trial.suggest_int("depth", 1, 4)
    width = trial.suggest_int("width", 8, 64, log=True)
    return {"hidden": [width] * depth, "activation": trial.suggest_categorical("activation", ["tanh", "sin", "silu"]),
            "lr": trial.suggest_float("lr", 1e-4, 3e-2, log=True),
            "optimizer": trial.suggest_categorical("optimizer", ["adam", "adam+lbfgs"])}


#: model family -> function(optuna trial) -> options (``hidden`` widths, model and training keywords)
SPACES: dict[str, Callable[[Any], dict[str, Any]]] = {"kan": _kan_space, "mlp": _mlp_space}

#: complete trials before the median rule prunes; complete trials with an error logged at an epoch to judge there
STARTUP, MIN_TRIALS = 3, 3
#: no pruning in the first quarter of a trial's epochs (early errors say little about the last one)
WARMUP = 0.25


def parse_budget(budget: str | int) -> dict[str, Any]:
    """Training overrides for a per-trial budget: ``2000`` (epochs) or ``"60s"`` (seconds of training)."""
    if isinstance(budget, int) and not isinstance(budget, bool):
        if budget < 1:
            raise ValueError(f"budget must be a positive number of epochs or seconds such as '60s', got {budget!r}")
        return {"epochs": budget}
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|epochs)?\s*", str(budget))
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"budget must be a number of epochs (e.g. 2000) or seconds (e.g. '60s'), got {budget!r}")
    if m.group(2) in ("s", "sec"):
        return {"max_time": float(m.group(1))}
    return {"epochs": int(float(m.group(1)))}


def trial_options(family: str, params: dict[str, Any]) -> dict[str, Any]:
    """The options a trial's sampled ``params`` stand for (replays ``SPACES[family]`` without Optuna)."""
    import optuna

    if family not in SPACES:
        raise ValueError(f"no search space for model {family!r}; spaces: {sorted(SPACES)}")
    return SPACES[family](optuna.trial.FixedTrial(params))


def recommended_params(problem: Problem, model: str) -> dict[str, Any] | None:
    """The problem's recommended configuration of ``model`` as trial parameters, or None if the space lacks it."""
    import optuna

    from kanpde.models import DEFAULT_HIDDEN, build_model
    from kanpde.resolve import budget_for, resolve_config

    _, mopts = budget_for(problem, model)
    hidden = list(mopts["widths"][1:-1]) if mopts.get("widths") else list(DEFAULT_HIDDEN.get(model, ()))
    if not hidden or len(set(hidden)) != 1 or mopts.get("basis", "bspline") != "bspline":
        return None
    net = build_model(model, problem.n_features, problem.d_out, [problem.n_features, *hidden, problem.d_out],
                      **{k: v for k, v in mopts.items() if k != "widths"})
    cfg = resolve_config(problem, family=model)
    params = {"depth": len(hidden), "width": hidden[0], "lr": cfg.lr, "optimizer": cfg.optimizer,
              **{k: mopts.get(k, getattr(net, k, None)) for k in ("grid", "k", "activation")}}
    trial = optuna.trial.FixedTrial({**params, "activation": params["activation"] or "tanh"})
    SPACES[model](trial)
    for name, dist in trial.distributions.items():  # every parameter of the space, inside its range
        v = params.get(name)
        inside = (v in dist.choices) if hasattr(dist, "choices") else (v is not None and dist.low <= v <= dist.high)
        if not inside:
            return None
    return {k: params[k] for k in trial.distributions}


def _prune_line(study, startup: int = STARTUP, min_trials: int = MIN_TRIALS,
                warmup: int = 0) -> tuple[tuple[int, float], ...]:
    """Per logged epoch >= ``warmup``, the median rel L2 of the complete trials there (Optuna's median rule).

    Empty before ``startup`` trials are complete; an epoch where fewer than ``min_trials`` of them
    logged an error has no point on the line.
    """
    import numpy as np
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < startup:
        return ()
    steps = sorted({s for t in done for s in t.intermediate_values if s >= warmup})
    line = []
    for s in steps:
        vals = [t.intermediate_values[s] for t in done if math.isfinite(t.intermediate_values.get(s, math.nan))]
        if len(vals) >= min_trials:
            line.append((int(s), float(np.median(vals))))
    return tuple(line)


def tune(problem: str | Problem, model: str = "kan", *, trials: int = 20, budget: str | int = "60s",
         storage: str | None = None, study: str | None = None, seed: int = 0, progress: bool = False,
         executor: str = "serial", jobs: int | None = None, address: str | None = None):
    """Run (or continue) an Optuna study of ``model`` on ``problem``; return the ``optuna.Study``.

    ``executor`` (``"serial"``, ``"process"``, ``"ray"`` with ``address``) runs ``jobs`` trials at
    once (default: one per core; a local Ray instance gets ``jobs`` CPUs).  This process alone
    talks to the storage (ask/tell); workers only train (see the module docstring).
    """
    try:
        import optuna
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    from optuna.trial import TrialState
    from tqdm.auto import tqdm

    from kanpde.api import get_problem
    from kanpde.bench.driver import cpu_count
    from kanpde.bench.executors import get_executor
    from kanpde.bench.specs import RunSpec
    from kanpde.resolve import resolve_config, split_options

    prob = get_problem(problem)
    if model not in SPACES:
        raise ValueError(f"no search space for model {model!r}; spaces: {sorted(SPACES)}")
    if not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    limits = parse_budget(budget)
    warmup = int(WARMUP * resolve_config(prob, [limits], family=model).epochs)
    name = study or f"{prob.name}-{model}-{budget}"
    if not progress:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    done = 0
    if storage is not None:
        try:
            done = len(optuna.load_study(study_name=name, storage=storage).trials)
        except KeyError:  # a new study
            done = 0
    # a continued study samples new points: the sampler's seed moves on with the trials already stored
    st = optuna.create_study(storage=storage, study_name=name, direction="minimize", load_if_exists=True,
                             sampler=optuna.samplers.TPESampler(seed=seed + done),
                             pruner=optuna.pruners.MedianPruner(n_startup_trials=STARTUP, n_min_trials=MIN_TRIALS,
                                                                n_warmup_steps=warmup))
    if done == 0 and (rec := recommended_params(prob, model)) is not None:
        # a new study first measures the recommended configuration under the same budget: the best
        # trial is then at least as good as the default, compared under the same conditions
        st.enqueue_trial(rec, user_attrs={"recommended": True}, skip_if_exists=True)
    st.set_user_attr("problem", prob.name)
    st.set_user_attr("model", model)
    st.set_user_attr("budget", str(budget))
    if jobs is None:
        jobs = 1 if executor == "serial" else cpu_count()
    jobs = max(1, min(int(jobs), trials))
    ex = get_executor(executor, jobs, **({"address": address} if address else {}))
    live: dict = {}

    def specs():
        for _ in range(trials):
            trial = st.ask()
            opts = SPACES[model](trial)
            trial.set_user_attr("options", opts)
            model_args, train_args = split_options(model, {k: v for k, v in opts.items() if k != "hidden"})
            cfg = resolve_config(prob, [{**limits, "progress": False, "threads": 1}, train_args], seed=seed,
                                 family=model)
            sp = RunSpec(suite=name, problem=prob.name, problem_params={}, label=f"trial {trial.number}",
                         model=model, family=model, widths=(prob.n_features, *opts["hidden"], prob.d_out),
                         model_kwargs=model_args, config=cfg.to_dict(), seed=seed,
                         prune_above=_prune_line(st, warmup=warmup))
            live[sp.key] = trial
            yield sp

    bar = tqdm(total=trials, desc=f"tune {name}", disable=not progress, unit="trial")
    try:
        with ex, contextlib.closing(ex.map(specs(), save_model=False)) as got:
            for rec in got:
                _tell(st, live.pop(rec["key"]), rec)
                bar.update(1)
    finally:  # an interrupted call: its unfinished trials are failed, so the study resumes cleanly
        bar.close()
        for trial in live.values():
            st.tell(trial, state=TrialState.FAIL)
    return st


def _tell(study, trial, rec: dict) -> None:
    """Report a finished trial's logged errors and tell the study its outcome."""
    from optuna.trial import TrialState

    if rec.get("status") != "ok":
        trial.set_user_attr("error", str(rec.get("error"))[:500])
        study.tell(trial, state=TrialState.FAIL)
        return
    h = rec["history"]
    for epoch, err in zip(h["epoch"], h["rel_l2"]):
        if err is not None and math.isfinite(err):
            trial.report(err, int(epoch))
    trial.set_user_attr("epochs", rec["final"]["epochs"])
    trial.set_user_attr("wall_time", rec["final"]["wall_time"])
    if rec.get("pruned_at") is not None:
        study.tell(trial, state=TrialState.PRUNED)
        return
    err = rec["final"]["rel_l2"]
    study.tell(trial, err if err is not None and math.isfinite(err) else math.inf)
