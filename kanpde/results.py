"""Benchmark results: the JSON-lines file of runs, its summary tables and time-to-accuracy.

Files in a results directory (written by :func:`kanpde.bench.run`):

=============== =====================================================================
``runs.jsonl``  one JSON object per finished run (schema below), appended, flushed and
                fsynced as each run finishes; a truncated last line is ignored
``runs.csv``    one row per run: the scalar columns of :meth:`Results.rows`
``summary.csv`` one row per problem x model: :func:`summarize`
``suite.json``  the suite specification that was run
``models/``     ``<key>.pt``: the trained model of each run (:func:`kanpde.load`)
=============== =====================================================================

Schema of a line of ``runs.jsonl`` (``"schema": "kanpde-bench/1"``):

================= ===================================================================
key               16 hex digits: hash of problem, parameters, model spec, config, seed
status            ``"ok"`` or ``"error"`` (then ``error`` holds the message)
order             the run's position in the expanded suite (tables list runs in this order)
suite             name of the suite
problem           catalog name; ``problem_params`` its parameter overrides
label             model label in the suite (``"KAN"``, ``"MLP=params"``, ...)
model             registry name (``"kan"``, ``"mlp"``); ``family`` the same unless given
widths            layer widths; ``model_kwargs`` other constructor arguments
match             ``null`` or ``{"by": "params"|"flops", "ref": label, "ref_params",
                  "ref_flops", "ratio"}``: how the model was sized against ``ref``
reference         ``true`` for a yardstick model (``"reference": true`` in the suite): reported,
                  not ranked in verdicts
seed              training and initialisation seed
config            :meth:`kanpde.TrainConfig.to_dict` of the run
n_params, n_flops trainable parameters and forward FLOPs per point of the final model
final             ``{"rel_l2", "max_err", "loss", "wall_time", "epochs"}`` at the last record
diverged          whether training stopped on a non-finite loss; ``message`` the reason
stopped_by_time   whether the run's ``max_time`` wall-time cap ended it before its
                  ``epochs`` (a run *cut short*: flagged in every table, left out of verdicts;
                  inferred from ``config`` and ``final`` for records written before the field)
history           :meth:`kanpde.History.to_dict` (per-epoch loss, terms, rel_l2, max_err,
                  wall_time); ``params_trace`` parameters at each recorded epoch
env               ``torch``, ``python``, ``kanpde``, ``platform``, ``dtype``, ``device``,
                  ``threads``, ``cpu_count``
solution          path of the saved model, relative to the results directory
started, elapsed  ISO start time and seconds including evaluation and saving
================= ===================================================================

Verdicts compare models at equal epochs: a run cut short by a wall-time cap trained fewer
epochs under load than it would idle, so ``winner`` uses only the runs that were not cut short
(none if one side has no such run), and the tables count the cut-short runs of each row.

Time to accuracy: the first *recorded* epoch (every ``log_every`` epochs) at which rel L2
is at or below the threshold, and the training seconds up to it.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from kanpde.history import History, json_safe

__all__ = ["SCHEMA", "THRESHOLDS", "Results", "stopped_by_time", "load", "read_jsonl", "append_jsonl",
           "time_to_accuracy",
           "summarize", "format_table", "write_csv"]

SCHEMA = "kanpde-bench/1"
#: rel L2 levels for the time-to-accuracy columns
THRESHOLDS = (1e-2, 1e-3, 1e-4)
RUNS, RUNS_CSV, SUMMARY_CSV = "runs.jsonl", "runs.csv", "summary.csv"


def _tag(thr: float) -> str:
    return f"{thr:.0e}".replace("e-0", "e-")


def time_to_accuracy(history: History, thresholds: Sequence[float] = THRESHOLDS) -> dict[float, tuple[float, float]]:
    """``{threshold: (epoch, seconds)}`` at the first record with rel L2 <= threshold (NaN if never)."""
    rel = np.asarray(history.rel_l2, dtype=float)
    out = {}
    for thr in thresholds:
        hit = np.flatnonzero(np.nan_to_num(rel, nan=np.inf) <= thr)
        out[thr] = (float(history.epoch[hit[0]]), float(history.wall_time[hit[0]])) if len(hit) else (math.nan,
                                                                                                         math.nan)
    return out


# -- the JSON-lines file -------------------------------------------------------------------
def read_jsonl(path: str | Path) -> list[dict]:
    """Records of a JSON-lines file (gzip-compressed if it ends in ``.gz``); truncated or corrupt lines are skipped."""
    path = Path(path)
    if not path.exists():
        return []
    out: list[dict] = []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        try:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and "key" in rec:
                    out.append(rec)
        except (EOFError, gzip.BadGzipFile):  # a cut-off .gz: keep the lines before the cut
            pass
    return out


def repair_jsonl(path: str | Path) -> None:
    """Cut a partial last line (left by a killed writer) so that appends start on a fresh line."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if data.endswith(b"\n"):
            return
        fh.truncate(data.rfind(b"\n") + 1)


def append_jsonl(path: str | Path, record: dict) -> None:
    """Append one record as a line, then flush and fsync (a crash later loses nothing before it)."""
    line = json.dumps(json_safe(record), separators=(",", ":"), allow_nan=False) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def stopped_by_time(rec: dict) -> bool:
    """Whether a run record was cut short by its wall-time cap (``max_time``) before its epochs."""
    if "stopped_by_time" in rec:
        return bool(rec["stopped_by_time"])
    cfg, fin = rec.get("config") or {}, rec.get("final") or {}
    return (cfg.get("max_time") is not None and not rec.get("diverged", False)
            and fin.get("epochs") is not None and fin["epochs"] < cfg.get("epochs", 0))


# -- tables --------------------------------------------------------------------------------
_ROW_KEYS = ("key", "suite", "problem", "label", "model", "family", "seed", "n_params", "n_flops", "tuned")


def _row(rec: dict) -> dict:
    row = {k: rec.get(k) for k in _ROW_KEYS}
    row["widths"] = "-".join(str(w) for w in rec.get("widths") or [])
    m = rec.get("match") or {}
    row["match_by"], row["match_ref"] = m.get("by", ""), m.get("ref", "")
    fin = rec.get("final") or {}
    for k in ("rel_l2", "max_err", "loss", "wall_time", "epochs"):
        v = fin.get(k)
        row[k] = math.nan if v is None else v
    row["diverged"] = bool(rec.get("diverged", False))
    row["stopped_by_time"] = stopped_by_time(rec)
    row["reference"] = bool(rec.get("reference", False))
    hist = History.from_dict(rec["history"]) if rec.get("history") else History()
    for thr, (ep, sec) in time_to_accuracy(hist).items():
        row[f"epochs_to_{_tag(thr)}"], row[f"time_to_{_tag(thr)}"] = ep, sec
    cfg = rec.get("config") or {}
    row["optimizer"], row["lr"], row["dtype"], row["device"] = (cfg.get("optimizer"), cfg.get("lr"), cfg.get("dtype"),
                                                                 cfg.get("device"))
    row["status"] = rec.get("status", "ok")
    return row


class Results(list):
    """Finished runs: a list of flat per-run rows (``pandas.DataFrame(results)`` works).

    Each row holds the scalar columns of ``runs.csv``; the full records (history, config,
    environment) are in :attr:`records`, aligned with the rows.
    """

    def __init__(self, records: Iterable[dict] = (), root: str | Path | None = None):
        ok = [r for r in records if r.get("status", "ok") == "ok"]
        # rows in the suite's order (``order``, written by the driver), not in the order runs finished
        self.records = sorted(ok, key=lambda r: r.get("order", math.inf))
        self.root = Path(root) if root is not None else None
        super().__init__(_row(r) for r in self.records)

    def history(self, i: int) -> History:
        """The :class:`History` of run ``i``."""
        return History.from_dict(self.records[i]["history"])

    def problems(self) -> list[str]:
        """Problem names in order of first appearance."""
        return list(dict.fromkeys(r["problem"] for r in self))

    def labels(self, problem: str | None = None) -> list[str]:
        """Model labels in order of first appearance (for one problem if given)."""
        return list(dict.fromkeys(r["label"] for r in self if problem is None or r["problem"] == problem))

    def select(self, problem: str | None = None, label: str | None = None) -> Results:
        """The runs of one problem and/or model label."""
        keep = [rec for rec, row in zip(self.records, self, strict=False)
                if (problem is None or row["problem"] == problem) and (label is None or row["label"] == label)]
        return Results(keep, self.root)

    def solution_path(self, i: int) -> Path | None:
        """Path of run ``i``'s saved model, if it exists."""
        rel = self.records[i].get("solution")
        if not rel:
            return None
        p = (self.root / rel) if self.root is not None else Path(rel)
        return p if p.exists() else None

    def to_frame(self):
        """The per-run rows as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(list(self))


def load(out_dir: str | Path) -> Results:
    """The finished runs stored in a results directory (or a ``runs.jsonl`` file, also ``.jsonl.gz``)."""
    p = Path(out_dir)
    path = p if p.is_file() else p / RUNS
    if not path.exists():
        raise FileNotFoundError(f"no benchmark results at {path}; run `kanpde bench SUITE --out {p}` first")
    latest = {}
    for rec in read_jsonl(path):
        latest.pop(rec["key"], None)
        latest[rec["key"]] = rec  # a redone run replaces the older record
    return Results(latest.values(), path.parent)


def _median(v: Sequence[float]) -> float:
    """Median treating NaN as 'never' (+inf); NaN if the median is never."""
    a = np.asarray([np.inf if x is None or not np.isfinite(x) else x for x in v], dtype=float)
    m = float(np.median(a)) if len(a) else math.nan
    return m if math.isfinite(m) else math.nan


def summarize(results: Results) -> list[dict]:
    """Per problem x label: counts, median and range of final rel L2 over seeds, times, winner.

    ``rel_l2`` is the median over seeds with ``rel_l2_min``/``rel_l2_max``; ``wall_time`` and
    ``epochs`` are medians; ``epochs_to_*``/``time_to_*`` are medians over seeds where a seed
    that never reached the level counts as infinite (blank if the median never reached it).
    A model sized against another (``match_by``/``vs``) gets ``winner``: the label with the lower
    median final rel L2 of the pair, which is the comparison at equal ``match_by``; runs cut
    short by a wall-time cap (counted in ``cut_short``) are left out of that median.
    """
    rows = []
    for prob in results.problems():
        verdict: dict[str, tuple] = {}  # (median rel L2, count) of the runs not cut short by time
        sub = [r for r in results if r["problem"] == prob]
        for label in dict.fromkeys(r["label"] for r in sub):
            runs = [r for r in sub if r["label"] == label]
            rel = np.array([r["rel_l2"] for r in runs], dtype=float)
            fin = rel[np.isfinite(rel)]
            row = {"problem": prob, "label": label, "model": runs[0]["model"], "family": runs[0]["family"],
                   "widths": runs[0]["widths"], "n_params": int(np.median([r["n_params"] for r in runs])),
                   "n_flops": int(np.median([r["n_flops"] for r in runs])), "seeds": len(runs),
                   "rel_l2": float(np.median(fin)) if len(fin) else math.nan,
                   "rel_l2_min": float(fin.min()) if len(fin) else math.nan,
                   "rel_l2_max": float(fin.max()) if len(fin) else math.nan,
                   "max_err": float(np.nanmedian([r["max_err"] for r in runs])) if len(fin) else math.nan,
                   "wall_time": float(np.median([r["wall_time"] for r in runs])),
                   "epochs": int(np.median([r["epochs"] for r in runs])),
                   "diverged": sum(r["diverged"] for r in runs),
                   "cut_short": sum(r["stopped_by_time"] for r in runs)}
            full = np.array([r["rel_l2"] for r in runs if not r["stopped_by_time"]], dtype=float)
            verdict[label] = (float(np.nanmedian(full)) if np.isfinite(full).any() else math.nan, len(full))
            for thr in THRESHOLDS:
                t = _tag(thr)
                row[f"epochs_to_{t}"] = _median([r[f"epochs_to_{t}"] for r in runs])
                row[f"time_to_{t}"] = _median([r[f"time_to_{t}"] for r in runs])
            row["match_by"], row["vs"], row["winner"] = runs[0]["match_by"], runs[0]["match_ref"], ""
            rows.append(row)
        by_label = {r["label"]: r for r in rows if r["problem"] == prob}
        for row in by_label.values():
            ref = by_label.get(row["vs"])
            if ref is not None:
                (a, na), (b, nb) = verdict[row["label"]], verdict[ref["label"]]
                if na and nb and (math.isfinite(a) or math.isfinite(b)):
                    row["winner"] = row["label"] if (np.nan_to_num(a, nan=np.inf) < np.nan_to_num(b, nan=np.inf)) \
                        else ref["label"]
    return rows


def write_csv(rows: Sequence[dict], path: str | Path) -> None:
    """Write dict rows as CSV (NaN as an empty cell)."""
    keys = list(dict.fromkeys(k for r in rows for k in r)) if rows else ["problem"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()})


def _e(v: float) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.2e}"


def _n(v: float, fmt: str = "{:.0f}") -> str:
    return "—" if v is None or not math.isfinite(v) else fmt.format(v)


def format_table(summary: Sequence[dict], markdown: bool = False) -> str:
    """The summary as an aligned text table (or a Markdown table)."""
    head = ["problem", "model", "widths", "params", "FLOPs", "seeds", "rel L2 median [min, max]", "max err",
            "wall s", "epochs", "ep→1e-3", "s→1e-3", "ep→1e-4", "s→1e-4", "equal-budget winner"]
    body = []
    by_label = {(r["problem"], r["label"]): r.get("cut_short", 0) for r in summary}
    for r in summary:
        win = f"{r['winner']} (at equal {r['match_by']} vs {r['vs']})" if r.get("winner") else ""
        if r.get("vs") and (r.get("cut_short") or by_label.get((r["problem"], r["vs"]), 0)):
            win = f"{win} (cut-short runs excluded)" if win else "none: all runs cut short by max_time"
        body.append([r["problem"], r["label"], r["widths"], str(r["n_params"]), str(r["n_flops"]), str(r["seeds"]),
                     f"{_e(r['rel_l2'])} [{_e(r['rel_l2_min'])}, {_e(r['rel_l2_max'])}]"
                     + (f" ({r['diverged']} diverged)" if r["diverged"] else "")
                     + (f" ({r['cut_short']} cut short by max_time)" if r.get("cut_short") else ""),
                     _e(r["max_err"]), _n(r["wall_time"], "{:.1f}"), str(r["epochs"]),
                     _n(r["epochs_to_1e-3"]), _n(r["time_to_1e-3"], "{:.2f}"), _n(r["epochs_to_1e-4"]),
                     _n(r["time_to_1e-4"], "{:.2f}"), win])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in body]
        return "\n".join(lines)
    width = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in width)
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in width))] + [fmt.format(*row) for row in body]
    return "\n".join(line.rstrip() for line in lines)
