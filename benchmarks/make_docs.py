"""Regenerate every generated table and figure of README.md, docs/, benchmarks/README.md and problems/README.md.

Everything comes from the results files committed in ``benchmarks/results/``:

================================ ==========================================================
``<suite>.jsonl``                a ``kanpde bench <suite>`` run (its ``runs.jsonl``, history columns
                                 rounded as ``DIGITS`` says, all else exact)
``step_time.json``               ``python benchmarks/step_time_paths.py --out ...``
``step_time_family.json``        ``python benchmarks/step_time.py --threads 1 --reps 60 --clock cpu --out ...``
``vs_pykan.json``                ``python benchmarks/vs_pykan.py --threads 1 --clock cpu --out ...``
``family.jsonl.gz``              ``kanpde bench family --out runs/family`` then ``--add runs/family --compact``
                                 (compacted runs, gzip-compressed: ``pandas.read_json(path, lines=True)``
                                 and ``kanpde.results.load(path)`` read it as it is)
``kan_accuracy.json``            ``python benchmarks/kan_accuracy.py --seeds 0,1,2 --threads 1 --out ...``
``catalog_baseline.json``        ``KANPDE_BASELINE_OUT=... python -m pytest tests/test_catalog.py -m slow -s -q
                                 -k test_mlp_baseline_on_every_problem`` (problems/README.md)
``hard.json``                    ``python benchmarks/hard.py --seeds 0,1,2 --jobs 2 --ablation --out ...``
                                 (docs/methods.md; its seed-0 plain runs also fill problems/README.md)
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
    python benchmarks/make_docs.py --add runs/family --compact
                                              # the same for a large suite: each run keeps 12 history rows and
                                              # the config keys the tables read (time-to-accuracy is then coarse),
                                              # written gzip-compressed as <suite>.jsonl.gz

Block names: ``quick-table`` (the README's short quick-suite table), ``<suite>-report`` (the
full summary table of a committed suite, e.g. ``quick-report``), ``<suite>-verdict`` (per
problem: winner, runner-up, whether the gap exceeds the seed spread; :mod:`kanpde.verdict`), ``<suite>-ratios``
(each model's median error over the equal-parameter MLP's), ``<suite>-tally`` and ``<suite>-tally-flops``
(across problems: who wins how often, each model against the MLP of equal parameters / FLOPs), ``step-time``,
``step-time-summary``, ``mlp-derivative-paths``, ``vs-pykan``, ``vs-pykan-summary``,
``kan-accuracy``, ``suite-runs`` (how long each committed suite run took), ``dtypes``
(each ``<suite>.jsonl`` against its ``<suite>_float32.jsonl``), ``catalog-baseline``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or loaded by path: find the tables
from make_docs_tables import RESULTS, block_maker, load_suite, log_spaced, suite_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Markdown files scanned for blocks, relative to the root (docs/*.md is added at run time)
PAGES = ("README.md", "benchmarks/README.md", "problems/README.md")
#: blocks that must exist: deleting a marker must not switch its check off silently
REQUIRED = {"README.md": ("quick-table", "step-time-summary", "vs-pykan-summary"),
            "benchmarks/README.md": ("step-time", "mlp-derivative-paths", "vs-pykan", "kan-accuracy", "suite-runs"),
            "problems/README.md": ("catalog-baseline",)}
#: figures written by the plain command: (suite, plot) -> docs/<suite>_<plot>.png
FIGURES = (("quick", "convergence"), ("quick", "error_vs_params"), ("decay_study", "convergence"),
           ("kan_poisson", "convergence"), ("kan_poisson", "error_vs_params"), ("family", "error_vs_params"))
#: suites whose summary and verdict are also written as CSV: docs/<suite>_summary.csv, docs/<suite>_verdict.csv
CSV_SUITES = ("family",)
#: history rows kept per run by ``--add --compact`` (log-spaced in epoch, the last one always kept;
#: the per-term loss and weight columns and the run's meta are dropped, values keep 4 digits;
#: the exact final numbers stay in each record's ``final``)
COMPACT_ROWS = 12
#: config keys kept by ``--compact`` (what the tables read); the run key still hashes the full config
COMPACT_CONFIG = ("epochs", "optimizer", "lr", "lbfgs_epochs", "dtype", "device", "methods", "max_time", "seed")
BLOCK = re.compile(r"(<!-- make_docs:(?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /make_docs -->)", re.S)


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
        if not suite_file(root, suite).is_file():
            print(f"skipped docs/{suite}_{plot}.png: no {RESULTS / (suite + '.jsonl')} (or .jsonl.gz)", file=sys.stderr)
            continue
        res = load_suite(root, suite)
        fig = kp.plot.convergence(res) if plot == "convergence" else kp.plot.error_vs_params(res)
        path = root / "docs" / f"{suite}_{plot}.png"
        small_png(fig, path)
        out.append(path)
    for suite in CSV_SUITES:
        if suite_file(root, suite).is_file():
            out += write_csvs(root, suite)
    return out


def write_csvs(root: Path, suite: str) -> list[Path]:
    """docs/<suite>_summary.csv (per problem x model) and docs/<suite>_verdict.csv (per problem)."""
    from kanpde.results import summarize, write_csv
    from kanpde.verdict import verdict

    res = load_suite(root, suite)
    paths = [root / "docs" / f"{suite}_summary.csv", root / "docs" / f"{suite}_verdict.csv"]
    write_csv(summarize(res), paths[0])
    rows = []
    for r in verdict(res):  # one column per reference statistic: flat, for a spreadsheet
        refs = r.pop("references", {})
        rows.append(r | {f"{lab} {k}": v for lab, st in refs.items() for k, v in st.items()})
    write_csv(rows, paths[1])
    return paths


def _compact(rec: dict) -> dict:
    """A record with COMPACT_ROWS history rows (log-spaced epochs, the last kept) and the tables' config keys."""
    hist = rec["history"]
    n = len(hist.get("epoch", []))
    if n > COMPACT_ROWS:
        keep = log_spaced(hist["epoch"], COMPACT_ROWS)
        def thin(v):
            if isinstance(v, dict):  # per-term columns (terms, weights)
                return {k: thin(x) for k, x in v.items()}
            return [v[i] for i in keep] if isinstance(v, list) and len(v) == n else v

        hist = {k: thin(v) for k, v in hist.items() if k not in ("terms", "weights", "meta")}
        hist = {k: v if k == "epoch" else _round(v) for k, v in hist.items()}  # the finals are in ``final``
    cfg = {k: v for k, v in (rec.get("config") or {}).items() if k in COMPACT_CONFIG}
    out = dict(rec, history=hist, config=cfg)
    out.pop("params_trace", None)
    return out


#: significant digits kept per history column: rel_l2 and wall_time nearly exact (the tables read
#: epochs and seconds to 1e-3 / 1e-4 from them), the rest at 4 (the committed files stay small)
DIGITS = {"rel_l2": 10, "wall_time": 7}


def _round(v, sig: int = 4):
    """Floats in ``v`` rounded to ``sig`` significant digits."""
    if isinstance(v, float):
        return float(f"{v:.{sig}g}") if math.isfinite(v) else v
    if isinstance(v, list):
        return [_round(x, sig) for x in v]
    if isinstance(v, dict):
        return {k: _round(x, sig) for k, x in v.items()}
    return v


def add_run(run_dir: str | Path, root: Path = ROOT, compact: bool = False) -> Path:
    """Copy a `kanpde bench` results directory to benchmarks/results/<suite>.jsonl (.jsonl.gz when compact)."""
    from kanpde.history import json_safe
    from kanpde.results import load

    res = load(run_dir)
    if not len(res):
        raise ValueError(f"run_dir {str(run_dir)!r} holds no finished runs")
    suites = {r["suite"] for r in res.records}
    if len(suites) != 1:
        raise ValueError(f"run_dir {str(run_dir)!r} mixes suites {sorted(suites)}; expected one")
    path = root / RESULTS / f"{suites.pop()}.jsonl"
    if compact:
        path, stale = path.with_name(path.name + ".gz"), path
    else:
        stale = path.with_name(path.name + ".gz")
    lines = []
    for rec in res.records:
        hist = {k: v if k == "epoch" else _round(v, DIGITS.get(k, 4)) for k, v in rec["history"].items()}
        rec = dict(rec, history=hist)
        if compact:
            rec = _compact(rec)
        rec.pop("solution", None)  # the saved models are not committed
        lines.append(json.dumps(json_safe(rec), separators=(",", ":"), allow_nan=False))
    text = ("\n".join(lines) + "\n").encode()
    # mtime 0: the same runs give the same bytes, so a rewrite without new runs leaves no diff
    path.write_bytes(gzip.compress(text, mtime=0) if compact else text)
    stale.unlink(missing_ok=True)  # one file per suite: the loader must not find an older twin
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: rewrite (default), ``--check`` or ``--add RUN_DIR``; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare the tables only; exit 1 if any differs")
    ap.add_argument("--add", metavar="RUN_DIR", action="append", default=[],
                    help="a `kanpde bench` results directory to commit as benchmarks/results/<suite>.jsonl first")
    ap.add_argument("--compact", action="store_true",
                    help=f"with --add: keep {COMPACT_ROWS} history rows per run and the config keys the tables read, "
                         "gzip-compressed as <suite>.jsonl.gz (for large suites such as family)")
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
        print(f"wrote {add_run(run_dir, root, compact=a.compact).relative_to(root)}")
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
