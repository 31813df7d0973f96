"""KAN bases, one per file, behind the contract of :mod:`kanpde.models.bases.base`; a registry by name."""

from __future__ import annotations

import inspect

from kanpde.models.bases.base import Basis
from kanpde.models.bases.bspline import BSplineBasis
from kanpde.models.bases.chebyshev import ChebyshevBasis
from kanpde.models.bases.fourier import FourierBasis
from kanpde.models.bases.legendre import LegendreBasis
from kanpde.models.bases.rbf import RBFBasis

__all__ = ["Basis", "BASES", "make_basis", "basis_options", "BSplineBasis", "ChebyshevBasis", "LegendreBasis",
           "RBFBasis", "FourierBasis"]

#: basis name -> class; each takes ``(in_features, **options)``
BASES: dict[str, type[Basis]] = {"bspline": BSplineBasis, "chebyshev": ChebyshevBasis, "legendre": LegendreBasis,
                                 "rbf": RBFBasis, "fourier": FourierBasis}


def basis_class(name: str) -> type[Basis]:
    """The basis class registered under ``name``."""
    if name not in BASES:
        raise ValueError(f"unknown basis {name!r}; known: {sorted(BASES)}")
    return BASES[name]


def basis_options(name: str) -> list[str]:
    """Option names basis ``name`` takes (besides ``in_features``)."""
    params = inspect.signature(basis_class(name).__init__).parameters
    return [p for p in params if p not in ("self", "in_features")]


def make_basis(name: str, in_features: int, **options) -> Basis:
    """Basis ``name`` for ``in_features`` inputs; options it does not take raise, listing those it does."""
    allowed = basis_options(name)
    bad = sorted(set(options) - set(allowed))
    if bad:
        raise ValueError(f"basis {name!r} takes no option(s) {bad}; it takes {allowed}")
    return basis_class(name)(in_features, **options)
