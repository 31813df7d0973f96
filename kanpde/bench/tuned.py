"""Tuned configurations: the best trial per (problem, model family) in an Optuna storage, as plain data.

``kanpde tune`` stores one study per (problem, model, budget), named ``PROBLEM-MODEL-BUDGET``
unless told otherwise, with the user attributes ``problem`` and ``model``; each trial keeps
the options it stands for (``hidden`` widths, model and training keywords) in its user
attribute ``options``.  :func:`best_configs` reads every study in a storage and keeps, per
(problem, model), the complete trial with the lowest rel L2 over all its studies (a study of
another budget included: the suite's own budget applies to the run either way).  A study
written without those attributes is read from its name and its trial's ``depth``/``width``
parameters.  This module sits at the bottom of :mod:`kanpde.bench`, beside the specs: it imports
nothing from the rest of the package and needs Optuna only when called.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["best_configs", "storage_url", "options_of"]


def storage_url(storage: str | Path) -> str:
    """An Optuna storage URL from a URL or a path to a SQLite file (which must exist)."""
    s = str(storage)
    if "://" not in s:
        if not Path(s).is_file():
            raise FileNotFoundError(f"tuned storage {s!r} is not a file; give a SQLite file written by `kanpde tune` "
                                    f"(e.g. runs/tune.db) or a storage URL such as sqlite:///runs/tune.db")
        return f"sqlite:///{Path(s).resolve()}"
    if s.startswith("sqlite:///") and not Path(s[len("sqlite:///"):]).is_file():
        raise FileNotFoundError(f"tuned storage {s!r}: no such SQLite file (run `kanpde tune ... --storage {s}` first)")
    return s


def options_of(trial: Any) -> dict[str, Any]:
    """The options a stored trial stands for: its ``options`` attribute, else rebuilt from its parameters."""
    opts = trial.user_attrs.get("options")
    if opts is not None:
        return dict(opts)
    params = dict(trial.params)
    depth, width = int(params.pop("depth", 1)), int(params.pop("width"))
    return {"hidden": [width] * depth, **params}


def best_configs(storage: str | Path) -> dict[str, dict[str, Any]]:
    """``{"PROBLEM/MODEL": {"options", "study", "trial", "value", "storage"}}``: the best trial per pair."""
    try:
        import optuna
    except ImportError:
        raise ImportError('tuned suites read Optuna studies: pip install "kanpde[tune]"') from None
    url = storage_url(storage)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    best: dict[str, dict[str, Any]] = {}
    for summary in optuna.get_all_study_summaries(storage=url, include_best_trial=True):
        trial = summary.best_trial
        if trial is None or trial.value is None or not math.isfinite(trial.value):
            continue
        attrs = summary.user_attrs
        parts = summary.study_name.rsplit("-", 2)
        problem = attrs.get("problem") or parts[0]
        model = attrs.get("model") or (parts[1] if len(parts) == 3 else None)
        if model is None:
            continue
        key = f"{problem}/{model}"
        if key not in best or trial.value < best[key]["value"]:
            best[key] = {"options": options_of(trial), "study": summary.study_name, "trial": trial.number,
                         "value": float(trial.value), "storage": url}
    return best
