"""Independent reference solutions: gridded fields, ODE solutions, Burgers and Allen–Cahn.

Everything here is numpy/scipy only and is meant to be checked against independent truth
(published values, convergence under refinement, residuals), never against a network.

=============== ===================================================================
``grid``        :class:`GridReference`: a field on a tensor-product grid, interpolated
``ode``         :func:`ode_reference`: ``solve_ivp`` at tight tolerances, dense output
``burgers``     the Cole–Hopf solution of viscous Burgers and its gridded reference
``allen_cahn``  a pseudo-spectral ETDRK4 solver for Allen–Cahn and its gridded reference
``cache``       :func:`cached`: build a reference once per process (and on disk if asked)
=============== ===================================================================
"""

from __future__ import annotations

from kanpde.reference.allen_cahn import allen_cahn_etdrk4, allen_cahn_reference
from kanpde.reference.burgers import burgers_cole_hopf, burgers_reference
from kanpde.reference.cache import cached, cached_keys, clear_cache
from kanpde.reference.grid import GridReference
from kanpde.reference.ode import OdeReference, ode_reference

__all__ = [
    "GridReference",
    "OdeReference",
    "ode_reference",
    "burgers_cole_hopf",
    "burgers_reference",
    "allen_cahn_etdrk4",
    "allen_cahn_reference",
    "cached",
    "cached_keys",
    "clear_cache",
]
