"""Shared fixtures: ``--device`` / ``--dtype`` options (env fallbacks) and seeded generators."""

from __future__ import annotations

import os

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--device",
        default=os.environ.get("MMCONTRAST_TEST_DEVICE", "cpu"),
        help="device for the device-parametrised tests (default: cpu)",
    )
    parser.addoption(
        "--dtype",
        default=os.environ.get("MMCONTRAST_TEST_DTYPE", "float32"),
        choices=sorted(_DTYPES),
        help="dtype for the dtype-parametrised tests",
    )


@pytest.fixture
def device(request: pytest.FixtureRequest) -> torch.device:
    dev = torch.device(request.config.getoption("--device"))
    if dev.type == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    return dev


@pytest.fixture
def dtype(request: pytest.FixtureRequest) -> torch.dtype:
    return _DTYPES[request.config.getoption("--dtype")]


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that run ``torch.compile`` carry the ``compile`` marker (``-m "not compile"``)."""
    for item in items:
        if "compile" in item.name and item.get_closest_marker("compile") is None:
            item.add_marker(pytest.mark.compile)
