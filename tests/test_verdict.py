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


def test_tally_counts_winners_and_each_label_against_the_equal_params_mlp():
    from kanpde.verdict import format_tally, tally

    res = _suite({("p", "KAN bspline", "kan"): [1e-3, 2e-3, 3e-3], ("p", "KAN rbf", "kan"): [5e-3, 8e-3, 9e-3],
                  ("p", "MLP=params", "mlp"): [4e-3, 5e-3, 6e-3],
                  ("q", "KAN bspline", "kan"): [1e-2, 2e-2, 3e-2], ("q", "KAN rbf", "kan"): [3e-3, 7e-3, 8e-3],
                  ("q", "MLP=params", "mlp"): [4e-3, 5e-3, 6e-3],
                  ("r", "KAN bspline", "kan"): [1e-1, 2e-1, 3e-1], ("r", "KAN rbf", "kan"): [1e-1, 2e-1, 3e-1],
                  ("r", "MLP=params", "mlp"): [1e-3, 2e-3, 3e-3]})
    t = tally(res)
    assert t["problems"] == 3 and t["mlp_label"] == "MLP=params"
    assert t["winners"] == {"p": "KAN bspline", "q": "MLP=params", "r": "MLP=params"}
    assert t["clear_winners"] == {"p": "KAN bspline", "r": "MLP=params"}
    bs, rbf = t["labels"]["KAN bspline"], t["labels"]["KAN rbf"]
    # bspline: ratios 0.4 (clear), 4 (clear behind), 100 (clear behind)
    assert (bs["ahead"], bs["clearly_ahead"], bs["clearly_behind"]) == (1, 1, 2)
    assert bs["median_ratio"] == pytest.approx(4.0)
    # rbf: ratios 1.6 (overlapping), 1.4 (overlapping), 100 (clear behind)
    assert (rbf["ahead"], rbf["clearly_ahead"], rbf["clearly_behind"]) == (0, 0, 1)
    assert rbf["median_ratio"] == pytest.approx(1.6)
    # best KAN per problem: p bspline 0.4 clear; q rbf 1.4 overlapping; r 100 clear behind
    assert t["best_kan"] == {"problems": 3, "ahead": 1, "clearly_ahead": 1, "clearly_behind": 1}
    text = format_tally(t)
    assert "**1 of 3** problems, beyond the seed spread on 1 (KAN bspline on p)" in text
    assert "The other members win 2 (MLP=params on q, r), beyond the seed spread on 1 (MLP=params on r)" in text
    assert "| KAN bspline | 1 of 3 | 1 | 2 | 4 |" in text
    plain = format_tally(t, markdown=False)
    assert "**" not in plain and "|" not in plain and "1 of 3 problems, beyond the seed spread on 1" in plain
    only_table = format_tally(t, winners=False)
    assert "A KAN has" not in only_table and "| KAN bspline | 1 of 3 | 1 | 2 | 4 |" in only_table


def test_verdict_report_needs_an_equal_params_mlp_and_tallies_only_with_a_kan():
    from kanpde.bench import verdict_report

    with_kan = _suite({("p", "KAN rbf", "kan"): [1e-3, 2e-3], ("p", "MLP=params", "mlp"): [4e-3, 5e-3]})
    text = verdict_report(with_kan, markdown=True)
    assert "| p | KAN rbf: 1.50e-03" in text and "| KAN rbf | 1 of 1 | 1 | 0 | 0.33 |" in text
    only_mlps = _suite({("p", "MLP=flops", "mlp"): [1e-3, 2e-3], ("p", "MLP=params", "mlp"): [4e-3, 5e-3]})
    assert "winner" in verdict_report(only_mlps) and "ahead on" not in verdict_report(only_mlps)
    assert verdict_report(_suite({("p", "KAN rbf", "kan"): [1e-3]})) == ""


def test_tally_counts_diverged_medians_the_same_way_for_a_label_and_for_the_best_kan():
    from kanpde.verdict import tally

    nan = float("nan")
    res = _suite({("p", "KAN rbf", "kan"): [1e-3, 2e-3, 3e-3], ("p", "MLP=params", "mlp"): [4e-3, 5e-3, 6e-3],
                  ("q", "KAN rbf", "kan"): [1e-3, 2e-3, 3e-3], ("q", "MLP=params", "mlp"): [nan, nan, nan],
                  ("r", "KAN rbf", "kan"): [nan, nan, nan], ("r", "MLP=params", "mlp"): [4e-3, 5e-3, 6e-3]})
    t = tally(res)
    rbf = t["labels"]["KAN rbf"]
    assert (rbf["problems"], rbf["ahead"], rbf["clearly_ahead"], rbf["clearly_behind"]) == (3, 2, 2, 1)
    assert t["best_kan"] == {k: rbf[k] for k in ("problems", "ahead", "clearly_ahead", "clearly_behind")}
    assert rbf["median_ratio"] == pytest.approx(0.4)  # only where both medians are finite, in both directions


def test_a_reference_model_is_reported_beside_the_verdict_and_never_ranked():
    from kanpde.verdict import tally

    res = _suite({("p", "KAN rbf", "kan"): [1e-3, 2e-3, 3e-3], ("p", "MLP=params", "mlp"): [4e-3, 5e-3, 6e-3],
                  ("p", "MLP recommended", "mlp"): [1e-5, 2e-5, 3e-5]})
    for r in res.records:
        r["reference"] = r["label"] == "MLP recommended"
    res = Results(res.records)
    (row,) = verdict(res)
    assert (row["winner"], row["runner_up"], row["clear"]) == ("KAN rbf", "MLP=params", True)
    assert row["references"] == {"MLP recommended": {"rel_l2": 2e-5, "min": 1e-5, "max": 3e-5, "seeds": 3}}
    table = format_verdict([row])
    assert "MLP recommended (not ranked): median [min, max]" in table and "2.00e-05 [1.00e-05, 3.00e-05]" in table
    t = tally(res)
    assert t["winners"] == {"p": "KAN rbf"} and t["labels"]["MLP recommended"]["clearly_ahead"] == 1
