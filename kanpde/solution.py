"""A trained model together with its problem, configuration and history; save and load."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from kanpde.config import TrainConfig
from kanpde.history import History
from kanpde.loss import InputScaling
from kanpde.problem import Problem

__all__ = ["Solution", "load", "count_params", "count_flops"]

FORMAT = "kanpde-solution/1"


def count_params(model: nn.Module) -> int:
    """Trainable parameters of any module (its own ``count_params`` when it has one)."""
    if hasattr(model, "count_params"):
        return int(model.count_params())
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module) -> int:
    """Forward FLOPs per point when the model can count them, else 0."""
    return int(model.count_flops()) if hasattr(model, "count_flops") else 0


@dataclass
class Solution:
    """A trained network for a problem: call it on physical points to get ``u``."""

    problem: Problem
    model: nn.Module
    config: TrainConfig
    history: History
    scaling: InputScaling

    @property
    def n_params(self) -> int:
        """Trainable parameters of the model."""
        return count_params(self.model)

    @property
    def n_flops(self) -> int:
        """Forward FLOPs per point of the model."""
        return count_flops(self.model)

    def __call__(self, x: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """Predict ``u`` at points ``x`` of shape ``(N, d_in)``; numpy in, numpy out."""
        is_np = not isinstance(x, Tensor)
        p = next(iter(self.model.parameters()), None)
        like = p if p is not None else torch.zeros((), dtype=torch.float64)
        xt = torch.as_tensor(np.asarray(x, dtype=float) if is_np else x, dtype=like.dtype, device=like.device)
        if xt.dim() == 1 and self.problem.d_in == 1:
            xt = xt[:, None]
        if xt.dim() != 2 or xt.shape[1] != self.problem.d_in:
            raise ValueError(f"points must have shape (N, {self.problem.d_in}) for {self.problem.name!r}, "
                             f"got {tuple(xt.shape)}")
        if is_np:
            with torch.no_grad():
                return self.model(self.scaling(xt)).cpu().numpy()
        return self.model(self.scaling(xt))

    def save(self, path: str | Path) -> None:
        """Write model weights and architecture, problem name, config and history to one file."""
        m = self.model
        spec: dict[str, Any] = {"class": f"{type(m).__module__}.{type(m).__qualname__}"}
        if hasattr(m, "config"):
            spec["config"] = m.config()
            spec["state_dict"] = m.state_dict()
        else:
            spec["module"] = m  # arbitrary user module: pickled whole
        torch.save({"format": FORMAT, "model": spec, "problem": self.problem.name,
                    "problem_params": dict(self.problem.params), "config": self.config.to_dict(),
                    "history": self.history.to_dict(), "scaling": self.scaling.to_dict()}, Path(path))


def load(path: str | Path, problem: Problem | None = None) -> Solution:
    """Load a :class:`Solution` written by :meth:`Solution.save`.

    Catalog problems are rebuilt by name; pass ``problem=`` for a user-defined one.
    """
    blob = torch.load(Path(path), map_location="cpu", weights_only=False)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a kanpde solution file")
    spec = blob["model"]
    if "module" in spec:
        model = spec["module"]
    else:
        mod, _, cls = spec["class"].rpartition(".")
        model = getattr(importlib.import_module(mod), cls)(**spec["config"])
        sd = spec["state_dict"]
        model.to(next(iter(sd.values())).dtype)
        model.load_state_dict(sd)
    if problem is None:
        from kanpde.problems import get_problem

        problem = get_problem(blob["problem"], **blob.get("problem_params", {}))
    elif problem.name != blob["problem"]:
        raise ValueError(f"file holds a solution of {blob['problem']!r}, not of {problem.name!r}")
    sc = blob["scaling"]
    return Solution(problem=problem, model=model, config=TrainConfig.from_dict(blob["config"]),
                    history=History.from_dict(blob["history"]), scaling=InputScaling(sc["lo"], sc["hi"]))
