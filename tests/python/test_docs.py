"""The examples in docstrings and in the README run and print what they claim."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import funnelkit

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(funnelkit.__path__, "funnelkit."))
README = Path(__file__).parents[2] / "README.md"


@pytest.mark.parametrize("name", ["funnelkit", *MODULES])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0


def test_readme_quickstart_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "the README has a Python quickstart"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
