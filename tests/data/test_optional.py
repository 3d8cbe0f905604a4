from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mmcontrast.data import resample
from mmcontrast.data._optional import INSTALL_HINT, import_optional


def test_missing_module_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy.signal", None)
    with pytest.raises(
        ImportError, match=r'resample\(method="fft"\) needs scipy.*pip install "mmcontrast\[data\]"'
    ):
        resample(np.ones(4), 8, method="fft")
    assert resample(np.ones(4), 8, method="linear").shape == (8,)
    assert INSTALL_HINT == 'pip install "mmcontrast[data]"'
    assert import_optional("math", purpose="testing").sqrt(4.0) == 2.0


def test_the_package_and_the_synthetic_data_need_no_scipy() -> None:
    code = (
        "import sys; sys.modules['scipy'] = None\n"
        "import mmcontrast\n"
        "from mmcontrast.data import make_synthetic\n"
        "data = make_synthetic(num_classes=2, num_subjects=2, num_trials=1)\n"
        "print(tuple(data.inertial.shape))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(4, 50, 6)"
