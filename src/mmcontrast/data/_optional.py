"""Lazy imports of the optional ``data`` extra (scipy), with the install hint on failure.

scipy is imported only when a function that needs it runs, so ``import mmcontrast`` and the
synthetic generator work with the runtime dependencies alone.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["INSTALL_HINT", "import_optional"]

INSTALL_HINT = 'pip install "mmcontrast[data]"'


def import_optional(module: str, *, purpose: str) -> ModuleType:
    """Import ``module`` (e.g. ``"scipy.io"``) or raise ``ImportError`` with the install hint."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"mmcontrast.data: {purpose} needs {module.split('.')[0]}, which is not installed; "
            f"install the data extra with: {INSTALL_HINT}"
        ) from error
