"""A trained model together with its problem, configuration and history; save and load."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from kanpde.config import TrainConfig
from kanpde.hard import HardConstraints
from kanpde.history import History
from kanpde.loss import InputScaling
from kanpde.models import MODELS
from kanpde.problem import Problem

__all__ = ["Solution", "load", "count_params", "count_flops"]

#: schema of the payload (the dict inside the file)
FORMAT = "kanpde-solution/1"
#: first bytes of every file written by :meth:`Solution.save`; a JSON header line with the payload's
#: size and SHA-256 follows, then the payload (``torch.save`` bytes)
MAGIC = b"kanpde-solution\n"
CONTAINER_VERSION = 2
#: points per forward pass when predicting on numpy input
PREDICT_CHUNK = 65536


def count_params(model: nn.Module) -> int:
    """Trainable parameters of any module (its own ``count_params`` when it has one)."""
    if hasattr(model, "count_params"):
        return int(model.count_params())
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module) -> int:
    """Forward FLOPs per point when the model can count them, else 0."""
    return int(model.count_flops()) if hasattr(model, "count_flops") else 0


@dataclass
class Solution:
    """A trained network for a problem: call it on physical points to get ``u``."""

    problem: Problem
    model: nn.Module
    config: TrainConfig
    history: History
    scaling: InputScaling
    unknowns: dict[str, float] = field(default_factory=dict)
    #: the output transform of hard constraints (:mod:`kanpde.hard`) around ``model``; rebuilt from the
    #: problem when ``config.hard_constraints`` is set and none is given (as on load)
    transform: HardConstraints | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.transform is None and self.config.hard_constraints:
            self.transform = HardConstraints(self.problem, self.config.hard_constraints)

    def _net(self, x: Tensor) -> Tensor:
        u = self.model(self.scaling(x))
        return u if self.transform is None else self.transform(x, u)

    @property
    def n_params(self) -> int:
        """Trainable parameters of the model."""
        return count_params(self.model)

    @property
    def n_flops(self) -> int:
        """Forward FLOPs per point of the model."""
        return count_flops(self.model)

    def __call__(self, x: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """Predict ``u`` at points ``x`` of shape ``(N, d_in)``; numpy in, numpy out."""
        is_np = not isinstance(x, Tensor)
        p = next(iter(self.model.parameters()), None)
        like = p if p is not None else torch.zeros((), dtype=torch.float64)
        xt = torch.as_tensor(np.asarray(x, dtype=float) if is_np else x, dtype=like.dtype, device=like.device)
        if xt.dim() == 1 and self.problem.d_in == 1:
            xt = xt[:, None]
        if xt.dim() != 2 or xt.shape[1] != self.problem.d_in:
            raise ValueError(f"points must have shape (N, {self.problem.d_in}) for {self.problem.name!r}, "
                             f"got {tuple(xt.shape)}")
        if is_np:  # numpy in: no graph, so predict in chunks that fit in memory
            with torch.no_grad():
                return torch.cat([self._net(c) for c in xt.split(PREDICT_CHUNK)]).cpu().numpy()
        return self._net(xt)

    def save(self, path: str | Path) -> None:
        """Write model, problem name, config and history to one checksummed file (replaced whole)."""
        path = Path(path)
        m = self.model
        cls = type(m)
        name = f"{cls.__module__}.{cls.__qualname__}"
        if "<locals>" in cls.__qualname__:
            raise TypeError(f"cannot save a model of class {cls.__qualname__!r}: it is defined inside a function, "
                            f"so it cannot be imported by name when loading; define it at module level")
        spec: dict[str, Any] = {"class": name}
        if hasattr(m, "config"):
            spec["config"] = m.config()
            spec["state_dict"] = m.state_dict()
        else:
            spec["module"] = m  # arbitrary user module: pickled whole
        blob = {"format": FORMAT, "model": spec, "problem": self.problem.name,
                "problem_params": dict(self.problem.params), "catalog": _is_catalog(self.problem),
                "config": self.config.to_dict(), "history": self.history.to_dict(), "scaling": self.scaling.to_dict(),
                "unknowns": dict(self.unknowns)}
        buf = io.BytesIO()
        try:
            torch.save(blob, buf)
        except (pickle.PicklingError, AttributeError, TypeError) as e:
            raise TypeError(f"cannot save the model of class {name!r}: {e}") from e
        data = _pack(buf.getvalue(), model_class=name)
        if not path.parent.is_dir():
            raise FileNotFoundError(f"cannot save to {path}: directory {path.parent} does not exist")
        if path.is_dir():
            raise IsADirectoryError(f"cannot save to {path}: it is a directory; give a file name")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)  # a reader never sees a half-written file
        finally:
            tmp.unlink(missing_ok=True)


def _is_catalog(problem: Problem) -> bool:
    """Whether ``problem`` is a catalog problem (rebuilt by name on load) rather than a user's own."""
    from kanpde.problems import REGISTRY

    fns = [f for f in (problem.residual, problem.exact) if f is not None]
    return problem.name in REGISTRY and all(
        str(getattr(f, "__module__", "")).startswith("kanpde.problems") for f in fns)


def _pack(payload: bytes, **extra: Any) -> bytes:
    """``MAGIC``, a one-line JSON header with the payload's size and SHA-256, then the payload."""
    header = {"version": CONTAINER_VERSION, "format": FORMAT, "size": len(payload),
              "sha256": hashlib.sha256(payload).hexdigest(), **extra}
    return MAGIC + json.dumps(header).encode() + b"\n" + payload


def _unpack(raw: bytes, where: str) -> tuple[bytes, dict[str, Any]]:
    """The verified payload and header of a file's bytes ``raw``; errors name ``where``."""
    end = raw.find(b"\n", len(MAGIC))
    if end < 0:
        raise ValueError(f"{where} is truncated: it ends inside its {len(MAGIC)}-byte kanpde header "
                         f"({len(raw)} bytes in all)")
    try:
        header = json.loads(raw[len(MAGIC):end])
        size, digest = int(header["size"]), str(header["sha256"])
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{where} is corrupted: its kanpde header cannot be read ({e})") from None
    if header.get("version", CONTAINER_VERSION) > CONTAINER_VERSION:
        raise ValueError(f"{where} was written by a newer kanpde (file version {header['version']}, "
                         f"this one reads up to {CONTAINER_VERSION}); upgrade kanpde")
    payload = raw[end + 1:]
    if len(payload) < size:
        raise ValueError(f"{where} is truncated: {len(payload)} of its {size} payload bytes are present")
    if len(payload) > size:
        raise ValueError(f"{where} is corrupted: {len(payload) - size} bytes follow the end of its payload")
    if hashlib.sha256(payload).hexdigest() != digest:
        raise ValueError(f"{where} is corrupted: the SHA-256 checksum of its contents does not match the one "
                         f"stored when it was saved")
    return payload, header


def _read(path: Path) -> dict[str, Any]:
    """The payload dict of the solution file at ``path``, verified when it carries a checksum."""
    where = str(path)
    if path.is_dir():
        raise IsADirectoryError(f"{where} is a directory, not a kanpde solution file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no such solution file") from None
    if not raw:
        raise ValueError(f"{where} is empty (0 bytes), not a kanpde solution file; was it cut off while written?")
    if raw.startswith(MAGIC):
        payload, header = _unpack(raw, where)
    elif MAGIC.startswith(raw):
        raise ValueError(f"{where} is truncated: it ends inside its kanpde header ({len(raw)} bytes in all)")
    elif raw.startswith(b"PK\x03\x04"):  # a torch zip file: an unverified solution from before checksums?
        payload, header = raw, {}
    else:
        raise ValueError(f"{where} is not a kanpde solution file (it does not start with {MAGIC.strip()!r}); "
                         f"write one with Solution.save")
    cls = header.get("model_class", "?")
    try:
        blob = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)
    except (ModuleNotFoundError, AttributeError, ImportError) as e:
        raise ValueError(f"{where}: cannot import the model class {cls!r} it holds ({e}); {_IMPORT_HINT}") from e
    except Exception as e:  # noqa: BLE001 - torch raises many types for unreadable data
        what = ("passes its checksum but its payload cannot be read" if header
                else "is not a readable kanpde solution file")
        raise ValueError(f"{where} {what}: {type(e).__name__}: {e}") from e
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{where} is not a kanpde solution file (a torch file of another kind)")
    if not header:
        warnings.warn(f"{where} has no checksum (written by an older kanpde), so it cannot be verified; "
                      f"save it again to add one", UserWarning, stacklevel=3)
    return blob


_IMPORT_HINT = ("kanpde's own models (registry: " + ", ".join(MODELS) + ") always load; a custom model class must "
                "be importable under the same module name when loading (import or install its module first)")


def _import_class(dotted: str) -> type:
    """The class named ``module.Qual.Name`` (the longest importable module prefix wins)."""
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(f"no module of {dotted!r} can be imported")


def _build_model(spec: dict[str, Any], where: str) -> nn.Module:
    """The model described by a file's model spec (rebuilt from its class and config, or unpickled)."""
    if "module" in spec:
        return spec["module"]
    name = spec["class"]
    try:
        cls = _import_class(name)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"{where}: cannot import the model class {name!r} it holds ({e}); {_IMPORT_HINT}") from e
    try:
        model = cls(**spec["config"])
        sd = spec["state_dict"]
        first = next(iter(sd.values()), None)
        if first is not None:
            model.to(first.dtype)
        model.load_state_dict(sd)
    except (TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"{where}: the model class {name!r} no longer matches the saved model ({e})") from e
    return model


def load(path: str | Path, problem: Problem | None = None) -> Solution:
    """Load and verify a :class:`Solution` written by :meth:`Solution.save`.

    Catalog problems are rebuilt by name; pass ``problem=`` for a user-defined one.  The file is
    checked against the SHA-256 checksum stored in it; a damaged, truncated or foreign file raises
    ``ValueError`` naming the file and what is wrong.  Only load files you trust: the payload is
    a pickle.
    """
    path = Path(path)
    where = str(path)
    blob = _read(path)
    name = blob["problem"]
    if problem is None:
        from kanpde.problems import REGISTRY, get_problem

        if not blob.get("catalog", name in REGISTRY):
            raise ValueError(f"{where} holds a solution of the user-defined problem {name!r}, which cannot be "
                             f"rebuilt by name: pass the Problem it was trained on, "
                             f"kp.load({where!r}, problem=<your {name} Problem>)")
        problem = get_problem(name, **blob.get("problem_params", {}))
    elif not isinstance(problem, Problem):
        raise TypeError(f"problem must be a kanpde Problem, got {type(problem).__name__}")
    elif problem.name != name:
        raise ValueError(f"{where} holds a solution of {name!r}, not of {problem.name!r}")
    model = _build_model(blob["model"], where)
    sc = blob["scaling"]
    if len(sc["lo"]) != problem.d_in:
        raise ValueError(f"{where} holds a solution with {len(sc['lo'])} input(s); problem {problem.name!r} "
                         f"has d_in={problem.d_in}")
    return Solution(problem=problem, model=model, config=TrainConfig.from_dict(blob["config"]),
                    history=History.from_dict(blob["history"]), scaling=InputScaling.from_dict(sc),
                    unknowns=dict(blob.get("unknowns", {})))
