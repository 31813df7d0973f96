"""The verdict of a comparison: winner, runner-up, and whether the gap exceeds the seed spread."""

import math

import pytest

from kanpde.results import Results
from kanpde.verdict import format_verdict, verdict


def _rec(problem, label, model, seed, err, match=None, **final):
    return {"key": f"{problem}-{label}-{seed}", "problem": problem, "label": label, "model": model, "family": model,
            "seed": seed, "widths": [2, 5, 1], "n_params": 10, "n_flops": 10, "match": match,
            "final": {"rel_l2": err, "max_err": err, "loss": err, "wall_time": 1.0, "epochs": 10, **final},
            "config": {"epochs": 10}}


def _suite(errs):
    recs = []
    for (prob, label, model), values in errs.items():
        match = {"by": "params", "ref": "KAN bspline"} if label == "MLP=params" else None
        recs += [_rec(prob, label, model, s, e, match) for s, e in enumerate(values)]
    return Results(recs)


def test_clear_winner_when_every_seed_beats_every_seed_of_the_runner_up():
    res = _suite({("p", "KAN bspline", "kan"): [1e-3, 2e-3, 3e-3], ("p", "KAN rbf", "kan"): [5e-2, 6e-2, 7e-2],
                  ("p", "MLP=params", "mlp"): [4e-3, 5e-3, 6e-3]})
    (row,) = verdict(res)
    assert (row["winner"], row["runner_up"], row["clear"]) == ("KAN bspline", "MLP=params", True)
    assert row["winner_rel_l2"] == 2e-3 and (row["winner_min"], row["winner_max"]) == (1e-3, 3e-3)
    assert row["runner_up_rel_l2"] == 5e-3
    assert row["best_kan"] == "KAN bspline" and row["kan_over_mlp"] == pytest.approx(0.4)
    assert row["kan_vs_mlp"] == "KAN bspline (clear)"


def test_overlapping_seeds_give_no_clear_winner_and_one_seed_says_so():
    res = _suite({("p", "KAN bspline", "kan"): [1e-3, 5e-3, 9e-3], ("p", "MLP=params", "mlp"): [4e-3, 6e-3, 8e-3],
                  ("q", "KAN bspline", "kan"): [1e-3], ("q", "MLP=params", "mlp"): [2e-3]})
    p, q = verdict(res)
    assert p["winner"] == "KAN bspline" and p["clear"] is False and p["kan_vs_mlp"] == "within seed spread"
    assert q["clear"] is None and q["kan_vs_mlp"] == "one seed: spread unknown"
    table = format_verdict([p, q])
    assert "no clear winner" in table and "one seed: spread unknown" in table


def test_a_diverged_seed_counts_as_never_and_the_mlp_can_win_clearly():
    res = _suite({("p", "KAN bspline", "kan"): [float("nan"), 1e-2, 2e-2],
                  ("p", "MLP=params", "mlp"): [1e-4, 2e-4, 3e-4]})
    (row,) = verdict(res)
    assert row["winner"] == "MLP=params" and row["clear"] is True
    assert row["runner_up_rel_l2"] == 2e-2 and math.isinf(row["runner_up_max"])
    assert row["kan_vs_mlp"] == "MLP=params (clear)" and row["kan_over_mlp"] == pytest.approx(100.0)


def test_ratios_divide_each_median_by_the_equal_params_mlp_and_count_where_ahead():
    from kanpde.verdict import format_ratios, ratios

    res = _suite({("p", "KAN bspline", "kan"): [1e-3, 2e-3, 3e-3], ("p", "MLP=params", "mlp"): [4e-3, 5e-3, 6e-3],
                  ("q", "KAN bspline", "kan"): [1e-2, 2e-2, 3e-2], ("q", "MLP=params", "mlp"): [1e-2, 1e-2, 1e-2]})
    p, q = ratios(res)
    assert p["KAN bspline"] == pytest.approx(0.4) and q["KAN bspline"] == pytest.approx(2.0)
    assert p["mlp_rel_l2"] == 5e-3
    assert "| **ahead of the MLP on** |  | 1 of 2 |" in format_ratios([p, q])
