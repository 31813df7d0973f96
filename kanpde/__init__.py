"""kanpde: physics-informed KAN and MLP networks for ODEs and PDEs, compared fairly.

Everything a user needs is here::

    import kanpde as kp
    sol = kp.solve("poisson2d", model="kan", epochs=300)
    sol = kp.train(problem, kp.MLP([2, 32, 32, 1]), kp.TrainConfig(epochs=500))
"""

from __future__ import annotations

import os as _os

_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(__path__[0], "problems")) and _os.path.isfile(
        _os.path.join(_root, "problems", "__init__.py")) and _os.path.isfile(_os.path.join(_root, "pyproject.toml")):
    __path__.append(_root)  # source checkout: the catalog lives in <root>/problems as kanpde.problems

from kanpde import geometry, methods, ops  # noqa: E402
from kanpde.api import get_problem, list_problems, solve  # noqa: E402
from kanpde.config import TrainConfig  # noqa: E402
from kanpde.derivatives import DerivativeContext  # noqa: E402
from kanpde.geometry import (  # noqa: E402
    Ball,
    Box,
    Disk,
    Ellipse,
    Interval,
    LShape,
    PointCloud,
    Polygon,
    Rectangle,
    SpaceTime,
    Triangle,
)
from kanpde.history import History  # noqa: E402
from kanpde.models import MLP  # noqa: E402
from kanpde.problem import Data, Dirichlet, Initial, Neumann, Periodic, Problem, Robin  # noqa: E402
from kanpde.solution import Solution, load  # noqa: E402
from kanpde.train import train  # noqa: E402
from kanpde.unknowns import Unknown  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "solve", "train", "load", "list_problems", "get_problem", "TrainConfig", "Solution", "History", "Problem",
    "Dirichlet", "Neumann", "Robin", "Periodic", "Initial", "Data", "Interval", "Box", "Rectangle", "Disk",
    "Polygon", "LShape", "SpaceTime", "Ellipse", "Triangle", "Ball", "PointCloud", "MLP", "KAN", "ops", "geometry",
    "methods", "DerivativeContext", "Unknown",
]


def __getattr__(name: str):
    if name == "KAN":
        from kanpde.models.kan import KAN

        return KAN
    if name == "tune":
        from kanpde.tune import tune

        return tune
    if name in ("bench", "plot", "interpret"):
        import importlib

        return importlib.import_module(f"kanpde.{name}")
    raise AttributeError(f"module 'kanpde' has no attribute {name!r}")
