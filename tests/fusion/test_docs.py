"""Every Python snippet of docs/fusion.md runs on its own, as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "fusion.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def test_fusion_page_has_snippets() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("code", BLOCKS)
def test_fusion_page_snippet_runs(code: str) -> None:
    exec(compile(code, str(PAGE), "exec"), {"__name__": "docs"})
