"""The executor contract: serialisable run specs in, result records out, no files written.

An executor is one small file in ``kanpde/bench/executors/`` with a subclass of
:class:`Executor`, registered by name in ``EXECUTORS`` (``kanpde/bench/executors/__init__.py``).

What it receives: an iterable of :class:`~kanpde.bench.specs.RunSpec` (frozen plain data:
picklable, and ``RunSpec.to_dict`` gives JSON), whose ``config`` already holds the run's
``threads``, and ``save_model`` (whether records should carry the trained model's bytes).  It
draws specs lazily, no more than it can start (a bounded number in flight), so that a caller
may build the next spec from the records already yielded (``kp.tune`` asks Optuna for the next
trial when a worker frees up).

What it returns: :meth:`Executor.map` yields one record per spec, as
:func:`~kanpde.bench.run_one.run_one` returns it, in the order the runs *finish* (records name
their ``key``).  A run that fails yields a record with ``status: "error"``; a worker that dies
may be retried, but each spec yields at most one record.

What it may change: nothing outside its workers.  It never writes results files (the driver
alone appends to ``runs.jsonl`` and writes ``models/``), so resume works whatever executor
produced earlier rows.  On ``KeyboardInterrupt`` or ``close()`` it stops its workers and
leaves no process running; records already yielded are kept by the driver.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator

from kanpde.bench.specs import RunSpec

__all__ = ["Executor"]


class Executor(ABC):
    """Runs specs somewhere and yields their records (see the module docstring for the contract)."""

    #: registry name
    name: str = ""

    def __init__(self, jobs: int = 1, **options):
        if not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
        if options:
            raise TypeError(f"executor {self.name!r} takes no option(s) {sorted(options)}")
        self.jobs = jobs

    @abstractmethod
    def map(self, specs: Iterable[RunSpec], *, save_model: bool = True, bar: bool | None = False) -> Iterator[dict]:
        """Yield one result record per spec, as runs finish."""

    def close(self) -> None:
        """Release workers (called by the driver when done or interrupted); nothing to release by default."""
        return None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
