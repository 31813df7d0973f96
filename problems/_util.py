"""Small helpers shared by the catalog families (not problems themselves)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kanpde.reference import GridReference, cached, ode_reference

__all__ = ["lazy_reference", "ode_grid_reference"]


def lazy_reference(name: str, params: dict[str, Any], build: Callable[[], GridReference],
                   component: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """A reference callable that builds (and caches) its :class:`GridReference` on first use.

    ``component`` picks one output column of a multi-output reference.
    """

    def reference(x: np.ndarray) -> np.ndarray:
        out = cached(name, params, build)(x)
        return out if component is None else out[:, component : component + 1]

    reference.__qualname__ = reference.__name__ = f"{name}_reference"
    return reference


def ode_grid_reference(fun: Callable, t_span: tuple[float, float], y0, n: int = 8001) -> Callable[[], GridReference]:
    """A builder: ``solve_ivp`` (DOP853, rtol = atol = 1e-12) sampled on ``n`` times, cubic-interpolated.

    With the default ``n`` the interpolation adds an error far below the integrator's on the
    smooth solutions of the catalog; the grid makes the reference disk-cacheable.
    """

    def build() -> GridReference:
        sol = ode_reference(fun, t_span, y0)
        t = np.linspace(t_span[0], t_span[1], n)
        return GridReference((t,), sol(t))

    return build
