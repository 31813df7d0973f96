"""Training configuration: one frozen dataclass, validated on construction."""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from kanpde.geometry import SAMPLING_METHODS

__all__ = ["TrainConfig", "OPTIMIZERS", "SCHEDULES", "DTYPES"]

OPTIMIZERS = ("adam", "lbfgs", "adam+lbfgs")
SCHEDULES = (None, "cosine", "exp")
DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimizer, budget, collocation, precision, logging.

    Precision: the default is ``float64``: on CPU at PINN sizes the step time is dominated by
    per-operation overhead, so it costs little, and it keeps second derivatives of small losses
    exact to many digits.  ``float32`` is the choice on GPUs; measured float32-vs-float64 errors are
    in ``benchmarks/README.md``.

    An *epoch* is one optimizer iteration on the full collocation set (Adam step or one
    L-BFGS iteration with strong-Wolfe line search).  ``adam+lbfgs`` runs Adam for
    ``epochs - lbfgs_epochs`` epochs, then L-BFGS (``lbfgs_epochs`` defaults to half).

    ``log_every`` (default: about 200 records per run) sets how often the error on the
    evaluation set is measured; that time is not counted in ``wall_time``.

    ``methods``: training methods (:mod:`kanpde.methods`: RAD, RAR, LRA, RBA, Causal, ...), as
    objects, names or their ``to_dict()`` forms; they run in the order given.

    ``batch_size``: mini-batched collocation for large point sets: ``n_interior`` points form a pool
    and each Adam epoch trains on a fresh random subset of ``batch_size`` of them (L-BFGS keeps the
    subset it starts with); the logged loss is that of the current subset.  ``None`` (default)
    trains on every point every epoch.

    ``chunk_size``: a term with more collocation points than this (``None``: ``kanpde.loss.STEP_CHUNK``,
    8192 rows) is evaluated chunk by chunk in the training step, each chunk's backward pass
    accumulating into the gradient, so memory stays bounded and time grows linearly with the points;
    the loss and gradient equal the unsplit ones up to rounding.  Terms at or below it (every
    catalog budget) are evaluated in one pass exactly as without chunking; a periodic condition (its
    rows pair up) is never split, and a method with a penalty (the KAN's ``reg``) turns chunking off
    (``history.meta["chunking"]`` says which applied).

    ``hard_constraints``: ``True`` satisfies every Dirichlet and Initial value condition exactly with
    the output transform ``u = g + phi * N`` (:mod:`kanpde.hard`; their loss terms are dropped), or a
    tuple of the term names to impose so; ``False`` (default) keeps every condition a loss term.

    KAN options: ``grid_schedule`` ``{epoch: G}`` refines the grid at those epochs (grid
    extension); ``update_grid_every`` adapts grids to the collocation points every k epochs
    until ``update_grid_until``; ``reg`` > 0 adds ``reg * model.regularization(reg_l1, reg_entropy)``.
    The optimizer restarts after each grid change.

    ``derivatives``: ``"jet"`` propagates the residual's derivatives forward through the model
    (``forward_jet``), ``"autograd"`` differentiates backwards twice, ``"auto"`` (default) takes
    each model's faster exact path (jets for the KAN, autograd for the MLP; ``benchmarks/step_time_paths.py``).

    ``threads`` sets torch's CPU threads for this run only (restored afterwards; ``None`` keeps
    torch's setting).  The default is 1: PINN-sized networks run fastest with one thread, and extra
    threads slow down badly on a busy machine (``benchmarks/step_time_paths.py``).
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
    threads: int | None = 1
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
    batch_size: int | None = None
    chunk_size: int | None = None
    hard_constraints: bool | tuple[str, ...] = False

    def __post_init__(self):
        from kanpde.methods import build_all

        object.__setattr__(self, "methods", build_all(self.methods))
        object.__setattr__(self, "hard_constraints", _hard(self.hard_constraints))
        for f in dataclasses.fields(self):
            kind, optional = FIELD_KINDS.get(f.name, ("own", True))
            if kind != "own":
                object.__setattr__(self, f.name, _check_kind(f.name, getattr(self, f.name), kind, optional))
        for name in ("epochs", "lbfgs_history", "n_interior", "n_boundary", "n_initial", "resample_every", "n_eval",
                     "log_every", "threads", "update_grid_every", "update_grid_until", "batch_size",
                     "chunk_size"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; known: {list(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; known: {list(SCHEDULES)}")
        if self.sampling not in SAMPLING_METHODS:
            raise ValueError(f"unknown sampling method {self.sampling!r}; known: {list(SAMPLING_METHODS)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; known: {list(DTYPES)}")
        for name in ("lr", "lbfgs_lr", "lr_final"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite positive number, got {v!r}"
                                 + (" (a fraction of lr)" if name == "lr_final" else ""))
        for name in ("reg", "reg_l1", "reg_entropy"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        lbfgs = self.lbfgs_epochs
        if lbfgs is not None and lbfgs < 0:
            raise ValueError(f"lbfgs_epochs must be >= 0, got {lbfgs}")
        if self.optimizer == "adam+lbfgs" and lbfgs is not None and not lbfgs <= self.epochs:
            raise ValueError(f"lbfgs_epochs must be in [0, epochs={self.epochs}], got {self.lbfgs_epochs}")
        if self.derivatives not in ("auto", "jet", "autograd"):
            raise ValueError(f"derivatives must be 'auto', 'jet' or 'autograd', got {self.derivatives!r}")
        if self.max_time is not None and not self.max_time > 0:
            raise ValueError(f"max_time must be positive seconds, got {self.max_time}")
        if self.grid_eps is not None and not 0.0 <= self.grid_eps <= 1.0:
            raise ValueError(f"grid_eps must lie in [0, 1], got {self.grid_eps}")
        for k, v in (self.weights or {}).items():
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"weights[{k!r}] must be a finite number >= 0, got {v!r}")
        if self.grid_schedule is not None:
            sched = self.grid_schedule
            if any(k < 0 or v < 1 for k, v in sched.items()):
                raise ValueError(f"grid_schedule maps epochs >= 0 to grid sizes >= 1, got {sched}")
            object.__setattr__(self, "grid_schedule", dict(sorted(sched.items())))
        try:
            torch.device(self.device)
        except (RuntimeError, ValueError) as e:
            raise ValueError(f"device {self.device!r} is not a torch device ({e}); use e.g. 'cpu' or 'cuda'") from None
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
        if isinstance(d["hard_constraints"], tuple):
            d["hard_constraints"] = list(d["hard_constraints"])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict` (unknown keys raise, naming the known fields)."""
        known = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(d) - known)
        if bad:
            raise TypeError(f"unknown TrainConfig field(s) {bad}; known: {sorted(known)}")
        return cls(**dict(d))


#: the type of each field: ``name -> (kind, None allowed)``; kinds are checked by :func:`_check_kind`,
#: except ``"own"``: a field whose type no kind describes, checked by its own code in ``__post_init__``
FIELD_KINDS: dict[str, tuple[str, bool]] = {
    "epochs": ("int", False), "optimizer": ("str", False), "lr": ("float", False), "schedule": ("str", True),
    "lr_final": ("float", False), "lbfgs_epochs": ("int", True), "lbfgs_lr": ("float", False),
    "lbfgs_history": ("int", False), "n_interior": ("int", True), "n_boundary": ("int", True),
    "n_initial": ("int", True), "sampling": ("str", False), "resample_every": ("int", True),
    "weights": ("weights", True), "n_eval": ("int", True), "log_every": ("int", True), "seed": ("int", False),
    "dtype": ("str", False), "device": ("device", False), "threads": ("int", True), "derivatives": ("str", False),
    "progress": ("bool", False), "max_time": ("float", True), "grid_schedule": ("grid_schedule", True),
    "update_grid_every": ("int", True), "update_grid_until": ("int", True), "grid_eps": ("float", True),
    "reg": ("float", False), "reg_l1": ("float", False), "reg_entropy": ("float", False),
    "checkpoint": ("path", True), "methods": ("own", True), "batch_size": ("int", True),
    "chunk_size": ("int", True),
    "hard_constraints": ("own", False),
}


def _hard(v: Any) -> bool | tuple[str, ...]:
    """``hard_constraints`` as ``True``/``False`` or a tuple of term names; anything else raises."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (list, tuple)) and v and all(isinstance(n, str) for n in v):
        return tuple(v)
    raise TypeError(f"TrainConfig.hard_constraints must be True, False or a non-empty sequence of term names "
                    f"(e.g. ('dirichlet',)), got {_show(v)}")


_ALLOWED = {"int": "an integer", "float": "a real number (float or int)", "bool": "True or False",
            "str": "a string", "device": "a string or torch.device", "path": "a file path (str or os.PathLike)",
            "weights": "a mapping {term name: weight}",
            "grid_schedule": "a mapping {epoch: grid size} of integers"}


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _show(v: Any) -> str:
    r = repr(v)
    return (r if len(r) <= 60 else r[:57] + "...") + f" ({type(v).__name__})"


def _to_float(name: str, v: Any) -> float:
    try:
        return float(v)
    except OverflowError:
        raise ValueError(f"{name} is too large for a float, got {_show(v)}") from None


def _check_kind(name: str, v: Any, kind: str, optional: bool) -> Any:
    """``v`` in its canonical plain-Python form if it is of ``kind``, else a TypeError naming field and value."""
    if v is None and optional:
        return None

    def bad(what: str = f"TrainConfig.{name}", allowed: str = _ALLOWED[kind], val: Any = v) -> TypeError:
        return TypeError(f"{what} must be {allowed}{' or None' if optional and what.endswith(name) else ''}, "
                         f"got {_show(val)}")

    if kind == "int":
        if not _is_int(v):
            raise bad()
        return int(v)
    if kind == "float":
        if not _is_real(v):
            raise bad()
        return _to_float(name, v)
    if kind == "bool":
        if not isinstance(v, (bool, np.bool_)):
            raise bad()
        return bool(v)
    if kind == "str":
        if not isinstance(v, str):
            raise bad()
        return v
    if kind == "device":
        if not isinstance(v, (str, torch.device)):
            raise bad()
        return str(v)
    if kind == "path":
        if not isinstance(v, (str, os.PathLike)):
            raise bad()
        return os.fspath(v)
    if not isinstance(v, Mapping):
        raise bad()
    out: dict[Any, Any] = {}
    for k, x in v.items():
        if kind == "weights":
            if not isinstance(k, str):
                raise bad(f"TrainConfig.{name} keys", "term names (strings)", k)
            if not _is_real(x):
                raise bad(f"TrainConfig.{name}[{k!r}]", _ALLOWED["float"], x)
            out[k] = _to_float(f"{name}[{k!r}]", x)
        else:  # grid_schedule; JSON turns its epoch keys into strings
            if isinstance(k, str) and k.strip().lstrip("-").isdigit():
                k = int(k)
            if not _is_int(k):
                raise bad(f"TrainConfig.{name} keys", "epochs (integers, or their decimal strings)", k)
            if not _is_int(x):
                raise bad(f"TrainConfig.{name}[{k!r}]", _ALLOWED["int"], x)
            out[int(k)] = int(x)
    return out
