"""The hard half of the catalog: each problem's recommended budget with and without its training methods.

Six problems (burgers1d, helmholtz2d, wave1d, allen_cahn1d, laplace_lshape, poisson2d_kan) x
{MLP, KAN} (the default models of ``kp.solve``) x {``plain``: the recommended budget with
``methods=[]``, ``recommended``: the budget as it stands, methods included} x seeds.
Each run is ``kp.solve(name, model=m, seed=s, threads=1)``, float64 on the CPU; rel L2 is
measured on the problem's evaluation set after the last epoch, and the time is the trainer's
own (``history.wall_time``, evaluation excluded).  On a busy machine wall time is inflated, so
the CPU time of the worker (``time.process_time``, includes the evaluations) is recorded too.

The ablation (``--ablation``) adds, for burgers1d and allen_cahn1d, one variant per recommended
method, ``minus-<Method>``: the recommended budget with that method removed (the rest unchanged).

Resumable: runs already in ``--out`` are skipped; the file is rewritten after every run, by the
driver alone.  ``--jobs N`` trains N runs at once in worker processes (one thread each).

    python benchmarks/hard.py --seeds 0,1,2 --jobs 2 --ablation --out benchmarks/results/hard.json \
        --table benchmarks/results/hard.md --figure docs/hard_convergence.png
    python benchmarks/hard.py --problems burgers1d,allen_cahn1d --models mlp --seeds 1 --ablation
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import torch
from make_docs_tables import log_spaced  # the rows make_docs --compact keeps, picked the same way

import kanpde as kp
from kanpde.suites import HARD_PROBLEMS, PLAIN_OVERRIDES

PROBLEMS = tuple(HARD_PROBLEMS)
MODELS = ("mlp", "kan")
VARIANTS = ("plain", "recommended")
#: problems of the ablation table (each recommended method removed in turn)
ABLATION = ("burgers1d", "allen_cahn1d")
#: log-spaced points of each run's rel L2 history kept in the results file (for the convergence figure)
HISTORY_POINTS = 40
#: issue 12's required rel L2 for the MLP with the recommended budget (<= 300 s of training)
TARGETS = {"burgers1d": 1e-3, "helmholtz2d": 1e-3, "wave1d": 5e-3, "allen_cahn1d": 1e-2, "laplace_lshape": 5e-3,
           "poisson2d_kan": 1e-3}


def run_key(problem: str, model: str, variant: str, seed: int) -> str:
    """The key identifying one run in the results file."""
    return f"{problem}/{model}/{variant}/{seed}"


def recommended_methods(problem: str) -> list[dict]:
    """The training methods of a problem's recommended budget, as plain data."""
    return [kp.methods.build(m).to_dict() for m in kp.get_problem(problem).budget.get("methods", [])]


def ablation_variants(problem: str) -> list[str]:
    """``minus-<Method>`` for every method of the problem's recommended budget (and ``minus-hard_constraints``
    when the budget imposes its conditions exactly)."""
    hard = ["minus-hard_constraints"] if _hard(problem) else []
    return [f"minus-{m['method']}" for m in recommended_methods(problem)] + hard


def thin(epochs: list[int], values: list[float], n: int = HISTORY_POINTS) -> dict[str, list]:
    """At most ``n`` log-spaced (epoch, value) pairs of a history, first and last kept."""
    if len(epochs) <= n:
        return {"epoch": list(epochs), "rel_l2": list(values)}
    idx = log_spaced(epochs, n)
    return {"epoch": [epochs[i] for i in idx], "rel_l2": [float(f"{values[i]:.4g}") for i in idx]}


def _hard(problem: str) -> bool:
    """Whether the problem's recommended budget imposes its conditions exactly."""
    return bool(kp.get_problem(problem).budget.get("hard_constraints"))


def plain_budget(budget: dict) -> bool:
    """Whether a budget has neither training methods nor hard constraints (its plain run is the run itself)."""
    return not budget.get("methods") and not budget.get("hard_constraints")


def is_plain(problem: str) -> bool:
    """Whether the problem's recommended budget is already a plain PINN (plain = recommended)."""
    return plain_budget(kp.get_problem(problem).budget)


def variant_overrides(problem: str, variant: str) -> dict:
    """The overrides of the recommended budget that make ``variant``."""
    if variant == "recommended":
        return {}
    if variant == "plain":
        return dict(PLAIN_OVERRIDES)
    known = ablation_variants(problem)
    if variant not in known:
        raise ValueError(f"variant must be one of {VARIANTS} or {known} for {problem}, got {variant!r}")
    if variant == "minus-hard_constraints":
        return {"hard_constraints": False}
    drop = variant.removeprefix("minus-")
    return {"methods": [m for m in recommended_methods(problem) if m["method"] != drop]}


def run_one(problem: str, model: str, variant: str, seed: int) -> dict:
    """Train one run and return its record (plain data)."""
    extra = variant_overrides(problem, variant)
    torch.set_num_threads(1)
    cpu0 = time.process_time()
    sol = kp.solve(problem, model=model, seed=seed, threads=1, progress=False, **extra)
    h = sol.history
    return {"problem": problem, "model": model, "variant": variant, "seed": seed,
            "rel_l2": h.rel_l2[-1], "best_rel_l2": min(h.rel_l2), "max_err": h.max_err[-1],
            "wall_time": h.wall_time[-1], "cpu_time": time.process_time() - cpu0, "epochs": h.epoch[-1],
            "params": h.n_params, "methods": [m.to_dict() for m in sol.config.methods],
            "hard_constraints": bool(sol.config.hard_constraints), "message": h.message,
            "history": thin(list(h.epoch), list(h.rel_l2))}


def table(results: dict[str, dict]) -> str:
    """A markdown table: median rel L2 and wall time over seeds per problem, model and variant."""
    lines = ["| problem | model | target | plain rel L2 | recommended rel L2 | met | recommended s (wall / cpu) "
             "| seeds |", "|---|---|---|---|---|---|---|---|"]
    for p in PROBLEMS:
        for m in MODELS:
            cells = {}
            for v in VARIANTS:
                rs = [r for r in results.values() if (r["problem"], r["model"], r["variant"]) == (p, m, v)]
                cells[v] = rs
            if not any(cells.values()):
                continue

            def med(rs, f):
                return statistics.median(r[f] for r in rs) if rs else None

            def fmt(x, spec=".2e"):
                return "-" if x is None else format(x, spec)

            rec = med(cells["recommended"], "rel_l2")
            met = "-" if rec is None else ("yes" if rec <= TARGETS[p] else "no")
            seeds = sorted({r["seed"] for v in VARIANTS for r in cells[v]})
            met = met if m == "mlp" else f"({met})"  # the target binds the MLP; the KAN is reported alongside
            wall, cpu = med(cells["recommended"], "wall_time"), med(cells["recommended"], "cpu_time")
            lines.append(f"| {p} | {m} | {TARGETS[p]:.0e} | {fmt(med(cells['plain'], 'rel_l2'))} | {fmt(rec)} | "
                         f"{met} | {fmt(wall, '.0f')} / {fmt(cpu, '.0f')} | {','.join(map(str, seeds))} |")
    return "\n".join(lines) + "\n"


def ablation_table(results: dict[str, dict]) -> str:
    """A markdown table: median rel L2 of the recommended budget, of each method removed in turn (and of
    ``plus-<Method>`` runs, recorded by hand from tuning: the budget with a method added)."""
    lines = ["| problem | model | variant | methods | rel L2 (median) | seeds |", "|---|---|---|---|---|---|"]
    for p in ABLATION:
        for m in MODELS:
            added = sorted({r["variant"] for r in results.values()
                            if r["problem"] == p and r["variant"].startswith("plus-")})
            for v in ("recommended", *ablation_variants(p), *added, "plain"):
                rs = [r for r in results.values() if (r["problem"], r["model"], r["variant"]) == (p, m, v)]
                if rs:
                    names = ", ".join([x["method"] for x in rs[0]["methods"]]
                                      + (["hard constraints"] if rs[0].get("hard_constraints") else [])) or "none"
                    lines.append(f"| {p} | {m} | {v} | {names} | {statistics.median(r['rel_l2'] for r in rs):.2e} "
                                 f"| {','.join(str(s) for s in sorted(r['seed'] for r in rs))} |")
    return "\n".join(lines) + "\n"


def figure(results: dict[str, dict], path: str | Path) -> None:
    """Convergence (rel L2 against epoch) per problem: the median over seeds of each model and variant, the
    seeds' range shaded, the issue's target dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probs = [p for p in PROBLEMS if any(r["problem"] == p and "history" in r for r in results.values())]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), squeeze=False)
    styles = {("mlp", "recommended"): ("C0", "-"), ("mlp", "plain"): ("C0", ":"),
              ("kan", "recommended"): ("C3", "-"), ("kan", "plain"): ("C3", ":")}
    for ax, p in zip(axes.flat, probs, strict=False):
        for (m, v), (color, ls) in styles.items():
            hs = [r["history"] for r in results.values()
                  if (r["problem"], r["model"], r["variant"]) == (p, m, v) and "history" in r]
            if not hs:
                continue
            grid = np.unique(np.concatenate([h["epoch"] for h in hs]))
            logs = np.array([np.interp(grid, h["epoch"], np.log(np.maximum(h["rel_l2"], 1e-300))) for h in hs])
            ax.plot(grid, np.exp(np.median(logs, 0)), color=color, ls=ls, lw=1.5,
                    label=f"{m.upper()} {v} ({len(hs)} seed{'s' * (len(hs) > 1)})")
            if len(hs) > 1:
                ax.fill_between(grid, np.exp(logs.min(0)), np.exp(logs.max(0)), color=color, alpha=0.12, lw=0)
        ax.axhline(TARGETS[p], color="k", ls="--", lw=0.8, label="target (MLP)")
        ax.set(xscale="log", yscale="log", title=p, xlabel="epoch", ylabel="rel L2")
        ax.grid(True, which="major", alpha=0.3)
    for ax in list(axes.flat)[len(probs):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Run the missing runs, keep the results file current, and write the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--ablation", action="store_true",
                    help=f"also run each recommended method removed in turn on {', '.join(ABLATION)}")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/hard.json")
    ap.add_argument("--table", default=None, help="also write the markdown table here")
    ap.add_argument("--figure", default=None, help="also draw the convergence figure here (PNG)")
    a = ap.parse_args(argv)
    specs = [(p, m, v, int(s)) for p in a.problems.split(",") for m in a.models.split(",")
             for v in a.variants.split(",") for s in a.seeds.split(",")]
    for p, m, v, _ in specs:
        if p not in PROBLEMS or m not in MODELS or (v not in VARIANTS and v not in ablation_variants(p)):
            raise SystemExit(f"unknown problem/model/variant {p}/{m}/{v}; known: {PROBLEMS}, {MODELS}, {VARIANTS} "
                             f"and minus-<method> for each method of the problem's budget")
    if a.ablation:
        specs += [(p, m, v, int(s)) for p in a.problems.split(",") if p in ABLATION for m in a.models.split(",")
                  for v in ablation_variants(p) for s in a.seeds.split(",")]
    out = Path(a.out)
    data = json.loads(out.read_text()) if out.exists() else {"machine": {}, "runs": {}}
    data["machine"] = {"platform": platform.platform(), "torch": torch.__version__, "threads": 1}
    for p, m, v, seed in specs:  # plain is the recommended run itself where the budget has nothing to take away
        rec = data["runs"].get(run_key(p, m, "recommended", seed))
        if v == "plain" and rec is not None and is_plain(p) and run_key(p, m, v, seed) not in data["runs"]:
            data["runs"][run_key(p, m, v, seed)] = {**rec, "variant": "plain", "same_as": "recommended"}
    todo = [s for s in specs if run_key(*s) not in data["runs"]]
    print(f"{len(specs) - len(todo)} runs done, {len(todo)} to go", flush=True)

    def save(rec: dict) -> None:
        data["runs"][run_key(rec["problem"], rec["model"], rec["variant"], rec["seed"])] = rec
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=1, sort_keys=True))
        print(f"{run_key(rec['problem'], rec['model'], rec['variant'], rec['seed'])}: rel L2 {rec['rel_l2']:.2e}, "
              f"{rec['wall_time']:.0f} s wall, {rec['cpu_time']:.0f} s cpu", flush=True)

    if a.jobs <= 1:
        for s in todo:
            save(run_one(*s))
    else:
        with ProcessPoolExecutor(a.jobs) as ex:
            for fut in as_completed([ex.submit(run_one, *s) for s in todo]):
                save(fut.result())
    md = table(data["runs"]) + "\n" + ablation_table(data["runs"])
    print(md)
    if a.table:
        Path(a.table).write_text(md)
    if a.figure:
        figure(data["runs"], a.figure)


if __name__ == "__main__":
    main()
