"""Tuning on Optuna: budgets, the search spaces, a study that continues from its SQLite storage."""

import sqlite3

import pytest

from kanpde.tune import SPACES, parse_budget, trial_options

optuna = pytest.importorskip("optuna")


def test_budget_is_epochs_or_seconds():
    assert parse_budget(2000) == {"epochs": 2000} == parse_budget("2000")
    assert parse_budget("60s") == {"max_time": 60.0} and parse_budget("2.5s") == {"max_time": 2.5}
    for bad in ("-3s", "soon", 0, "0s"):
        with pytest.raises(ValueError, match="budget"):
            parse_budget(bad)


def test_a_second_call_continues_the_same_study(tmp_path):
    from kanpde.tune import tune

    url = f"sqlite:///{tmp_path / 't.db'}"
    first = tune("exp_decay", "kan", trials=2, budget=15, storage=url)
    second = tune("exp_decay", "kan", trials=2, budget=15, storage=url)
    assert first.study_name == second.study_name == "exp_decay-kan-15"
    con = sqlite3.connect(tmp_path / "t.db")
    assert con.execute("select count(*) from studies").fetchone()[0] == 1
    assert con.execute("select count(*) from trials").fetchone()[0] == 4
    params = [t.params for t in second.trials]
    assert params[2:] != params[:2]  # the continued study samples new points
    best = second.best_trial
    opts = trial_options("kan", best.params)
    assert set(opts) == {"hidden", "grid", "k", "lr", "optimizer"} and best.value < 1.0
    import kanpde as kp

    hidden = opts.pop("hidden")  # the best trial, rebuilt by kp.solve, gives the same number
    sol = kp.solve("exp_decay", "kan", widths=[1, *hidden, 1], epochs=15, threads=1, progress=False, **opts)
    assert sol.history.rel_l2[-1] == best.value


def test_every_family_space_is_replayable():
    for family, space in SPACES.items():
        study = optuna.create_study()
        trial = study.ask()
        opts = space(trial)
        assert trial_options(family, trial.params) == opts
    with pytest.raises(ValueError, match="spaces: .*kan"):
        trial_options("transformer", {})


def test_cli_prints_the_best_trial_and_how_to_reproduce_it(tmp_path, capsys):
    from kanpde.cli import main

    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["tune", "exp_decay", "--model", "mlp", "--trials", "1", "--budget", "10", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "1 trials (1 complete)" in out and "reproduce: kanpde solve exp_decay --model mlp --widths 1," in out
    assert main(["tune", "exp_decay", "--budget", "soon", "--storage", url]) == 2
