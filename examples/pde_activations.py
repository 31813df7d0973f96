"""A PDE solution's KAN, read edge by edge: activations of a small KAN trained on poisson2d.

    python examples/pde_activations.py [OUT_DIR]

Trains KAN [2, 4, 1] on -Laplace(u) = 2 pi^2 sin(pi x) sin(pi y) on [-1, 1]^2 (u = 0 on the
boundary; exact u = sin(pi x) sin(pi y)), plots the solution and every edge function (opacity =
importance), and prints the best symbolic suggestion per edge (mostly sines: the network builds the
product from sums of periodic pieces; a short run, so the fit is rough, rel L2 about 0.1).
Figures go to OUT_DIR (default: a new temporary directory).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import kanpde as kp


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=None, help="directory for the figures (default: a temp dir)")
    args = parser.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="kanpde-pde-"))

    sol = kp.solve("poisson2d", model="kan", widths=[2, 4, 1], grid=5, epochs=600, optimizer="adam+lbfgs",
                   lr=1e-2, seed=0, n_interior=400, n_boundary=120, n_eval=1024, progress=False, threads=1)
    print(f"poisson2d with KAN [2, 4, 1]: rel L2 {sol.history.rel_l2[-1]:.2e} ({sol.n_params} params)")
    kp.plot.field(sol, n=60, save=out / "poisson2d_field.png")
    kp.plot.kan(sol, title="poisson2d: edge activations of KAN [2, 4, 1]", save=out / "poisson2d_kan.png")
    kp.plot.kan(sol, save=out / "poisson2d_kan.svg")
    best = {}
    for l, lay in enumerate(sol.model.layers):
        for i in range(lay.in_features):
            for j in range(lay.out_features):
                s = kp.interpret.suggest_symbolic(sol.model, l, i, j, topk=1)[0]
                best[(l, i, j)] = s
                print(f"layer {l} edge {i}->{j}: {s}")
    print(f"figures in {out}")
    return {"solution": sol, "suggestions": best, "out": out}


if __name__ == "__main__":
    main()
