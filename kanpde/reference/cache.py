"""A process-wide memory cache of built references, with an optional disk cache of .npz files."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kanpde.reference.grid import GridReference

__all__ = ["cached", "cached_keys", "clear_cache"]

_MEMORY: dict[tuple[str, str], GridReference] = {}


def _canonical(params: dict[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"params values must be numbers, strings, None or lists of them; got {value!r}")

    return json.dumps({str(k): plain(v) for k, v in params.items()}, sort_keys=True)


def cached(
    name: str,
    params: dict[str, Any],
    build: Callable[[], GridReference],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> GridReference:
    """The reference for (name, params): from memory, else from disk if enabled, else built.

    The in-memory cache lasts for the process (``clear_cache`` empties it). A disk cache is used
    only when ``cache_dir`` is given or the ``KANPDE_CACHE_DIR`` environment variable is set and
    non-empty; files are ``<cache_dir>/<name>-<hash>.npz``.
    """
    if not name or not all(ch.isalnum() or ch in "_-." for ch in name):
        raise ValueError(f"name must be non-empty and use only letters, digits, '_', '-', '.'; got {name!r}")
    key = (name, _canonical(params))
    if key in _MEMORY:
        return _MEMORY[key]
    directory = cache_dir if cache_dir is not None else os.environ.get("KANPDE_CACHE_DIR") or None
    ref = None
    path = None
    if directory is not None:
        digest = hashlib.sha256(key[1].encode()).hexdigest()[:16]
        path = Path(directory).expanduser() / f"{name}-{digest}.npz"
        if path.is_file():
            try:
                ref = GridReference.load(path)
            except (OSError, ValueError, KeyError):
                ref = None
    if ref is None:
        ref = build()
        if not isinstance(ref, GridReference):
            raise TypeError(f"build must return a GridReference; got {type(ref).__name__}")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    ref.save(fh)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    _MEMORY[key] = ref
    return ref


def clear_cache() -> None:
    """Empty the in-memory reference cache."""
    _MEMORY.clear()


def cached_keys() -> list[tuple[str, str]]:
    """``(name, parameters as canonical JSON)`` of every reference held in the memory cache."""
    return list(_MEMORY)
