"""Per-epoch record of a training run.

Columns (one entry per recorded epoch):

========== ===========================================================================
epoch      epochs completed (0 = before training)
loss       total weighted training loss
rel_l2     relative L2 error ``||u - u*|| / ||u*||`` on the fixed evaluation set (NaN without truth)
max_err    maximum absolute error on the evaluation set
wall_time  cumulative training seconds (evaluation and logging excluded)
terms      dict: term name -> unweighted mean-square value (``pde``, ``dirichlet``, ...)
weights    dict: term name -> the weight applied to that term (changes under LRA)
unknowns   dict: unknown coefficient name -> its value (inverse problems)
========== ===========================================================================
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["History", "json_safe"]


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf floats as ``None``, numpy scalars as Python numbers, tuples as lists, keys as str.

    The result passes ``json.dumps(..., allow_nan=False)``; :meth:`History.from_dict` reads ``None`` back as NaN.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


@dataclass
class History:
    """Training history: loss terms, errors and wall time per recorded epoch, plus run facts."""

    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    rel_l2: list[float] = field(default_factory=list)
    max_err: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    terms: dict[str, list[float]] = field(default_factory=dict)
    weights: dict[str, list[float]] = field(default_factory=dict)
    unknowns: dict[str, list[float]] = field(default_factory=dict)
    n_params: int = 0
    n_flops: int = 0
    diverged: bool = False
    message: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def record(self, epoch: int, loss: float, terms: dict[str, float], rel_l2: float, max_err: float,
               wall_time: float, weights: dict[str, float] | None = None,
               unknowns: dict[str, float] | None = None) -> None:
        """Append one row."""
        self.epoch.append(int(epoch))
        self.loss.append(float(loss))
        self.rel_l2.append(float(rel_l2))
        self.max_err.append(float(max_err))
        self.wall_time.append(float(wall_time))
        for k, v in terms.items():
            self.terms.setdefault(k, [math.nan] * (len(self.epoch) - 1)).append(float(v))
        for table, row in ((self.weights, weights), (self.unknowns, unknowns)):
            for k, v in (row or {}).items():
                table.setdefault(k, [math.nan] * (len(self.epoch) - 1)).append(float(v))
        for col in [*self.terms.values(), *self.weights.values(), *self.unknowns.values()]:
            if len(col) < len(self.epoch):
                col.append(math.nan)

    def __len__(self) -> int:
        return len(self.epoch)

    @property
    def final_rel_l2(self) -> float:
        """Last recorded relative L2 error."""
        return self.rel_l2[-1] if self.rel_l2 else math.nan

    def rows(self) -> list[dict[str, float]]:
        """One flat dict per recorded epoch (terms as ``loss_<name>`` columns)."""
        out = []
        for i in range(len(self.epoch)):
            row = {"epoch": self.epoch[i], "loss": self.loss[i], "rel_l2": self.rel_l2[i],
                   "max_err": self.max_err[i], "wall_time": self.wall_time[i]}
            row.update({f"loss_{k}": v[i] for k, v in self.terms.items()})
            row.update({f"weight_{k}": v[i] for k, v in self.weights.items()})
            row.update({f"unknown_{k}": v[i] for k, v in self.unknowns.items()})
            out.append(row)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (NaN written as null)."""
        return json_safe({"epoch": self.epoch, "loss": self.loss, "rel_l2": self.rel_l2, "max_err": self.max_err,
                          "wall_time": self.wall_time, "terms": self.terms, "weights": self.weights,
                          "unknowns": self.unknowns, "n_params": self.n_params, "n_flops": self.n_flops,
                          "diverged": self.diverged, "message": self.message, "meta": self.meta})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict`."""
        def f(v):
            return [math.nan if x is None else x for x in v]
        return cls(epoch=list(d["epoch"]), loss=f(d["loss"]), rel_l2=f(d["rel_l2"]), max_err=f(d["max_err"]),
                   wall_time=f(d["wall_time"]), terms={k: f(v) for k, v in d.get("terms", {}).items()},
                   weights={k: f(v) for k, v in d.get("weights", {}).items()},
                   unknowns={k: f(v) for k, v in d.get("unknowns", {}).items()},
                   n_params=d.get("n_params", 0), n_flops=d.get("n_flops", 0), diverged=d.get("diverged", False),
                   message=d.get("message", ""), meta=d.get("meta", {}))

    def to_frame(self):
        """A pandas DataFrame with one row per recorded epoch (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.rows())

    def to_csv(self, path: str | Path) -> None:
        """Write the per-epoch rows as CSV."""
        rows = self.rows()
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["epoch"])
            w.writeheader()
            w.writerows(rows)
