"""KAN-specific training methods: grid schedule (extension), grid update, sparsity penalty."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from kanpde.methods.base import Method, positive, positive_int

__all__ = ["GridSchedule", "GridUpdate", "Sparsity"]


def _needs(owner: str, model: Any, method: str) -> None:
    if not hasattr(model, method):
        raise ValueError(f"{owner} needs a model with .{method}() (a KAN); {type(model).__name__} has none")


@dataclass(frozen=True)
class GridSchedule(Method):
    """Grid extension (Liu et al., KAN 2024): refine the KAN's grid to ``schedule[epoch]`` at those epochs."""

    schedule: Mapping[int, int]

    def __post_init__(self):
        sched = {int(k): int(v) for k, v in dict(self.schedule).items()}
        if any(k < 0 or v < 1 for k, v in sched.items()):
            raise ValueError(f"GridSchedule maps epochs >= 0 to grid sizes >= 1, got {dict(self.schedule)}")
        object.__setattr__(self, "schedule", dict(sorted(sched.items())))

    def check(self, problem, model, config):
        _needs("GridSchedule", model, "refine")
        sizes = [getattr(model, "grid", 0), *self.schedule.values()]
        if any(b < a for a, b in zip(sizes, sizes[1:])):
            raise ValueError(f"grid_schedule must refine: grid sizes may only grow from the model's grid "
                             f"{sizes[0]}, got {dict(self.schedule)}")

    def before_step(self, run):
        g = self.schedule.get(run.epoch)
        if g is not None and g != getattr(run.model, "grid", g):
            run.replace_model(run.model.refine(g))

    def to_dict(self):
        return {"method": self.name, "schedule": {str(k): v for k, v in self.schedule.items()}}


@dataclass(frozen=True)
class GridUpdate(Method):
    """Move every KAN layer's grid onto the values it sees, every ``every`` epochs up to ``until``."""

    every: int
    until: int | None = None
    eps: float | None = None

    def __post_init__(self):
        positive_int("GridUpdate", "every", self.every)
        if self.until is not None:
            positive_int("GridUpdate", "until", self.until)

    def check(self, problem, model, config):
        _needs("GridUpdate", model, "update_grid")

    def before_step(self, run):
        if not self._due(run, self.every) or (self.until is not None and run.epoch > self.until):
            return
        kw = {} if self.eps is None else {"grid_eps": self.eps}
        with torch.no_grad():
            run.model.update_grid(run.loss.model_inputs(), **kw)
        run.replace_model(run.model)


@dataclass(frozen=True)
class Sparsity(Method):
    """The KAN paper's sparsity penalty ``reg * model.regularization(l1, entropy)``, as the term ``reg``."""

    reg: float
    l1: float = 1.0
    entropy: float = 2.0

    def __post_init__(self):
        positive("Sparsity", "reg", self.reg)

    def check(self, problem, model, config):
        _needs("Sparsity", model, "regularization")

    def penalty(self, run):
        return {"reg": self.reg * run.model.regularization(lamb_l1=self.l1, lamb_entropy=self.entropy)}
