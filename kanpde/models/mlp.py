"""Multilayer perceptron, the classic PINN baseline, with two optional relatives built in.

* Random Fourier features (Tancik et al. 2020): ``fourier_features = m > 0`` feeds the network
  ``[cos(2 pi x B^T), sin(2 pi x B^T)]`` instead of ``x``, with a fixed ``B`` ``(m, d_in)`` drawn
  ``N(0, sigma^2)`` from the seed (a buffer: saved, never trained).
* Layer-wise adaptive activations (Jagtap, Kawaguchi & Karniadakis 2020): ``adaptive=True``
  applies ``act(n a_l h)`` in hidden layer ``l`` with a trainable slope ``a_l`` initialised to
  ``1 / n`` (``n = adaptive_scale``, 10 by default), so training starts from the plain network.
"""


from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from kanpde.models.jet import elementwise_jet, linear_jet

__all__ = ["MLP", "FourierFeatureMLP", "AdaptiveMLP", "ACTIVATIONS"]


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

    #: ``derivatives="auto"`` uses autograd for the plain MLP, its faster exact path (measured in
    #: benchmarks/README.md, "Both derivative paths")
    prefers_jet = False

    def __init__(self, widths: Sequence[int], activation: str = "tanh", seed: int | None = None,
                 fourier_features: int = 0, sigma: float = 1.0, adaptive: bool = False, adaptive_scale: float = 10.0):
        super().__init__()
        widths = [int(w) for w in widths]
        if len(widths) < 2 or any(w < 1 for w in widths):
            raise ValueError(f"widths must list at least 2 positive layer sizes, got {list(widths)}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
        if isinstance(fourier_features, bool) or int(fourier_features) != fourier_features or fourier_features < 0:
            raise ValueError(f"fourier_features must be an integer >= 0 (0: none), got {fourier_features!r}")
        if not float(sigma) > 0:
            raise ValueError(f"sigma (Fourier feature scale) must be > 0, got {sigma!r}")
        if not float(adaptive_scale) > 0:
            raise ValueError(f"adaptive_scale must be > 0, got {adaptive_scale!r}")
        self.widths = widths
        self.activation = activation
        self.seed = seed
        self.fourier_features, self.sigma = int(fourier_features), float(sigma)
        self.adaptive, self.adaptive_scale = bool(adaptive), float(adaptive_scale)
        self._act = ACTIVATIONS[activation]
        first = 2 * self.fourier_features if self.fourier_features else widths[0]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip([first, *widths[1:-1]], widths[1:]))
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        with torch.no_grad():
            for layer in self.layers:
                fan_in, fan_out = layer.in_features, layer.out_features
                std = math.sqrt(2.0 / (fan_in + fan_out))
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) * std)
                layer.bias.zero_()
        if self.fourier_features:
            B = torch.randn(self.fourier_features, widths[0], generator=gen, dtype=torch.float64) * self.sigma
            self.register_buffer("fourier_matrix", (2 * math.pi * B).to(torch.get_default_dtype()))
        else:
            self.register_buffer("fourier_matrix", None)
        if self.fourier_features:
            # with Fourier features the forward jet is about twice as fast as double backward at
            # 1k points (benchmarks/README.md, step_time.py), so ``derivatives="auto"`` takes it
            self.prefers_jet = True
        n_hidden = len(widths) - 2
        self.slopes = nn.Parameter(torch.full((n_hidden,), 1 / self.adaptive_scale)) if adaptive else None

    def _features(self, x: Tensor) -> Tensor:
        if self.fourier_matrix is None:
            return x
        z = x @ self.fourier_matrix.t()
        return torch.cat([torch.cos(z), torch.sin(z)], -1)

    def _features_jet(self, T: Tensor, d: int, order: int) -> Tensor:
        if self.fourier_matrix is None:
            return T
        z = linear_jet(T, self.fourier_matrix, None)
        c, s = torch.cos(z[0]), torch.sin(z[0])
        return torch.cat([elementwise_jet(z, d, order, c, -s, -c), elementwise_jet(z, d, order, s, c, -s)], -1)

    def _slope(self, l: int) -> Tensor | None:
        return None if self.slopes is None else self.slopes[l] * self.adaptive_scale

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
        x = self._features(x)
        for l, layer in enumerate(hidden):
            h = layer(x)
            s = self._slope(l)
            x = _PLAIN[self.activation](h if s is None else h * s)
        return last(x)

    def forward_jet(self, T: Tensor, d: int, order: int) -> Tensor:
        """Propagate a jet (values and input derivatives, see ``kanpde.models.jet``)."""
        *hidden, last = self.layers
        T = self._features_jet(T, d, order)
        for l, layer in enumerate(hidden):
            T = linear_jet(T, layer.weight, layer.bias)
            s = self._slope(l)
            T = T if s is None else T * s  # a linear map: every jet row scales
            T = elementwise_jet(T, d, order, *self._act(T[0]))
        return linear_jet(T, last.weight, last.bias)

    def count_params(self) -> int:
        """Trainable parameters: ``sum_l (a_l b_l + b_l)`` over the linear layers (``a_1 = 2 m`` with ``m``
        Fourier features, whose matrix is fixed), plus one slope per hidden layer if adaptive."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def count_flops(self) -> int:
        """Forward FLOPs per input point: ``sum_l (2 a_l b_l + b_l)`` over the linear layers (``a_1 = 2 m``
        with ``m`` Fourier features), ``c_act`` per hidden neuron, plus ``2 d_in m + 10 m`` for the
        features (projection, then a cosine and a sine at 5 each) and 1 per hidden neuron for an
        adaptive slope."""
        c = self._ACT_FLOPS[self.activation]
        mats = sum(2 * l.in_features * l.out_features + l.out_features for l in self.layers)
        hidden = sum(self.widths[1:-1])
        acts = c * hidden + (hidden if self.adaptive else 0)
        m = self.fourier_features
        return mats + acts + 2 * self.widths[0] * m + 10 * m

    def config(self) -> dict:
        """Constructor arguments that rebuild this architecture."""
        return {"widths": list(self.widths), "activation": self.activation, "fourier_features": self.fourier_features,
                "sigma": self.sigma, "adaptive": self.adaptive, "adaptive_scale": self.adaptive_scale}

    def extra_repr(self) -> str:
        extra = f", fourier_features={self.fourier_features}, sigma={self.sigma}" if self.fourier_features else ""
        extra += ", adaptive=True" if self.adaptive else ""
        return f"widths={self.widths}, activation={self.activation!r}{extra}"


class FourierFeatureMLP(MLP):
    """:class:`MLP` with random Fourier features on by default (``fourier_features=32``, ``sigma=1``)."""

    def __init__(self, widths: Sequence[int], activation: str = "tanh", seed: int | None = None,
                 fourier_features: int = 32, sigma: float = 1.0, adaptive: bool = False, adaptive_scale: float = 10.0):
        super().__init__(widths, activation, seed, fourier_features, sigma, adaptive, adaptive_scale)


class AdaptiveMLP(MLP):
    """:class:`MLP` with layer-wise adaptive activations on by default (Jagtap et al. 2020, ``n = 10``)."""

    def __init__(self, widths: Sequence[int], activation: str = "tanh", seed: int | None = None,
                 fourier_features: int = 0, sigma: float = 1.0, adaptive: bool = True, adaptive_scale: float = 10.0):
        super().__init__(widths, activation, seed, fourier_features, sigma, adaptive, adaptive_scale)
