"""The README's promises about errors: every message it quotes is one the tests assert."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _asserted_strings() -> list[str]:
    """Every string written in the tests (f-strings with their holes as NUL)."""
    strings = []
    for path in (ROOT / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.append(node.value)
            elif isinstance(node, ast.JoinedStr):
                strings.append("".join(part.value if isinstance(part, ast.Constant) else "\0" for part in node.values))
    return strings


def test_every_message_in_when_something_goes_wrong_is_tested():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## When something goes wrong", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| you did")]
    messages = [m for row in rows for m in re.findall(r"`([^`]+)`", row.rsplit(" | ", 1)[1])]
    assert len(messages) >= 30
    strings = _asserted_strings()
    for message in messages:
        for fragment in (f.strip(" ,.") for f in message.split("…")):
            if len(fragment) >= 6:
                assert any(fragment in s for s in strings), f"README quotes an untested message: {fragment!r}"
