"""benchmarks/hard.py: what its variants change, and the thinned histories it keeps."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hard():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("hard_script", ROOT / "benchmarks" / "hard.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_plain_drops_methods_and_hard_constraints(hard):
    assert hard.variant_overrides("burgers1d", "plain") == {"methods": [], "hard_constraints": False}
    assert hard.variant_overrides("laplace_lshape", "plain") == {"methods": [], "hard_constraints": False}
    assert hard.variant_overrides("burgers1d", "recommended") == {}


def test_the_ablation_removes_each_ingredient_in_turn(hard):
    assert hard.ablation_variants("burgers1d") == ["minus-RAD", "minus-hard_constraints"]
    assert hard.variant_overrides("burgers1d", "minus-hard_constraints") == {"hard_constraints": False}
    assert hard.variant_overrides("burgers1d", "minus-RAD") == {"methods": []}
    assert hard.variant_overrides("allen_cahn1d", "minus-Causal") == {"methods": []}
    with pytest.raises(ValueError, match="minus-Causal"):
        hard.variant_overrides("allen_cahn1d", "minus-LRA")


def test_thin_keeps_the_ends_and_at_most_n_log_spaced_rows(hard):
    epochs = list(range(0, 10001, 10))
    values = [1.0 / (1 + e) for e in epochs]
    t = hard.thin(epochs, values, n=40)
    assert t["epoch"][0] == 0 and t["epoch"][-1] == 10000
    assert len(t["epoch"]) <= 41 and t["epoch"] == sorted(set(t["epoch"]))
    assert all(abs(v - 1.0 / (1 + e)) <= 5e-4 / (1 + e) for e, v in zip(t["epoch"], t["rel_l2"]))
    short = hard.thin([0, 5, 10], [3.0, 2.0, 1.0], n=40)
    assert short == {"epoch": [0, 5, 10], "rel_l2": [3.0, 2.0, 1.0]}


def test_plain_is_the_recommended_run_where_the_budget_has_nothing_to_take_away(hard):
    assert hard.is_plain("poisson2d_kan") and hard.is_plain("laplace_lshape")
    assert not any(hard.is_plain(p) for p in ("burgers1d", "wave1d", "allen_cahn1d", "helmholtz2d"))
