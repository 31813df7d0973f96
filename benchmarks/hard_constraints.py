"""Hard constraints vs soft boundary terms: rel L2 and the boundary error, with each problem's budget.

Three problems (poisson2d, poisson_disk, heat1d) x {MLP, KAN} (the default models of ``kp.solve``)
x {``soft``: the recommended budget as it stands, ``hard``: the same with ``hard_constraints=True``}
x seeds.  Each run is ``kp.solve(name, model=m, seed=s, threads=1[, hard_constraints=True])``,
float64 on the CPU.  rel L2 is measured on the problem's evaluation set after the last epoch; the
boundary error is the largest ``|u - u_exact|`` on 2 000 boundary points (and, for heat1d, 2 000
points of the initial slice) drawn with the geometry's own samplers.  The table gives medians over
seeds (the hard boundary error: the largest over seeds).

Resumable: runs already in ``--out`` are skipped; the file is rewritten after every run.

    nice python benchmarks/hard_constraints.py --seeds 0 --out benchmarks/results/hard_constraints.json
    python benchmarks/hard_constraints.py --table
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import kanpde as kp
from kanpde.geometry import SpaceTime

PROBLEMS = ("poisson2d", "poisson_disk", "heat1d")
MODELS = ("mlp", "kan")
VARIANTS = ("soft", "hard")


def boundary_error(sol: kp.Solution) -> float:
    """Largest ``|u - u_exact|`` on boundary (and initial-slice) samples of the solution's problem."""
    p = sol.problem
    rng = np.random.default_rng(7)
    xs = [p.domain.sample_boundary(2000, "uniform", rng)[0]]
    if isinstance(p.domain, SpaceTime):
        xs.append(p.domain.sample_initial(2000, "uniform", rng))
    x = np.concatenate(xs)
    u = sol(x)
    return float(np.abs(u - p.truth(x).reshape(u.shape)).max())


def run_one(problem: str, model: str, variant: str, seed: int) -> dict:
    """Train one run and return its record."""
    torch.set_num_threads(1)
    extra = {"hard_constraints": True} if variant == "hard" else {}
    cpu0 = time.process_time()
    sol = kp.solve(problem, model=model, seed=seed, threads=1, progress=False, **extra)
    h = sol.history
    return {"problem": problem, "model": model, "variant": variant, "seed": seed, "rel_l2": h.rel_l2[-1],
            "max_err": h.max_err[-1], "boundary_err": boundary_error(sol), "wall_time": h.wall_time[-1],
            "cpu_time": time.process_time() - cpu0, "epochs": h.epoch[-1], "params": h.n_params,
            "terms": sorted(h.terms), "message": h.message}


def table(runs: list[dict]) -> str:
    """Markdown table: per problem and model, median over seeds of rel L2 and boundary error, soft vs hard."""
    import statistics

    rows = ["| problem | model | seeds | rel L2 soft | rel L2 hard | boundary error soft | boundary error hard | "
            "training s soft / hard |", "|---|---|---|---|---|---|---|---|"]
    for problem in PROBLEMS:
        for model in MODELS:
            got = {v: [r for r in runs if (r["problem"], r["model"], r["variant"]) == (problem, model, v)]
                   for v in VARIANTS}
            if not all(got.values()):
                continue

            def med(v, key, got=got):
                return statistics.median(r[key] for r in got[v])

            seeds = sorted({r["seed"] for r in got["soft"]} & {r["seed"] for r in got["hard"]})
            rows.append(f"| {problem} | {model} | {','.join(map(str, seeds))} | {med('soft', 'rel_l2'):.2e} | "
                        f"{med('hard', 'rel_l2'):.2e} | {med('soft', 'boundary_err'):.1e} | "
                        f"{max(r['boundary_err'] for r in got['hard']):.1e} | {med('soft', 'wall_time'):.0f} / "
                        f"{med('hard', 'wall_time'):.0f} |")
    return "\n".join(rows)


def main() -> None:
    """Run the missing runs and rewrite the results file after each."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default="benchmarks/results/hard_constraints.json")
    ap.add_argument("--table", action="store_true", help="print the Markdown table of --out and exit")
    a = ap.parse_args()
    out = Path(a.out)
    data = json.loads(out.read_text()) if out.exists() else {"runs": []}
    if a.table:
        print(table(data["runs"]))
        return
    data["machine"] = {"python": platform.python_version(), "torch": torch.__version__,
                       "processor": platform.processor() or platform.machine()}
    data["command"] = f"python benchmarks/hard_constraints.py --seeds {a.seeds}"
    done = {(r["problem"], r["model"], r["variant"], r["seed"]) for r in data["runs"]}
    for seed in [int(s) for s in a.seeds.split(",")]:
        for problem in a.problems.split(","):
            for model in a.models.split(","):
                for variant in VARIANTS:
                    if (problem, model, variant, seed) in done:
                        continue
                    rec = run_one(problem, model, variant, seed)
                    data["runs"].append(rec)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(json.dumps(data, indent=1))
                    print(f"{problem:13s} {model:4s} {variant:5s} seed {seed}: rel L2 {rec['rel_l2']:.2e}, boundary "
                          f"{rec['boundary_err']:.1e}, {rec['wall_time']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
