"""Micro-benchmark: one PINN training step, KAN[2,10,1] vs MLP[2,15,15,1], both through ``forward_jet``.

The step is what the trainer does for a 2-D Poisson residual: a second-order jet over N points,
``loss = mean((-laplacian - f)^2)``, backward, Adam step.  Steps of the two models are
interleaved so that load from other processes hits both alike; each reported time is the median
over ``--steps`` steps after warm-up, and the ratio is KAN / MLP.

    python benchmarks/kan_jet_micro.py [--steps 40] [--sizes 1000 4000] [--threads 1 2] [--nonuniform]

``--nonuniform`` also times the KAN after an adaptive grid update (Cox--de Boor path).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from kanpde.models.jet import seed_jet
from kanpde.models.kan import KAN
from kanpde.models.mlp import MLP


def make_step(model: torch.nn.Module, n: int, dtype: torch.dtype):
    """A closure running one training step of ``model`` on ``n`` fixed points; returns its wall time."""
    model = model.to(dtype)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(n, 2, generator=gen, dtype=dtype) * 2 - 1
    T0 = seed_jet(x, torch.ones(2, dtype=dtype), 2)
    f = 2 * torch.pi**2 * torch.sin(torch.pi * x[:, 0]) * torch.sin(torch.pi * x[:, 1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> float:
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        T = model.forward_jet(T0, 2, 2)
        lap = T[3, :, 0] + T[4, :, 0]
        loss = ((-lap - f) ** 2).mean()
        loss.backward()
        opt.step()
        return time.perf_counter() - t0

    return step


def compare(n: int, dtype: torch.dtype, steps: int, kan: KAN) -> tuple[float, float]:
    """Median step times (seconds) of the MLP and the KAN, interleaved."""
    mlp_step = make_step(MLP([2, 15, 15, 1], activation="tanh", seed=0), n, dtype)
    kan_step = make_step(kan, n, dtype)
    for _ in range(5):
        mlp_step(), kan_step()
    tm, tk = [], []
    for _ in range(steps):
        tm.append(mlp_step())
        tk.append(kan_step())
    return statistics.median(tm), statistics.median(tk)


def main() -> None:
    """Print KAN/MLP step-time ratios for each thread count, size and dtype."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--threads", type=int, nargs="+", default=None,
                    help="thread counts (default: 1 and torch's default)")
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    ap.add_argument("--nonuniform", action="store_true", help="also time a KAN with an adapted (non-uniform) grid")
    args = ap.parse_args()
    default_threads = torch.get_num_threads()
    kan = KAN([2, 10, 1], grid=5, k=3, seed=0)
    mlp = MLP([2, 15, 15, 1], seed=0)
    print(f"torch {torch.__version__}; KAN[2,10,1] G=5 k=3: {kan.count_params()} params; "
          f"MLP[2,15,15,1] tanh: {mlp.count_params()} params")
    variants = [("uniform", lambda: KAN([2, 10, 1], grid=5, k=3, seed=0))]
    if args.nonuniform:
        def adapted() -> KAN:
            m = KAN([2, 10, 1], grid=5, k=3, seed=0)
            m.update_grid(torch.rand(2000, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1, grid_eps=0.02)
            return m
        variants.append(("adapted", adapted))
    print(f"{'threads':>7} {'dtype':>8} {'N':>5} {'grid':>8} {'MLP ms':>8} {'KAN ms':>8} {'KAN/MLP':>8}")
    for threads in args.threads or sorted({1, default_threads}):
        torch.set_num_threads(threads)
        for dtype in (getattr(torch, name) for name in args.dtypes):
            for n in args.sizes:
                for name, build in variants:
                    tm, tk = compare(n, dtype, args.steps, build())
                    print(f"{threads:>7} {str(dtype)[6:]:>8} {n:>5} {name:>8} {tm * 1e3:>8.2f} {tk * 1e3:>8.2f} "
                          f"{tk / tm:>8.2f}")
    torch.set_num_threads(default_threads)


if __name__ == "__main__":
    main()
