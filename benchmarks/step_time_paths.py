"""Step time of a PINN on poisson2d: KAN[2,10,1] G=5 k=3 vs an MLP with the same parameter count.

One step = forward (with the Laplacian), loss, backward, Adam step, through the trainer's own
step (the code path `kp.train` runs).  Median of `--reps` steps after warm-up, per point count
and thread setting, all in one process; the KAN/MLP ratio is what to read.  Also times the
classic double-backward autograd Laplacian (`derivatives="autograd"`) for both models, and the
ratio of each model's faster path (`best/best`: what `derivatives="auto"` gives).

    python benchmarks/step_time_paths.py --out benchmarks/results/step_time.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

import kanpde as kp
from kanpde.train import Run


def matched_mlp_width(target: int) -> int:
    """Hidden width h of MLP[2, h, h, 1] whose parameter count is closest to ``target``."""
    return min(range(2, 400), key=lambda h: abs(h * h + 5 * h + 1 - target))


def step_time(model: torch.nn.Module, n: int, reps: int, warmup: int, derivatives: str, dtype: str) -> float:
    """Median seconds of one training step on poisson2d with ``n`` interior points."""
    prob = kp.get_problem("poisson2d")
    cfg = kp.TrainConfig(epochs=reps + warmup, optimizer="adam", lr=1e-3, n_interior=n, progress=False,
                         derivatives=derivatives, dtype=dtype)
    run = Run(prob, model, cfg, ())
    times = []
    for i in range(reps + warmup):
        t = time.perf_counter()
        run.step()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    """Run the grid of measurements, print a table and return the results."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", default="1000,4000,16000", help="comma-separated interior point counts")
    ap.add_argument("--threads", default="1,all", help="comma-separated thread counts ('all' = every core)")
    ap.add_argument("--reps", type=int, default=30, help="timed steps per measurement (median reported)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)

    all_threads = torch.get_num_threads()
    kan = kp.KAN([2, 10, 1], grid=5, k=3, seed=0)
    h = matched_mlp_width(kan.count_params())
    mlp = kp.MLP([2, h, h, 1], seed=0)
    rows = []
    print(f"KAN[2,10,1] G=5 k=3: {kan.count_params()} params; MLP[2,{h},{h},1]: {mlp.count_params()} params; "
          f"{args.dtype}")
    print(f"{'threads':>7} {'points':>7} {'KAN ms':>8} {'MLP ms':>8} {'ratio':>6} {'KAN ag ms':>9} {'MLP ag ms':>9} "
          f"{'ag ratio':>8} {'best/best':>9}")
    for th in args.threads.split(","):
        nth = all_threads if th == "all" else int(th)
        torch.set_num_threads(nth)
        for n in (int(p) for p in args.points.split(",")):
            reps = args.reps if n <= 4000 else max(10, args.reps // 3)
            t = {f"{name}_{d}": step_time(m, n, reps, args.warmup, d, args.dtype)
                 for d in ("jet", "autograd") for name, m in (("kan", kan), ("mlp", mlp))}
            row = {"threads": nth, "points": n, **{k: v * 1e3 for k, v in t.items()},
                   "ratio": t["kan_jet"] / t["mlp_jet"], "ratio_autograd": t["kan_autograd"] / t["mlp_autograd"],
                   "ratio_best": min(t["kan_jet"], t["kan_autograd"]) / min(t["mlp_jet"], t["mlp_autograd"])}
            rows.append(row)
            print(f"{nth:>7} {n:>7} {row['kan_jet']:8.2f} {row['mlp_jet']:8.2f} {row['ratio']:6.2f} "
                  f"{row['kan_autograd']:9.2f} {row['mlp_autograd']:9.2f} {row['ratio_autograd']:8.2f} "
                  f"{row['ratio_best']:9.2f}")
    torch.set_num_threads(all_threads)
    result = {"benchmark": "step_time", "problem": "poisson2d", "kan": "KAN[2,10,1] G=5 k=3",
              "kan_params": kan.count_params(), "mlp": f"MLP[2,{h},{h},1]", "mlp_params": mlp.count_params(),
              "dtype": args.dtype, "torch": torch.__version__, "python": platform.python_version(),
              "machine": platform.machine(), "unit": "ms per step (median)", "rows": rows}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
