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


def run(
    method: str,
    seed: int,
    curve: list[float],
    *,
    evaluation: str = "multimodal",
    fraction: float = 1.0,
    config: dict[str, Any] | None = None,
    **data: Any,
) -> dict[str, Any]:
    return {
        "method": method,
        "pipeline": "frozen",
        "eval": evaluation,
        "label_fraction": fraction,
        "config": config or {"epochs": 100, "normalize_inertial": True, "temperature": 0.1},
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
    assert "| hnl (frozen) | 75.0 / 80.0 | – |" in table  # last: (80 + 70) / 2; best: (90 + 70) / 2
    assert "108 validation sequences; mean over seeds 0, 1" in table
    assert "99" not in table  # the test subjects' accuracy is not shown


def test_refuses_runs_without_a_validation_subject(script: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(run("hnl", 0, [0.5], protocol="odd-even")))
    with pytest.raises(ValueError, match="has no validation subject"):
        script.load(tmp_path)
    with pytest.raises(ValueError, match="no result files"):
        script.load(tmp_path / "missing")


def test_variants_get_their_own_rows_and_the_main_four_are_averaged(
    script: ModuleType, tmp_path: Path
) -> None:
    main = [("multimodal", 1.0, 0.9), ("multimodal", 0.05, 0.7), ("inertial", 1.0, 0.8)]
    main.append(("inertial", 0.05, 0.4))
    raw = {"epochs": 200, "normalize_inertial": False, "temperature": 0.2, "tau_plus": 0.01}
    raw |= {"head": "late", "plateau": 20, "features": "projection"}
    for index, (evaluation, fraction, last) in enumerate(main):
        for config, shift in ((None, 0.0), (raw, 0.1)):
            item = run("debiased", 0, [last + shift], evaluation=evaluation, fraction=fraction)
            if config:
                item["config"] = config
            (tmp_path / f"{index}-{shift}.json").write_text(json.dumps(item))
    lines = script.table(script.load(tmp_path)).splitlines()
    # the papers' tau 0.1, set or not (older files record None), names no variant
    assert script.variant({"temperature": None}) == script.variant({"temperature": 0.1}) == ""
    assert lines[-2].startswith("| debiased (frozen) | 90.0 / 90.0 |")
    assert lines[-2].endswith("| 70.0 |")  # (90 + 70 + 80 + 40) / 4
    assert lines[-1].startswith(
        "| debiased (frozen, late fusion, raw IMU, 200 epochs, tau 0.2, tau+ 0.01, plateau 20, "
        "projection features) |"
    )
    assert lines[-1].endswith("| 80.0 |")


def test_late_fusion_rows_take_the_single_modality_cells_of_the_concat_row(
    script: ModuleType, tmp_path: Path
) -> None:
    settings = [("multimodal", 1.0, 0.9), ("multimodal", 0.05, 0.7), ("inertial", 1.0, 0.8)]
    settings.append(("inertial", 0.05, 0.4))
    for index, (evaluation, fraction, last) in enumerate(settings):
        item = run("cmkm", 0, [last], evaluation=evaluation, fraction=fraction)
        (tmp_path / f"{index}.json").write_text(json.dumps(item))
        if evaluation == "multimodal":  # the late head runs the multimodal settings only
            late = run("cmkm", 0, [last + 0.1], evaluation=evaluation, fraction=fraction)
            late["config"] = {"head": "late"}
            (tmp_path / f"{index}-late.json").write_text(json.dumps(late))
    clmm = run("clmm", 0, [0.5], config={"head": None})  # clmm and the probe: their own head
    (tmp_path / "clmm.json").write_text(json.dumps(clmm))
    lines = script.table(script.load(tmp_path)).splitlines()
    assert lines[-1].startswith("| clmm (frozen) | 50.0 / 50.0 |")  # not "None fusion"
    assert lines[-2].startswith("| cmkm (frozen, late fusion) | 100.0 / 100.0 |")
    assert lines[-2].endswith("| – | – | 75.0 |")  # (100 + 80 + 80 + 40) / 4
    assert lines[-3].endswith("| 70.0 |")
