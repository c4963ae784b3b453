"""Print the ``[build-system] requires`` of pyproject.toml, one per line (scripts/setup.sh).

Python 3.10 has no ``tomllib``, and setup.sh runs before anything is installed, so this reads
the one shape the key takes here: ``requires = [ "...", '...' ]`` on one line or several, with
comments. Anything else stops with a message naming the file and what was found, rather than
guessing. tests/python/test_tooling.py checks it against ``tomllib``.

    python scripts/build_requires.py [pyproject.toml]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_SECTION = re.compile(r"^[ \t]*\[[ \t]*build-system[ \t]*\][ \t]*(?:#.*)?$", re.M)
_NEXT_SECTION = re.compile(r"^[ \t]*\[", re.M)
_REQUIRES = re.compile(r"^[ \t]*requires[ \t]*=[ \t]*\[", re.M)
# Inside the array: whitespace, commas, comments, basic or literal strings, the closing bracket.
_TOKEN = re.compile(r"""\s+|,|\#[^\n]*|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|\]""")


class BuildRequiresError(ValueError):
    """pyproject.toml has no ``[build-system] requires`` array this reader understands."""


def build_requires(text: str) -> list[str]:
    """The requirement strings of the ``[build-system]`` table's ``requires`` array."""
    section = _SECTION.search(text)
    if section is None:
        raise BuildRequiresError("no [build-system] table")
    end = _NEXT_SECTION.search(text, section.end())
    body = text[section.end() : end.start() if end else len(text)]
    start = _REQUIRES.search(body)
    if start is None:
        raise BuildRequiresError("the [build-system] table has no 'requires = [' line")
    items: list[str] = []
    position = start.end()
    while True:
        if position >= len(body):
            raise BuildRequiresError("build-system.requires has no closing ']'")
        token = _TOKEN.match(body, position)
        if token is None:
            line = body[position:].split("\n", 1)[0]
            raise BuildRequiresError(f"unexpected text in build-system.requires: {line!r}")
        text_ = token.group()
        position = token.end()
        if text_ == "]":
            break
        if text_.startswith('"'):
            items.append(json.loads(text_))  # TOML basic strings escape like JSON
        elif text_.startswith("'"):
            items.append(text_[1:-1])  # literal strings have no escapes
    if not items:
        raise BuildRequiresError("build-system.requires is empty")
    return items


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "pyproject.toml")
    try:
        print("\n".join(build_requires(path.read_text(encoding="utf-8"))))
    except (OSError, ValueError) as error:  # json.JSONDecodeError is a ValueError too
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
