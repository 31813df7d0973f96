"""Unknown scalar coefficients of a problem, identified together with the network (inverse problems)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["Unknown", "UnknownSet"]


@dataclass(frozen=True)
class Unknown:
    """A scalar coefficient to identify: its initial guess and optional constraints.

    ``positive=True`` trains ``log(value)``; ``bounds=(a, b)`` trains ``value = a + (b - a) sigmoid(raw)``.
    """

    init: float
    positive: bool = False
    bounds: tuple[float, float] | None = None

    def __post_init__(self):
        if not (isinstance(self.init, (int, float)) and not isinstance(self.init, bool) and math.isfinite(self.init)):
            raise ValueError(f"Unknown init must be a finite number, got {self.init!r}")
        if self.positive and self.bounds is not None:
            raise ValueError("Unknown takes positive=True or bounds=(a, b), not both")
        if self.positive and self.init <= 0:
            raise ValueError(f"a positive Unknown needs a positive init, got {self.init!r}")
        if self.bounds is not None:
            a, b = (float(v) for v in self.bounds)
            if not (math.isfinite(a) and math.isfinite(b) and a < b and a < self.init < b):
                raise ValueError(f"Unknown bounds must be finite with a < init < b, got bounds={self.bounds!r}, "
                                 f"init={self.init!r}")
            object.__setattr__(self, "bounds", (a, b))

    def raw(self) -> float:
        """The unconstrained parameter that gives ``init``."""
        if self.positive:
            return math.log(self.init)
        if self.bounds is not None:
            a, b = self.bounds
            s = (self.init - a) / (b - a)
            return math.log(s / (1 - s))
        return float(self.init)

    def value(self, raw: Tensor) -> Tensor:
        """The coefficient from its unconstrained parameter."""
        if self.positive:
            return torch.exp(raw)
        if self.bounds is not None:
            a, b = self.bounds
            return a + (b - a) * torch.sigmoid(raw)
        return raw


class UnknownSet(nn.Module):
    """The trainable parameters of a problem's unknowns; ``values()`` gives them as scalar tensors by name."""

    def __init__(self, specs: Mapping[str, Unknown], dtype: torch.dtype = torch.float64,
                 device: str | torch.device = "cpu"):
        super().__init__()
        self.specs = dict(specs)
        self.raw = nn.ParameterDict({k: nn.Parameter(torch.tensor(s.raw(), dtype=dtype, device=device))
                                     for k, s in self.specs.items()})

    def values(self) -> dict[str, Tensor]:
        """Each unknown's current value (differentiable), by name."""
        return {k: s.value(self.raw[k]) for k, s in self.specs.items()}

    def floats(self) -> dict[str, float]:
        """Each unknown's current value as a float."""
        with torch.no_grad():
            return {k: float(v) for k, v in self.values().items()}
