"""The Python snippets of docs/encoders.md run verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "encoders.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def test_page_has_python_snippets() -> None:
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS)
def test_snippet_runs(code: str) -> None:
    namespace: dict[str, object] = {"__name__": "docs"}
    exec(compile(code, str(PAGE), "exec"), namespace)
    if "features" in namespace:
        assert tuple(namespace["features"].shape) == (3, 128)  # type: ignore[attr-defined]
        assert tuple(namespace["z_skeleton"].shape) == (3, 256)  # type: ignore[attr-defined]
