"""Test-session setup: one torch thread per test process, reproducible property tests.

PINN-sized networks gain nothing from extra threads, and on a loaded machine each extra thread
competes with every other process (the suite took 20x longer on a busy 2-core machine with torch's
default thread count).  A test that needs more threads says so with ``@pytest.mark.threads(n)``.
Subprocesses started by tests inherit ``OMP_NUM_THREADS=1`` unless the environment sets it.

Hypothesis runs derandomized (the same examples on every run), with no deadline (nothing here
may depend on timing) and no example database written into the working directory; set
``KANPDE_HYPOTHESIS_PROFILE=explore`` to search with fresh random examples.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("kanpde", deadline=None, database=None, derandomize=True, print_blob=True)
settings.register_profile("explore", deadline=None, database=None)
settings.load_profile(os.environ.get("KANPDE_HYPOTHESIS_PROFILE", "kanpde"))

TEST_THREADS = 1
torch.set_num_threads(TEST_THREADS)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``threads`` marker."""
    config.addinivalue_line("markers", "threads(n): run this test with n torch threads (default 1)")


@pytest.fixture(autouse=True)
def _torch_threads(request: pytest.FixtureRequest):
    """Run each test with the thread count its ``threads`` marker asks for (default 1), then restore 1."""
    marker = request.node.get_closest_marker("threads")
    torch.set_num_threads(int(marker.args[0]) if marker else TEST_THREADS)
    yield
    torch.set_num_threads(TEST_THREADS)
