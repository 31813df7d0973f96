"""Reading a trained KAN: symbolic suggestions per edge, snapping edges to formulas, the network's equation.

Every KAN edge is a 1-D function ``phi(x)``.  :func:`suggest_symbolic` fits each library function
``f`` (see :data:`kanpde.models.symbolic.LIBRARY`) as ``phi(x) ~ c f(a x + b) + d`` and ranks the
fits by r^2, preferring the simpler function among near-ties (see :func:`rank`).
:func:`fix_symbolic` / :func:`auto_symbolic` snap edges to their fits (the edge then evaluates the
formula with trainable ``a, b, c, d``, so training can continue); :func:`unfix_symbolic` undoes it;
:func:`formula` writes the whole network as a sympy expression.

Variables: a model sees the problem's bounding box mapped onto ``[-1, 1]`` (see
:class:`kanpde.loss.InputScaling`), so ``formula(model)`` is in the model's own inputs
``z_1, z_2, ...``; ``formula(solution)`` (or ``formula(model, scaling=...)``) substitutes
``z = 2 (x - lo) / (hi - lo) - 1`` and is in the physical variables (``x`` for one coordinate,
``x, t`` or ``x_1, .., x_n, t`` for space-time, else ``x_1, x_2, ...``).

============== =================================================================
``fit``        :func:`fit_symbolic`, :func:`rank`, :class:`Suggestion`: one edge's fits
``edges``      :func:`suggest_symbolic`, :func:`fix_symbolic`, :func:`auto_symbolic`, ...
``expression`` :func:`formula`, :func:`variable_names`: the network as sympy
============== =================================================================
"""

from __future__ import annotations

from kanpde.interpret.edges import Snap, auto_symbolic, fix_symbolic, suggest_symbolic, unfix_symbolic
from kanpde.interpret.expression import formula, variable_names
from kanpde.interpret.fit import TIE_RATIO, TIE_TOL, Suggestion, fit_symbolic, rank
from kanpde.models.symbolic import LIBRARY

__all__ = [
    "Suggestion",
    "Snap",
    "LIBRARY",
    "TIE_TOL",
    "TIE_RATIO",
    "fit_symbolic",
    "rank",
    "suggest_symbolic",
    "fix_symbolic",
    "unfix_symbolic",
    "auto_symbolic",
    "formula",
    "variable_names",
]
