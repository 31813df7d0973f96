"""Facts and settings of the process a run executes in: torch's thread count and the software versions."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

__all__ = ["torch_threads", "environment"]


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the body with ``n`` torch CPU threads (unchanged when ``None``), restoring the old count after."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def environment(dtype: str, device: str) -> dict[str, Any]:
    """The software, precision and threading facts a run's results depend on."""
    return {"torch": torch.__version__, "python": platform.python_version(), "dtype": dtype, "device": device,
            "threads": torch.get_num_threads()}
