"""The input layer every model shares: the problem's bounding box mapped onto ``[-1, 1]^d``.

A coordinate made periodic by ``Periodic(dim, hard=True)`` enters as ``(cos, sin)`` features of
its period instead, so the model is exactly periodic in it whatever its weights; the same layer
serves MLPs and every KAN, and derivatives through it are taken w.r.t. the physical coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor

from kanpde.models.jet import seed_jet

__all__ = ["InputScaling"]


class InputScaling:
    """The fixed input layer in front of every model: the bounding box onto ``[-1, 1]^d``, plus periodic features.

    Each coordinate is mapped by ``z = 2 (x - lo) / (hi - lo) - 1``.  A coordinate listed in
    ``periodic`` (from ``Periodic(dim, hard=True)``) is fed instead as the two features
    ``(cos(pi z), sin(pi z))``, so every function of the features has period ``hi - lo`` in it, and
    the periodic condition (values and all derivatives) holds exactly for any weights.  The model
    then takes ``d + len(periodic)`` inputs (:attr:`n_features`), in coordinate order, with the two
    features of a periodic coordinate in its place.  The map has no trainable parameters and is the
    same for MLP and KAN; derivatives are always taken with respect to ``x``.
    """

    def __init__(self, lo: np.ndarray, hi: np.ndarray, periodic: tuple[int, ...] = ()):
        lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        self.lo, self.hi = lo, hi
        self.periodic = tuple(sorted({int(i) for i in periodic}))
        bad = [i for i in self.periodic if not 0 <= i < len(lo)]
        if bad:
            raise ValueError(f"periodic coordinate(s) {bad} out of range for {len(lo)} inputs")
        self._scale = torch.as_tensor(2.0 / (hi - lo), dtype=torch.float64)
        self._shift = torch.as_tensor((lo + hi) / 2.0, dtype=torch.float64)

    @property
    def n_features(self) -> int:
        """Number of model inputs."""
        return len(self.lo) + len(self.periodic)

    def scale(self, like: Tensor) -> Tensor:
        """The per-coordinate factor ``dz/dx`` on ``like``'s dtype and device."""
        return self._scale.to(like)

    def __call__(self, x: Tensor) -> Tensor:
        """Map physical points to model inputs."""
        z = (x - self._shift.to(x)) * self._scale.to(x)
        if not self.periodic:
            return z
        cols = []
        for i in range(z.shape[1]):
            if i in self.periodic:
                cols += [torch.cos(math.pi * z[:, i]), torch.sin(math.pi * z[:, i])]
            else:
                cols.append(z[:, i])
        return torch.stack(cols, 1)

    def jet(self, x: Tensor, order: int) -> Tensor:
        """The model inputs with their first and pure second derivatives in ``x``, as a jet ``(R, N, F)``."""
        z = (x - self._shift.to(x)) * self._scale.to(x)
        if not self.periodic:
            return seed_jet(z, self.scale(x), order)
        n, d = z.shape
        sc = self.scale(x)
        F = self.n_features
        rows = x.new_zeros(1 + d * order, n, F)
        j = 0
        for i in range(d):
            if i in self.periodic:
                w = math.pi * sc[i]
                c, s = torch.cos(math.pi * z[:, i]), torch.sin(math.pi * z[:, i])
                rows[0, :, j], rows[0, :, j + 1] = c, s
                if order >= 1:
                    rows[1 + i, :, j], rows[1 + i, :, j + 1] = -w * s, w * c
                if order >= 2:
                    rows[1 + d + i, :, j], rows[1 + d + i, :, j + 1] = -w * w * c, -w * w * s
                j += 2
            else:
                rows[0, :, j] = z[:, i]
                if order >= 1:
                    rows[1 + i, :, j] = sc[i]
                j += 1
        return rows

    def to_dict(self) -> dict:
        """Plain-data form."""
        return {"lo": self.lo.tolist(), "hi": self.hi.tolist(), "periodic": list(self.periodic)}

    @classmethod
    def from_dict(cls, d: Mapping) -> InputScaling:
        """Inverse of :meth:`to_dict`."""
        return cls(d["lo"], d["hi"], tuple(d.get("periodic", ())))
