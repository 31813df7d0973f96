"""The short form: solve a catalog (or user) problem by name in one call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from kanpde.config import TrainConfig
from kanpde.problem import Problem
from kanpde.resolve import resolve
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
    ``lr``, ``seed``, ...).  Fields not given come from the problem's recommended ``budget``
    (or from ``config`` when given); :func:`kanpde.resolve.resolve` states the merge rules.
    """
    try:
        prob, net, cfg = resolve(get_problem(problem), model, widths=widths, options=kwargs, config=config)
    except TypeError as e:
        raise TypeError(f"solve(): {e}") from None
    return train(prob, net, cfg, callbacks=callbacks)
