"""The example scripts run end to end (with short settings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_drop_in_example_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "drop_in.py"), "--steps", "12"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "HardNegativeLoss: held-out top-1 retrieval" in result.stdout
    assert "InfoNCE: held-out top-1 retrieval" in result.stdout


def test_distributed_example_matches_single_process() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "distributed_loss.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("rank")]
    assert len(lines) == 2
    for line in lines:
        difference = float(line.rsplit(" ", 1)[-1])
        assert difference < 1e-12


def test_quickstart_runs_and_prints_the_table() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), "--epochs", "1",
         "--finetune-epochs", "1", "--fractions", "0.05"],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    assert "| labels | supervised" in result.stdout
    assert "5% labels (27 sequences)" in result.stdout
    assert "synthetic paired IMU + skeleton" in result.stdout


def test_quickstart_rejects_a_missing_root(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), "--data", "utd-mhad",
         "--root", str(tmp_path / "nowhere")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0
    assert "is not a folder" in result.stderr
