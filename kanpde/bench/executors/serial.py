"""Serial executor: every run in this process, one after another (the reference for the others)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kanpde.bench.executors.base import Executor
from kanpde.bench.run_one import run_one
from kanpde.bench.specs import RunSpec

__all__ = ["SerialExecutor"]


class SerialExecutor(Executor):
    """Runs specs in order in the calling process (``jobs`` must be 1)."""

    name = "serial"

    def __init__(self, jobs: int = 1, **options):
        super().__init__(jobs, **options)
        if jobs != 1:
            raise ValueError(f"the serial executor runs one job at a time, got jobs={jobs}; use 'process' or 'ray'")

    def map(self, specs: Iterable[RunSpec], *, save_model: bool = True, bar: bool | None = False) -> Iterator[dict]:
        """Yield the record of each spec in turn."""
        for sp in specs:
            yield run_one(sp, save_model=save_model, position=1, bar=bar)
