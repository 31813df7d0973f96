"""The problem catalog: a plain registry ``name -> factory``, one problem family per module.

Factories take the problem's parameters as keyword arguments and return a
:class:`kanpde.problem.Problem`; their docstrings state the mathematics.
"""

from __future__ import annotations

from kanpde.problems import (
    advection,
    allen_cahn,
    burgers,
    fitting,
    heat,
    helmholtz,
    holes,
    inverse,
    nonlinear,
    odes,
    poisson,
    shapes,
    wave,
)

from kanpde.problem import Problem

__all__ = ["REGISTRY", "get_problem", "list_problems"]

REGISTRY = {}
_FAMILIES = (odes, poisson, shapes, holes, helmholtz, nonlinear, heat, wave, advection, burgers, allen_cahn,
             inverse, fitting)
for _family in _FAMILIES:
    _dupes = set(REGISTRY) & set(_family.PROBLEMS)
    if _dupes:
        raise RuntimeError(f"problem names registered twice: {sorted(_dupes)}")
    REGISTRY.update(_family.PROBLEMS)


def get_problem(name: str, **params) -> Problem:
    """Build the catalog problem ``name`` with optional parameter overrides."""
    if isinstance(name, Problem):
        return name
    if name not in REGISTRY:
        raise ValueError(f"unknown problem {name!r}; known problems: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name](**params)


def list_problems(tag: str | None = None) -> list[str]:
    """Names of the catalog problems, optionally only those with ``tag``."""
    names = sorted(REGISTRY)
    if tag is None:
        return names
    return [n for n in names if tag in REGISTRY[n]().tags]
