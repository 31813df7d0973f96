"""Tuning on Optuna: budgets, the search spaces, a study that continues from its SQLite storage."""

import json
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


def _trials_by_state(url, name):
    st = optuna.load_study(study_name=name, storage=url)
    out = {}
    for t in st.trials:
        out.setdefault(t.state.name, []).append(t)
    return out


def test_trials_run_in_parallel_and_each_equals_its_serial_replay(tmp_path):
    from kanpde.tune import tune

    url = f"sqlite:///{tmp_path / 'p.db'}"
    st = tune("exp_decay", "mlp", trials=4, budget=12, storage=url, executor="process", jobs=2)
    trials = sorted(st.trials, key=lambda t: t.number)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    # two trials were asked before either finished; the third only once a worker was free (asked lazily)
    assert trials[1].datetime_start < trials[0].datetime_complete
    assert trials[2].datetime_start >= min(trials[0].datetime_complete, trials[1].datetime_complete)
    import kanpde as kp

    for t in trials:  # a trial trained in a worker gives the bits of the same configuration trained here
        opts = trial_options("mlp", t.params)
        hidden = opts.pop("hidden")
        sol = kp.solve("exp_decay", "mlp", widths=[1, *hidden, 1], epochs=12, threads=1, progress=False, **opts)
        assert sol.history.rel_l2[-1] == t.value
        assert t.user_attrs["options"]["hidden"] == hidden and t.intermediate_values  # logged errors reported


def test_an_interrupted_parallel_study_fails_its_open_trials_and_resumes(tmp_path, monkeypatch):
    import kanpde.tune as tu

    url = f"sqlite:///{tmp_path / 'i.db'}"
    told = []
    real = tu._tell

    def tell_then_interrupt(study, trial, rec):
        real(study, trial, rec)
        told.append(trial.number)
        raise KeyboardInterrupt

    monkeypatch.setattr(tu, "_tell", tell_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        tu.tune("exp_decay", "kan", trials=4, budget=10, storage=url, executor="process", jobs=2)
    states = _trials_by_state(url, "exp_decay-kan-10")
    assert len(states["COMPLETE"]) == 1 and len(states["FAIL"]) == 1 and "RUNNING" not in states
    monkeypatch.setattr(tu, "_tell", real)
    st = tu.tune("exp_decay", "kan", trials=2, budget=10, storage=url, executor="process", jobs=2)
    states = _trials_by_state(url, "exp_decay-kan-10")
    assert len(st.trials) == 4 and len(states["COMPLETE"]) == 3 and "RUNNING" not in states


def test_the_worker_side_median_rule_agrees_with_optunas_median_pruner():
    import random

    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    from kanpde.tune import _prune_line

    rng = random.Random(0)
    for case in range(30):
        warmup = rng.choice([0, 15])
        study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=warmup,
                                                                       n_min_trials=3))
        steps = [10, 20, 30]
        for _ in range(rng.randint(2, 7)):
            iv = {s: rng.uniform(0, 1) for s in steps if rng.random() < 0.7}
            study.add_trial(create_trial(state=TrialState.COMPLETE, value=rng.uniform(0, 1), params={"x": 0.5},
                                         distributions={"x": FloatDistribution(0, 1)}, intermediate_values=iv))
        line = dict(_prune_line(study, warmup=warmup))
        trial = study.ask()
        reported = []
        for s in steps:
            reported.append(rng.uniform(0, 1))
            trial.report(reported[-1], s)
            assert trial.should_prune() == (s in line and min(reported) > line[s]), (case, s, line)


def test_a_pruned_run_stops_at_the_line_and_says_where():
    from kanpde import bench

    spec = bench.expand({"name": "p", "problems": ["exp_decay"], "models": [{"label": "m", "model": "mlp"}],
                         "train": {"epochs": 40, "log_every": 5}})[0]
    import dataclasses

    cut = bench.run_one(dataclasses.replace(spec, prune_above=((10, 0.0),)), save_model=False)
    kept = bench.run_one(dataclasses.replace(spec, prune_above=((10, 1e9),)), save_model=False)
    assert cut["pruned_at"] == 10 and cut["final"]["epochs"] == 10
    assert kept["pruned_at"] is None and kept["final"]["epochs"] == 40
    assert len({spec.key, dataclasses.replace(spec, prune_above=((10, 0.0),)).key}) == 2


def test_family_compares_tuned_against_tuned(tmp_path, capsys):
    from kanpde import bench
    from kanpde.bench.tuned import best_configs
    from kanpde.cli import main
    from kanpde.results import read_jsonl
    from kanpde.tune import tune

    db = tmp_path / "t.db"
    url = f"sqlite:///{db}"
    kan = tune("exp_decay", "kan", trials=3, budget=10, storage=url)
    mlp = tune("exp_decay", "mlp", trials=2, budget=10, storage=url)
    suite = {"name": "fam", "problems": ["exp_decay", "poisson1d"],
             "models": [{"label": "KAN", "model": "kan", "hidden": [5], "grid": 5},
                        {"label": "KAN cheb", "model": "kan", "hidden": [5], "basis": "chebyshev", "degree": 3},
                        {"label": "MLP=params", "model": "mlp", "match": "KAN", "by": "params", "depth": 2}],
             "seeds": [0], "train": {"epochs": 10, "log_every": 5}}
    spec = tmp_path / "fam.json"
    spec.write_text(json.dumps(suite))
    out = tmp_path / "out"
    assert main(["bench", str(spec), "--tuned", str(db), "--out", str(out), "--quiet", "--no-plots"]) == 0
    rows = {(r["problem"], r["label"]): r for r in read_jsonl(out / "runs.jsonl")}
    k, m = rows["exp_decay", "KAN"], rows["exp_decay", "MLP=params"]
    opts = trial_options("kan", kan.best_trial.params)
    assert k["tuned"] and k["tuned_from"]["study"] == kan.study_name
    assert k["tuned_from"]["trial"] == kan.best_trial.number
    assert k["widths"] == [1, *opts["hidden"], 1] and k["model_kwargs"] == {"grid": opts["grid"], "k": opts["k"]}
    assert k["config"]["lr"] == opts["lr"] and k["config"]["optimizer"] == opts["optimizer"]
    assert k["config"]["epochs"] == 10  # the suite's budget, not the study's
    mopts = trial_options("mlp", mlp.best_trial.params)
    assert m["tuned"] and len(m["widths"]) == len(mopts["hidden"]) + 2  # the tuned MLP's depth ...
    assert abs(m["n_params"] - k["n_params"]) <= 0.1 * k["n_params"]  # ... sized to the tuned KAN
    assert m["model_kwargs"]["activation"] == mopts["activation"] and m["config"]["lr"] == mopts["lr"]
    untuned = {(s.problem, s.label): s.key for s in bench.expand(suite)}
    for (prob, label), r in rows.items():  # no study (poisson1d) or another basis: the suite's own, same key
        if prob == "poisson1d" or label == "KAN cheb":
            assert r["tuned"] is False and r["key"] == untuned[prob, label]
        else:
            assert r["key"] != untuned[prob, label]
    assert "tuned" in (out / "runs.csv").read_text().splitlines()[0].split(",")
    assert json.loads((out / "tuned.json").read_text()) == best_configs(url)
    again = bench.run(suite, out, tuned=url, resume=True, progress=False)  # the same keys: nothing to redo
    assert len(again) == 6 and len(read_jsonl(out / "runs.jsonl")) == 6
    assert main(["bench", str(spec), "--tuned", str(tmp_path / "none.db"), "--out", str(out)]) == 2
    assert "none.db" in capsys.readouterr().err


@pytest.mark.slow
def test_trials_run_on_a_local_ray_instance(tmp_path):
    pytest.importorskip("ray")
    from kanpde.tune import tune

    url = f"sqlite:///{tmp_path / 'r.db'}"
    st = tune("exp_decay", "kan", trials=3, budget=10, storage=url, executor="ray", jobs=2)
    assert [t.state.name for t in st.trials] == ["COMPLETE"] * 3
    again = tune("exp_decay", "kan", trials=1, budget=10, storage=url, executor="ray", jobs=2)
    assert len(again.trials) == 4


def test_a_new_study_first_measures_the_recommended_default(tmp_path):
    import kanpde as kp
    from kanpde.tune import tune

    st = tune("exp_decay", "mlp", trials=2, budget=12, storage=f"sqlite:///{tmp_path / 'd.db'}")
    first = min(st.trials, key=lambda t: t.number)
    assert first.user_attrs.get("recommended") is True
    default = kp.solve("exp_decay", "mlp", epochs=12, threads=1, progress=False)  # kp.solve's own defaults
    assert first.value == default.history.rel_l2[-1] and st.best_value <= default.history.rel_l2[-1]
    again = tune("exp_decay", "mlp", trials=1, budget=12, storage=f"sqlite:///{tmp_path / 'd.db'}")
    assert sum(bool(t.user_attrs.get("recommended")) for t in again.trials) == 1  # not measured twice
