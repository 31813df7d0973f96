"""The training-method contract: what a method may read, what it may change, and when it runs.

A method is a small object in ``TrainConfig.methods``.  The trainer calls it at fixed moments
and gives it the run (:class:`kanpde.train.Run`), whose public surface is all a method may use.

Moments (each a no-op unless overridden):

=====================  ==========================================================================
``check(problem, model, config)``  before training; raise ``ValueError`` when the method does not apply
``start(run)``         once, after the collocation points are sampled
``before_step(run)``   before every optimizer step (``run.epoch`` steps are done)
``penalty(run)``       while the loss is built: extra named loss terms (already weighted) to add
=====================  ==========================================================================

What a method may read: ``run.epoch``, ``run.model``, ``run.problem``, ``run.config``,
``run.in_adam_phase``, ``run.loss.points()``, ``run.loss.last_residuals()`` (per-point residuals of
the latest evaluation, detached), ``run.loss.residuals_at(model, name, x)``,
``run.loss.term_grads(model, params)`` (each term's gradient, chunk by chunk on large point sets)
and ``run.rng`` (a generator seeded from the run's seed, so methods are deterministic).

What it may change, only through these calls: collocation points (``run.set_points(name, x)``,
which restarts L-BFGS), term weights (``run.loss.set_weight(name, w)``), point weights
(``run.loss.set_point_weights(name, w)``) and the model (``run.replace_model(model)``, e.g. a
refined KAN grid; the optimizer restarts).  Weight-changing methods update only in the Adam phase:
L-BFGS needs a fixed objective, so their weights stay frozen at their last values after the switch.

On large point sets the training step evaluates the loss chunk by chunk (``TrainConfig.chunk_size``):
``last_residuals()`` still holds every point's residual and point and term weights apply as without
chunks, so methods that read residuals or set weights (RBA, Causal, RAD, LRA) act as on the unsplit
step (up to rounding).  A method with a ``penalty`` turns chunking off (the KAN's sparsity reads the
model's last forward pass), noted in ``history.meta["chunking"]``.

A method is plain data: ``to_dict()`` gives ``{"method": name, **options}`` and
:func:`kanpde.methods.build` inverts it, so methods survive ``Solution.save`` / ``kp.load`` and
are written to results files.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import Tensor

__all__ = ["Method"]


@dataclasses.dataclass(frozen=True)
class Method:
    """Base class of a training method (see the module docstring for the contract)."""

    def check(self, problem: Any, model: Any, config: Any) -> None:
        """Raise ``ValueError`` when the method cannot apply to this problem or model."""

    def start(self, run: Any) -> None:
        """Called once after the collocation points are sampled."""

    def before_step(self, run: Any) -> None:
        """Called before every optimizer step."""

    def penalty(self, run: Any) -> dict[str, Tensor]:
        """Extra named (weighted) loss terms to add to the objective."""
        return {}

    @property
    def name(self) -> str:
        """The registry name of the method."""
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form: ``{"method": name, **options}``."""
        return {"method": self.name, **dataclasses.asdict(self)}

    def _due(self, run: Any, every: int) -> bool:
        """Whether a periodic action is due before this step (never before the first)."""
        return run.epoch > 0 and run.epoch % every == 0


def positive_int(owner: str, name: str, v: Any) -> None:
    """Raise unless ``v`` is a positive integer."""
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {v!r}")


def positive(owner: str, name: str, v: Any, allow_zero: bool = False) -> None:
    """Raise unless ``v`` is a positive (or non-negative) number."""
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        raise ValueError(f"{owner}: {name} must be a {'non-negative' if allow_zero else 'positive'} number, "
                         f"got {v!r}")
