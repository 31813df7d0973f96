"""Symbolic discovery from data: recover f(x1, x2) = exp(sin(pi x1) + x2^2) with a sparse KAN.

    python examples/fit_exp_sin.py [OUT_DIR]

The KAN paper's first example, on the ``fit_exp_sin`` problem (1000 samples on [-1, 1]^2, no
differential equation).  Steps: fit KAN [2, 5, 1]; train on with the sparsity penalty
(``reg``); prune the hidden nodes to those at least half as important as the strongest (here one
node: [2, 1, 1]); retrain; snap every edge to its best library function (``auto_symbolic``);
retrain the snapped constants; print the formula.  The bounding box is [-1, 1]^2, so the model's
variables equal the physical ones.  Figures go to OUT_DIR (default: a new temporary directory).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import kanpde as kp

LIB = ["x", "x^2", "x^3", "exp", "sin", "tanh", "sqrt", "log"]


def discover(seed: int = 0, verbose: bool = True, out: Path | None = None) -> dict:
    """Run the whole workflow; returns the solutions, the snaps and the formula."""
    say = print if verbose else (lambda *a, **k: None)
    problem = kp.get_problem("fit_exp_sin")
    cfg = kp.TrainConfig(epochs=50, optimizer="lbfgs", progress=False, threads=1, seed=seed)
    sol = kp.train(problem, kp.KAN([2, 5, 1], grid=5, k=3, seed=seed),
                   cfg.replace(update_grid_every=10, update_grid_until=40))
    say(f"KAN [2, 5, 1]: rel L2 {sol.history.rel_l2[-1]:.2e}")
    sparse = kp.train(problem, sol.model, cfg.replace(epochs=100, reg=0.1))
    say(f"with sparsity penalty: rel L2 {sparse.history.rel_l2[-1]:.2e}")
    if out is not None:
        kp.plot.kan(sparse, title="fit_exp_sin: KAN [2, 5, 1] after sparsification", save=out / "sparse.png")
    scores = [float(min(a, b)) for a, b in zip(*sparse.model.node_scores()[0], strict=True)]
    pruned = sparse.model.prune(threshold=0.5 * max(scores), edges=False)
    say(f"pruned to {pruned.widths}")
    small = kp.train(problem, pruned, cfg.replace(epochs=100, update_grid_every=10, update_grid_until=50))
    say(f"retrained: rel L2 {small.history.rel_l2[-1]:.2e}")
    if out is not None:
        kp.plot.kan(small, title=f"pruned KAN {pruned.widths}", save=out / "pruned.png")
    snaps = kp.interpret.auto_symbolic(small.model, lib=LIB, r2_threshold=0.0)
    for s in snaps:
        say(s)
    final = kp.train(problem, small.model, cfg.replace(epochs=100))
    expr = kp.interpret.formula(final)
    say(f"snapped and retrained: rel L2 {final.history.rel_l2[-1]:.2e}")
    say("formula:", expr)
    if out is not None:
        kp.plot.kan(final, title="snapped edges", save=out / "snapped.png")
    return {"sparse": sparse, "pruned": small, "final": final, "snaps": snaps, "formula": expr}


def formula_error(expr, n: int = 2000, seed: int = 1) -> float:
    """Max |formula - exp(sin(pi x1) + x2^2)| on random points of [-1, 1]^2."""
    import sympy as sp

    x = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n, 2))
    f = sp.lambdify(sp.symbols("x_1 x_2"), expr, "numpy")
    return float(np.abs(f(x[:, 0], x[:, 1]) - np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2)).max())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=None, help="directory for the figures (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="kanpde-fit-"))
    res = discover(args.seed, out=out)
    res["error"] = formula_error(res["formula"])
    print(f"max |formula - truth| on 2000 random points: {res['error']:.2e}")
    print(f"figures in {out}")
    return res


if __name__ == "__main__":
    main()
