"""Multilayer perceptron, the classic PINN baseline."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from kanpde.models.jet import elementwise_jet, linear_jet

__all__ = ["MLP", "ACTIVATIONS"]


def _tanh(h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    y = torch.tanh(h)
    d1 = 1 - y * y
    return y, d1, -2 * y * d1


def _sin(h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s = torch.sin(h)
    return s, torch.cos(h), -s


def _silu(h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s = torch.sigmoid(h)
    ds = s * (1 - s)
    return h * s, s + h * ds, ds * (2 + h * (1 - 2 * s))


#: activation name -> function returning (f(h), f'(h), f''(h))
ACTIVATIONS = {"tanh": _tanh, "sin": _sin, "silu": _silu}
_PLAIN = {"tanh": torch.tanh, "sin": torch.sin, "silu": torch.nn.functional.silu}


class MLP(nn.Module):
    """Fully connected network ``widths[0] -> ... -> widths[-1]`` with a smooth activation.

    Weights use Xavier-normal initialisation (gain 1) and zero biases, the usual PINN choice.
    ``count_flops`` counts, per input point, ``2 * fan_in * fan_out`` for every matrix product
    (multiply and add), ``fan_out`` for every bias, and ``c_act`` FLOPs per activation
    (5 for tanh/sin, 4 for silu — the convention of KANbeFair's appendix).
    """

    _ACT_FLOPS = {"tanh": 5, "sin": 5, "silu": 4}

    #: ``derivatives="auto"`` uses autograd for the MLP: its double backward is as fast as the
    #: forward jet at 1k points and 30-40 % faster at 4k+ (``benchmarks/step_time.py``); both are exact
    prefers_jet = False

    def __init__(self, widths: Sequence[int], activation: str = "tanh", seed: int | None = None):
        super().__init__()
        widths = [int(w) for w in widths]
        if len(widths) < 2 or any(w < 1 for w in widths):
            raise ValueError(f"widths must list at least 2 positive layer sizes, got {list(widths)}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
        self.widths = widths
        self.activation = activation
        self.seed = seed
        self._act = ACTIVATIONS[activation]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        with torch.no_grad():
            for layer in self.layers:
                fan_in, fan_out = layer.in_features, layer.out_features
                std = math.sqrt(2.0 / (fan_in + fan_out))
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) * std)
                layer.bias.zero_()

    @property
    def d_in(self) -> int:
        """Input dimension."""
        return self.widths[0]

    @property
    def d_out(self) -> int:
        """Output dimension."""
        return self.widths[-1]

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, d_in)`` inputs to ``(N, d_out)`` outputs."""
        *hidden, last = self.layers
        for layer in hidden:
            x = _PLAIN[self.activation](layer(x))
        return last(x)

    def forward_jet(self, T: Tensor, d: int, order: int) -> Tensor:
        """Propagate a jet (values and input derivatives, see ``kanpde.models.jet``)."""
        *hidden, last = self.layers
        for layer in hidden:
            T = linear_jet(T, layer.weight, layer.bias)
            T = elementwise_jet(T, d, order, *self._act(T[0]))
        return linear_jet(T, last.weight, last.bias)

    def count_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def count_flops(self) -> int:
        """Forward FLOPs per input point (matmuls, biases and activations)."""
        c = self._ACT_FLOPS[self.activation]
        mats = sum(2 * a * b + b for a, b in zip(self.widths[:-1], self.widths[1:]))
        acts = c * sum(self.widths[1:-1])
        return mats + acts

    def config(self) -> dict:
        """Constructor arguments that rebuild this architecture."""
        return {"widths": list(self.widths), "activation": self.activation}

    def extra_repr(self) -> str:
        return f"widths={self.widths}, activation={self.activation!r}"
