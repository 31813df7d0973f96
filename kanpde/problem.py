"""Problems: a domain, a residual, conditions, and the truth to measure against.

A problem is data plus functions.  ``residual(x, u)`` receives collocation points ``x``
(``(N, d)`` tensor in physical coordinates) and the network output ``u`` (``(N, m)``) and returns
the PDE/ODE residual (``(N,)``, ``(N, k)`` or a sequence of such tensors for systems), using the
operators of :mod:`kanpde.ops` for derivatives.  ``exact(x)`` (a torch function, so its residual
can be checked by autograd) or ``reference(x)`` (a numpy callable, e.g. an interpolated
high-accuracy solution) gives the truth.

The conditions (Dirichlet, Neumann, Robin, Periodic, Initial, Data) live in
:mod:`kanpde.conditions` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from kanpde.conditions import (
    Condition,
    Data,
    Dirichlet,
    Initial,
    Neumann,
    Periodic,
    Robin,
    evaluate_value,
)
from kanpde.geometry import Box, Geometry, SpaceTime
from kanpde.unknowns import Unknown

__all__ = [
    "Problem", "Condition", "Dirichlet", "Neumann", "Robin", "Periodic", "Initial", "Data",
    "evaluate_value", "as_columns",
]


def as_columns(r: Any, n: int, problem: str, term: str) -> Tensor:
    """A term's output as an ``(n, k)`` tensor; anything but ``(n,)``, ``(n, k)`` or a sequence of those raises."""
    if isinstance(r, (list, tuple)):
        if not r:
            raise ValueError(f"the {term!r} term of problem {problem!r} returned an empty sequence")
        return torch.cat([as_columns(t, n, problem, term) for t in r], 1)
    if not isinstance(r, Tensor):
        raise TypeError(f"the {term!r} term of problem {problem!r} returned {type(r).__name__}; expected a torch "
                        f"tensor of shape ({n},) or ({n}, k) (or a sequence of them), computed from x and u with "
                        f"torch operations")
    if r.dim() in (1, 2) and r.shape[0] == n:
        return r.unsqueeze(1) if r.dim() == 1 else r
    raise ValueError(f"the {term!r} term of problem {problem!r} returned shape {tuple(r.shape)} for {n} points; "
                     f"expected ({n},) or ({n}, k)")


def _positional_arity(f: Callable) -> int:
    """How many positional arguments ``f`` accepts (a large number for ``*args``)."""
    import inspect

    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 99
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


@dataclass(frozen=True)
class Problem:
    """An ODE/PDE problem: ``residual(x, u) = 0`` in ``domain`` subject to ``conditions``.

    ``d_out`` is the number of unknowns; ``order`` the highest derivative the residual uses
    (it sizes the derivatives propagated during training).  ``n_interior``/``n_boundary``/
    ``n_initial`` are default collocation counts; ``budget`` a recommended training budget
    (``TrainConfig`` fields).  ``residual`` may be ``None`` for pure data fitting.

    ``unknowns`` (name -> :class:`~kanpde.unknowns.Unknown`) are scalar coefficients identified
    with the network; a residual that takes a third argument receives their current values
    ``p`` (name -> scalar tensor): ``residual(x, u, p)``.  ``true_unknowns`` (name -> value), when
    known, lets benchmarks report the identification error.
    """

    name: str
    domain: Geometry
    residual: Callable[[Tensor, Tensor], Any] | None
    conditions: tuple[Condition, ...] = ()
    exact: Callable[[Tensor], Tensor] | None = None
    reference: Callable[[np.ndarray], np.ndarray] | None = None
    d_out: int = 1
    order: int = 2
    params: Mapping[str, Any] = field(default_factory=dict)
    equation: str = ""
    tags: tuple[str, ...] = ()
    n_interior: int = 1000
    n_boundary: int = 200
    n_initial: int = 200
    n_eval: int = 4096
    budget: Mapping[str, Any] = field(default_factory=dict)
    doc: str = ""
    unknowns: Mapping[str, Unknown] = field(default_factory=dict)
    true_unknowns: Mapping[str, float] = field(default_factory=dict)
    _takes_unknowns: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.domain, Geometry):
            raise TypeError(f"domain must be a kanpde Geometry, got {type(self.domain).__name__}")
        if self.d_out < 1:
            raise ValueError(f"d_out must be >= 1, got {self.d_out}")
        if not isinstance(self.order, int) or self.order < 0:
            raise ValueError(f"order must be a non-negative integer, got {self.order}")
        for c in self.conditions:
            if not isinstance(c, Condition):
                raise TypeError(f"conditions must be Condition objects, got {type(c).__name__}")
        for name in ("n_interior", "n_boundary", "n_initial", "n_eval"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        object.__setattr__(self, "conditions", tuple(self.conditions))
        for k, v in dict(self.unknowns).items():
            if not isinstance(v, Unknown):
                raise TypeError(f"unknowns must map names to kp.Unknown, got {type(v).__name__} for {k!r}")
        bad = sorted(set(self.true_unknowns) - set(self.unknowns))
        if bad:
            raise ValueError(f"true_unknowns name {bad}, which are not among the unknowns {sorted(self.unknowns)}")
        # decided once: call_residual runs every epoch, and reading a signature is not free
        takes = self.residual is not None and _positional_arity(self.residual) >= 3
        object.__setattr__(self, "_takes_unknowns", takes)
        if self.residual is not None:
            if self.unknowns and not self._takes_unknowns:
                raise ValueError(f"problem {self.name!r} has unknowns {sorted(self.unknowns)} but its residual takes "
                                 f"(x, u); write it as residual(x, u, p) and read p['name']")
        for c in self.conditions:
            if isinstance(c, Periodic) and c.hard:
                space = self.domain.space if isinstance(self.domain, SpaceTime) else self.domain
                if not isinstance(space, Box) or not 0 <= c.dim < space.dim:
                    raise ValueError(f"Periodic(hard=True) needs a box-shaped space and dim < {space.dim}, got "
                                     f"dim={c.dim} on {self.domain!r}")

    @property
    def d_in(self) -> int:
        """Number of input coordinates (space, then time)."""
        return self.domain.dim

    @property
    def periodic_dims(self) -> tuple[int, ...]:
        """Coordinates made exactly periodic by ``Periodic(dim, hard=True)`` conditions."""
        return tuple(sorted({c.dim for c in self.conditions if isinstance(c, Periodic) and c.hard}))

    @property
    def n_features(self) -> int:
        """Number of model inputs: one per coordinate, two for an exactly periodic one."""
        return self.d_in + len(self.periodic_dims)

    @property
    def has_truth(self) -> bool:
        """Whether an exact or reference solution is available."""
        return self.exact is not None or self.reference is not None

    def truth(self, x: np.ndarray | Tensor) -> np.ndarray:
        """Exact or reference solution at points ``x`` as a float64 ``(N, d_out)`` array."""
        if self.exact is not None:
            xt = torch.as_tensor(np.asarray(x, dtype=float) if not isinstance(x, Tensor) else x.detach().cpu(),
                                 dtype=torch.float64)
            with torch.no_grad():
                v = self.exact(xt)
            if isinstance(v, (list, tuple)):
                v = torch.stack([torch.as_tensor(c).reshape(len(xt)) for c in v], 1)
            v = np.asarray(v, dtype=float)
            if v.size != len(xt) * self.d_out:
                raise ValueError(f"exact solution of {self.name!r} gave shape {v.shape}, expected ({len(xt)}, "
                                 f"{self.d_out})")
            return v.reshape(len(xt), self.d_out)
        if self.reference is not None:
            x = np.asarray(x.detach().cpu() if isinstance(x, Tensor) else x, dtype=float)
            return np.asarray(self.reference(x), dtype=float).reshape(len(x), self.d_out)
        raise ValueError(f"problem {self.name!r} has no exact or reference solution")

    def eval_points(self, n: int | None = None, seed: int = 12345) -> np.ndarray:
        """A fixed evaluation set (independent of the training seed) inside the domain."""
        return self.domain.sample_interior(n or self.n_eval, "sobol", seed)

    @property
    def takes_unknowns(self) -> bool:
        """Whether the residual takes the unknowns as a third argument."""
        return self._takes_unknowns

    def call_residual(self, x: Tensor, u: Tensor, p: Mapping[str, Tensor] | None = None) -> Any:
        """The residual at ``(x, u)``, with the unknowns' values ``p`` when it takes them."""
        if self.takes_unknowns:
            if p is None:  # outside training: the true values where known (to check the truth), else the guesses
                p = {k: torch.tensor(float(self.true_unknowns.get(k, v.init)), dtype=x.dtype, device=x.device)
                     for k, v in self.unknowns.items()}
            return self.residual(x, u, p)
        return self.residual(x, u)

    def residual_terms(self, x: Tensor, u: Tensor, p: Mapping[str, Tensor] | None = None) -> Tensor:
        """The residual as an ``(N, k)`` tensor (its shape checked)."""
        return as_columns(self.call_residual(x, u, p), x.shape[0], self.name, "pde")
