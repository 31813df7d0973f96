"""The README's Python quickstart runs as written, its two commands are the ones CI uses, and its generated
tables match the committed results (benchmarks/make_docs.py)."""

import importlib.util
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def blocks(lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_quickstart_runs(capsys):
    code = blocks("python")[0]
    assert "import kanpde" in code and len(code.strip().splitlines()) <= 12
    exec(compile(code, "README quickstart", "exec"), {})
    out = capsys.readouterr().out
    assert "exp_decay" in out


def test_readme_commands_match_ci():
    cmds = [b.strip() for b in blocks("bash")]
    assert cmds[0] == "pip install -e . && kanpde bench quick"
    assert cmds[1] == 'pip install -e ".[test]" && pytest'
    assert cmds[1] in (ROOT / ".ci" / "run").read_text()


def test_reading_a_kan_section_runs(tmp_path, monkeypatch):
    import kanpde as kp

    code = next(b for b in blocks("python") if "interpret.formula" in b)
    monkeypatch.chdir(tmp_path)
    env = {"kp": kp}
    exec(compile(code, "README reading a KAN", "exec"), env)
    assert str(env["kp"].interpret.formula(env["sol"])) == "exp(-x)"
    assert (tmp_path / "activations.png").stat().st_size > 1000


# -- generated tables: benchmarks/make_docs.py ------------------------------------------------
def make_docs():
    spec = importlib.util.spec_from_file_location("make_docs", ROOT / "benchmarks" / "make_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def copy_tree(tmp_path):
    for page in ("README.md", "benchmarks/README.md", "problems/README.md"):
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / page, tmp_path / page)
    shutil.copytree(ROOT / "benchmarks" / "results", tmp_path / "benchmarks" / "results")
    return tmp_path


def test_generated_tables_match_the_committed_results():
    assert make_docs().check(ROOT) == []


def test_quick_table_medians_come_from_the_committed_runs():
    recs = [json.loads(line) for line in (ROOT / "benchmarks/results/quick.jsonl").read_text().splitlines()]
    kan = sorted(r["final"]["rel_l2"] for r in recs if r["problem"] == "poisson2d" and r["label"] == "KAN")
    row = next(line for line in blocks_text("quick-table").splitlines() if line.startswith("| poisson2d | KAN"))
    assert f"{np.median(kan):.2e} [{kan[0]:.2e}, {kan[-1]:.2e}]" in row


def blocks_text(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(f"<!-- make_docs:{name} -->\n", 1)[1].split("<!-- /make_docs -->", 1)[0]


def test_check_names_a_stale_table_and_the_plain_command_fixes_it(tmp_path, capsys):
    md = make_docs()
    root = copy_tree(tmp_path)
    readme = root / "README.md"
    readme.write_text(readme.read_text().replace("| exp_decay | KAN 1-5-1 | 100 |", "| exp_decay | KAN 1-5-1 | 101 |"))
    assert md.check(root) == ["README.md: quick-table"]
    assert md.main(["--check", "--root", str(root)]) == 1
    assert "README.md: quick-table differs" in capsys.readouterr().err
    assert md.main(["--no-figures", "--root", str(root)]) == 0
    assert readme.read_text() == (ROOT / "README.md").read_text()
    assert md.main(["--check", "--root", str(root)]) == 0


def test_check_fails_when_a_required_marker_is_removed(tmp_path):
    md = make_docs()
    root = copy_tree(tmp_path)
    page = root / "benchmarks" / "README.md"
    page.write_text(page.read_text().replace("<!-- make_docs:kan-accuracy -->\n", ""))
    assert md.check(root) == ["benchmarks/README.md: kan-accuracy (markers missing)"]


def test_unknown_block_names_are_refused(tmp_path):
    md = make_docs()
    root = copy_tree(tmp_path)
    (root / "README.md").write_text("<!-- make_docs:no-such-table -->\nx\n<!-- /make_docs -->\n")
    with pytest.raises(ValueError, match="unknown make_docs block 'no-such-table'"):
        md.check(root)


def test_add_run_copies_a_results_directory(tmp_path):
    md = make_docs()
    root = copy_tree(tmp_path / "repo")
    run = tmp_path / "run"
    run.mkdir()
    committed = (ROOT / "benchmarks/results/kan_poisson.jsonl").read_text()
    (run / "runs.jsonl").write_text(committed)
    (root / "benchmarks/results/kan_poisson.jsonl").unlink()
    assert md.add_run(run, root) == root / "benchmarks/results/kan_poisson.jsonl"
    assert (root / "benchmarks/results/kan_poisson.jsonl").read_text() == committed  # rounding is idempotent


def test_compact_add_keeps_the_final_numbers_and_a_short_log_spaced_history(tmp_path):
    from kanpde.results import load, summarize

    md = make_docs()
    root = copy_tree(tmp_path / "repo")
    run = tmp_path / "run"
    run.mkdir()
    (run / "runs.jsonl").write_text((ROOT / "benchmarks/results/quick.jsonl").read_text())
    path = md.add_run(run, root, compact=True)
    assert path.name == "quick.jsonl.gz" and not (root / "benchmarks/results/quick.jsonl").exists()  # one file
    packed = path.read_bytes()
    assert md.add_run(run, root, compact=True).read_bytes() == packed  # the same runs, the same bytes
    full, small = load(ROOT / "benchmarks/results/quick.jsonl"), load(path)
    assert path.stat().st_size < 0.1 * (ROOT / "benchmarks/results/quick.jsonl").stat().st_size
    for a, b in zip(summarize(full), summarize(small), strict=True):
        assert (a["label"], a["rel_l2"], a["rel_l2_min"], a["n_params"]) == (b["label"], b["rel_l2"], b["rel_l2_min"],
                                                                            b["n_params"])
    for i in range(len(small)):
        h, g = small.history(i), full.history(i)
        assert len(h.epoch) <= md.COMPACT_ROWS + 2 and h.epoch[-1] == g.epoch[-1] and h.epoch[0] == g.epoch[0]
        assert h.rel_l2[-1] == pytest.approx(g.rel_l2[-1], rel=1e-3)  # 4 digits; the exact one is in "final"
    (root / "README.md").write_text("<!-- make_docs:quick-verdict -->\n<!-- /make_docs -->\n")
    md.write_tables(root)
    assert "| exp_decay | KAN: 5.23e-05" in (root / "README.md").read_text()
    assert "from `benchmarks/results/quick.jsonl.gz`" in (root / "README.md").read_text()
