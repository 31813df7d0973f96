"""Accuracy of small KANs against equal-parameter MLPs on two problems, under a fixed budget.

* ``exp_decay`` (y' = -y, y(0) = 1 on [0, 2]): KAN[1,1] G=10 k=3 (15 parameters), target
  rel L2 <= 1e-5; MLP[1,5,1] (16 parameters) with the same training configuration.
* ``poisson2d`` (-lap u = 2 pi^2 sin(pi x) sin(pi y) on [-1,1]^2, u = 0 on the boundary):
  KAN[2,10,1] k=3 with grid extension 5 -> 10 -> 20 (750 parameters at G=20), target rel L2
  <= 1e-3 within 60 s of training wall time (``max_time`` caps the run); MLP[2,25,25,1]
  (751 parameters) with the same points, weights, optimizer, epochs and time cap.

Everything runs in one process, float64, fixed seeds; rel L2 is measured on the problem's
evaluation set after the last epoch.  Wall time is the trainer's own (``history.wall_time``,
evaluation excluded), so it depends on machine load: read it together with the epochs done.

    python benchmarks/kan_accuracy.py --seeds 0,1,2 --threads 1 --out benchmarks/results/kan_accuracy.json
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

import kanpde as kp

#: one entry per benchmark case: problem, model name, widths, model options, training options, target
EXP_DECAY = {"epochs": 300, "optimizer": "lbfgs"}
POISSON2D = {
    "epochs": 6000, "optimizer": "lbfgs", "max_time": 60.0, "n_interior": 2000,
    # the boundary term is tiny next to the PDE residual (scale 2 pi^2); unweighted, the
    # boundary error dominates rel L2 (6e-3 with weight 1, 7e-4 with 100, 5e-4 with 1000 at 1500 epochs)
    "weights": {"dirichlet": 1000.0},
}
POISSON2D_KAN = {"grid_schedule": {0: 5, 1000: 10, 2500: 20}, "update_grid_every": 50, "update_grid_until": 900}

CASES = [
    {"problem": "exp_decay", "model": "kan", "widths": [1, 1], "model_args": {"grid": 10, "k": 3},
     "train": EXP_DECAY, "target": 1e-5, "max_time": None},
    {"problem": "exp_decay", "model": "mlp", "widths": [1, 5, 1], "model_args": {},
     "train": EXP_DECAY, "target": 1e-5, "max_time": None},
    {"problem": "poisson2d", "model": "kan", "widths": [2, 10, 1], "model_args": {"grid": 5, "k": 3},
     "train": {**POISSON2D, **POISSON2D_KAN}, "target": 1e-3, "max_time": 60.0},
    {"problem": "poisson2d", "model": "mlp", "widths": [2, 25, 25, 1], "model_args": {},
     "train": POISSON2D, "target": 1e-3, "max_time": 60.0},
]


def run_case(case: dict, seed: int, threads: int) -> dict:
    """Train one case with one seed; return the figures of the run."""
    sol = kp.solve(case["problem"], model=case["model"], widths=case["widths"], seed=seed, threads=threads,
                   progress=False, **case["model_args"], **case["train"])
    h = sol.history
    rel, wall = h.rel_l2[-1], h.wall_time[-1]
    met = rel <= case["target"] and (case["max_time"] is None or wall <= case["max_time"] * 1.001)
    return {"problem": case["problem"], "model": case["model"], "widths": case["widths"],
            "model_args": case["model_args"], "seed": seed, "params": h.n_params, "epochs": h.epoch[-1],
            "wall_time": wall, "rel_l2": rel, "max_err": h.max_err[-1], "target": case["target"],
            "met": bool(met), "message": h.message}


def main(argv: list[str] | None = None) -> dict:
    """Run every case for every seed, print a table and return the results."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--problems", default="exp_decay,poisson2d", help="comma-separated subset of the problems")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    wanted = args.problems.split(",")

    rows = []
    print(f"{'problem':<10} {'model':<16} {'params':>6} {'seed':>4} {'epochs':>6} {'wall s':>7} {'rel L2':>9} "
          f"{'target':>7} {'met':>4}")
    for case in (c for c in CASES if c["problem"] in wanted):
        name = f"{case['model'].upper()}{case['widths']}".replace(" ", "")
        for seed in seeds:
            r = run_case(case, seed, args.threads)
            rows.append(r)
            print(f"{r['problem']:<10} {name:<16} {r['params']:>6} {seed:>4} {r['epochs']:>6} {r['wall_time']:7.1f} "
                  f"{r['rel_l2']:9.2e} {r['target']:7.0e} {'yes' if r['met'] else 'NO':>4}", flush=True)
    summary = []
    for case in (c for c in CASES if c["problem"] in wanted):
        rs = [r for r in rows if r["problem"] == case["problem"] and r["model"] == case["model"]]
        summary.append({"problem": case["problem"], "model": case["model"], "widths": case["widths"],
                        "params": rs[0]["params"], "worst_rel_l2": max(r["rel_l2"] for r in rs),
                        "best_rel_l2": min(r["rel_l2"] for r in rs),
                        "max_wall_time": max(r["wall_time"] for r in rs), "all_met": all(r["met"] for r in rs)})
    print("\nworst seed per case:")
    for s in summary:
        print(f"  {s['problem']:<10} {s['model']:<4} {s['params']:>5} params: rel L2 {s['worst_rel_l2']:.2e} "
              f"(best {s['best_rel_l2']:.2e}), max wall {s['max_wall_time']:.1f} s, target met on every seed: "
              f"{'yes' if s['all_met'] else 'no'}")
    result = {"benchmark": "kan_accuracy", "dtype": "float64", "threads": args.threads, "seeds": seeds,
              "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
              "cases": [{k: v for k, v in c.items()} for c in CASES if c["problem"] in wanted],
              "rows": rows, "summary": summary}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
