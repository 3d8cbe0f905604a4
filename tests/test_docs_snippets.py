"""Every ``python`` code block of the markdown docs runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCKS = [
    pytest.param(code, id=f"{path.name}:{index}")
    for path in sorted(DOCS.glob("*.md"))
    for index, code in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), re.DOTALL))
]


@pytest.mark.parametrize("code", BLOCKS)
def test_docs_snippet_runs(code: str) -> None:
    exec(compile(code, "<docs>", "exec"), {"__name__": "docs"})
