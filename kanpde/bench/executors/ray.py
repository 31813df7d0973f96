"""Ray executor: one Ray task per run, on a running cluster (``address``) or a local Ray instance.

Each task asks for ``num_cpus`` = the run's ``threads`` (and one GPU when its device is CUDA),
at most ``in_flight`` tasks are submitted at once (default: twice the cluster's CPUs / threads),
results are yielded as tasks finish, and a task whose worker dies is retried ``max_retries``
times (a retried run still yields one record).  Without ``address`` a local instance with
``jobs`` CPUs is started and shut down afterwards; with ``address`` (``"auto"`` or
``"HOST:PORT"``) the cluster is joined and left running.  Needs ``pip install "kanpde[ray]"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from kanpde.bench.executors.base import Executor
from kanpde.bench.run_one import error_record, run_one
from kanpde.bench.specs import RunSpec

__all__ = ["RayExecutor", "INSTALL_HINT"]

INSTALL_HINT = ('the ray executor needs Ray: pip install "kanpde[ray]" (or pip install "ray>=2.9"); '
                'or use --executor process')


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
                 in_flight: int | None = None):
        super().__init__(jobs)
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if in_flight is not None and (not isinstance(in_flight, int) or in_flight < 1):
            raise ValueError(f"in_flight must be a positive integer, got {in_flight!r}")
        self.ray = _import_ray()
        self.address, self.max_retries, self.in_flight = address, max_retries, in_flight
        self._started = False

    def _connect(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        if self.address:
            ray.init(address=self.address, log_to_driver=False)
        else:
            ray.init(num_cpus=self.jobs, include_dashboard=False, log_to_driver=False, configure_logging=False)
            self._started = True

    def map(self, specs: Sequence[RunSpec], *, save_model: bool = True, bar: bool | None = False) -> Iterator[dict]:
        """Submit specs as tasks (bounded in flight) and yield records as they finish."""
        if not specs:
            return
        ray = self.ray
        self._connect()
        cpus = int(ray.cluster_resources().get("CPU", self.jobs))
        remote = ray.remote(_task)
        todo = list(specs)
        pending: list = []
        spec_of: dict = {}
        limit = self.in_flight or max(1, 2 * cpus // max(1, max(int(sp.config.get("threads") or 1) for sp in todo)))
        try:
            while todo or pending:
                while todo and len(pending) < limit:
                    sp = todo.pop(0)
                    threads = int(sp.config.get("threads") or 1)
                    gpus = 1 if str(sp.config.get("device", "cpu")).startswith("cuda") else 0
                    ref = remote.options(num_cpus=threads, num_gpus=gpus, max_retries=self.max_retries,
                                         name=f"{sp.problem}/{sp.label}/s{sp.seed}").remote(sp.to_dict(), save_model)
                    spec_of[ref] = sp
                    pending.append(ref)
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    sp = spec_of.pop(ref)
                    try:
                        rec = ray.get(ref)
                    except (ray.exceptions.RayError, OSError) as e:  # the worker died past its retries
                        lines = [ln for ln in str(e).splitlines() if ln.strip()]
                        rec = error_record(sp, f"{type(e).__name__}: {lines[-1] if lines else ''}")
                    yield rec
        except BaseException:  # Ctrl-C or a closed generator: stop what is still running
            for ref in pending:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - best effort on the way out
                    pass
            raise

    def close(self) -> None:
        """Shut down the local Ray instance if this executor started it."""
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()
        self._started = False
