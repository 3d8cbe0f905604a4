"""The Python snippets of docs/augment.md run verbatim, and every picture it shows exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGE = (DOCS / "augment.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE, flags=re.DOTALL)


def test_page_has_snippets() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS)
def test_snippet_runs(code: str) -> None:
    exec(compile(code, str(DOCS / "augment.md"), "exec"), {"__name__": "docs"})


def test_pictures_exist_and_name_their_source() -> None:
    pictures = re.findall(r"!\[[^\]]*\]\((images/augment/[^)]+)\)", PAGE)
    assert len(pictures) == 17
    for picture in pictures:
        assert (DOCS / picture).is_file(), picture
    source = (DOCS / "images" / "augment" / "source.txt").read_text()
    assert source.startswith(("SYNTHETIC", "UTD-MHAD"))
    assert ("**synthetic**" in PAGE) == source.startswith("SYNTHETIC")
