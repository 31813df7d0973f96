"""Saving and loading solutions: verified files, and errors that name the file and what is wrong."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde import ops


@pytest.fixture(scope="module")
def sol():
    return kp.solve("poisson1d", "mlp", widths=[1, 6, 1], epochs=3, progress=False, n_interior=16, seed=0)


@pytest.fixture()
def saved(sol, tmp_path):
    path = tmp_path / "sol.pt"
    sol.save(path)
    return path


def _points(n: int = 9) -> np.ndarray:
    return np.linspace(-1, 1, n)[:, None]


def test_round_trip_gives_identical_predictions(sol, saved):
    back = kp.load(saved)
    assert np.array_equal(back(_points()), sol(_points()))
    assert back.config == sol.config and back.history.rel_l2 == sol.history.rel_l2


def test_zeroed_bytes_in_the_middle_fail_the_checksum(saved):
    raw = bytearray(saved.read_bytes())
    mid = len(raw) // 2
    raw[mid:mid + 64] = bytes(64)
    bad = saved.with_name("zeroed.pt")
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"zeroed\.pt.*checksum"):
        kp.load(bad)


@pytest.mark.parametrize("where", [0.1, 0.5, 0.99])
def test_a_single_flipped_byte_is_detected(saved, where):
    raw = bytearray(saved.read_bytes())
    i = int(len(raw) * where)
    raw[i] ^= 0x01
    saved.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"sol\.pt"):
        kp.load(saved)


def test_truncated_file_names_the_file(saved):
    raw = saved.read_bytes()
    cut = saved.with_name("cut.pt")
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cut\.pt.*truncated"):
        kp.load(cut)


def test_empty_file_names_the_file(tmp_path):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.pt.*empty"):
        kp.load(empty)


def test_other_files_are_not_kanpde_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(ValueError, match=r"notes\.txt.*not a kanpde solution file"):
        kp.load(text)
    weights = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(3)}, weights)
    with pytest.raises(ValueError, match=r"weights\.pt.*not a kanpde solution file"):
        kp.load(weights)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.pt"):
        kp.load(tmp_path / "nowhere.pt")


def test_a_directory_is_not_a_solution_file(tmp_path):
    with pytest.raises(IsADirectoryError, match=str(tmp_path.name)):
        kp.load(tmp_path)


def _user_problem(name: str = "my_decay") -> kp.Problem:
    return kp.Problem(name, kp.Interval(0.0, 1.0), lambda x, u: ops.partial(u, x, 0) + u,
                      conditions=(kp.Initial(1.0),), order=1)


def test_user_problem_needs_problem_argument(tmp_path):
    prob = _user_problem()
    s = kp.train(prob, kp.MLP([1, 4, 1], seed=0), kp.TrainConfig(epochs=2, progress=False, n_interior=8))
    path = tmp_path / "user.pt"
    s.save(path)
    with pytest.raises(ValueError, match=r"user\.pt.*my_decay.*problem="):
        kp.load(path)
    back = kp.load(path, problem=prob)
    x = np.linspace(0, 1, 5)[:, None]
    assert np.array_equal(back(x), s(x))


def test_user_problem_named_like_a_catalog_problem_is_not_swapped_for_it(tmp_path):
    prob = _user_problem("exp_decay")
    s = kp.train(prob, kp.MLP([1, 4, 1], seed=0), kp.TrainConfig(epochs=2, progress=False, n_interior=8))
    path = tmp_path / "shadow.pt"
    s.save(path)
    with pytest.raises(ValueError, match="problem="):
        kp.load(path)


def test_wrong_problem_argument_is_refused(saved):
    with pytest.raises(ValueError, match=r"sol\.pt.*poisson1d.*my_decay"):
        kp.load(saved, problem=_user_problem())


def test_file_from_before_checksums_loads_with_a_warning(sol, tmp_path):
    """Files written before checksums were added (a bare ``torch.save`` of the payload) stay loadable."""
    from kanpde.solution import FORMAT

    m = sol.model
    legacy = {"format": FORMAT, "model": {"class": f"{type(m).__module__}.{type(m).__qualname__}",
                                          "config": m.config(), "state_dict": m.state_dict()},
              "problem": sol.problem.name, "problem_params": dict(sol.problem.params),
              "config": sol.config.to_dict(), "history": sol.history.to_dict(), "scaling": sol.scaling.to_dict()}
    path = tmp_path / "old.pt"
    torch.save(legacy, path)
    with pytest.warns(UserWarning, match=r"old\.pt.*no checksum"):
        back = kp.load(path)
    assert np.array_equal(back(_points()), sol(_points()))


def test_save_replaces_the_file_whole(sol, saved):
    """A second save over an existing file leaves a loadable file and no temporary files behind."""
    sol.save(saved)
    assert [p.name for p in saved.parent.iterdir()] == ["sol.pt"]
    kp.load(saved)


def test_save_into_a_missing_directory_or_onto_a_directory_names_the_path(sol, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no_such_dir.*does not exist"):
        sol.save(tmp_path / "no_such_dir" / "s.pt")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        sol.save(tmp_path)
    assert not list(tmp_path.iterdir())


def test_model_class_defined_in_a_function_is_refused_at_save(sol, tmp_path):
    class Inner(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(1, 1).double()

        def forward(self, x):
            return self.lin(x)

    s = kp.Solution(sol.problem, Inner(), sol.config, sol.history, sol.scaling)
    with pytest.raises(TypeError, match=r"Inner.*module level"):
        s.save(tmp_path / "inner.pt")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("with_config", [True, False])
def test_model_class_that_cannot_be_imported_at_load(sol, tmp_path, monkeypatch, with_config):
    src = tmp_path / "src"
    src.mkdir()
    config = "    def config(self):\n        return {'widths': self.widths}\n" if with_config else ""
    (src / "gone_models.py").write_text(textwrap.dedent("""
        import torch

        class Net(torch.nn.Module):
            def __init__(self, widths):
                super().__init__()
                self.widths = list(widths)
                self.lin = torch.nn.Linear(widths[0], widths[-1]).double()

            def forward(self, x):
                return self.lin(x)
    """) + config)
    monkeypatch.syspath_prepend(str(src))
    import gone_models

    s = kp.Solution(sol.problem, gone_models.Net([1, 1]), sol.config, sol.history, sol.scaling)
    path = tmp_path / "custom.pt"
    s.save(path)
    back = kp.load(path)
    assert np.array_equal(back(_points()), s(_points()))
    monkeypatch.delitem(sys.modules, "gone_models")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(src)])
    with pytest.raises(ValueError, match=r"custom\.pt.*gone_models\.Net.*import"):
        kp.load(path)
