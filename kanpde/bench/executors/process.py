"""Process executor: a local pool of worker processes, one run per task, results as they finish.

Workers die with the driver: each one asks Linux to send it SIGKILL when its parent exits
(``prctl(PR_SET_PDEATHSIG)``) and also runs a watchdog thread that exits once ``os.getppid()``
changes (other platforms, or a parent that died before the request), so killing ``kanpde
bench`` (even with ``kill -9``) leaves no worker training on.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence

from kanpde.bench.executors.base import Executor
from kanpde.bench.run_one import run_one
from kanpde.bench.specs import RunSpec

__all__ = ["ProcessExecutor", "LocalPool", "die_with_parent", "is_cuda"]

_PR_SET_PDEATHSIG = 1
_SLOT: int | None = None


def _watch_parent(parent: int, every: float) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(every)


def die_with_parent(parent: int, every: float = 1.0) -> None:
    """Make this process exit when process ``parent`` (its parent) dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent, every), daemon=True, name="kanpde-parent-watch").start()


def _init_worker(parent: int, slots, pids) -> None:
    global _SLOT
    die_with_parent(parent)
    pids.put(os.getpid())
    _SLOT = slots.get()


def _work(spec: RunSpec, save_model: bool, bar: bool | None) -> dict:
    return run_one(spec, save_model=save_model, position=(_SLOT or 0) + 1, bar=bar)


class LocalPool:
    """``jobs`` worker processes that die with this one: ``submit(spec)`` gives a future, ``stop()`` kills them."""

    def __init__(self, jobs: int, *, cuda: bool = False):
        from concurrent.futures import ProcessPoolExecutor

        # fork (as torch's DataLoader does) needs no `if __name__ == "__main__"` guard in user scripts, and a
        # forked worker starts with torch and kanpde already imported; CUDA cannot be forked, so GPU runs spawn
        ctx = mp.get_context("spawn" if cuda or sys.platform != "linux" else "fork")
        slots, self._pids = ctx.Queue(), ctx.Queue()
        for i in range(jobs):
            slots.put(i)
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                                         initargs=(os.getpid(), slots, self._pids))

    def submit(self, spec: RunSpec, save_model: bool, bar: bool | None):
        """Start ``run_one(spec)`` in a worker; a ``concurrent.futures.Future`` of its record."""
        return self._pool.submit(_work, spec, save_model, bar)

    def close(self) -> None:
        """Wait for the workers to exit (all submitted runs done)."""
        self._pool.shutdown(wait=True)

    def stop(self) -> None:
        """Cancel what has not started and kill the workers (on interruption)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        _kill_all(self._pids)


def is_cuda(spec: RunSpec) -> bool:
    """Whether a run trains on a CUDA device."""
    return str(spec.config.get("device", "cpu")).startswith("cuda")


class ProcessExecutor(Executor):
    """Runs specs in ``jobs`` local worker processes (fork on Linux, spawn for CUDA and elsewhere)."""

    name = "process"

    def map(self, specs: Iterable[RunSpec], *, save_model: bool = True, bar: bool | None = False) -> Iterator[dict]:
        """Yield records as the pool finishes runs (``jobs`` in flight); on interruption stop every worker."""
        from concurrent.futures import FIRST_COMPLETED, wait

        it = iter(specs)
        first = next(it, None)
        if first is None:
            return
        known = specs if isinstance(specs, Sequence) else [first]  # a lazy iterable: its first spec decides
        jobs = min(self.jobs, len(specs)) if isinstance(specs, Sequence) else self.jobs
        pool = LocalPool(jobs, cuda=any(is_cuda(sp) for sp in known))
        queue = [first]  # drawn, not yet started

        def draw() -> RunSpec | None:
            return queue.pop() if queue else next(it, None)

        try:
            pending: set = set()
            while True:
                # specs are drawn lazily, one per free worker: a caller may build the next from earlier records
                while len(pending) < jobs and (sp := draw()) is not None:
                    pending.add(pool.submit(sp, save_model, bar))
                if not pending:  # every spec drawn and finished (several may finish at once)
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    yield f.result()
        except BaseException:  # Ctrl-C, a closed generator or a broken pool: leave no worker training on
            pool.stop()
            raise
        pool.close()


def _kill_all(pids) -> None:
    while True:
        try:
            pid = pids.get_nowait()
        except (queue.Empty, OSError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
