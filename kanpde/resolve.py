"""One resolution of a run's configuration: (problem, model spec, overrides, seed) -> (model, TrainConfig).

:func:`resolve` is the single place where a problem's recommended ``budget``, the caller's
arguments and the seed merge into a :class:`~kanpde.TrainConfig` and a built model.
``kp.solve``, the benchmark runner (``kanpde.bench``) and the CLI all go through it, so a
run started any of these ways with the same inputs trains the same thing.

Merge order, lowest priority first: ``TrainConfig`` defaults (or a ``config`` given whole),
the problem's ``budget`` (general keys, then the section of the model's family, e.g.
``budget["kan"]``), then each override layer in order (for a suite: the suite's ``train``,
the problem entry's, the model entry's; for ``solve``: the keyword arguments), then ``seed``.

**The L-BFGS rule.**  When a layer changes ``epochs`` but not ``lbfgs_epochs``, an
``lbfgs_epochs`` set by a lower layer keeps its *share* of the run:
``lbfgs_epochs = round(lbfgs_epochs * new_epochs / old_epochs)``.  A budget of 3000 epochs
with 2500 L-BFGS run with ``epochs=600`` does 100 Adam then 500 L-BFGS epochs, as the budget
intended, rather than failing (``lbfgs_epochs > epochs``) or falling back to an even split.
An ``lbfgs_epochs`` given in the same layer as ``epochs`` (or a higher one) is taken as is.

**Point counts** (``n_interior``, ``n_boundary``, ``n_initial``, ``n_eval``) are checked here
once, on the values a run will use (the override, else the problem's default), before any
model is built or point sampled.

**Why budgets live on** :class:`~kanpde.Problem` **and not in a table beside the suites.**
A budget is what a problem needs (its stiffness, its scales, how hard its boundary is to
fit), stated next to its maths by whoever wrote it; a user's own problem carries its budget
the same way, which a table keyed by catalog names could not reach.  What depends on the model
family goes into that family's section of the same budget (``{"epochs": 2000, "kan": {"grid":
10, "optimizer": "lbfgs"}}``: training fields and, for a model built by name, constructor
options and ``widths``), so one entry says everything recommended for a problem.  The section's
model part (``widths`` and constructor options) is used only when the caller shapes the model in
no way (no ``widths``, no model options): a recommended B-spline grid must not be forced onto a
Chebyshev KAN or onto widths the caller chose.  Suites stay
what they are: comparisons that override budgets on purpose (equal epochs for all models).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from torch import nn

from kanpde.config import TrainConfig
from kanpde.problem import Problem

__all__ = ["resolve", "resolve_config", "split_options", "budget_for", "Resolved", "TRAIN_FIELDS", "POINT_COUNTS"]

#: names of the TrainConfig fields
TRAIN_FIELDS: frozenset[str] = frozenset(f.name for f in dataclasses.fields(TrainConfig))
#: collocation/evaluation counts: TrainConfig field -> Problem default
POINT_COUNTS = ("n_interior", "n_boundary", "n_initial", "n_eval")


class Resolved(NamedTuple):
    """A resolved run: the problem, the model (seeded, untrained) and its training configuration."""

    problem: Problem
    model: nn.Module
    config: TrainConfig


def _problem(problem: str | Problem) -> Problem:
    if isinstance(problem, Problem):
        return problem
    from kanpde.problems import get_problem

    return get_problem(problem)


def budget_for(problem: Problem, family: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The problem's recommended (training fields, model options) for a model ``family``."""
    from kanpde.models import MODELS

    budget = dict(problem.budget or {})
    general = {k: v for k, v in budget.items() if k not in MODELS}
    section = dict(budget.get(family) or {}) if family is not None else {}
    train = {**general, **{k: v for k, v in section.items() if k in TRAIN_FIELDS}}
    model = {k: v for k, v in section.items() if k not in TRAIN_FIELDS}
    return {k: v for k, v in train.items() if k in TRAIN_FIELDS}, model


def _merge(layers: Sequence[Mapping[str, Any]], base: Mapping[str, Any]) -> dict[str, Any]:
    """Merge training layers (lowest priority first) with the L-BFGS share rule."""
    merged = dict(base)
    for layer in layers:
        layer = dict(layer or {})
        if "epochs" in layer and "lbfgs_epochs" not in layer and merged.get("lbfgs_epochs") is not None:
            old = merged.get("epochs", TrainConfig.epochs)
            new = layer["epochs"]
            if isinstance(new, int) and isinstance(old, int) and old > 0:
                merged["lbfgs_epochs"] = min(new, max(0, round(merged["lbfgs_epochs"] * new / old)))
        merged.update(layer)
    return merged


def _check_points(problem: Problem, cfg: Mapping[str, Any]) -> None:
    for name in POINT_COUNTS:
        v = cfg.get(name)
        v = getattr(problem, name) if v is None else v
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer (the number of points), got {v!r} "
                             f"for problem {problem.name!r}")


def resolve_config(problem: str | Problem, overrides: Mapping[str, Any] | Sequence[Mapping[str, Any]] = (), *,
                   seed: int | None = None, family: str | None = None, use_budget: bool = True,
                   config: TrainConfig | None = None) -> TrainConfig:
    """The TrainConfig of a run: budget (or ``config``), then override layers, then ``seed`` (see module doc)."""
    prob = _problem(problem)
    layers = [overrides] if isinstance(overrides, Mapping) else list(overrides)
    for layer in layers:
        bad = sorted(set(layer or {}) - TRAIN_FIELDS)
        if bad:
            raise ValueError(f"unknown training option(s) {bad}; known: {sorted(TRAIN_FIELDS)}")
    if config is not None:
        base = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    else:
        base = budget_for(prob, family)[0] if use_budget else {}
    merged = _merge(layers, base)
    if seed is not None:
        merged["seed"] = int(seed)
    _check_points(prob, merged)
    return TrainConfig(**merged)


def split_options(model: str | nn.Module, options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split mixed keyword options into (model constructor options, training options); unknown ones raise."""
    from kanpde.models import model_kwargs

    mkw = model_kwargs(model) if isinstance(model, str) else set()
    model_args = {k: v for k, v in options.items() if k in mkw and k not in TRAIN_FIELDS}
    train_args = {k: v for k, v in options.items() if k in TRAIN_FIELDS}
    unknown = sorted(set(options) - set(model_args) - set(train_args))
    if unknown:
        raise TypeError(f"unknown argument(s) {unknown}; model options: {sorted(mkw)}; "
                        f"training options: {sorted(TRAIN_FIELDS)}")
    return model_args, train_args


def resolve(problem: str | Problem, model: str | nn.Module = "mlp", *, widths: Sequence[int] | None = None,
            options: Mapping[str, Any] | None = None, model_options: Mapping[str, Any] | None = None,
            overrides: Mapping[str, Any] | Sequence[Mapping[str, Any]] = (), seed: int | None = None,
            config: TrainConfig | None = None, use_budget: bool = True) -> Resolved:
    """Turn (problem, model spec, overrides, seed) into ``Resolved(problem, model, config)``.

    ``model`` is a registry name (built here with ``widths`` and the model options found in
    ``options``, seeded with the run's seed) or an ``nn.Module`` used as is.  ``options`` mixes
    model constructor and training keywords as ``kp.solve`` accepts them; its training keywords
    form the highest override layer.  ``model_options`` go to the model constructor only (a suite's
    model entry).  ``config``, when given, replaces the budget as the base.
    """
    from kanpde.models import build_model, model_kwargs

    prob = _problem(problem)
    model_args, train_args = split_options(model, dict(options or {}))
    model_args.update(model_options or {})
    layers = [overrides] if isinstance(overrides, Mapping) else list(overrides)
    family = model if isinstance(model, str) else None
    cfg = resolve_config(prob, [*layers, train_args], seed=seed, family=family,
                         use_budget=use_budget and config is None, config=config)
    if not isinstance(model, str):
        if widths is not None or model_args:
            raise TypeError(f"widths and model options {sorted(model_args)} apply only when the model is given "
                            f"by name, not as a {type(model).__name__} instance")
        return Resolved(prob, model, cfg)
    if use_budget and config is None and widths is None and not model_args:
        # the recommended model (widths and options together) applies only to a model the caller did
        # not shape: options meant for one architecture (a B-spline grid) must not leak into another
        rec = budget_for(prob, model)[1]
        rec_widths = rec.pop("widths", None)
        hidden = rec.pop("hidden", None)
        if rec_widths is not None:
            widths = rec_widths
        elif hidden is not None:
            widths = [prob.n_features, *hidden, prob.d_out]
        model_args = {k: v for k, v in rec.items() if k in model_kwargs(model)}
    if "seed" in model_kwargs(model):
        model_args["seed"] = cfg.seed  # one seed for initialisation and sampling
    if widths is not None:
        widths = [int(w) for w in widths]
        if widths[0] != prob.n_features or widths[-1] != prob.d_out:
            raise ValueError(f"widths {widths} do not fit problem {prob.name!r}: the first must be its "
                             f"{prob.n_features} input(s) and the last its {prob.d_out} output(s)")
    return Resolved(prob, build_model(model, prob.n_features, prob.d_out, widths, **model_args), cfg)
