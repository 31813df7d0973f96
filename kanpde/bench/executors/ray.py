"""Ray executor: one Ray task per run, on a running cluster (``address``) or a local Ray instance.

Each task asks for ``num_cpus`` = the run's ``threads`` (and one GPU when its device is CUDA),
a bounded number of tasks is in flight (on a cluster twice its CPUs / threads, so no worker
waits for the driver; on a local instance its CPUs, so no run waits in Ray's queue while a
slot is free), results are yielded as tasks finish, and a task whose worker dies is retried
``max_retries`` times (a retried run still yields one record).  With ``address`` (``"auto"``
or ``"HOST:PORT"``) the cluster is joined and left running.  Needs ``pip install "kanpde[ray]"``.

**A local instance** (no ``address``, Ray not yet initialised) is started for this map and
shut down afterwards.  Starting it is latency, not work: on a busy 2-core machine ``ray.init``
takes ~15 s (GCS, raylet, agents, one process after another) and each worker then spends
~5-10 s importing torch and kanpde before its first run.  So with ``local_slot`` (the default)
and ``jobs`` >= 2 one of the ``jobs`` slots is a process forked from the driver (torch already
imported: it starts training at once) and Ray gets the other ``jobs - 1`` CPUs, starting
meanwhile; as Ray's workers come up they take runs from the same queue.
Every run is still trained by :func:`~kanpde.bench.run_one.run_one`, seeded and
single-threaded, so the numbers are those of every other executor.  ``local_slot=False`` gives
all ``jobs`` slots to Ray.  CUDA runs never use the local slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kanpde.bench.executors.base import Executor
from kanpde.bench.executors.process import LocalPool, is_cuda
from kanpde.bench.run_one import error_record, run_one
from kanpde.bench.specs import RunSpec

__all__ = ["RayExecutor", "INSTALL_HINT"]

INSTALL_HINT = ('the ray executor needs Ray: pip install "kanpde[ray]" (or pip install "ray>=2.9"); '
                'or use --executor process')

#: seconds between looks at the local slot while Ray tasks run
_POLL = 0.05


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return ray


def _task(spec_dict: dict, save_model: bool) -> dict:
    return run_one(RunSpec.from_dict(spec_dict), save_model=save_model, bar=False)


class RayExecutor(Executor):
    """Runs specs as Ray tasks (see the module docstring)."""

    name = "ray"

    def __init__(self, jobs: int = 1, *, address: str | None = None, max_retries: int = 2,
                 in_flight: int | None = None, local_slot: bool = True):
        super().__init__(jobs)
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if in_flight is not None and (not isinstance(in_flight, int) or in_flight < 1):
            raise ValueError(f"in_flight must be a positive integer, got {in_flight!r}")
        self.ray = _import_ray()
        self.address, self.max_retries, self.in_flight = address, max_retries, in_flight
        self.local_slot = bool(local_slot)
        self._started = False

    def _connect(self, num_cpus: int) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        if self.address:
            ray.init(address=self.address, log_to_driver=False)
        else:
            self._started = True
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)

    def map(self, specs: Iterable[RunSpec], *, save_model: bool = True, bar: bool | None = False) -> Iterator[dict]:
        """Submit specs as tasks (bounded in flight) and yield records as they finish."""
        ray = self.ray
        it = iter(specs)
        first = next(it, None)
        if first is None:
            return
        queue = [first]  # drawn but not yet started

        def draw() -> RunSpec | None:
            return queue.pop() if queue else next(it, None)

        local = (self.local_slot and self.jobs > 1 and not self.address and not ray.is_initialized()
                 and not is_cuda(first))
        pool, slot = None, None  # slot: (future, spec) of the run in the local slot
        if local:  # the local slot trains at once, while this thread starts Ray
            pool = LocalPool(1)
            sp = draw()
            slot = (pool.submit(sp, save_model, bar), sp)
        try:
            # in this (the calling) thread: Ray ties its daemons' lives to the thread that starts them
            self._connect(self.jobs - 1 if local else self.jobs)
        except BaseException:
            if pool is not None:
                pool.stop()
            raise
        cpus = int(ray.cluster_resources().get("CPU", self.jobs))
        per = max(1, int(first.config.get("threads") or 1))
        limit = self.in_flight or max(1, (cpus if self._started else 2 * cpus) // per)
        remote = ray.remote(_task)
        pending: list = []
        spec_of: dict = {}
        try:
            while True:
                if pool is not None and slot is None and (sp := draw()) is not None:
                    slot = (pool.submit(sp, save_model, bar), sp)
                while len(pending) < limit and (sp := draw()) is not None:
                    threads = int(sp.config.get("threads") or 1)
                    ref = remote.options(num_cpus=threads, num_gpus=1 if is_cuda(sp) else 0,
                                         max_retries=self.max_retries,
                                         name=f"{sp.problem}/{sp.label}/s{sp.seed}").remote(sp.to_dict(), save_model)
                    spec_of[ref] = sp
                    pending.append(ref)
                if slot is None and not pending:  # every spec drawn and finished
                    break
                if slot is not None and (not pending or slot[0].done()):
                    fut, slot = slot[0], None  # only the local slot runs, or it has finished
                    yield fut.result()
                    continue
                done, pending = ray.wait(pending, num_returns=1, timeout=_POLL if slot is not None else None)
                for ref in done:
                    sp = spec_of.pop(ref)
                    try:
                        rec = ray.get(ref)
                    except (ray.exceptions.RayError, OSError) as e:  # the worker died past its retries
                        lines = [ln for ln in str(e).splitlines() if ln.strip()]
                        rec = error_record(sp, f"{type(e).__name__}: {lines[-1] if lines else ''}")
                    yield rec
        except BaseException:  # Ctrl-C or a closed generator: stop what is still running
            if pool is not None:
                pool.stop()
                pool = None
            for ref in pending:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - best effort on the way out
                    pass
            raise
        finally:
            if pool is not None:
                pool.close()

    def close(self) -> None:
        """Shut down the local Ray instance if this executor started it."""
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()
        self._started = False
