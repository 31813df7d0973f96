"""Benchmarks: budget matching, suites, results schema, resume after a killed run, time to accuracy."""

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import kanpde as kp
from kanpde import bench
from kanpde.history import History
from kanpde.models import MLP
from kanpde.results import read_jsonl, time_to_accuracy

TINY = {"name": "tiny", "problems": ["exp_decay", "poisson1d"],
        "models": [{"label": "small", "model": "mlp", "hidden": [6]},
                   {"label": "matched", "model": "mlp", "match": "small", "by": "params", "depth": 2}],
        "seeds": [0, 1], "train": {"epochs": 30, "log_every": 5, "lr": 1e-2}}


def _kan():
    return kp.KAN


@pytest.mark.parametrize("by", ["params", "flops"])
@pytest.mark.parametrize("widths,grid", [([1, 5, 1], 5), ([2, 10, 1], 5), ([2, 5, 5, 1], 10), ([1, 1], 10)])
def test_matched_mlp_within_ten_percent_of_kan(widths, grid, by):
    kan = _kan()(widths, grid=grid)
    target = kan.count_params() if by == "params" else kan.count_flops()
    w = bench.match_mlp(target, widths[0], widths[-1], by=by)
    m = MLP(w)
    got = m.count_params() if by == "params" else m.count_flops()
    assert abs(got - target) <= 0.1 * target, (w, got, target)
    assert w[0] == widths[0] and w[-1] == widths[-1]


def test_match_mlp_prefers_requested_depth_and_reports_impossible():
    w = bench.match_mlp(1185, 2, 1, depth=2)
    assert w == [2, 32, 32, 1]  # exactly the default MLP's count
    assert len(bench.match_mlp(16, 1, 1, depth=1)) == 3
    with pytest.raises(ValueError, match="within"):
        bench.match_mlp(2, 1, 1, tol=0.01)
    with pytest.raises(ValueError, match="'params' or 'flops'"):
        bench.match_mlp(100, 1, 1, by="time")


def test_suite_expansion_records_both_counts_and_keys():
    _kan()
    runs = bench.expand("quick")
    assert len(runs) == 3 * 3 * 2
    by_label = {}
    for r in runs:
        by_label.setdefault((r.problem, r.label), r)
    for r in by_label.values():
        if r.match:
            ref = r.match
            net = MLP(list(r.widths))
            mine = net.count_params() if ref["by"] == "params" else net.count_flops()
            target = ref["ref_params"] if ref["by"] == "params" else ref["ref_flops"]
            assert abs(mine - target) <= 0.1 * target
            assert abs(ref["ratio"] - 1) <= 0.1
    keys = [r.key for r in runs]
    assert len(set(keys)) == len(keys)  # seeds and models give distinct keys
    assert bench.expand("quick")[0].key == keys[0]  # and the key is stable
    # threads/progress do not change a run's identity
    r0 = runs[0]
    import dataclasses

    assert dataclasses.replace(r0, config={**r0.config, "threads": 7, "progress": True}).key == r0.key
    assert dataclasses.replace(r0, config={**r0.config, "lr": 0.5}).key != r0.key


def test_grid_schedule_matches_the_final_kan():
    _kan()
    suite = {"name": "g", "problems": ["poisson1d"],
             "models": [{"label": "K", "model": "kan", "hidden": [4], "grid": 3,
                         "train": {"grid_schedule": {0: 3, 5: 10}}},
                        {"label": "M", "model": "mlp", "match": "K"}], "seeds": [0]}
    runs = bench.expand(suite)
    final = kp.KAN([1, 4, 1], grid=10).count_params()
    assert runs[1].match["ref_params"] == final


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="known suites: .*quick"):
        bench.get_suite("nope")
    bad = {**TINY, "problems": ["nope"]}
    with pytest.raises(ValueError, match="exp_decay"):
        bench.expand(bad)
    bad = {**TINY, "models": [{"label": "x", "model": "transformer"}]}
    with pytest.raises(ValueError, match="known: .*mlp"):
        bench.expand(bad)
    bad = {**TINY, "models": [{"label": "m", "model": "mlp", "match": "ghost"}]}
    with pytest.raises(ValueError, match="ghost"):
        bench.expand(bad)
    with pytest.raises(ValueError, match="unknown training option"):
        bench.expand({**TINY, "train": {"epochz": 3}})


def test_time_to_accuracy_on_a_synthetic_history():
    h = History()
    for ep, rel, t in [(0, 1.0, 0.0), (10, 0.05, 1.0), (20, 0.009, 2.0), (30, 0.02, 3.0), (40, 5e-4, 4.5),
                       (50, 2e-4, 5.0)]:
        h.record(ep, rel, {}, rel, rel, t)
    tta = time_to_accuracy(h, (1e-2, 1e-3, 1e-4))
    assert tta[1e-2] == (20.0, 2.0)  # the first record at or below the level, even if it rises again
    assert tta[1e-3] == (40.0, 4.5)
    assert all(math.isnan(v) for v in tta[1e-4])
    h.rel_l2[1] = math.nan
    assert time_to_accuracy(h, (1e-2,))[1e-2] == (20.0, 2.0)


def test_results_schema_round_trip(tmp_path):
    res = bench.run(TINY, tmp_path, jobs=1, progress=False)
    assert len(res) == 8
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 8
    rec = json.loads(lines[0])
    for k in ("schema", "key", "status", "suite", "problem", "label", "model", "widths", "seed", "config",
              "n_params", "n_flops", "final", "diverged", "history", "env", "match", "solution", "params_trace"):
        assert k in rec, k
    assert rec["schema"] == "kanpde-bench/1" and rec["status"] == "ok"
    assert {"torch", "dtype", "device", "threads"} <= set(rec["env"])
    assert set(rec["history"]["terms"]) == {"pde", "initial"}
    assert kp.TrainConfig.from_dict(rec["config"]).epochs == 30
    h = History.from_dict(rec["history"])
    assert h.rel_l2[-1] == pytest.approx(rec["final"]["rel_l2"])
    assert (tmp_path / rec["solution"]).exists()
    sol = kp.load(tmp_path / rec["solution"])
    assert sol.n_params == rec["n_params"]
    loaded = bench.load(tmp_path)
    assert [r["key"] for r in loaded] == [r["key"] for r in res]
    assert loaded.history(0).epoch == h.epoch
    matched = [r for r in loaded if r["label"] == "matched"]
    assert all(r["match_by"] == "params" and r["match_ref"] == "small" for r in matched)
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(loaded)
    assert len(df) == 8 and {"rel_l2", "n_params", "n_flops", "time_to_1e-3", "wall_time"} <= set(df.columns)
    runs_csv = pd.read_csv(tmp_path / "runs.csv")
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(runs_csv) == 8 and len(summary) == 4
    assert {"rel_l2", "rel_l2_min", "rel_l2_max", "epochs_to_1e-2", "time_to_1e-3", "winner"} <= set(summary.columns)
    assert set(summary.loc[summary.label == "matched", "winner"]) <= {"small", "matched"}
    assert "rel L2" in bench.report(loaded)


def test_truncated_last_line_is_tolerated_and_repaired(tmp_path):
    res = bench.run({**TINY, "problems": ["exp_decay"], "seeds": [0]}, tmp_path, jobs=1, progress=False)
    path = tmp_path / "runs.jsonl"
    good = path.read_text()
    path.write_text(good + '{"key": "abc", "status": "ok", "hist')  # a writer killed mid-line
    assert len(bench.load(tmp_path)) == len(res)
    again = bench.run({**TINY, "problems": ["exp_decay"], "seeds": [0]}, tmp_path, jobs=1, progress=False,
                      resume=True)
    assert len(again) == len(res)
    assert path.read_text() == good  # nothing redone; the partial line was cut


def test_gzip_results_read_as_they_are_and_a_cut_off_file_keeps_its_whole_lines(tmp_path):
    import gzip
    import json

    recs = [{"key": f"k{i}", "status": "ok", "n": i} for i in range(200)]
    text = "".join(json.dumps(r) + "\n" for r in recs).encode()
    whole, cut = tmp_path / "runs.jsonl.gz", tmp_path / "cut.jsonl.gz"
    whole.write_bytes(gzip.compress(text))
    assert read_jsonl(whole) == recs
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    part = read_jsonl(cut)
    assert 0 < len(part) < len(recs) and part == recs[: len(part)]


def test_without_resume_old_results_are_kept_aside(tmp_path):
    suite = {**TINY, "problems": ["exp_decay"], "seeds": [0], "models": TINY["models"][:1]}
    bench.run(suite, tmp_path, jobs=1, progress=False)
    bench.run(suite, tmp_path, jobs=1, progress=False)
    assert len(list(tmp_path.glob("runs.jsonl.*.bak"))) == 1
    assert len(read_jsonl(tmp_path / "runs.jsonl")) == 1


def test_resume_after_sigkill_redoes_only_unfinished_runs(tmp_path):
    suite = {"name": "kill", "problems": ["exp_decay"], "models": [{"label": "m", "model": "mlp", "hidden": [8]}],
             "seeds": list(range(6)), "train": {"epochs": 400, "log_every": 50}}
    spec = tmp_path / "suite.json"
    spec.write_text(json.dumps(suite))
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        from kanpde import bench
        bench.run({str(spec)!r}, {str(out)!r}, jobs=1, threads=1, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    path = out / "runs.jsonl"
    t0 = time.time()
    try:
        while time.time() - t0 < 40:
            if path.exists() and len(path.read_text().splitlines()) >= 2:
                break
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    before = read_jsonl(path)
    assert 2 <= len(before) < 6, "the suite should be killed mid-way"
    assert proc.returncode == -signal.SIGKILL
    done_keys = {r["key"] for r in before}
    redone = []
    res = bench.run(str(spec), out, resume=True, jobs=1, progress=False, on_result=lambda r, i, n: redone.append(r))
    assert len(res) == 6 and sorted(r["seed"] for r in res) == list(range(6))
    assert len(redone) == 6 - len(before)
    assert not done_keys & {r["key"] for r in redone}  # finished runs are not redone
    after = read_jsonl(path)
    assert after[:len(before)] == before  # and their records are untouched
    assert len({r["key"] for r in after}) == 6


def test_parallel_jobs_give_the_same_results_as_serial(tmp_path):
    suite = {**TINY, "problems": ["exp_decay"]}
    serial = bench.run(suite, tmp_path / "a", jobs=1, threads=1, progress=False)
    par = bench.run(suite, tmp_path / "b", jobs=2, threads=1, progress=False)
    assert [r["key"] for r in par] == [r["key"] for r in serial]
    assert [r["rel_l2"] for r in par] == pytest.approx([r["rel_l2"] for r in serial], rel=1e-9)
    assert all(rec["env"]["threads"] == 1 for rec in par.records)


def test_a_run_cut_short_by_max_time_is_flagged_and_left_out_of_verdicts(tmp_path):
    suite = {"name": "cap", "problems": ["exp_decay"], "seeds": [0],
             "models": [{"label": "small", "model": "mlp", "hidden": [6],
                         "train": {"epochs": 10**6, "max_time": 0.2, "log_every": 10**5}},
                        {"label": "matched", "model": "mlp", "match": "small", "by": "params", "depth": 2}],
             "train": {"epochs": 20, "log_every": 5, "lr": 1e-2}}
    res = bench.run(suite, tmp_path, executor="serial", progress=False)
    recs = {r["label"]: r for r in res.records}
    assert recs["small"]["stopped_by_time"] is True and recs["small"]["final"]["epochs"] < 10**6
    assert recs["matched"]["stopped_by_time"] is False
    rows = {r["label"]: r for r in bench.summarize(res)}
    assert rows["small"]["cut_short"] == 1 and rows["matched"]["cut_short"] == 0
    assert rows["matched"]["winner"] == ""  # no verdict against a run that did not finish its epochs
    table = bench.report(res)
    assert "1 cut short by max_time" in table and "none: all runs cut short" in table
    assert "cut_short" in open(tmp_path / "summary.csv").readline()
    old = {k: v for k, v in recs["small"].items() if k != "stopped_by_time"}  # a record from before the field
    assert bench.Results([old]).records and bench.Results([old])[0]["stopped_by_time"] is True


def test_shipped_suites_compare_at_equal_epochs():
    assert "max_time" not in json.dumps(bench.SUITES)  # no wall-time cap in any shipped suite
    assert all(sp.config["max_time"] is None for sp in bench.expand("quick", seeds=[0]))


def test_problem_subset_runs_then_the_full_suite_resumes_from_it(tmp_path):
    suite = {**TINY, "seeds": [0]}
    part = bench.run(suite, tmp_path, jobs=1, progress=False, problems=["poisson1d"])
    assert {r["problem"] for r in read_jsonl(tmp_path / "runs.jsonl")} == {"poisson1d"} and len(part) == 2
    first = (tmp_path / "runs.jsonl").read_text()
    bench.run(suite, tmp_path, jobs=1, progress=False, resume=True)
    rows = read_jsonl(tmp_path / "runs.jsonl")
    assert (tmp_path / "runs.jsonl").read_text().startswith(first)  # the subset's runs were kept, not redone
    assert sorted(r["problem"] for r in rows) == ["exp_decay", "exp_decay", "poisson1d", "poisson1d"]
    # the subset's runs keep their place in the whole suite: poisson1d comes after exp_decay
    assert {r["problem"]: r["order"] for r in rows} == {"exp_decay": 1, "poisson1d": 3}
    with pytest.raises(ValueError, match="has no problem.*its problems: exp_decay, poisson1d"):
        bench.run(suite, tmp_path, jobs=1, progress=False, problems=["heat1d"])


def test_a_reference_model_is_run_and_recorded_with_the_key_it_would_have_without_the_flag(tmp_path):
    suite = {**TINY, "problems": ["exp_decay"], "seeds": [0],
             "models": [{"label": "A", "model": "mlp", "hidden": [6]},
                        {"label": "R", "model": "mlp", "hidden": [12], "reference": True}]}
    plain = {**suite, "models": [suite["models"][0], {"label": "R", "model": "mlp", "hidden": [12]}]}
    specs = bench.expand(suite)
    assert [s.reference for s in specs] == [False, True]
    assert [s.key for s in specs] == [s.key for s in bench.expand(plain)]  # earlier runs resume
    res = bench.run(suite, tmp_path, jobs=1, progress=False)
    assert {r["label"]: r["reference"] for r in res} == {"A": False, "R": True}
    assert [r["reference"] for r in read_jsonl(tmp_path / "runs.jsonl")] == [False, True]
    with pytest.raises(ValueError, match="'reference' must be true or false"):
        bench.expand({**suite, "models": [{"label": "R", "model": "mlp", "reference": "yes"}]})


def test_run_keys_ignore_chunking_and_options_at_their_old_defaults():
    (spec,) = bench.expand({**TINY, "problems": ["exp_decay"], "models": TINY["models"][:1], "seeds": [0]})
    same = [dataclasses.replace(spec, config={**spec.config, **c}) for c in
            ({"chunk_size": 4096}, {"hard_constraints": False}, {"threads": 2})]
    assert all(s.key == spec.key for s in same)
    assert dataclasses.replace(spec, config={**spec.config, "hard_constraints": True}).key != spec.key
