"""A field sampled on a tensor-product grid, evaluated anywhere inside it by interpolation."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.interpolate import NdBSpline, RegularGridInterpolator, make_interp_spline

__all__ = ["GridReference", "out_of_range_error"]

_METHODS = ("auto", "cubic", "linear")


def out_of_range_error(name: str, values: np.ndarray, lo: float, hi: float) -> ValueError:
    """The error for coordinates ``values`` (named ``name``) outside ``[lo, hi]``."""
    return ValueError(f"{name} has values in [{values.min():.6g}, {values.max():.6g}]; allowed [{lo:.6g}, {hi:.6g}]")


class GridReference:
    """A field sampled on a tensor-product grid, evaluated anywhere inside it by interpolation.

    ``axes`` are strictly increasing 1-D coordinate arrays (in the order of the columns of the
    points it is called on, e.g. ``(x, t)``); ``values`` has shape ``(*grid,)`` or
    ``(*grid, n_out)``. ``method="cubic"`` is the tensor-product not-a-knot cubic spline
    interpolant (the interpolant of ``RegularGridInterpolator(method="cubic")``, built axis by
    axis with exact banded solves instead of that class's iterative global solve, which is slow on
    large grids and stops at a relative tolerance of 1e-5); ``"linear"`` is multilinear
    interpolation by ``RegularGridInterpolator``; ``"auto"`` picks cubic when every axis has at
    least 4 points and linear otherwise. Points outside the grid by more than ``tol`` times the
    axis length raise ``ValueError``; points within that tolerance are clipped onto the grid.
    """

    def __init__(
        self,
        axes: Sequence[ArrayLike],
        values: ArrayLike,
        *,
        method: str = "auto",
        tol: float = 1e-9,
    ) -> None:
        axes_ = tuple(np.array(a, dtype=float) for a in axes)
        if not axes_:
            raise ValueError("axes must hold at least one coordinate array; got none")
        for i, a in enumerate(axes_):
            if a.ndim != 1 or a.size < 2 or not np.all(np.isfinite(a)) or np.any(np.diff(a) <= 0):
                raise ValueError(
                    f"axes[{i}] must be a finite, strictly increasing 1-D array of at least 2 "
                    f"points; got shape {a.shape}"
                )
        grid = tuple(a.size for a in axes_)
        vals = np.array(values, dtype=float)
        self._scalar = vals.shape == grid
        if self._scalar:
            vals = vals[..., None]
        if vals.ndim != len(grid) + 1 or vals.shape[:-1] != grid:
            raise ValueError(f"values must have shape {grid} or {grid} + (n_out,); got {vals.shape}")
        if not np.all(np.isfinite(vals)):
            raise ValueError("values must be finite; got NaN or inf")
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}; got {method!r}")
        if method == "auto":
            method = "cubic" if min(grid) >= 4 else "linear"
        if method == "cubic" and min(grid) < 4:
            raise ValueError(f"method='cubic' needs at least 4 points per axis; got grid {grid}")
        if not tol >= 0:
            raise ValueError(f"tol must be >= 0; got {tol}")
        for a in axes_:
            a.setflags(write=False)
        vals.setflags(write=False)
        self.axes: tuple[np.ndarray, ...] = axes_
        self.values: np.ndarray = vals
        self.method: str = method
        self.tol: float = float(tol)
        self._interp = self._build()

    def __repr__(self) -> str:
        grid = tuple(a.size for a in self.axes)
        return f"GridReference(grid={grid}, n_out={self.n_out}, method={self.method!r}, bounds={self.bounds})"

    def _build(self) -> Callable[[np.ndarray], np.ndarray]:
        if self.method == "linear":
            return RegularGridInterpolator(self.axes, self.values, method="linear")
        coef = self.values
        knots = []
        for i, a in enumerate(self.axes):
            spline = make_interp_spline(a, coef, k=3, axis=i)
            coef = np.moveaxis(spline.c, 0, i)
            knots.append(spline.t)
        return NdBSpline(tuple(knots), coef, 3)

    @property
    def dim(self) -> int:
        """Number of coordinates of a point."""
        return len(self.axes)

    @property
    def n_out(self) -> int:
        """Number of output components."""
        return self.values.shape[-1]

    @property
    def bounds(self) -> tuple[tuple[float, float], ...]:
        """The (low, high) extent of every axis."""
        return tuple((float(a[0]), float(a[-1])) for a in self.axes)

    def __call__(self, x: ArrayLike) -> np.ndarray:
        """Interpolated values of shape (N, n_out) at points x of shape (N, dim)."""
        pts = np.array(x, dtype=float)
        if pts.ndim == 1 and self.dim == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}); got {pts.shape}")
        if not np.all(np.isfinite(pts)):
            raise ValueError("x must be finite; got NaN or inf")
        for i, a in enumerate(self.axes):
            col = pts[:, i]
            slack = self.tol * (a[-1] - a[0])
            if col.size and (col.min() < a[0] - slack or col.max() > a[-1] + slack):
                raise out_of_range_error(f"x[:, {i}]", col, a[0], a[-1])
            pts[:, i] = np.clip(col, a[0], a[-1])
        if pts.shape[0] == 0:
            return np.zeros((0, self.n_out))
        return np.asarray(self._interp(pts), dtype=float).reshape(pts.shape[0], self.n_out)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the grid, values and method to an .npz file at path."""
        arrays = {f"axis{i}": a for i, a in enumerate(self.axes)}
        values = self.values[..., 0] if self._scalar else self.values
        np.savez(path, values=values, method=np.array(self.method), tol=np.array(self.tol), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GridReference:
        """Read a GridReference written by save."""
        with np.load(path, allow_pickle=False) as data:
            axes = [data[f"axis{i}"] for i in range(len(data.files) - 3)]
            return cls(axes, data["values"], method=str(data["method"]), tol=float(data["tol"]))
