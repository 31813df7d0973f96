"""Step time of every model of the KAN family on poisson2d, each against the MLP of equal parameters.

One step = forward (with the Laplacian), loss, backward, Adam step, through the trainer's own step
(the code path `kp.train` runs, with the default `derivatives="auto"`: forward jets for the KANs
and bsmlp, double-backward autograd for the MLPs).  Steps of all models are interleaved, one step
of each in turn, so that load from other processes hits them alike; each time is the median of
`--reps` steps after warm-up, and the ratios (member / MLP of equal parameters) are what to read.
`--clock cpu` times each step by the CPU time of the (single) computing thread instead of the wall
clock: on a machine shared with other jobs it leaves out the time the step waits for a core, which
otherwise dominates the spread (with more than one torch thread, use the wall clock).

Members: KAN[2,10,1] with every basis at its default size (B-spline G=5 k=3, Chebyshev and
Legendre degree 7, RBF G=7, Fourier 4 frequencies: 10 parameters per edge each), bsmlp, the Fourier-feature MLP (16
features) and the adaptive-activation MLP, each with the plain MLP[2,h,h,1] whose parameter count
is closest to its own.  `--grids` also times the B-spline and RBF KANs at G = 5, 10, 20, 40
(interleaved the same way) and reports each time over the G = 5 time.

    python benchmarks/step_time.py --threads 1 --reps 60 --clock cpu --out benchmarks/results/step_time_family.json

`--paths 1000,4000,16000` also times the B-spline KAN[2,10,1] and MLP[2,15,15,1] with forward-jet
derivatives and with double-backward autograd at those point counts (the two derivative paths
behind `derivatives="auto"`; `best/best` compares each model's faster one).
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
from kanpde.models import build_model
from kanpde.train import Run


def matched_mlp_width(target: int) -> int:
    """Hidden width h of MLP[2, h, h, 1] whose parameter count is closest to ``target``."""
    return min(range(2, 400), key=lambda h: abs(h * h + 5 * h + 1 - target))


def members() -> dict[str, torch.nn.Module]:
    """The family at its default sizes (seed 0)."""
    bases = ("bspline", "chebyshev", "legendre", "rbf", "fourier")
    out = {f"KAN {b}": kp.KAN([2, 10, 1], basis=b, seed=0) for b in bases}
    out["bsmlp [2,8,8,1]"] = build_model("bsmlp", 2, 1, [2, 8, 8, 1], seed=0)
    out["MLP + 16 Fourier features"] = kp.MLP([2, 10, 10, 1], seed=0, fourier_features=16, sigma=1.0)
    out["adaptive MLP"] = build_model("adaptive_mlp", 2, 1, [2, 15, 15, 1], seed=0)
    return out


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def interleaved(models: dict[str, torch.nn.Module], n: int, reps: int, warmup: int, dtype: str,
                clock: str = "wall") -> dict[str, float]:
    """Median seconds per training step of each model on poisson2d with ``n`` interior points."""
    prob = kp.get_problem("poisson2d")
    runs = {}
    for name, m in models.items():
        cfg = kp.TrainConfig(epochs=reps + warmup, optimizer="adam", lr=1e-3, n_interior=n, progress=False,
                             dtype=dtype)
        runs[name] = Run(prob, m, cfg, ())
    times: dict[str, list[float]] = {name: [] for name in runs}
    now = CLOCKS[clock]
    for i in range(reps + warmup):
        for name, run in runs.items():
            t = now()
            run.step()
            if i >= warmup:
                times[name].append(now() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def step_time(model: torch.nn.Module, n: int, reps: int, warmup: int, derivatives: str, dtype: str) -> float:
    """Median seconds of one training step on poisson2d with ``n`` interior points and one derivative path."""
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


def paths(points: list[int], reps: int, warmup: int, dtype: str) -> list[dict]:
    """KAN[2,10,1] (B-spline) and MLP[2,15,15,1] with jets and with autograd at each point count."""
    kan, mlp = kp.KAN([2, 10, 1], grid=5, k=3, seed=0), kp.MLP([2, 15, 15, 1], seed=0)
    rows = []
    print(f"\n{'points':>7} {'KAN jet':>8} {'MLP jet':>8} {'KAN ag':>8} {'MLP ag':>8} {'best/best':>9}   (ms)")
    for n in points:
        r = reps if n <= 4000 else max(10, reps // 3)
        t = {f"{name}_{d}": step_time(m, n, r, warmup, d, dtype) * 1e3
             for d in ("jet", "autograd") for name, m in (("kan", kan), ("mlp", mlp))}
        best = min(t["kan_jet"], t["kan_autograd"]) / min(t["mlp_jet"], t["mlp_autograd"])
        row = {"points": n, **t, "ratio_best": best}
        rows.append(row)
        print(f"{n:>7} {t['kan_jet']:8.2f} {t['mlp_jet']:8.2f} {t['kan_autograd']:8.2f} {t['mlp_autograd']:8.2f} "
              f"{row['ratio_best']:9.2f}")
    return rows


def main(argv: list[str] | None = None) -> dict:
    """Run the measurements, print the tables and return the results."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1000, help="interior points")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--reps", type=int, default=30, help="timed steps per model (median reported)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--grids", default="5,10,20,40", help="grid sizes for the B-spline/RBF cost in G ('' to skip)")
    ap.add_argument("--paths", default="", help="point counts for the jet/autograd table (e.g. 1000,4000,16000)")
    ap.add_argument("--clock", default="wall", choices=sorted(CLOCKS),
                    help="time steps by the wall clock or by the computing thread's CPU time")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)

    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    fam = members()
    models: dict[str, torch.nn.Module] = {}
    pairs = {}
    for name, m in fam.items():
        h = matched_mlp_width(m.count_params())
        mlp_name = f"MLP[2,{h},{h},1]"
        models[name] = m
        models.setdefault(mlp_name, kp.MLP([2, h, h, 1], seed=0))
        pairs[name] = mlp_name
    if args.clock == "cpu" and args.threads != 1:
        ap.error(f"--clock cpu times one thread; it needs --threads 1, got {args.threads}")
    t = interleaved(models, args.points, args.reps, args.warmup, args.dtype, args.clock)
    rows = []
    print(f"poisson2d, {args.points} points, {args.dtype}, {args.threads} thread(s), median of {args.reps} steps, "
          f"{args.clock} clock")
    print(f"{'member':<28} {'params':>6} {'ms':>7} {'MLP of equal params':<18} {'params':>6} {'ms':>7} {'ratio':>6}")
    for name, mlp_name in pairs.items():
        row = {"member": name, "params": fam[name].count_params(), "ms": t[name] * 1e3, "mlp": mlp_name,
               "mlp_params": models[mlp_name].count_params(), "mlp_ms": t[mlp_name] * 1e3,
               "ratio": t[name] / t[mlp_name]}
        rows.append(row)
        print(f"{name:<28} {row['params']:>6} {row['ms']:7.2f} {mlp_name:<18} {row['mlp_params']:>6} "
              f"{row['mlp_ms']:7.2f} {row['ratio']:6.2f}")
    grid_rows = []
    grids = [int(g) for g in args.grids.split(",") if g]
    if grids:
        gm = {f"{b} G={G}": kp.KAN([2, 10, 1], basis=b, grid=G, seed=0) for b in ("bspline", "rbf") for G in grids}
        tg = interleaved(gm, args.points, args.reps, args.warmup, args.dtype, args.clock)
        print(f"\n{'basis':<8} " + " ".join(f"{'G=' + str(G):>8}" for G in grids) + "   (ms; ratio to the first)")
        for b in ("bspline", "rbf"):
            base = tg[f"{b} G={grids[0]}"]
            row = {"basis": b, **{f"G={G}": tg[f"{b} G={G}"] * 1e3 for G in grids},
                   **{f"ratio G={G}": tg[f"{b} G={G}"] / base for G in grids}}
            grid_rows.append(row)
            print(f"{b:<8} " + " ".join(f"{tg[f'{b} G={G}'] * 1e3:8.2f}" for G in grids) + "   "
                  + " ".join(f"{tg[f'{b} G={G}'] / base:5.2f}" for G in grids))
    path_rows = paths([int(p) for p in args.paths.split(",") if p], args.reps, args.warmup, args.dtype)
    torch.set_num_threads(threads)
    result = {"benchmark": "step_time", "problem": "poisson2d", "points": args.points, "dtype": args.dtype,
              "threads": args.threads, "reps": args.reps, "clock": args.clock, "torch": torch.__version__,
              "python": platform.python_version(), "machine": platform.machine(),
              "unit": "ms per step (median)", "rows": rows, "grid_rows": grid_rows,
              "path_rows": path_rows}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
