"""The short form: solve a catalog (or user) problem by name in one call."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from torch import nn

from kanpde.config import TrainConfig
from kanpde.models import build_model, model_kwargs
from kanpde.problem import Problem
from kanpde.solution import Solution
from kanpde.train import Callback, train

__all__ = ["solve", "get_problem", "list_problems"]


def get_problem(name: str | Problem, **params: Any) -> Problem:
    """The catalog problem ``name`` (with parameter overrides); a Problem is returned as is."""
    from kanpde.problems import get_problem as _get

    return _get(name, **params)


def list_problems(tag: str | None = None) -> list[str]:
    """Names of the catalog problems, optionally only those tagged ``tag``."""
    from kanpde.problems import list_problems as _list

    return _list(tag)


def solve(problem: str | Problem, model: str | nn.Module = "mlp", *, widths: Sequence[int] | None = None,
          config: TrainConfig | None = None, callbacks: Sequence[Callback] = (), **kwargs: Any) -> Solution:
    """Build the problem and a model by name, train, and return the :class:`Solution`.

    Keyword arguments go to the model constructor when it takes them (``grid``, ``k``,
    ``activation``, ...) and otherwise to :class:`TrainConfig` (``epochs``, ``optimizer``,
    ``lr``, ``seed``, ...).  Fields not given come from the problem's recommended ``budget``.
    """
    prob = get_problem(problem)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    mkw = model_kwargs(model) if isinstance(model, str) else set()
    model_args = {k: v for k, v in kwargs.items() if k in mkw and k not in fields}
    train_args = {k: v for k, v in kwargs.items() if k in fields}
    unknown = sorted(set(kwargs) - set(model_args) - set(train_args))
    if unknown:
        raise TypeError(f"solve() got unknown argument(s) {unknown}; model options: {sorted(mkw)}; "
                        f"training options: {sorted(fields)}")
    if config is None:
        budget = {k: v for k, v in prob.budget.items() if k in fields}
        if "lbfgs_epochs" in budget and "epochs" in train_args and "lbfgs_epochs" not in train_args:
            share = budget["lbfgs_epochs"] / budget.get("epochs", TrainConfig.epochs)
            budget["lbfgs_epochs"] = round(share * train_args["epochs"])  # keep the budget's L-BFGS share
        config = TrainConfig(**{**budget, **train_args})
    elif train_args:
        config = config.replace(**train_args)
    if isinstance(model, str):
        if "seed" in mkw:
            model_args["seed"] = config.seed  # one seed for initialisation and sampling
        net = build_model(model, prob.n_features, prob.d_out, widths, **model_args)
    else:
        if widths is not None:
            raise TypeError("widths applies only when the model is given by name")
        net = model
    return train(prob, net, config, callbacks=callbacks)
