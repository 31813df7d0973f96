"""Training configuration: one frozen dataclass, validated on construction."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from kanpde.geometry import SAMPLING_METHODS

__all__ = ["TrainConfig", "OPTIMIZERS", "SCHEDULES", "DTYPES"]

OPTIMIZERS = ("adam", "lbfgs", "adam+lbfgs")
SCHEDULES = (None, "cosine", "exp")
DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimizer, budget, collocation, precision, logging.

    Precision: the default is ``float64``.  PINN residuals involve second derivatives, and in
    ``float32`` the loss stalls around rel L2 1e-4..1e-5; on CPU at PINN sizes the step time is
    dominated by per-operation overhead, so ``float64`` costs little.  Use ``float32`` on GPUs.

    An *epoch* is one optimizer iteration on the full collocation set (Adam step or one
    L-BFGS iteration with strong-Wolfe line search).  ``adam+lbfgs`` runs Adam for
    ``epochs - lbfgs_epochs`` epochs, then L-BFGS (``lbfgs_epochs`` defaults to half).

    ``log_every`` (default: about 200 records per run) sets how often the error on the
    evaluation set is measured; that time is not counted in ``wall_time``.

    ``methods``: training methods (:mod:`kanpde.methods`: RAD, RAR, LRA, RBA, Causal, ...), as
    objects, names or their ``to_dict()`` forms; they run in the order given.

    KAN options: ``grid_schedule`` ``{epoch: G}`` refines the grid at those epochs (grid
    extension); ``update_grid_every`` adapts grids to the collocation points every k epochs
    until ``update_grid_until``; ``reg`` > 0 adds ``reg * model.regularization(reg_l1, reg_entropy)``.
    The optimizer restarts after each grid change.

    ``derivatives``: ``"jet"`` propagates the residual's derivatives forward through the model
    (``forward_jet``), ``"autograd"`` differentiates backwards twice, ``"auto"`` (default) takes
    each model's faster exact path (jets for the KAN, autograd for the MLP; ``benchmarks/step_time.py``).

    ``threads`` sets torch's CPU threads for this run only (restored afterwards); PINN-sized
    networks usually run fastest with 1 thread, and extra threads slow down badly on a busy machine.
    """

    epochs: int = 1000
    optimizer: str = "adam"
    lr: float = 1e-3
    schedule: str | None = None
    lr_final: float = 0.01
    lbfgs_epochs: int | None = None
    lbfgs_lr: float = 1.0
    lbfgs_history: int = 50
    n_interior: int | None = None
    n_boundary: int | None = None
    n_initial: int | None = None
    sampling: str = "sobol"
    resample_every: int | None = None
    weights: Mapping[str, float] | None = None
    n_eval: int | None = None
    log_every: int | None = None
    seed: int = 0
    dtype: str = "float64"
    device: str = "cpu"
    threads: int | None = None
    derivatives: str = "auto"
    progress: bool = True
    max_time: float | None = None
    grid_schedule: Mapping[int, int] | None = None
    update_grid_every: int | None = None
    update_grid_until: int | None = None
    grid_eps: float | None = None
    reg: float = 0.0
    reg_l1: float = 1.0
    reg_entropy: float = 2.0
    checkpoint: str | None = None
    methods: tuple = ()

    def __post_init__(self):
        from kanpde.methods import build_all

        object.__setattr__(self, "methods", build_all(self.methods))
        def positive(name, allow_none=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")

        positive("epochs")
        for name in ("n_interior", "n_boundary", "n_initial", "resample_every", "n_eval", "log_every",
                     "threads", "update_grid_every", "update_grid_until"):
            positive(name, allow_none=True)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; known: {list(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; known: {list(SCHEDULES)}")
        if self.sampling not in SAMPLING_METHODS:
            raise ValueError(f"unknown sampling method {self.sampling!r}; known: {list(SAMPLING_METHODS)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; known: {list(DTYPES)}")
        if not (self.lr > 0 and self.lbfgs_lr > 0):
            raise ValueError(f"learning rates must be positive, got lr={self.lr}, lbfgs_lr={self.lbfgs_lr}")
        lbfgs = self.lbfgs_epochs
        if self.optimizer == "adam+lbfgs" and lbfgs is not None and not 0 <= lbfgs <= self.epochs:
            raise ValueError(f"lbfgs_epochs must be in [0, epochs={self.epochs}], got {self.lbfgs_epochs}")
        if self.derivatives not in ("auto", "jet", "autograd"):
            raise ValueError(f"derivatives must be 'auto', 'jet' or 'autograd', got {self.derivatives!r}")
        if self.reg < 0:
            raise ValueError(f"reg must be >= 0, got {self.reg}")
        if not self.lr_final > 0:
            raise ValueError(f"lr_final must be a positive fraction of lr, got {self.lr_final}")
        if self.max_time is not None and not self.max_time > 0:
            raise ValueError(f"max_time must be positive seconds, got {self.max_time}")
        if self.grid_schedule is not None:
            sched = {int(k): int(v) for k, v in dict(self.grid_schedule).items()}
            if any(k < 0 or v < 1 for k, v in sched.items()):
                raise ValueError(f"grid_schedule maps epochs >= 0 to grid sizes >= 1, got {dict(self.grid_schedule)}")
            object.__setattr__(self, "grid_schedule", dict(sorted(sched.items())))
        object.__setattr__(self, "device", str(self.device))
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {self.device!r} requested but CUDA is not available; use device='cpu'")

    @property
    def torch_dtype(self) -> torch.dtype:
        """The torch dtype of ``dtype``."""
        return DTYPES[self.dtype]

    @property
    def adam_epochs(self) -> int:
        """Number of Adam epochs before any L-BFGS phase."""
        if self.optimizer == "adam":
            return self.epochs
        if self.optimizer == "lbfgs":
            return 0
        return self.epochs - (self.lbfgs_epochs if self.lbfgs_epochs is not None else self.epochs // 2)

    @property
    def log_interval(self) -> int:
        """Epochs between evaluations."""
        return self.log_every or max(1, self.epochs // 200)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (unknown names raise)."""
        known = {f.name for f in dataclasses.fields(self)}
        bad = sorted(set(changes) - known)
        if bad:
            raise TypeError(f"unknown TrainConfig field(s) {bad}; known: {sorted(known)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable)."""
        d = dataclasses.asdict(self)
        if d["grid_schedule"] is not None:
            d["grid_schedule"] = {str(k): v for k, v in d["grid_schedule"].items()}
        if d["weights"] is not None:
            d["weights"] = dict(d["weights"])
        d["methods"] = [m.to_dict() for m in self.methods]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**dict(d))
