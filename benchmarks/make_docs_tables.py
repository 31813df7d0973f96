"""The generated blocks of the documentation, one function per block, each made from benchmarks/results.

Used by ``benchmarks/make_docs.py`` (which finds the blocks in the pages, checks and rewrites
them); every function takes the repository root and returns the block's Markdown.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

RESULTS = Path("benchmarks") / "results"


# -- formatting -------------------------------------------------------------------------------
def _e(v: float | None, digits: int = 2) -> str:
    """``1.23e-04`` style, '—' for a missing value."""
    return "—" if v is None or not math.isfinite(v) else f"{v:.{digits}e}"


def _short_e(v: float) -> str:
    """``1.20e-6`` style (no zero padding in the exponent)."""
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", f"{v:.2e}").replace("e+", "e")


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _points(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def log_spaced(epochs: list, n: int) -> list[int]:
    """Indices of the rows nearest ``n`` log-spaced epochs, the first and last row always kept."""
    import numpy as np

    ep = np.asarray(epochs, dtype=float)
    want = np.geomspace(max(ep[0], 1.0), ep[-1], n)
    return sorted({int(np.argmin(abs(ep - w))) for w in want} | {0, len(ep) - 1})


def _load_json(root: Path, name: str) -> dict:
    path = root / RESULTS / name
    if not path.is_file():
        raise FileNotFoundError(f"results file {path} is missing; its command is in benchmarks/make_docs.py")
    return json.loads(path.read_text())


def suite_file(root: Path, suite: str) -> Path:
    """benchmarks/results/<suite>.jsonl, or <suite>.jsonl.gz (a compacted large suite) if that is the one there."""
    plain = root / RESULTS / f"{suite}.jsonl"
    packed = plain.with_name(plain.name + ".gz")
    return packed if packed.is_file() and not plain.is_file() else plain


def load_suite(root: Path, suite: str):
    """The committed runs of ``suite`` (benchmarks/results/<suite>.jsonl or .jsonl.gz) as a Results set."""
    from kanpde.results import load

    path = suite_file(root, suite)
    if not path.is_file():
        raise FileNotFoundError(f"results file {path} is missing: run `kanpde bench {suite} --out runs/{suite}` "
                                f"and `python benchmarks/make_docs.py --add runs/{suite}`")
    return load(path)


# -- the blocks -------------------------------------------------------------------------------
def quick_table(root: Path) -> str:
    """The README's short table of the quick suite."""
    from kanpde.results import summarize

    rows = []
    for r in summarize(load_suite(root, "quick")):
        name = f"{r['model'].upper()} {r['widths']}"
        if r.get("match_by"):
            name += f" (= {'params' if r['match_by'] == 'params' else 'FLOPs'})"
        ep = r["epochs_to_1e-3"]
        rows.append([r["problem"], name, str(r["n_params"]), str(r["n_flops"]),
                     f"{_e(r['rel_l2'])} [{_e(r['rel_l2_min'])}, {_e(r['rel_l2_max'])}]"
                     + (f" ({r['diverged']} diverged)" if r["diverged"] else ""),
                     "never" if not math.isfinite(ep) else f"{ep:.0f}"])
    return _table(["problem", "model", "params", "FLOPs", "rel L2 median [min, max]", "epochs to 1e-3"], rows)


def suite_report(suite: str) -> Callable[[Path], str]:
    """The full summary table of a committed suite (the table `kanpde bench` prints)."""
    def make(root: Path) -> str:
        from kanpde.results import format_table, summarize

        return format_table(summarize(load_suite(root, suite)), markdown=True)

    return make


def verdict_report(suite: str) -> Callable[[Path], str]:
    """Per problem of a committed suite: winner, runner-up and whether the gap exceeds the seed spread."""
    def make(root: Path) -> str:
        from kanpde.verdict import format_verdict, verdict

        res = load_suite(root, suite)
        rows = verdict(res)
        seeds = sorted({r["seed"] for r in res})
        return (format_verdict(rows) + f"\n\n*{len(res)} runs on {len(rows)} problems, seeds "
                f"{', '.join(map(str, seeds))}; from `{RESULTS}/{suite_file(root, suite).name}`.*")

    return make


def ratios_report(suite: str) -> Callable[[Path], str]:
    """Per problem of a committed suite: each model's median rel L2 over the equal-params MLP's."""
    def make(root: Path) -> str:
        from kanpde.verdict import format_ratios, ratios

        return format_ratios(ratios(load_suite(root, suite)))

    return make


def tally_report(suite: str, by: str = "params") -> Callable[[Path], str]:
    """Across the problems of a committed suite: who wins how often, each model against the MLP matched ``by``."""
    def make(root: Path) -> str:
        from kanpde.verdict import format_tally, matched_mlp, tally

        res = load_suite(root, suite)
        label = matched_mlp(res, by)
        if not label:
            raise ValueError(f"block {suite}-tally{'-flops' if by == 'flops' else ''}: suite {suite!r} has no MLP "
                             f"matched by {by} (a model entry with \"match\" and \"by\": \"{by}\")")
        return format_tally(tally(res, label), winners=by == "params")

    return make


def _best(row: dict, model: str) -> float:
    return min(row[f"{model}_jet"], row[f"{model}_autograd"])


def step_time(root: Path) -> str:
    """Every row of step_time.json: both models, both derivative paths, the ratios."""
    data = _load_json(root, "step_time.json")
    rows = [[str(r["threads"]), str(r["points"]), f"{r['kan_jet']:.2f}", f"{r['mlp_jet']:.2f}",
             f"{r['kan_autograd']:.2f}", f"{r['mlp_autograd']:.2f}",
             f"**{_best(r, 'kan') / _best(r, 'mlp'):.2f}**", f"{r['kan_autograd'] / r['mlp_autograd']:.2f}"]
            for r in data["rows"]]
    return _table(["threads", "points", "KAN jet ms", "MLP jet ms", "KAN autograd ms", "MLP autograd ms",
                   "KAN/MLP best/best", "KAN/MLP both autograd"], rows)


def step_time_family(root: Path) -> str:
    """Every member of the family against the MLP of equal parameters, from step_time_family.json."""
    data = _load_json(root, "step_time_family.json")
    rows = [[r["member"], str(r["params"]), f"{r['ms']:.2f}", r["mlp"], str(r["mlp_params"]), f"{r['mlp_ms']:.2f}",
             f"**{r['ratio']:.2f}**"] for r in data["rows"]]
    return _table(["member", "params", "ms", "MLP of equal params", "params", "ms", "member / MLP"], rows)


def step_time_grid(root: Path) -> str:
    """B-spline and RBF step time at growing grid sizes, from step_time_family.json."""
    data = _load_json(root, "step_time_family.json")
    sizes = [k[2:] for k in data["grid_rows"][0] if k.startswith("G=")]
    rows = [[r["basis"], *[f"{r['G=' + g]:.2f}" for g in sizes],
             *[f"**{r['ratio G=' + g]:.2f}**" for g in sizes[1:]]] for r in data["grid_rows"]]
    return _table(["basis", *[f"G = {g} ms" for g in sizes], *[f"G = {g} / G = {sizes[0]}" for g in sizes[1:]]], rows)


def step_time_summary(root: Path) -> str:
    """The README's table: each model's faster path, per point count and thread count."""
    data = _load_json(root, "step_time.json")
    threads = sorted({r["threads"] for r in data["rows"]})
    points = sorted({r["points"] for r in data["rows"]})
    at = {(r["threads"], r["points"]): r for r in data["rows"]}
    rows = []
    for p in points:
        cells = [_points(p)]
        for t in threads:
            r = at.get((t, p))
            if r is None:
                cells.append("—")
                continue
            kan, mlp = _best(r, "kan"), _best(r, "mlp")
            cells.append(f"{kan:.3g} / {mlp:.3g} ms = **{kan / mlp:.2f}**")
        rows.append(cells)
    return _table(["points"] + [f"{t} thread{'s' if t > 1 else ''}: KAN / MLP" for t in threads], rows)


def vs_pykan(root: Path) -> str:
    """Every row of vs_pykan.json."""
    data = _load_json(root, "vs_pykan.json")
    rows = [[r["dtype"], f"{r['kanpde_ms']:.2f}", f"{r['pykan_ms']:.1f}", f"{r['pykan_default_ms']:.1f}",
             f"{r['mlp_ms']:.2f}", f"**{r['pykan_ms'] / r['kanpde_ms']:.1f}x**",
             f"{r['pykan_ms'] / r['mlp_ms']:.1f}x", f"{r['pykan_default_ms'] / r['mlp_ms']:.1f}x",
             f"{r['kanpde_ms'] / r['mlp_ms']:.2f}"] for r in data["rows"]]
    return _table(["dtype", "kanpde ms", "pykan ms (fit mode)", "pykan ms (defaults)", "MLP ms", "pykan / kanpde",
                   "pykan / MLP", "pykan defaults / MLP", "kanpde / MLP"], rows)


def vs_pykan_summary(root: Path) -> str:
    """The README's sentence on kanpde vs pykan."""
    data = _load_json(root, "vs_pykan.json")
    by = {r["dtype"]: r for r in data["rows"]}
    f64, f32 = by["float64"], by["float32"]
    over_mlp = sorted(r[k] / r["mlp_ms"] for r in data["rows"] for k in ("pykan_ms", "pykan_default_ms"))
    text = (f"The same KAN step in pykan {data['pykan']} takes {f64['pykan_ms']:.1f} ms against kanpde's "
            f"{f64['kanpde_ms']:.2f} ms (**{f64['pykan_ms'] / f64['kanpde_ms']:.1f}x**, float64, "
            f"{_points(data['n_interior'])} points, pykan in the mode its own `fit` uses; "
            f"{f64['pykan_default_ms'] / f64['kanpde_ms']:.0f}x against its defaults); in float32 the margin is "
            f"{f32['pykan_ms'] / f32['kanpde_ms']:.1f}x (`pip install -e \".[compare]\" && python "
            f"benchmarks/vs_pykan.py --threads {data['threads']}`). pykan's step is "
            f"{over_mlp[0]:.0f}–{over_mlp[-1]:.0f}x an equal-size MLP step there.")
    return textwrap.fill(text, width=100, break_on_hyphens=False)


def mlp_derivative_paths(root: Path) -> str:
    """Why the MLP defaults to autograd: its forward jet's time over its double backward's, from step_time.json."""
    data = _load_json(root, "step_time.json")
    rows = [[str(r["threads"]), str(r["points"]), f"{r['mlp_jet']:.2f}", f"{r['mlp_autograd']:.2f}",
             f"**{r['mlp_jet'] / r['mlp_autograd']:.2f}**"] for r in data["rows"]]
    return _table(["threads", "points", "MLP jet ms", "MLP autograd ms", "jet / autograd"], rows)


def _span(records: list[dict]) -> float:
    """Seconds during which at least one run was in flight (a suite resumed later does not count the pause)."""
    from datetime import datetime

    spans = sorted((t, t + r["elapsed"]) for r in records
                   for t in [datetime.fromisoformat(r["started"]).timestamp()])
    total, end = 0.0, -math.inf
    for a, b in spans:
        total += max(0.0, b - max(a, end))
        end = max(end, b)
    return total


def suite_runs(root: Path) -> str:
    """One line per committed suite run: runs, how long the command took, training seconds."""
    from kanpde.results import load

    rows = []
    for path in sorted([*(root / RESULTS).glob("*.jsonl"), *(root / RESULTS).glob("*.jsonl.gz")]):
        res = load(path)
        recs = res.records
        dtypes = sorted({r["config"].get("dtype", "") for r in recs})
        rows.append([f"`{path.name}`", str(len(recs)), f"{_span(recs):.0f}",
                     f"{sum(r['final']['wall_time'] for r in recs):.0f}", ", ".join(dtypes),
                     recs[0]["env"].get("torch", "")])
    return _table(["results file", "runs", "wall s with runs in flight", "training s (sum over runs)", "dtype",
                   "torch"], rows)


def dtypes(root: Path) -> str:
    """Every committed suite run in float64 beside its ``<suite>_float32`` twin: median final rel L2."""
    from kanpde.results import summarize

    rows = []
    twins = [*(root / RESULTS).glob("*_float32.jsonl"), *(root / RESULTS).glob("*_float32.jsonl.gz")]
    for base in sorted({p.name.split("_float32.jsonl")[0] for p in twins}):
        f64 = summarize(load_suite(root, base))
        f32 = {(r["problem"], r["label"]): r for r in summarize(load_suite(root, f"{base}_float32"))}
        for r in f64:
            o = f32.get((r["problem"], r["label"]))
            rows.append([base, r["problem"], r["label"], _e(r["rel_l2"]), _e(o["rel_l2"]) if o else "—",
                         f"{o['rel_l2'] / r['rel_l2']:.2g}" if o else "—"])
    return _table(["suite", "problem", "model", "rel L2 float64", "rel L2 float32", "float32 / float64"], rows)


def _budget(budget: dict) -> str:
    """``adam+lbfgs, 2000 ep, lr 0.01, weights={'initial': 100.0}`` for a problem's budget."""
    rest = {k: v for k, v in budget.items() if k not in ("optimizer", "epochs", "lr")}
    head = [budget.get("optimizer", "adam"), f"{budget.get('epochs', '?')} ep"]
    head += [f"lr {budget['lr']:g}"] if "lr" in budget else []
    return ", ".join(head + [f"{k}={v!r}" for k, v in rest.items()])


def catalog_baseline(root: Path) -> str:
    """problems/README.md's table: the default MLP on every catalog problem with its budget, and without the
    budget's training methods and hard constraints where it has any (seed 0 of benchmarks/results/hard.json)."""
    rows = _load_json(root, "catalog_baseline.json")
    from hard import plain_budget

    plain = {r["problem"]: r["rel_l2"] for r in _load_json(root, "hard.json")["runs"].values()
             if (r["model"], r["variant"], r["seed"]) == ("mlp", "plain", 0)}

    def without(r: dict) -> str:
        if plain_budget(r["budget"]):
            return "same"
        return _e(plain[r["problem"]]) if r["problem"] in plain else "-"

    table = _table(["problem", "tags", "dims (in → out)", "budget", "rel L2", "without methods", "train time (s)",
                    "wall time (s)"],
                   [[f"`{r['problem']}`", ", ".join(r["tags"]), f"{r['d_in']} → {r['d_out']}", _budget(r["budget"]),
                     _e(r["rel_l2"]), without(r), f"{r['train_time']:.1f}", f"{r['wall_time']:.1f}"] for r in rows])
    return table + f"\n\nTotal wall time of the runs {sum(r['wall_time'] for r in rows) / 60:.1f} min."


def _kan_label(case: dict) -> str:
    widths = ",".join(str(w) for w in case["widths"])
    if case["model"] != "kan":
        return f"{case['model'].upper()}[{widths}]"
    sched = case["train"].get("grid_schedule")
    if sched:
        return f"KAN[{widths}] " + "->".join(str(g) for _, g in sorted((int(k), v) for k, v in sched.items()))
    return f"KAN[{widths}] G={case['model_args'].get('grid')}"


def kan_accuracy(root: Path) -> str:
    """kan_accuracy.json: one line per problem and model, the seeds side by side."""
    data = _load_json(root, "kan_accuracy.json")
    rows = []
    for case in data["cases"]:
        runs = [r for r in data["rows"] if (r["problem"], r["model"], r["widths"]) ==
                (case["problem"], case["model"], case["widths"])]
        if not runs:
            continue
        met = sum(bool(r["met"]) for r in runs)
        planned = case["train"].get("epochs")
        # a run the time cap stopped early shows its epochs with "(time cap)"; all equal: one number
        done = [f"{r['epochs']} (time cap)" if planned and r["epochs"] < planned else str(r["epochs"]) for r in runs]
        rows.append([case["problem"], _kan_label(case), str(max(r["params"] for r in runs)),
                     " / ".join(str(r["seed"]) for r in runs), done[0] if len(set(done)) == 1 else " / ".join(done),
                     " / ".join(f"{r['wall_time']:.1f}" for r in runs),
                     " / ".join(_short_e(r["rel_l2"]) for r in runs),
                     "yes, all" if met == len(runs) else ("no" if met == 0 else f"{met} of {len(runs)}")])
    return _table(["problem", "model", "params", "seed", "epochs", "wall s", "rel L2", "target met"], rows)


def hard_tables(root: Path) -> str:
    """Issue 12's table (plain and recommended budgets of the hard problems) and the ablation table, from
    benchmarks/results/hard.json (``python benchmarks/hard.py``)."""
    from hard import ablation_table, table

    runs = _load_json(root, "hard.json")["runs"]
    return table(runs) + "\n" + ablation_table(runs)


BLOCKS: dict[str, Callable[[Path], str]] = {
    "quick-table": quick_table,
    "step-time": step_time,
    "step-time-summary": step_time_summary,
    "step-time-family": step_time_family,
    "step-time-grid": step_time_grid,
    "vs-pykan": vs_pykan,
    "vs-pykan-summary": vs_pykan_summary,
    "kan-accuracy": kan_accuracy,
    "mlp-derivative-paths": mlp_derivative_paths,
    "suite-runs": suite_runs,
    "dtypes": dtypes,
    "catalog-baseline": catalog_baseline,
    "hard-tables": hard_tables,
}


def block_maker(name: str) -> Callable[[Path], str]:
    """The function that makes block ``name``; ValueError listing the known names otherwise."""
    if name in BLOCKS:
        return BLOCKS[name]
    if name.endswith("-verdict"):
        return verdict_report(name[: -len("-verdict")])
    if name.endswith("-ratios"):
        return ratios_report(name[: -len("-ratios")])
    if name.endswith("-tally"):
        return tally_report(name[: -len("-tally")])
    if name.endswith("-tally-flops"):
        return tally_report(name[: -len("-tally-flops")], by="flops")
    if name.endswith("-report"):
        return suite_report(name[: -len("-report")])
    raise ValueError(f"unknown make_docs block {name!r}; known: {sorted(BLOCKS)}, <suite>-report, "
                     f"<suite>-verdict, <suite>-ratios, <suite>-tally and <suite>-tally-flops")
