"""History records rows and round-trips through JSON with NaN and inf written as null."""

import json
import math

import numpy as np

from kanpde.history import History, json_safe


def test_json_safe_replaces_non_finite_and_numpy_values():
    raw = {"a": [1.0, math.nan, math.inf], "b": (np.float64(2.5), np.float32(-np.inf)), 3: {"c": np.int64(4)}}
    out = json_safe(raw)
    assert out == {"a": [1.0, None, None], "b": [2.5, None], "3": {"c": 4}}
    assert type(out["3"]["c"]) is int
    json.dumps(out, allow_nan=False)  # raises on any NaN or inf left behind


def test_history_round_trips_through_json_with_missing_terms():
    h = History(n_params=7)
    h.record(0, 1.0, {"pde": 0.5}, math.nan, 2.0, 0.0)
    h.record(10, 0.1, {"pde": 0.05, "dirichlet": 0.01}, 0.2, 0.3, 1.5)
    assert h.terms["dirichlet"][0] != h.terms["dirichlet"][0]  # a term that appears late is NaN before
    back = History.from_dict(json.loads(json.dumps(h.to_dict(), allow_nan=False)))
    assert back.epoch == [0, 10] and back.n_params == 7
    assert math.isnan(back.rel_l2[0]) and back.rel_l2[1] == 0.2
    assert math.isnan(back.terms["dirichlet"][0]) and back.terms["dirichlet"][1] == 0.01
    assert [r["loss_pde"] for r in back.rows()] == [0.5, 0.05]
