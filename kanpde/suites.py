"""The shipped benchmark suites, as plain data (see :mod:`kanpde.bench.specs` for the format).

Suites compare models at equal epochs: none of them caps wall time, so a result does not
depend on how busy the machine was.  A suite of your own may set ``max_time`` (seconds per
run); each run it stops early is recorded with ``stopped_by_time: true``, flagged in every
table and left out of the verdicts (see :mod:`kanpde.results`).
"""

from __future__ import annotations

__all__ = ["SUITES"]

_KAN_MLP = [{"label": "KAN", "model": "kan", "hidden": [5], "grid": 5, "k": 3},
            {"label": "MLP", "model": "mlp", "match": "KAN", "by": "params", "depth": 2}]

#: the KAN family at 10 parameters per edge, bsmlp, and the MLPs matched to the B-spline KAN
_FAMILY_MODELS = [
    {"label": "KAN bspline", "model": "kan", "family": "kan", "hidden": [10], "basis": "bspline", "grid": 5, "k": 3},
    {"label": "KAN chebyshev", "model": "kan", "family": "kan", "hidden": [10], "basis": "chebyshev", "degree": 7},
    {"label": "KAN legendre", "model": "kan", "family": "kan", "hidden": [10], "basis": "legendre", "degree": 7},
    {"label": "KAN rbf", "model": "kan", "family": "kan", "hidden": [10], "basis": "rbf", "grid": 7},
    {"label": "KAN fourier", "model": "kan", "family": "kan", "hidden": [10], "basis": "fourier", "degree": 4},
    {"label": "bsmlp", "model": "bsmlp", "hidden": [10, 10]},
    {"label": "MLP=params", "model": "mlp", "match": "KAN bspline", "by": "params", "depth": 2},
    {"label": "MLP=flops", "model": "mlp", "match": "KAN bspline", "by": "flops", "depth": 2},
]

#: the hard half of the catalog: the problems a plain PINN left unsolved (benchmarks/hard.py runs the same
#: grid plus the ablation)
HARD_PROBLEMS = ["burgers1d", "helmholtz2d", "wave1d", "allen_cahn1d", "laplace_lshape", "poisson2d_kan"]
#: the plain PINN of the `hard` suite and of benchmarks/hard.py: the overrides that take the training methods
#: and hard constraints out of a recommended budget
PLAIN_OVERRIDES = {"methods": [], "hard_constraints": False}

SUITES: dict[str, dict] = {
    "quick": {
        "name": "quick",
        "description": "exp_decay, poisson1d, poisson2d: KAN[d,5,1] (G=5) vs an MLP of equal parameter count "
                       "and one of equal FLOPs, 2 seeds, short runs (Adam with cosine decay; Adam then L-BFGS "
                       "for poisson2d)",
        "problems": [{"name": "exp_decay", "train": {"epochs": 2000, "lr": 1e-2}},
                     {"name": "poisson1d", "train": {"epochs": 2000, "lr": 1e-2}},
                     {"name": "poisson2d", "train": {"epochs": 1000, "optimizer": "adam+lbfgs", "lr": 1e-2,
                                                     "n_interior": 500, "n_boundary": 128, "n_eval": 2500,
                                                     "weights": {"dirichlet": 100.0}}}],
        "models": _KAN_MLP + [{"label": "MLP=flops", "model": "mlp", "match": "KAN", "by": "flops", "depth": 2}],
        "seeds": [0, 1],
        "train": {"optimizer": "adam", "schedule": "cosine", "log_every": 10},
    },
    "decay_study": {
        "name": "decay_study",
        "description": "dy/dx = -y on [0, 2]: a ~15-parameter KAN[1,1] (G=10) vs the MLP[1,5,1] of ~16 "
                       "parameters; error, time and epochs to reach 1e-3",
        "problems": ["exp_decay"],
        "models": [{"label": "KAN", "model": "kan", "widths": [1, 1], "grid": 10, "k": 3},
                   {"label": "MLP", "model": "mlp", "match": "KAN", "by": "params", "depth": 1}],
        "seeds": [0, 1, 2],
        "train": {"epochs": 5000, "optimizer": "adam", "lr": 1e-2, "schedule": "cosine", "log_every": 10},
    },
    "kan_poisson": {
        "name": "kan_poisson",
        "description": "the KAN paper's 2-D Poisson study: KAN[2,10,1] with grid extension 3->5->10->20 vs "
                       "MLPs of width 10..100 (2 hidden layers), error vs parameters",
        "problems": ["poisson2d_kan"],
        "models": [{"label": "KAN[2,10,1]", "model": "kan", "widths": [2, 10, 1], "grid": 3, "k": 3,
                    "train": {"grid_schedule": {"0": 3, "300": 5, "600": 10, "900": 20}}}]
        + [{"label": f"MLP w={w}", "model": "mlp", "family": "mlp", "hidden": [w, w]} for w in (10, 20, 50, 100)],
        "seeds": [0],
        "train": {"epochs": 1200, "optimizer": "lbfgs", "log_every": 10},
    },
    "catalog": {
        "name": "catalog",
        "description": "every catalog problem: default KAN vs the MLP of equal parameter count, each problem's "
                       "recommended budget",
        "problems": "*",
        "models": [{"label": "KAN", "model": "kan", "hidden": [10], "grid": 5, "k": 3},
                   {"label": "MLP", "model": "mlp", "match": "KAN", "by": "params", "depth": 2}],
        "seeds": [0],
        "train": {},
        "use_budget": True,
    },
    "full": {
        "name": "full",
        "description": "every catalog problem: KAN vs MLPs of equal parameters and of equal FLOPs, 3 seeds, "
                       "each problem's recommended budget",
        "problems": "*",
        "models": [{"label": "KAN", "model": "kan", "hidden": [10], "grid": 5, "k": 3},
                   {"label": "MLP=params", "model": "mlp", "match": "KAN", "by": "params", "depth": 2},
                   {"label": "MLP=flops", "model": "mlp", "match": "KAN", "by": "flops", "depth": 2}],
        "seeds": [0, 1, 2],
        "train": {},
        "use_budget": True,
    },
    "family_quick": {
        "name": "family_quick",
        "description": "the KAN family (B-spline, Chebyshev, Legendre, RBF, Fourier KAN[d,10,1] at 10 parameters "
                       "per edge), bsmlp and MLPs of equal parameters and of equal FLOPs on exp_decay, poisson2d "
                       "and heat1d, one seed, 500 Adam epochs",
        "problems": [{"name": "exp_decay"},
                     {"name": "poisson2d", "train": {"n_interior": 500, "n_boundary": 128,
                                                     "weights": {"dirichlet": 100.0}}},
                     {"name": "heat1d", "train": {"n_interior": 500}}],
        "models": _FAMILY_MODELS,
        "seeds": [0],
        "train": {"epochs": 500, "optimizer": "adam", "lr": 1e-2, "schedule": "cosine", "log_every": 10},
    },
    "family": {
        "name": "family",
        "description": "every catalog problem x the KAN family at 10 parameters per edge, bsmlp, and MLPs of equal "
                       "parameters and of equal FLOPs; 3 seeds, each problem's recommended budget; the recommended "
                       "MLP as an unranked yardstick",
        "problems": "*",
        # the MLP kp.solve builds for the problem (its budget's widths and activation), at its own size: a
        # yardstick beside the equal-size models, reported in the tables and not ranked in the verdict
        "models": [*_FAMILY_MODELS, {"label": "MLP recommended", "model": "mlp", "recommended": True,
                                     "reference": True}],
        "seeds": [0, 1, 2],
        "train": {},
        "use_budget": True,
    },
    "hard": {
        "name": "hard",
        "description": "the six hard problems (burgers1d, helmholtz2d, wave1d, allen_cahn1d, laplace_lshape, "
                       "poisson2d_kan): the default MLP and KAN of kp.solve, each with its recommended budget "
                       "(training methods and hard constraints included) and with the same budget without them "
                       "(plain), 3 seeds",
        "problems": HARD_PROBLEMS,
        "models": [{"label": "MLP", "model": "mlp", "recommended": True},
                   {"label": "MLP plain", "model": "mlp", "recommended": True, "train": PLAIN_OVERRIDES},
                   {"label": "KAN", "model": "kan", "recommended": True},
                   {"label": "KAN plain", "model": "kan", "recommended": True, "train": PLAIN_OVERRIDES}],
        "seeds": [0, 1, 2],
        "train": {},
        "use_budget": True,
    },
}
