"""The `kanpde` command: list, solve, bench, plot end to end on tiny inputs; clear errors."""

import json
import subprocess
import sys

import pytest

from kanpde.cli import build_parser, main

TINY = {"name": "tiny", "problems": ["exp_decay", "poisson1d"],
        "models": [{"label": "A", "model": "mlp", "hidden": [6]},
                   {"label": "B", "model": "mlp", "match": "A", "by": "params", "depth": 2}],
        "seeds": [0, 1], "train": {"epochs": 20, "log_every": 5}}


def test_list_problems_suites_models(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["name", "dims", "tags"]
    line = next(ln for ln in out.splitlines() if ln.startswith("poisson2d "))
    assert "2->1" in line and "elliptic" in line and "lap" in line
    assert main(["list", "suites"]) == 0
    out = capsys.readouterr().out
    assert all(s in out for s in ("quick", "decay_study", "kan_poisson", "catalog", "full"))
    assert main(["list", "models"]) == 0
    assert "kan" in capsys.readouterr().out
    assert main(["list", "--tag", "ode"]) == 0
    assert "exp_decay" in capsys.readouterr().out


def test_solve_prints_final_line_and_writes_plot_and_save(tmp_path, capsys):
    code = main(["solve", "exp_decay", "--model", "mlp", "--widths", "1,8,1", "--epochs", "30", "--lr", "0.01",
                 "--seed", "1", "--optimizer", "adam", "--dtype", "float64", "--device", "cpu", "--quiet",
                 "--plot", str(tmp_path / "figs"), "--save", str(tmp_path / "s.pt")])
    assert code == 0
    out = capsys.readouterr().out
    final = [ln for ln in out.splitlines() if "rel L2" in ln][0]
    assert "max error" in final and "25 params" in final and "wall" in final
    assert (tmp_path / "s.pt").exists()
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["exp_decay_field.png", "exp_decay_history.png"]
    assert main(["plot", str(tmp_path / "s.pt"), "--out", str(tmp_path / "p")]) == 0
    assert len(list((tmp_path / "p").glob("*.png"))) == 2


def test_solve_kan_with_grid_options(capsys):
    assert main(["solve", "poisson1d", "--model", "kan", "--widths", "1,3,1", "--grid", "3", "--k", "3",
                 "--grid-schedule", "0:3,10:6", "--epochs", "20", "--quiet"]) == 0
    assert "KAN[1, 3, 1]" in capsys.readouterr().out


def test_solve_kan_with_another_basis(capsys):
    assert main(["solve", "poisson1d", "--model", "kan", "--widths", "1,3,1", "--basis", "chebyshev", "--degree", "4",
                 "--epochs", "5", "--quiet"]) == 0
    assert "KAN[1, 3, 1]" in capsys.readouterr().out
    assert main(["solve", "poisson1d", "--model", "kan", "--basis", "nope", "--epochs", "2", "--quiet"]) != 0
    assert "chebyshev" in capsys.readouterr().err


@pytest.mark.parametrize("argv,needle", [
    (["solve", "no_such_problem"], "poisson2d"),
    (["solve", "exp_decay", "--model", "transformer", "--epochs", "2"], "mlp"),
    (["solve", "exp_decay", "--model", "mlp", "--grid", "5", "--epochs", "2", "--quiet"], "grid"),
    (["bench", "no_such_suite"], "quick"),
    (["plot", "/no/such/dir"], "does not exist"),
])
def test_errors_are_one_line_with_exit_code_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and "Traceback" not in err[0]


def test_bench_then_resume_then_plot(tmp_path, capsys):
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps(TINY))
    out = tmp_path / "runs"
    assert main(["bench", str(spec), "--out", str(out), "--jobs", "2", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "rel L2 median" in text and "equal-budget winner" in text
    for name in ("runs.jsonl", "runs.csv", "summary.csv", "report.md", "suite.json"):
        assert (out / name).exists(), name
    assert (out / "figures" / "convergence.png").exists()
    assert "winner: median rel L2" in text  # the verdict against the equal-params MLP "B"
    assert "## Verdict" in (out / "report.md").read_text()
    n = len((out / "runs.jsonl").read_text().splitlines())
    assert n == 8
    assert main(["bench", str(spec), "--out", str(out), "--resume", "--no-plots", "--quiet"]) == 0
    assert len((out / "runs.jsonl").read_text().splitlines()) == n  # nothing redone
    assert main(["bench", str(spec), "--out", str(out), "--resume", "--seeds", "0,1,2", "--no-plots",
                 "--quiet"]) == 0
    assert len((out / "runs.jsonl").read_text().splitlines()) == n + 4  # only the new seed ran
    import glob

    first_csv = glob.glob(f"{out}/**/*.csv", recursive=True)[0]
    assert len(open(first_csv).read().splitlines()) - 1 >= 6
    assert main(["plot", str(out), "--out", str(tmp_path / "figs"), "--no-fields"]) == 0
    assert {p.name for p in (tmp_path / "figs").iterdir()} == {
        "convergence.png", "error_vs_params.png", "error_vs_flops.png", "error_vs_time.png"}


def test_every_option_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        for action in p._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"


def test_module_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "kanpde.cli", "bench", "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "--resume" in r.stdout and "--jobs" in r.stdout


def test_solve_dry_run_prints_the_resolved_configuration(capsys):
    from kanpde.resolve import resolve_config

    want = resolve_config("helmholtz2d", {"epochs": 600, "seed": 0}, family="kan")  # the budget's share of L-BFGS
    assert main(["solve", "helmholtz2d", "--model", "kan", "--epochs", "600", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "KAN[2, 10, 1]" in out and "epochs = 600" in out and f"lbfgs_epochs = {want.lbfgs_epochs!r}" in out
    assert f"optimizer = {want.optimizer!r}" in out
    assert main(["solve", "exp_decay", "--dry-run", "--widths", "2,4,1"]) == 2  # widths that do not fit


def test_solve_takes_large_point_set_options(capsys):
    assert main(["solve", "poisson2d", "--n-interior", "20000", "--batch-size", "5000", "--chunk-size", "2000",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "n_interior = 20000" in out and "batch_size = 5000" in out and "chunk_size = 2000" in out
    assert main(["solve", "poisson2d", "--chunk-size", "0", "--dry-run"]) == 2  # a clear error, not a crash
