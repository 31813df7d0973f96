"""Benchmarks: suites of problems x models x seeds, budget-matched models, resumable results.

The package keeps its imports one way (each module imports only those above it here)::

    specs      suites, RunSpec, the run key, expansion        (kanpde.bench.specs)
    run_one    train one spec, return a record                (kanpde.bench.run_one)
    executors  serial, process, ray: specs in, records out    (kanpde.bench.executors)
    report     runs.csv, summary.csv, report.md from runs.jsonl (kanpde.bench.report)
    driver     expand, pick an executor, alone write files    (kanpde.bench.driver)

``kp.bench.run(suite, out_dir, executor="serial"|"process"|"ray")`` runs a suite; see
:mod:`kanpde.bench.specs` for the suite format and :mod:`kanpde.results` for the files.
"""

from __future__ import annotations

from kanpde.bench.driver import run
from kanpde.bench.executors import EXECUTORS, Executor, get_executor
from kanpde.bench.report import one_line, report, verdict_report, write_outputs, write_report
from kanpde.bench.run_one import run_one
from kanpde.bench.specs import SUITES, RunSpec, Suite, expand, get_suite, list_suites, match_mlp
from kanpde.results import Results, format_table, load, read_jsonl, summarize, time_to_accuracy

__all__ = ["SUITES", "Suite", "RunSpec", "get_suite", "list_suites", "match_mlp", "expand", "run", "run_one",
           "load", "summarize", "format_table", "time_to_accuracy", "Results", "report", "write_outputs",
           "write_report", "verdict_report", "one_line", "read_jsonl", "EXECUTORS", "Executor", "get_executor"]
