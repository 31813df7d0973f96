"""Tuning on Optuna: the best model configuration for a problem under a fixed per-trial budget.

``kp.tune("poisson2d", "kan", trials=20, budget="60s", storage="sqlite:///runs/tune.db")``
runs an Optuna study with the TPE sampler and a median pruner fed with the error logged during
training (rel L2 every ``log_every`` epochs; a trial whose error is worse than the median of
earlier trials at the same epoch stops).  The study lives in ``storage`` (any Optuna RDB URL:
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

Needs ``pip install "kanpde[tune]"`` (Optuna).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from kanpde.problem import Problem

__all__ = ["tune", "SPACES", "parse_budget", "trial_options", "INSTALL_HINT"]

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


def tune(problem: str | Problem, model: str = "kan", *, trials: int = 20, budget: str | int = "60s",
         storage: str | None = None, study: str | None = None, seed: int = 0, progress: bool = False):
    """Run (or continue) an Optuna study of ``model`` on ``problem``; return the ``optuna.Study``."""
    try:
        import optuna
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    from kanpde.api import get_problem
    from kanpde.resolve import resolve
    from kanpde.train import train

    prob = get_problem(problem)
    if model not in SPACES:
        raise ValueError(f"no search space for model {model!r}; spaces: {sorted(SPACES)}")
    if not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    limits = parse_budget(budget)
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
                             pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0))
    st.set_user_attr("problem", prob.name)
    st.set_user_attr("model", model)
    st.set_user_attr("budget", str(budget))

    def objective(trial) -> float:
        opts = SPACES[model](trial)
        hidden = opts.pop("hidden")
        run = resolve(prob, model, widths=[prob.d_in, *hidden, prob.d_out], options=opts,
                      overrides=[{**limits, "progress": False, "threads": 1}], seed=seed)

        def report(epoch, net, hist):
            if math.isfinite(hist.rel_l2[-1]):
                trial.report(hist.rel_l2[-1], epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"rel L2 {hist.rel_l2[-1]:.2e} at epoch {epoch}")

        sol = train(run.problem, run.model, run.config, callbacks=[report])
        err = sol.history.rel_l2[-1]
        trial.set_user_attr("epochs", sol.history.epoch[-1])
        trial.set_user_attr("wall_time", sol.history.wall_time[-1])
        return err if math.isfinite(err) else math.inf

    st.optimize(objective, n_trials=trials, catch=(RuntimeError, ValueError))
    return st
