"""docs/scripts/validation_table.py: the validation-subject table that settings are chosen on."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "scripts" / "validation_table.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script(SCRIPT, "validation_table")


def run(method: str, seed: int, curve: list[float], **data: Any) -> dict[str, Any]:
    return {
        "method": method,
        "pipeline": "frozen",
        "eval": "multimodal",
        "label_fraction": 1.0,
        "seed": seed,
        "test_accuracy": 0.99,  # never printed
        "finetuning": {"val_accuracies": curve},
        "data": {"protocol": "cmc-cmkm", "num_val": 108} | data,
        "command": f"python examples/utd_mhad.py --method {method}",
    }


def test_last_and_best_epoch_means_over_seeds(script: ModuleType, tmp_path: Path) -> None:
    for index, item in enumerate([run("hnl", 0, [0.5, 0.9, 0.8]), run("hnl", 1, [0.6, 0.7])]):
        (tmp_path / f"{index}.json").write_text(json.dumps(item))
    table = script.table(script.load(tmp_path))
    assert "| hnl (frozen) | 75.0 / 80.0 |" in table  # last: (80 + 70) / 2; best: (90 + 70) / 2
    assert "108 validation sequences; mean over seeds 0, 1" in table
    assert "99" not in table  # the test subjects' accuracy is not shown


def test_refuses_runs_without_a_validation_subject(script: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(run("hnl", 0, [0.5], protocol="odd-even")))
    with pytest.raises(ValueError, match="has no validation subject"):
        script.load(tmp_path)
    with pytest.raises(ValueError, match="no result files"):
        script.load(tmp_path / "missing")
