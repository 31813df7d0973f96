"""Every subpackage is listed for installation, so a non-editable install is complete."""

import os
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")
ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_installed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for dirpath, _, files in os.walk(ROOT / "kanpde"):
        if "__init__.py" in files and "__pycache__" not in dirpath:
            found.add(".".join(Path(dirpath).relative_to(ROOT).parts))
    missing = sorted(found - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
