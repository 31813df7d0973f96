"""The verdict of a comparison suite: per problem, which model wins and whether the win is clear.

For each problem, every model label is ranked by its median final rel L2 over seeds (runs cut
short by a wall-time cap are left out, a diverged or non-finite run counts as never reaching
any error).  The best label is the *winner*, the next one the *runner-up*.  The win is **clear**
when every seed of the winner ends below every seed of the runner-up, i.e. the gap between the
two medians exceeds the seed spread: the winner's worst seed is better than the runner-up's
best.  With overlapping ranges the verdict is "no clear winner"; with a single seed per label
the spread is unknown and the verdict says so instead of guessing.

The same row also compares the two model families the package is about: the best KAN label
(any basis) against the MLP sized to equal parameters (the label whose ``match`` is by params), as the
ratio of their medians (below 1: the KAN is more accurate) and whether that gap, too, exceeds
the seed spread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from kanpde.results import Results

__all__ = ["verdict", "format_verdict", "ratios", "format_ratios", "tally", "format_tally", "matched_mlp"]


def _stats(rows: Sequence[dict]) -> tuple[float, float, float, int]:
    """(median, min, max, seeds) of the final rel L2 of some runs; non-finite counts as +inf."""
    e = np.array([r["rel_l2"] if r["rel_l2"] is not None and math.isfinite(r["rel_l2"]) else np.inf for r in rows])
    return float(np.median(e)), float(e.min()), float(e.max()), len(e)


def _clear(a: tuple, b: tuple) -> bool | None:
    """Whether every seed of ``a`` beats every seed of ``b`` (None with one seed on either side)."""
    if a[3] < 2 or b[3] < 2:
        return None
    return a[2] < b[1]


def matched_mlp(results: Results, by: str = "params") -> str:
    """The label of the MLP sized to another model's parameters (``by="params"``) or FLOPs, or ``""``."""
    return next((r["label"] for r in results if r["model"] == "mlp" and r["match_by"] == by), "")


def _markdown(head: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
                     + ["| " + " | ".join(row) + " |" for row in body])


def _text(head: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A plain-text table with aligned columns (for a terminal)."""
    width = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(head)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, width, strict=True)).rstrip()
                     for row in [head, ["-" * w for w in width], *body])


def verdict(results: Results, mlp_label: str | None = None) -> list[dict]:
    """Per problem: winner, runner-up, their medians and spreads, and whether the win is clear.

    ``mlp_label`` is the MLP the best KAN is compared with; by default the MLP sized to equal
    parameters (``match.by == "params"``) in the suite.  Reference models (``"reference": true``)
    are not ranked; each row lists them under ``references`` (label -> median, min, max, seeds).
    """
    mlp_label = matched_mlp(results) if mlp_label is None else mlp_label
    out = []
    for prob in results.problems():
        every = [r for r in results if r["problem"] == prob and not r["stopped_by_time"]]
        runs = [r for r in every if not r["reference"]]  # yardsticks are reported, not ranked
        refs = {lab: _stats([r for r in every if r["label"] == lab])
                for lab in dict.fromkeys(r["label"] for r in every if r["reference"])}
        labels = dict.fromkeys(r["label"] for r in runs)
        by_label = {lab: _stats([r for r in runs if r["label"] == lab]) for lab in labels}
        if not by_label:
            continue
        ranked = sorted(by_label, key=lambda lab: (by_label[lab][0], by_label[lab][2]))
        win = ranked[0]
        row = {"problem": prob, "winner": win, "winner_rel_l2": by_label[win][0], "winner_min": by_label[win][1],
               "winner_max": by_label[win][2], "seeds": by_label[win][3]}
        if len(ranked) > 1:
            run = ranked[1]
            row.update(runner_up=run, runner_up_rel_l2=by_label[run][0], runner_up_min=by_label[run][1],
                       runner_up_max=by_label[run][2], clear=_clear(by_label[win], by_label[run]))
        else:
            row.update(runner_up="", runner_up_rel_l2=math.nan, runner_up_min=math.nan, runner_up_max=math.nan,
                       clear=None)
        fams = {r["label"]: r["model"] for r in runs}
        kans = [lab for lab in ranked if fams[lab] == "kan"]
        if kans and mlp_label in by_label:
            k, m = by_label[kans[0]], by_label[mlp_label]
            row.update(best_kan=kans[0], kan_over_mlp=k[0] / m[0] if m[0] > 0 and math.isfinite(m[0]) else math.nan,
                       kan_vs_mlp=_side(k, m, kans[0], mlp_label))
        else:
            row.update(best_kan=kans[0] if kans else "", kan_over_mlp=math.nan, kan_vs_mlp="")
        row["references"] = {lab: {"rel_l2": st[0], "min": st[1], "max": st[2], "seeds": st[3]}
                             for lab, st in refs.items()}
        out.append(row)
    return out


def _side(a: tuple, b: tuple, la: str, lb: str) -> str:
    """Who is ahead between two labels, and whether beyond the seed spread."""
    if a[3] < 2 or b[3] < 2:
        return "one seed: spread unknown"
    if a[2] < b[1]:
        return f"{la} (clear)"
    if b[2] < a[1]:
        return f"{lb} (clear)"
    return "within seed spread"


def _e(v: float) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.2e}"


def _spread(st: dict | None) -> str:
    """``median [min, max]`` of a reference's statistics, or a dash."""
    return f"{_e(st['rel_l2'])} [{_e(st['min'])}, {_e(st['max'])}]" if st else "—"


def format_verdict(rows: Sequence[dict], markdown: bool = True) -> str:
    """The verdict rows as a Markdown (or plain text) table."""
    head = ["problem", "winner: median rel L2 [min, max]", "runner-up: median [min, max]", "verdict",
            "best KAN / equal-params MLP", "KAN vs MLP"]
    refs = list(dict.fromkeys(lab for r in rows for lab in r.get("references", {})))
    head += [f"{lab} (not ranked): median [min, max]" for lab in refs]
    body = []
    for r in rows:
        verdict_txt = {True: f"{r['winner']}, clear", False: "no clear winner", None: "one seed: spread unknown"}
        body.append([r["problem"], f"{r['winner']}: {_e(r['winner_rel_l2'])} [{_e(r['winner_min'])}, "
                                   f"{_e(r['winner_max'])}]",
                     f"{r['runner_up']}: {_e(r['runner_up_rel_l2'])} [{_e(r['runner_up_min'])}, "
                     f"{_e(r['runner_up_max'])}]" if r["runner_up"] else "—",
                     verdict_txt[r["clear"]],
                     f"{r['best_kan']}: {r['kan_over_mlp']:.2g}" if math.isfinite(r["kan_over_mlp"]) else "—",
                     r["kan_vs_mlp"] or "—"]
                    + [_spread(r.get("references", {}).get(lab)) for lab in refs])
    return _markdown(head, body) if markdown else _text(head, body)


def ratios(results: Results, mlp_label: str | None = None) -> list[dict]:
    """Per problem: each label's median rel L2 divided by the equal-params MLP's (below 1: more accurate)."""
    mlp_label = matched_mlp(results) if mlp_label is None else mlp_label
    out = []
    for prob in results.problems():
        runs = [r for r in results if r["problem"] == prob and not r["stopped_by_time"]]
        ref = [r for r in runs if r["label"] == mlp_label]
        if not ref:
            continue
        m = _stats(ref)[0]
        row = {"problem": prob, "mlp_rel_l2": m}
        for lab in dict.fromkeys(r["label"] for r in runs):
            if lab != mlp_label:
                v = _stats([r for r in runs if r["label"] == lab])[0]
                row[lab] = v / m if m > 0 and math.isfinite(m) else math.nan
        out.append(row)
    return out


def format_ratios(rows: Sequence[dict]) -> str:
    """The ratio rows as a Markdown table, with a last line counting where each label is ahead."""
    labels = list(dict.fromkeys(k for r in rows for k in r if k not in ("problem", "mlp_rel_l2")))
    head = ["problem", "equal-params MLP rel L2", *labels]
    body = [[r["problem"], _e(r["mlp_rel_l2"]), *(f"{r[lab]:.2g}" if math.isfinite(r.get(lab, math.nan)) else "—"
                                                 for lab in labels)] for r in rows]
    ahead = [f"{sum(1 for r in rows if r.get(lab, math.inf) < 1)} of {len(rows)}" for lab in labels]
    body.append(["**ahead of the MLP on**", "", *ahead])
    return _markdown(head, body)


def tally(results: Results, mlp_label: str | None = None) -> dict:
    """Across problems: who wins how often, and each label against the equal-params MLP.

    Returns ``problems`` (count), ``mlp_label``, ``winners`` (problem -> winning label),
    ``clear_winners`` (the problems whose win is clear), ``families`` (label -> model family),
    ``labels`` (label -> the ``problems`` it ran on with the MLP, the counts ``ahead`` (lower median),
    ``clearly_ahead`` and ``clearly_behind`` (beyond the seed spread) against ``mlp_label``, and the
    ``median_ratio`` of its median errors over the MLP's, on the problems where both are finite) and
    ``best_kan`` (the same counts for the best KAN basis of each problem).  ``mlp_label`` defaults
    to the MLP sized to equal parameters.
    """
    mlp_label = matched_mlp(results) if mlp_label is None else mlp_label
    rows = verdict(results, mlp_label)
    best = {r["problem"]: r["best_kan"] for r in rows}
    out: dict = {"problems": len(rows), "mlp_label": mlp_label,
                 "winners": {r["problem"]: r["winner"] for r in rows},
                 "clear_winners": {r["problem"]: r["winner"] for r in rows if r["clear"]},
                 "families": {r["label"]: r["model"] for r in results}, "labels": {}}
    counts: dict[str, dict] = {}  # per label, and "" for the best KAN of each problem

    def count(key: str, a: tuple, m: tuple, lab: str) -> None:
        c = counts.setdefault(key, {"problems": 0, "ahead": 0, "clearly_ahead": 0, "clearly_behind": 0,
                                    "ratios": []})
        c["problems"] += 1
        c["ahead"] += a[0] < m[0]
        side = _side(a, m, lab, mlp_label)
        c["clearly_ahead"] += side == f"{lab} (clear)"
        c["clearly_behind"] += side == f"{mlp_label} (clear)"
        if math.isfinite(a[0]) and math.isfinite(m[0]) and m[0] > 0:
            c["ratios"].append(a[0] / m[0])

    for prob in results.problems():
        runs = [r for r in results if r["problem"] == prob and not r["stopped_by_time"]]
        ref = [r for r in runs if r["label"] == mlp_label]
        if not ref:
            continue
        m = _stats(ref)
        for lab in dict.fromkeys(r["label"] for r in runs):
            if lab == mlp_label:
                continue
            a = _stats([r for r in runs if r["label"] == lab])
            count(lab, a, m, lab)
            if lab == best.get(prob):
                count("", a, m, lab)
    for lab, c in counts.items():
        ratios = c.pop("ratios")
        c["median_ratio"] = float(np.median(ratios)) if ratios else math.nan
        if lab:
            out["labels"][lab] = c
    b = counts.get("", {"problems": 0, "ahead": 0, "clearly_ahead": 0, "clearly_behind": 0})
    out["best_kan"] = {k: b[k] for k in ("problems", "ahead", "clearly_ahead", "clearly_behind")}
    return out


def format_tally(t: dict, winners: bool = True, markdown: bool = True) -> str:
    """The tally: who wins how often (unless ``winners=False``), then each label against the MLP (Markdown or text)."""
    n, fam = t["problems"], t["families"]

    def listing(d: dict) -> str:
        groups: dict[str, list[str]] = {}
        for prob, lab in d.items():
            groups.setdefault(lab, []).append(prob)
        return "; ".join(f"{lab} on {', '.join(probs)}" for lab, probs in sorted(groups.items()))

    kan_wins = sum(fam.get(lab) == "kan" for lab in t["winners"].values())
    kan_clear = {p: lab for p, lab in t["clear_winners"].items() if fam.get(lab) == "kan"}
    other = {p: lab for p, lab in t["winners"].items() if fam.get(lab) != "kan"}
    other_clear = {p: lab for p, lab in t["clear_winners"].items() if fam.get(lab) != "kan"}
    b = t["best_kan"]
    best = (f"- The best KAN basis of each problem is ahead of {t['mlp_label']} on **{b['ahead']} of "
            f"{b['problems']}**, beyond the seed spread on {b['clearly_ahead']}; {t['mlp_label']} is "
            f"beyond the seed spread ahead of that best KAN on {b['clearly_behind']}.")
    lines = [] if not winners else [
        f"- A KAN has the lowest median error on **{kan_wins} of {n}** problems, beyond the seed spread "
        f"on {len(kan_clear)}" + (f" ({listing(kan_clear)})" if kan_clear else "") + ".",
        f"- The other members win {len(other)}" + (f" ({listing(other)})" if other else "")
        + f", beyond the seed spread on {len(other_clear)}"
        + (f" ({listing(other_clear)})" if other_clear else "") + "."]
    lines.append(best)
    head = [f"against {t['mlp_label']}", "ahead on", "beyond the seed spread", "behind beyond the spread",
            "median ratio of errors"]
    body = [[lab, f"{c['ahead']} of {c['problems']}", str(c["clearly_ahead"]), str(c["clearly_behind"]),
             f"{c['median_ratio']:.2g}"] for lab, c in t["labels"].items()]
    text = "\n".join(lines) + "\n\n" + (_markdown(head, body) if markdown else _text(head, body))
    return text if markdown else text.replace("**", "")
