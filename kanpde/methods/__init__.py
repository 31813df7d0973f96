"""Training methods behind one contract (:mod:`kanpde.methods.base`): adaptive sampling, loss
balancing, causal weighting, time-marching, and the KAN's grid and sparsity techniques.

    cfg = kp.TrainConfig(methods=[kp.methods.RAD(every=500), kp.methods.RBA(), kp.methods.Causal(eps=1.0)])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kanpde.methods.adaptive_sampling import RAD, RAR
from kanpde.methods.balancing import LRA, RBA
from kanpde.methods.base import Method
from kanpde.methods.causal import Causal
from kanpde.methods.kan import GridSchedule, GridUpdate, Sparsity
from kanpde.methods.time_marching import TimeMarching

__all__ = ["Method", "RAD", "RAR", "LRA", "RBA", "Causal", "TimeMarching", "GridSchedule", "GridUpdate", "Sparsity",
           "METHODS", "build"]

#: name -> class
METHODS: dict[str, type[Method]] = {c.__name__: c for c in (RAD, RAR, LRA, RBA, Causal, TimeMarching, GridSchedule,
                                                             GridUpdate, Sparsity)}


def build(spec: Method | Mapping[str, Any] | str) -> Method:
    """A method from itself, its name, or its ``to_dict()`` form."""
    if isinstance(spec, Method):
        return spec
    if isinstance(spec, str):
        spec = {"method": spec}
    if not isinstance(spec, Mapping) or "method" not in spec:
        raise TypeError(f"a training method is a kp.methods object or a dict with a 'method' key, got {spec!r}")
    opts = {k: v for k, v in spec.items() if k != "method"}
    name = spec["method"]
    if name not in METHODS:
        raise ValueError(f"unknown training method {name!r}; known: {sorted(METHODS)}")
    try:
        return METHODS[name](**opts)
    except TypeError as e:
        raise ValueError(f"bad options for {name}: {e}") from e


def build_all(specs: Sequence[Any] | None) -> tuple[Method, ...]:
    """A tuple of methods from a sequence of methods, names or dicts."""
    if specs is None:
        return ()
    if isinstance(specs, (str, Mapping, Method)):
        raise TypeError(f"methods must be a list of training methods, got {specs!r}")
    return tuple(build(s) for s in specs)
