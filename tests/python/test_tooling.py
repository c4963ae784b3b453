"""scripts/build_requires.py, which setup.sh uses to read pyproject.toml on Python 3.10."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[2]


def _reader() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_requires", ROOT / "scripts" / "build_requires.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_agrees_with_tomllib_on_the_project_file() -> None:
    tomllib = pytest.importorskip("tomllib")
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert _reader().build_requires(text) == tomllib.loads(text)["build-system"]["requires"]


TRICKY = """\
name = "x"  # a [build-system] mention in a comment is not a header
[build-system]
# a comment line
requires = [ "scikit-build-core[pyproject]>=0.10",  # extras hold brackets
  'pybind11>=3.0', "a; python_version < \\"3.11\\"",
  "b @ https://example.org/b.zip#sha256=00",
]
build-backend = "x"

[project]
requires = ["not this one"]
"""


def test_reads_brackets_comments_quotes_and_stops_at_the_next_table() -> None:
    tomllib = pytest.importorskip("tomllib")
    expected = tomllib.loads(TRICKY)["build-system"]["requires"]
    assert _reader().build_requires(TRICKY) == expected
    assert _reader().build_requires('[build-system]\nrequires = ["a"]') == ["a"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[project]\nname = 'x'\n", "no \\[build-system\\] table"),
        ("[build-system]\nbuild-backend = 'x'\n", "no 'requires = \\[' line"),
        ('[build-system]\nrequires = ["a", oops]\n', "unexpected text.*oops"),
        ('[build-system]\nrequires = ["a",\n', "no closing"),
        ("[build-system]\nrequires = []\n", "empty"),
    ],
)
def test_anything_else_is_an_error(text: str, message: str) -> None:
    reader = _reader()
    with pytest.raises(reader.BuildRequiresError, match=message):
        reader.build_requires(text)


def test_the_command_prints_one_per_line_or_fails_with_the_file_name(tmp_path: Path) -> None:
    script = str(ROOT / "scripts" / "build_requires.py")
    good = subprocess.run([sys.executable, script, str(ROOT / "pyproject.toml")], capture_output=True, text=True)
    assert good.returncode == 0 and "pybind11>=3.0" in good.stdout.splitlines()
    broken = tmp_path / "pyproject.toml"
    broken.write_text("[build-system]\nrequires = [oops]\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, script, str(broken)], capture_output=True, text=True)
    assert bad.returncode == 1 and str(broken) in bad.stderr and bad.stdout == ""
