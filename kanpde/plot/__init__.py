"""Figures: convergence with seed bands, error vs parameters/FLOPs/time, solution and error fields, KAN activations.

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot`` (no window
ever opens, no backend is switched) and writes a file only when given ``save=``.  Functions
taking ``results`` accept a :class:`kanpde.results.Results` or a results directory.

=============== ==================================================================
``benchmark``   :func:`convergence`, :func:`error_vs_params`, :func:`error_vs_time`
``fields``      :func:`field`: prediction, reference and error of a Solution
``training``    :func:`history`: one run's loss terms and errors per epoch
``activations`` :func:`kan`: every edge function of a KAN
``gallery``     :func:`save_all`: every figure of a results set into one directory
``style``       palette (:func:`colors`), log axes, saving
=============== ==================================================================
"""

from __future__ import annotations

from kanpde.plot.activations import kan
from kanpde.plot.benchmark import convergence, error_vs_params, error_vs_time
from kanpde.plot.fields import field
from kanpde.plot.gallery import save_all
from kanpde.plot.style import ResultsLike, colors
from kanpde.plot.training import history

__all__ = ["convergence", "error_vs_params", "error_vs_time", "field", "history", "kan", "save_all", "colors",
           "ResultsLike"]
