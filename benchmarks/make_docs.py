"""Regenerate every generated table and figure of README.md, docs/, benchmarks/README.md and problems/README.md.

Everything comes from the results files committed in ``benchmarks/results/``:

================================ ==========================================================
``<suite>.jsonl``                a ``kanpde bench <suite>`` run (``runs.jsonl``, histories
                                 rounded to 4 significant digits, final values exact)
``step_time.json``               ``python benchmarks/step_time.py --out ...``
``vs_pykan.json``                ``python benchmarks/vs_pykan.py --threads 1 --out ...``
``kan_accuracy.json``            ``python benchmarks/kan_accuracy.py --seeds 0,1,2 --threads 1 --out ...``
``catalog_baseline.json``        ``KANPDE_BASELINE_OUT=... python -m pytest tests/test_catalog.py -m slow -s -q
                                 -k test_mlp_baseline_on_every_problem`` (problems/README.md)
================================ ==========================================================

A generated block in a Markdown file sits between marker comments::

    <!-- make_docs:quick-table -->
    | problem | model | ... |
    <!-- /make_docs -->

Commands (from the repository root)::

    python benchmarks/make_docs.py            # rewrite every marked block and the figures in docs/
    python benchmarks/make_docs.py --check    # exit 1, naming each block that differs (tables only, no figures)
    kanpde bench quick --out runs/quick && python benchmarks/make_docs.py --add runs/quick
                                              # commit a new bench run as benchmarks/results/quick.jsonl, then rewrite

Block names: ``quick-table`` (the README's short quick-suite table), ``<suite>-report`` (the
full summary table of a committed suite, e.g. ``quick-report``), ``step-time``,
``step-time-summary``, ``mlp-derivative-paths``, ``vs-pykan``, ``vs-pykan-summary``,
``kan-accuracy``, ``suite-runs`` (how long each committed suite run took), ``dtypes``
(each ``<suite>.jsonl`` against its ``<suite>_float32.jsonl``), ``catalog-baseline``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path("benchmarks") / "results"
#: Markdown files scanned for blocks, relative to the root (docs/*.md is added at run time)
PAGES = ("README.md", "benchmarks/README.md", "problems/README.md")
#: blocks that must exist: deleting a marker must not switch its check off silently
REQUIRED = {"README.md": ("quick-table", "step-time-summary", "vs-pykan-summary"),
            "benchmarks/README.md": ("step-time", "mlp-derivative-paths", "vs-pykan", "kan-accuracy", "suite-runs")}
#: figures written by the plain command: (suite, plot) -> docs/<suite>_<plot>.png
FIGURES = (("quick", "convergence"), ("quick", "error_vs_params"), ("decay_study", "convergence"),
           ("kan_poisson", "convergence"), ("kan_poisson", "error_vs_params"))
BLOCK = re.compile(r"(<!-- make_docs:(?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /make_docs -->)", re.S)


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


def _load_json(root: Path, name: str) -> dict:
    path = root / RESULTS / name
    if not path.is_file():
        raise FileNotFoundError(f"results file {path} is missing; its command is in benchmarks/make_docs.py")
    return json.loads(path.read_text())


def _suite(root: Path, suite: str):
    from kanpde.results import load

    path = root / RESULTS / f"{suite}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"results file {path} is missing: run `kanpde bench {suite} --out runs/{suite}` "
                                f"and `python benchmarks/make_docs.py --add runs/{suite}`")
    return load(path)


# -- the blocks -------------------------------------------------------------------------------
def quick_table(root: Path) -> str:
    """The README's short table of the quick suite."""
    from kanpde.results import summarize

    rows = []
    for r in summarize(_suite(root, "quick")):
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

        return format_table(summarize(_suite(root, suite)), markdown=True)

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
    """Seconds from the first run's start to the last run's end."""
    from datetime import datetime

    starts = [datetime.fromisoformat(r["started"]).timestamp() for r in records]
    ends = [s + r["elapsed"] for s, r in zip(starts, records)]
    return max(ends) - min(starts)


def suite_runs(root: Path) -> str:
    """One line per committed suite run: runs, how long the command took, training seconds."""
    from kanpde.results import load

    rows = []
    for path in sorted((root / RESULTS).glob("*.jsonl")):
        res = load(path)
        recs = res.records
        dtypes = sorted({r["config"].get("dtype", "") for r in recs})
        rows.append([f"`{path.name}`", str(len(recs)), f"{_span(recs):.0f}",
                     f"{sum(r['final']['wall_time'] for r in recs):.0f}", ", ".join(dtypes),
                     recs[0]["env"].get("torch", "")])
    return _table(["results file", "runs", "first start to last finish, s", "training s (sum over runs)", "dtype",
                   "torch"], rows)


def dtypes(root: Path) -> str:
    """Every committed suite run in float64 beside its ``<suite>_float32`` twin: median final rel L2."""
    from kanpde.results import summarize

    rows = []
    for path in sorted((root / RESULTS).glob("*_float32.jsonl")):
        base = path.name[: -len("_float32.jsonl")]
        f64 = summarize(_suite(root, base))
        f32 = {(r["problem"], r["label"]): r for r in summarize(_suite(root, f"{base}_float32"))}
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
    """problems/README.md's table: the default MLP on every catalog problem with its budget."""
    rows = _load_json(root, "catalog_baseline.json")
    table = _table(["problem", "tags", "dims (in → out)", "budget", "rel L2", "train time (s)", "wall time (s)"],
                   [[f"`{r['problem']}`", ", ".join(r["tags"]), f"{r['d_in']} → {r['d_out']}", _budget(r["budget"]),
                     _e(r["rel_l2"]), f"{r['train_time']:.1f}", f"{r['wall_time']:.1f}"] for r in rows])
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
        epochs = sorted({r["epochs"] for r in runs})
        rows.append([case["problem"], _kan_label(case), str(max(r["params"] for r in runs)),
                     " / ".join(str(r["seed"]) for r in runs), " / ".join(str(e) for e in epochs),
                     " / ".join(f"{r['wall_time']:.1f}" for r in runs),
                     " / ".join(_short_e(r["rel_l2"]) for r in runs),
                     "yes, all" if met == len(runs) else ("no" if met == 0 else f"{met} of {len(runs)}")])
    return _table(["problem", "model", "params", "seed", "epochs", "wall s", "rel L2", "target met"], rows)


BLOCKS: dict[str, Callable[[Path], str]] = {
    "quick-table": quick_table,
    "step-time": step_time,
    "step-time-summary": step_time_summary,
    "vs-pykan": vs_pykan,
    "vs-pykan-summary": vs_pykan_summary,
    "kan-accuracy": kan_accuracy,
    "mlp-derivative-paths": mlp_derivative_paths,
    "suite-runs": suite_runs,
    "dtypes": dtypes,
    "catalog-baseline": catalog_baseline,
}


def block_maker(name: str) -> Callable[[Path], str]:
    """The function that makes block ``name``; ValueError listing the known names otherwise."""
    if name in BLOCKS:
        return BLOCKS[name]
    if name.endswith("-report"):
        return suite_report(name[: -len("-report")])
    raise ValueError(f"unknown make_docs block {name!r}; known: {sorted(BLOCKS)} and <suite>-report")


# -- files ------------------------------------------------------------------------------------
def pages(root: Path) -> list[Path]:
    """The Markdown files that may hold generated blocks."""
    return [root / p for p in PAGES if (root / p).is_file()] + sorted((root / "docs").glob("*.md"))


def render(text: str, root: Path) -> tuple[str, list[str]]:
    """``text`` with every block regenerated, and the names of the blocks whose content changed."""
    changed = []

    def sub(m: re.Match) -> str:
        body = block_maker(m["name"])(root).rstrip("\n") + "\n"
        if body != m["body"]:
            changed.append(m["name"])
        return m.group(1) + body + m.group(4)

    return BLOCK.sub(sub, text), changed


def missing_blocks(root: Path) -> list[str]:
    """``file: block`` for every required block whose markers are absent."""
    out = []
    for page, names in REQUIRED.items():
        path = root / page
        found = {m["name"] for m in BLOCK.finditer(path.read_text())} if path.is_file() else set()
        out += [f"{page}: {n}" for n in names if n not in found]
    return out


def check(root: Path = ROOT) -> list[str]:
    """``file: block`` for every generated block that differs from what the results files say."""
    problems = [f"{name} (markers missing)" for name in missing_blocks(root)]
    for path in pages(root):
        _, changed = render(path.read_text(), root)
        problems += [f"{path.relative_to(root)}: {name}" for name in changed]
    return problems


def write_tables(root: Path = ROOT) -> list[str]:
    """Rewrite every generated block in place; return ``file: block`` for those that changed."""
    done = []
    for path in pages(root):
        text, changed = render(path.read_text(), root)
        if changed:
            path.write_text(text)
        done += [f"{path.relative_to(root)}: {name}" for name in changed]
    return done


def small_png(fig, path: Path, dpi: int = 72, colors: int = 96) -> int:
    """Save ``fig`` as a palette PNG (a few tens of KB); return its size in bytes."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    img = Image.open(buf).convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    img.save(path, optimize=True)
    return path.stat().st_size


def write_figures(root: Path = ROOT) -> list[Path]:
    """Redraw the figures in docs/ from the committed suite results; return the paths written."""
    import kanpde as kp

    out = []
    for suite, plot in FIGURES:
        if not (root / RESULTS / f"{suite}.jsonl").is_file():
            print(f"skipped docs/{suite}_{plot}.png: no {RESULTS / (suite + '.jsonl')}", file=sys.stderr)
            continue
        res = _suite(root, suite)
        fig = kp.plot.convergence(res) if plot == "convergence" else kp.plot.error_vs_params(res)
        path = root / "docs" / f"{suite}_{plot}.png"
        small_png(fig, path)
        out.append(path)
    return out


def _round(v, sig: int = 4):
    if isinstance(v, float):
        return float(f"{v:.{sig}g}") if math.isfinite(v) else v
    if isinstance(v, list):
        return [_round(x, sig) for x in v]
    if isinstance(v, dict):
        return {k: _round(x, sig) for k, x in v.items()}
    return v


def add_run(run_dir: str | Path, root: Path = ROOT) -> Path:
    """Copy a `kanpde bench` results directory to benchmarks/results/<suite>.jsonl, histories rounded."""
    from kanpde.history import json_safe
    from kanpde.results import load

    res = load(run_dir)
    if not len(res):
        raise ValueError(f"run_dir {str(run_dir)!r} holds no finished runs")
    suites = {r["suite"] for r in res.records}
    if len(suites) != 1:
        raise ValueError(f"run_dir {str(run_dir)!r} mixes suites {sorted(suites)}; expected one")
    path = root / RESULTS / f"{suites.pop()}.jsonl"
    lines = []
    for rec in res.records:
        rec = dict(rec, history=_round(rec["history"]))
        rec.pop("solution", None)  # the saved models are not committed
        lines.append(json.dumps(json_safe(rec), separators=(",", ":"), allow_nan=False))
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: rewrite (default), ``--check`` or ``--add RUN_DIR``; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare the tables only; exit 1 if any differs")
    ap.add_argument("--add", metavar="RUN_DIR", action="append", default=[],
                    help="a `kanpde bench` results directory to commit as benchmarks/results/<suite>.jsonl first")
    ap.add_argument("--no-figures", action="store_true", help="rewrite the tables only")
    ap.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    root = Path(a.root)
    if a.check:
        if a.add:
            ap.error("--check compares the committed results; it does not take --add")
        bad = check(root)
        for b in bad:
            print(f"make_docs --check: {b} differs from benchmarks/results; run `python benchmarks/make_docs.py`",
                  file=sys.stderr)
        if not bad:
            print("make_docs --check: every generated table matches benchmarks/results")
        return 1 if bad else 0
    for run_dir in a.add:
        print(f"wrote {add_run(run_dir, root).relative_to(root)}")
    missing = missing_blocks(root)
    if missing:
        print("markers missing (add them to the page): " + "; ".join(missing), file=sys.stderr)
    for name in write_tables(root):
        print(f"rewrote {name}")
    if not a.no_figures:
        for path in write_figures(root):
            print(f"drew {path.relative_to(root)} ({path.stat().st_size / 1024:.0f} KB)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
