"""Results files derived from ``runs.jsonl``: ``runs.csv``, ``summary.csv``, ``report.md``, and one-line run notes."""

from __future__ import annotations

from pathlib import Path

from kanpde.bench.specs import Suite
from kanpde.results import RUNS, RUNS_CSV, SUMMARY_CSV, Results, format_table, load, summarize, write_csv

__all__ = ["write_outputs", "report", "verdict_report", "write_report", "one_line", "REPORT_MD"]

REPORT_MD = "report.md"


def write_outputs(out_dir: str | Path) -> Results | None:
    """Rewrite ``runs.csv`` and ``summary.csv`` from ``runs.jsonl``; return the results."""
    out = Path(out_dir)
    if not (out / RUNS).exists():
        return None
    res = load(out)
    write_csv(list(res), out / RUNS_CSV)
    write_csv(summarize(res), out / SUMMARY_CSV)
    return res


def report(results: Results, markdown: bool = False) -> str:
    """The summary table of ``results`` as text (or Markdown)."""
    return format_table(summarize(results), markdown=markdown)


def verdict_report(results: Results, markdown: bool = False) -> str:
    """The verdict per problem and the tally across problems, or ``""`` without an equal-params MLP."""
    from kanpde.verdict import format_tally, format_verdict, matched_mlp, tally, verdict

    if not matched_mlp(results):
        return ""
    text = format_verdict(verdict(results), markdown=markdown)
    if any(r["model"] == "kan" for r in results):
        text += "\n\n" + format_tally(tally(results), markdown=markdown)
    return text


def write_report(out_dir: str | Path, suite: Suite, results: Results, command: str | None = None) -> Path:
    """Write ``report.md``: the suite, the command, the summary table and (with an equal-params MLP) the verdict."""
    path = Path(out_dir) / REPORT_MD
    cmd = f"Command: `{command}`\n\n" if command else ""
    ver = verdict_report(results, markdown=True)
    ver = f"\n## Verdict (`kanpde.verdict`)\n\n{ver}\n" if ver else ""
    path.write_text(f"# Suite `{suite.name}`\n\n{suite.description}\n\n{cmd}{report(results, markdown=True)}\n{ver}")
    return path


def one_line(rec: dict) -> str:
    """A run's outcome in one line (for progress output)."""
    tag = f"{rec['problem']} {rec['label']} seed {rec['seed']}"
    if rec.get("status") != "ok":
        return f"  {tag}: FAILED {rec.get('error')}"
    f = rec["final"]
    extra = (" (diverged)" if rec.get("diverged") else "") + (" (cut short by max_time)"
                                                               if rec.get("stopped_by_time") else "")
    return (f"  {tag}: rel L2 {f['rel_l2']:.2e}, max err {f['max_err']:.2e}, {rec['n_params']} params, "
            f"{f['epochs']} epochs, {f['wall_time']:.1f} s{extra}")
