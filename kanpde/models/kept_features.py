"""What a KAN layer keeps of a parameter-free input jet between training steps.

An input jet that needs no gradient (a PINN's first layer: the jet of the collocation points, the
same tensor at every step until the points are resampled) has features that depend on no
parameter.  :class:`KeptFeaturesMixin` keeps what the layer computed for the last such jet, with
the basis state it came from, and hands it back while the tensor and the basis are unchanged;
:func:`reused_features` turns it into the form a reused input is contracted in (see
:mod:`kanpde.models.kan_layer`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["SPARSE_FEATURES", "KeptFeaturesMixin", "feature_jet", "reused_features"]

#: a first layer with more padded features per input than this keeps its feature jet sparse (measured on
#: poisson2d, KAN[2,10,1]: at 10 the dense product is 0-9 % faster, from 13 the sparse one 4-18 % for
#: every basis, and with local support (B-spline, windowed RBF) its cost stops growing with the grid)
SPARSE_FEATURES = 10


def feature_jet(F: Tensor, T: Tensor, d: int, order: int) -> Tensor:
    """Jet of the features ``(R, N, I, C)`` from their levels ``F`` ``(I, L, N, C)`` and the input jet ``T``.

    Row 0 is ``F_0``, rows ``1 + k`` are ``F_1 dh_k`` and rows ``1 + d + k`` ``F_2 dh_k^2 + F_1 d2h_k``.
    """
    I, _, N, C = F.shape
    R = T.shape[0]
    F = F.permute(1, 2, 0, 3)  # (L, N, I, C), a view
    E = F.new_empty(R, N, I, C)
    E[0] = F[0]
    if order >= 1:
        A = T[1 : 1 + d].unsqueeze(-1)  # (d, N, I, 1)
        torch.mul(F[1], A, out=E[1 : 1 + d])
    if order >= 2:
        torch.mul(F[2], A * A, out=E[1 + d :])
        E[1 + d :].addcmul_(F[1], T[1 + d :].unsqueeze(-1))
    return E


def reused_features(kept: tuple, feature_levels: Callable[[Tensor, int], Tensor], hT: Tensor, T: Tensor, d: int,
                    order: int) -> tuple:
    """The first layer's feature jet in the form kept for an input that comes back.

    ``kept`` is what its first evaluation left: ``("jet", E)`` (the feature jet ``(R N, I C)``),
    ``("levels", F)`` (the feature levels) or ``("seen", None)``.  Up to ``SPARSE_FEATURES`` features
    per input the result is ``("dense", E^T)``, features-major ``(I C, R N)``: with the few outputs as
    the rows of both products (``out^T = W^T E^T``, ``gW^T = G^T E``) MKL runs them several times
    faster, and the output comes out with its points last, the layout the next layer reads.  With more
    it is ``("sparse", E, E^T)`` in compressed-row form (the exact zeros left out: most of the input
    jet's derivative rows are zero, and a local basis is zero off its support), so that both products
    follow the non-zero features and not the grid.
    """
    R, N, _ = T.shape
    if kept[0] == "jet":
        E = kept[1]
    else:
        F = kept[1] if kept[0] == "levels" else feature_levels(hT, order + 1)
        E = feature_jet(F, T, d, order).view(R * N, -1)
    if E.shape[1] <= SPARSE_FEATURES * T.shape[2]:
        return "dense", E.t().contiguous()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return "sparse", _csr32(E), _csr32(E.t())


def _csr32(M: Tensor) -> Tensor:
    """``M`` in compressed-row form with 32-bit indices (a few per cent faster products than 64-bit)."""
    S = M.to_sparse_csr()
    if S.values().numel() >= 2**31 - 1 or max(S.shape) >= 2**31 - 1:
        return S
    return torch.sparse_csr_tensor(S.crow_indices().int(), S.col_indices().int(), S.values(), S.shape,
                                   check_invariants=False)  # the indices of a valid tensor


class KeptFeaturesMixin:
    """Keeps one input jet's parameter-free features on a layer with a ``basis`` and a ``base_activation``.

    The kept features are no part of the model: not in the state dict, and left out when the layer is
    pickled.
    """

    def __getstate__(self) -> dict:
        state = super().__getstate__().copy()
        state["_kept_input"] = None  # a cache of the last input's features: not part of the model
        return state

    def _basis_state(self) -> tuple:
        """What the basis features depend on besides the input: its options and its buffers (with versions)."""
        return (tuple(self.basis.config().items()), self.base_activation,
                tuple((b, b._version) for b in self.basis.buffers()))

    def kept_input_features(self, T: Tensor, key: tuple) -> Tensor | tuple | None:
        """What :meth:`keep_input_features` kept for this very input jet ``T`` (the same tensor, unchanged since)
        and basis state, else ``None``.

        An input jet that needs no gradient (the first layer's: the collocation points, which stay fixed
        between resamplings) has features that do not depend on any parameter, so a training step at the
        same points reuses them instead of evaluating the basis again.
        """
        c = getattr(self, "_kept_input", None)
        if c is None or c[0] is not T or c[1] != T._version or c[2] != key:
            return None
        state = self._basis_state()
        old = c[3]
        if len(state[2]) != len(old[2]) or state[:2] != old[:2] or any(
                a is not b or va != vb for (a, va), (b, vb) in zip(state[2], old[2])):
            return None
        return c[4]

    def keep_input_features(self, T: Tensor, key: tuple, feats: Tensor | tuple) -> Tensor | tuple:
        """Keep ``feats``, parameter-free features of the input jet ``T``, for :meth:`kept_input_features`."""
        self._kept_input = (T, T._version, key, self._basis_state(), feats)
        return feats
