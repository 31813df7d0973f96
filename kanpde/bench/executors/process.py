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
from collections.abc import Iterator, Sequence

from kanpde.bench.executors.base import Executor
from kanpde.bench.run_one import run_one
from kanpde.bench.specs import RunSpec

__all__ = ["ProcessExecutor", "die_with_parent"]

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


class ProcessExecutor(Executor):
    """Runs specs in ``jobs`` local worker processes (fork on Linux, spawn for CUDA and elsewhere)."""

    name = "process"

    def map(self, specs: Sequence[RunSpec], *, save_model: bool = True, bar: bool | None = False) -> Iterator[dict]:
        """Yield records as the pool finishes runs; on interruption stop every worker."""
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        if not specs:
            return
        cuda = any(str(sp.config.get("device", "cpu")).startswith("cuda") for sp in specs)
        # fork (as torch's DataLoader does) needs no `if __name__ == "__main__"` guard in user scripts;
        # CUDA cannot be forked, so GPU runs use spawn
        ctx = mp.get_context("spawn" if cuda or sys.platform != "linux" else "fork")
        slots, pids = ctx.Queue(), ctx.Queue()
        jobs = min(self.jobs, len(specs))
        for i in range(jobs):
            slots.put(i)
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                                   initargs=(os.getpid(), slots, pids))
        try:
            pending = {pool.submit(_work, sp, save_model, bar) for sp in specs}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    yield f.result()
        except BaseException:  # Ctrl-C, a closed generator or a broken pool: leave no worker training on
            pool.shutdown(wait=False, cancel_futures=True)
            _kill_all(pids)
            raise
        pool.shutdown(wait=True)


def _kill_all(pids) -> None:
    while True:
        try:
            pid = pids.get_nowait()
        except (queue.Empty, OSError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
