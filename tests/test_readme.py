"""The README's Python quickstart runs as written, and its two commands are the ones CI uses."""

import re
from pathlib import Path

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
