"""Every example script runs end to end and writes its figures only where told."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_example_is_tested():
    assert {p.stem for p in EXAMPLES.glob("*.py")} == {"decay_symbolic", "fit_exp_sin", "pde_activations"}


def test_decay_symbolic(tmp_path, capsys):
    res = _load("decay_symbolic").main([str(tmp_path)])
    assert res["suggestions"][0].name == "exp" and res["error"] < 1e-3
    assert {p.name for p in tmp_path.iterdir()} == {"decay_edge.png", "decay_snapped.png"}
    assert "exp(-x)" in capsys.readouterr().out


def test_fit_exp_sin(tmp_path):
    res = _load("fit_exp_sin").main([str(tmp_path)])
    assert res["error"] < 1e-2
    assert {p.name for p in tmp_path.iterdir()} == {"sparse.png", "pruned.png", "snapped.png"}


def test_pde_activations(tmp_path):
    res = _load("pde_activations").main([str(tmp_path)])
    assert len(res["suggestions"]) == sum(l.in_features * l.out_features for l in res["solution"].model.layers)
    assert {p.suffix for p in tmp_path.iterdir()} == {".png", ".svg"}


@pytest.mark.parametrize("name", ["decay_symbolic", "fit_exp_sin", "pde_activations"])
def test_example_has_main_and_docstring(name):
    mod = _load(name)
    assert callable(mod.main) and mod.__doc__ and "OUT_DIR" in mod.__doc__
