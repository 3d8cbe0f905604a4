"""One intra-op thread for these tests: their problems are tiny (tens of samples), where
L-BFGS's many small ops only pay thread hand-offs, which turn into long waits when another
process keeps the cores busy (the root conftest sets two threads)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
