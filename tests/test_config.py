"""TrainConfig: every field is type-checked on construction, and configs survive a JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kanpde as kp
from kanpde.config import FIELD_KINDS

FIELDS = [f.name for f in dataclasses.fields(kp.TrainConfig)]
#: fields checked by a generic kind ("own" fields have their own tests)
KINDED = [n for n in FIELDS if FIELD_KINDS.get(n, ("own", True))[0] != "own"]


def test_every_field_has_a_declared_kind():
    missing = sorted(set(FIELDS) - set(FIELD_KINDS))
    assert not missing, f"add these TrainConfig fields to kanpde.config.FIELD_KINDS: {missing}"
    assert not set(FIELD_KINDS) - set(FIELDS)


def test_string_lr_is_a_type_error_naming_field_value_and_type():
    with pytest.raises(TypeError, match=r"TrainConfig\.lr must be a real number.*got '1e-3' \(str\)"):
        kp.TrainConfig(lr="1e-3")


def test_solve_rejects_a_string_lr_before_training():
    with pytest.raises(TypeError, match=r"lr must be a real number"):
        kp.solve("exp_decay", lr="1e-3", epochs=5, progress=False)


@pytest.mark.parametrize("name, value, match", [
    ("epochs", 10.0, r"epochs must be an integer.*10\.0 \(float\)"),
    ("epochs", True, r"epochs must be an integer.*True \(bool\)"),
    ("epochs", "100", r"epochs must be an integer.*'100' \(str\)"),
    ("n_interior", 1.5, r"n_interior must be an integer or None"),
    ("seed", None, r"seed must be an integer.*None"),
    ("lbfgs_history", "50", r"lbfgs_history must be an integer"),
    ("lr", None, r"lr must be a real number"),
    ("lr", False, r"lr must be a real number.*False \(bool\)"),
    ("max_time", "15", r"max_time must be a real number .* or None"),
    ("reg", [0.1], r"reg must be a real number"),
    ("grid_eps", "0.02", r"grid_eps must be a real number"),
    ("progress", 1, r"progress must be True or False.*1 \(int\)"),
    ("progress", "no", r"progress must be True or False"),
    ("optimizer", ["adam"], r"optimizer must be a string.*\['adam'\] \(list\)"),
    ("schedule", 0, r"schedule must be a string or None"),
    ("dtype", torch.float32, r"dtype must be a string"),
    ("device", 0, r"device must be a string or torch.device"),
    ("checkpoint", 3, r"checkpoint must be a file path"),
    ("weights", [("pde", 1.0)], r"weights must be a mapping"),
    ("weights", {"pde": "1"}, r"weights\['pde'\] must be a real number"),
    ("weights", {1: 1.0}, r"weights keys must be term names \(strings\)"),
    ("grid_schedule", [(0, 5)], r"grid_schedule must be a mapping"),
    ("grid_schedule", {0: 5.5}, r"grid_schedule\[0\] must be an integer"),
    ("grid_schedule", {"a": 5}, r"grid_schedule keys must be epochs"),
])
def test_wrong_types_name_field_value_and_allowed_type(name, value, match):
    with pytest.raises(TypeError, match=match):
        kp.TrainConfig(**{name: value})


@pytest.mark.parametrize("kw, match", [
    ({"seed": -1}, r"seed must be >= 0"),
    ({"lbfgs_history": 0}, r"lbfgs_history must be a positive integer"),
    ({"lr": math.inf}, r"lr must be a finite positive number"),
    ({"lr": math.nan}, r"lr must be a finite positive number"),
    ({"lr_final": 0.0}, r"lr_final must be a finite positive number"),
    ({"reg_l1": -1.0}, r"reg_l1 must be a finite number >= 0"),
    ({"grid_eps": 1.5}, r"grid_eps must lie in \[0, 1\]"),
    ({"max_time": math.nan}, r"max_time must be positive seconds"),
    ({"weights": {"pde": -1.0}}, r"weights\['pde'\] must be a finite number >= 0"),
    ({"lbfgs_epochs": -1}, r"lbfgs_epochs must be >= 0"),
    ({"device": "gpu0"}, r"device 'gpu0' is not a torch device"),
])
def test_bad_values_are_value_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        kp.TrainConfig(**kw)


def test_numpy_scalars_and_ints_for_floats_are_accepted_and_normalised():
    cfg = kp.TrainConfig(epochs=np.int64(30), seed=np.int32(3), lr=1, max_time=np.float32(2.5), reg=0,
                         weights={"pde": np.float64(2.0), "dirichlet": 10}, grid_schedule={np.int64(5): np.int16(4)},
                         progress=np.bool_(False), device=torch.device("cpu"), checkpoint=Path("c.pt"))
    assert type(cfg.epochs) is int and type(cfg.seed) is int and cfg.epochs == 30
    assert type(cfg.lr) is float and type(cfg.max_time) is float and type(cfg.reg) is float
    assert cfg.weights == {"pde": 2.0, "dirichlet": 10.0} and all(type(v) is float for v in cfg.weights.values())
    assert cfg.grid_schedule == {5: 4} and all(type(k) is int and type(v) is int for k, v in cfg.grid_schedule.items())
    assert cfg.progress is False and cfg.device == "cpu" and cfg.checkpoint == "c.pt"
    json.dumps(cfg.to_dict())  # plain data throughout


def test_json_round_trip():
    cfg = kp.TrainConfig(epochs=40, optimizer="adam+lbfgs", lbfgs_epochs=10, schedule="cosine",
                         weights={"dirichlet": 100.0}, grid_schedule={0: 3, 20: 5}, max_time=5.0, grid_eps=0.5,
                         checkpoint="x.pt", n_interior=64)
    back = kp.TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg


def test_from_dict_names_unknown_keys():
    with pytest.raises(TypeError, match=r"unknown TrainConfig field\(s\) \['epochz'\]; known"):
        kp.TrainConfig.from_dict({"epochz": 3})


def test_replace_checks_types_too():
    with pytest.raises(TypeError, match=r"epochs must be an integer"):
        kp.TrainConfig().replace(epochs="3")


# ---- property tests ----------------------------------------------------------------------------

_OBJ = st.builds(object)
_NOT_NUMBERS = st.one_of(st.text(max_size=5), st.binary(max_size=3), st.lists(st.integers(), max_size=2),
                         st.dictionaries(st.text(max_size=2), st.integers(), max_size=2), st.complex_numbers(),
                         _OBJ, st.booleans(), st.tuples(st.floats()))


def _wrong(kind: str, optional: bool) -> st.SearchStrategy:
    """Values whose *type* is wrong for a field of ``kind``."""
    none = [] if optional else [st.none()]
    if kind == "int":
        return st.one_of(_NOT_NUMBERS, st.floats(), *none)
    if kind == "float":
        return st.one_of(_NOT_NUMBERS, *none)
    if kind == "bool":
        return st.one_of(st.integers(), st.floats(), st.text(max_size=3), st.lists(st.booleans(), max_size=2),
                         st.none(), _OBJ)
    if kind in ("str", "device", "path"):
        return st.one_of(st.integers(), st.floats(), st.booleans(), st.lists(st.text(max_size=2), max_size=2),
                         st.binary(max_size=2) if kind != "path" else st.complex_numbers(), _OBJ, *none)
    if kind == "weights":
        return st.one_of(st.text(max_size=3), st.integers(), st.lists(st.floats(), max_size=2), _OBJ,
                         st.dictionaries(st.integers(), st.floats(), min_size=1, max_size=2),
                         st.dictionaries(st.text(max_size=3), st.one_of(st.text(max_size=2), st.none(), _OBJ,
                                                                         st.booleans()), min_size=1, max_size=2))
    if kind == "grid_schedule":
        return st.one_of(st.text(max_size=3), st.integers(), st.lists(st.integers(), max_size=2), _OBJ,
                         st.dictionaries(st.integers(0, 99), st.one_of(st.floats(), st.text(max_size=2), st.none()),
                                         min_size=1, max_size=2),
                         st.dictionaries(st.one_of(st.floats(), st.none(), st.text(alphabet="xyz-", max_size=2)),
                                         st.integers(1, 9), min_size=1, max_size=2))
    raise AssertionError(f"no strategy for kind {kind!r}")


def _anything() -> st.SearchStrategy:
    return st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
                     st.sampled_from(["adam", "lbfgs", "cosine", "sobol", "float32", "cpu", "jet", "10"]),
                     st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.floats(), max_size=2),
                     st.dictionaries(st.integers(-5, 50), st.integers(-5, 50), max_size=2), st.complex_numbers(), _OBJ)


@pytest.mark.parametrize("name", KINDED)
@settings(max_examples=40)
@given(data=st.data())
def test_wrong_types_raise_type_or_value_error(name, data):
    kind, optional = FIELD_KINDS[name]
    value = data.draw(_wrong(kind, optional), label=name)
    with pytest.raises((TypeError, ValueError), match=name):
        kp.TrainConfig(**{name: value})


@pytest.mark.parametrize("name", FIELDS)
@settings(max_examples=40)
@given(data=st.data())
def test_any_value_constructs_or_raises_a_documented_error(name, data):
    value = data.draw(_anything(), label=name)
    try:
        cfg = kp.TrainConfig(**{name: value})
    except (TypeError, ValueError):
        return
    assert kp.TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@given(epochs=st.integers(1, 10**6), lr=st.floats(1e-8, 10.0), seed=st.integers(0, 2**32),
       n=st.one_of(st.none(), st.integers(1, 10**5)), weights=st.dictionaries(
           st.sampled_from(["pde", "dirichlet", "initial"]), st.floats(0, 1e6), max_size=3),
       sched=st.dictionaries(st.integers(0, 10**4), st.integers(1, 50), max_size=3),
       max_time=st.one_of(st.none(), st.floats(1e-3, 1e5)), progress=st.booleans())
def test_valid_configs_round_trip_through_json(epochs, lr, seed, n, weights, sched, max_time, progress):
    cfg = kp.TrainConfig(epochs=epochs, lr=lr, seed=seed, n_interior=n, weights=weights or None,
                         grid_schedule=sched or None, max_time=max_time, progress=progress)
    assert kp.TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
