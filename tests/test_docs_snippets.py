"""Every ``python`` code block of the markdown docs runs as written.

A block right after a ``<!-- not run by the tests: <reason> -->`` comment is skipped (it needs
files the test machine may not have).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PATTERN = re.compile(r"(<!-- not run by the tests: [^>]*-->\n)?```python\n(.*?)```", re.DOTALL)
BLOCKS = [
    pytest.param(
        code,
        id=f"{path.name}:{index}",
        marks=[pytest.mark.skip(reason=skip.strip()[5:-4])] if skip else [],
    )
    for path in sorted(DOCS.glob("*.md"))
    for index, (skip, code) in enumerate(PATTERN.findall(path.read_text()))
]


@pytest.mark.parametrize("code", BLOCKS)
def test_docs_snippet_runs(code: str) -> None:
    exec(compile(code, "<docs>", "exec"), {"__name__": "docs"})
