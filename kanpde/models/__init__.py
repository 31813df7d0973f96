"""Models: plain ``nn.Module`` s mapping ``(N, d_in) -> (N, d_out)``, and a registry by name."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence

from torch import nn

from kanpde.models.mlp import MLP

__all__ = ["MLP", "MODELS", "DEFAULT_HIDDEN", "build_model", "model_kwargs"]

#: model name -> "module:Class" (imported on first use)
MODELS = {"mlp": "kanpde.models.mlp:MLP", "kan": "kanpde.models.kan:KAN", "bsmlp": "kanpde.models.bsmlp:BSMLP",
          "ffmlp": "kanpde.models.mlp:FourierFeatureMLP", "adaptive_mlp": "kanpde.models.mlp:AdaptiveMLP"}

#: hidden widths used when ``widths`` is not given
DEFAULT_HIDDEN = {"mlp": (32, 32), "kan": (10,), "bsmlp": (16, 16), "ffmlp": (32, 32), "adaptive_mlp": (32, 32)}


def model_class(name: str) -> type[nn.Module]:
    """The class registered under ``name``."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    mod, cls = MODELS[name].split(":")
    return getattr(importlib.import_module(mod), cls)


def model_kwargs(name: str) -> set[str]:
    """Constructor keyword names of model ``name`` (besides ``widths``)."""
    params = inspect.signature(model_class(name).__init__).parameters
    return {p for p in params if p not in ("self", "widths")}


def build_model(name: str, d_in: int, d_out: int, widths: Sequence[int] | None = None, **kwargs) -> nn.Module:
    """Build model ``name`` for ``d_in`` inputs and ``d_out`` outputs (default hidden widths if none given)."""
    cls = model_class(name)
    if widths is None:
        widths = [d_in, *DEFAULT_HIDDEN.get(name, (32,)), d_out]
    bad = sorted(set(kwargs) - model_kwargs(name))
    if bad:
        raise TypeError(f"model {name!r} takes no argument(s) {bad}; it takes {sorted(model_kwargs(name))}")
    return cls(list(widths), **kwargs)
