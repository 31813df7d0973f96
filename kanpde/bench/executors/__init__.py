"""Executors: where the runs of a suite train (see :mod:`kanpde.bench.executors.base` for the contract).

``EXECUTORS`` maps a name to ``"module:Class"``, imported on first use so that an optional
dependency (Ray) is needed only by the executor that uses it.  A new executor is one file here
with a subclass of :class:`Executor` and one line in ``EXECUTORS``.
"""

from __future__ import annotations

import importlib

from kanpde.bench.executors.base import Executor

__all__ = ["EXECUTORS", "Executor", "get_executor"]

EXECUTORS = {"serial": "kanpde.bench.executors.serial:SerialExecutor",
             "process": "kanpde.bench.executors.process:ProcessExecutor",
             "ray": "kanpde.bench.executors.ray:RayExecutor"}


def get_executor(name: str | Executor, jobs: int = 1, **options) -> Executor:
    """The executor ``name`` with ``jobs`` workers (an :class:`Executor` instance is returned as is)."""
    if isinstance(name, Executor):
        return name
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; known: {sorted(EXECUTORS)}")
    mod, cls = EXECUTORS[name].split(":")
    return getattr(importlib.import_module(mod), cls)(jobs, **options)
