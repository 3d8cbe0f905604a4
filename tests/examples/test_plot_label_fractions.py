"""docs/scripts/plot_label_fractions.py: grouping, statistics, tables and the figure."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import load_script

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "scripts" / "plot_label_fractions.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script(SCRIPT, "plot_label_fractions")


def result(
    method: str,
    fraction: float,
    seed: int,
    accuracy: float,
    *,
    evaluation: str = "multimodal",
    source: str = "synthetic",
    cached_pretraining: float | None = None,
) -> dict[str, Any]:
    pretraining = {}
    if cached_pretraining is not None:
        pretraining["cross-modal"] = {"cached": True, "wall_seconds": cached_pretraining}
    return {
        "method": method,
        "eval": evaluation,
        "label_fraction": fraction,
        "seed": seed,
        "test_accuracy": accuracy,
        "test_macro_f1": accuracy / 2,
        "wall_seconds": 10.0 + seed,
        "pretraining": pretraining,
        "data": {"source": source},
        "config": {"epochs": 10, "finetune_epochs": 30},
    }


def write(folder: Path, results: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, item in enumerate(results):
        (folder / f"{index}.json").write_text(json.dumps(item))
    return folder


@pytest.fixture
def grid() -> list[dict[str, Any]]:
    items = []
    for seed, shift in enumerate((0.0, 0.02, 0.04)):
        for fraction, base in ((0.05, 0.5), (1.0, 0.8)):
            items.append(result("hnl", fraction, seed, base + shift, cached_pretraining=100.0))
            items.append(result("supervised", fraction, seed, base - 0.2 + shift))
    items.append(result("hnl", 1.0, 0, 0.6, evaluation="inertial"))
    return items


def test_summary_statistics(script: ModuleType, grid: list[dict[str, Any]]) -> None:
    summary = script.summarize(grid)
    cell = summary[("hnl", "multimodal", 1.0)]
    assert cell.seeds == [0, 1, 2]
    mean, std = script.Summary.stats(cell.accuracy)
    assert mean == pytest.approx(0.82) and std == pytest.approx(0.02)  # sample std
    assert cell.seconds == [110.0, 111.0, 112.0]  # the reused pre-training is counted
    assert summary[("supervised", "multimodal", 1.0)].seconds == [10.0, 11.0, 12.0]
    single = summary[("hnl", "inertial", 1.0)]
    assert math.isnan(script.Summary.stats(single.accuracy)[1])


def test_tables(script: ModuleType, grid: list[dict[str, Any]]) -> None:
    text = script.markdown_tables(script.summarize(grid))
    header = "| method | multimodal, 100 % of the labels | multimodal, 5 % of the labels | "
    assert header + "inertial, 100 % of the labels |" in text
    assert "| CMC-HNL | 82.0 ± 2.0 | 52.0 ± 2.0 | 60.0 |" in text  # one seed: no ± part
    assert "| supervised | 62.0 ± 2.0 | 32.0 ± 2.0 | – |" in text
    assert "| CMC-HNL | 41.0 ± 1.0 | 26.0 ± 1.0 | 30.0 |" in text  # macro-F1
    assert "| CMC-HNL | 111 ± 1 | 111 ± 1 | 10 |" in text  # wall time
    assert text.index("| supervised") < text.index("| CMC-HNL")  # the METHODS order
    assert text.rstrip().endswith("Seeds: 0, 1, 2.")


def test_figure_and_command_line(
    script: ModuleType,
    grid: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("matplotlib")
    folder = write(tmp_path / "results", grid)
    out = tmp_path / "figure.png"
    script.main([str(folder), "--out", str(out), "--table"])
    assert out.stat().st_size > 5000
    printed = capsys.readouterr().out
    assert f"wrote {out} from 13 results" in printed and "| CMC-HNL | 82.0 ± 2.0" in printed
    assert script.schedule(grid) == "10 pre-training / 30 fine-tuning epochs"


def test_refuses_bad_inputs(script: ModuleType, grid: list[dict[str, Any]], tmp_path: Path) -> None:
    mixed = [*grid, result("cmc", 1.0, 0, 0.9, source="utd-mhad")]
    with pytest.raises(ValueError, match="must not be mixed"):
        script.load_results([write(tmp_path / "mixed", mixed)])
    with pytest.raises(ValueError, match="absent does not exist"):
        script.load_results([tmp_path / "absent"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no result files"):
        script.load_results([tmp_path / "empty"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"method": "cmc"}))
    with pytest.raises(ValueError, match="bad.json is not a result"):
        script.load_results([bad])
    with pytest.raises(ValueError, match="same seed more than once"):
        script.summarize([*grid, grid[0]])
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="no results with --eval skeleton"):
        script.plot(grid, script.summarize(grid), "skeleton", tmp_path / "x.png")


def test_costs_at_another_schedule(script: ModuleType) -> None:
    def run(method: str, seed: int, fraction: float, evaluation: str = "multimodal") -> Any:
        item = result(method, fraction, seed, 0.5, evaluation=evaluation)
        item["timings"] = {"data": 1.0, "finetune": 30.0}  # 1 s per fine-tuning epoch
        item["config"] = {"epochs": 10, "finetune_epochs": 30}
        if method != "supervised":
            spec = {"epochs": 10}
            item["pretraining"] = {
                "cross-modal": {
                    "cached": True,
                    "key": f"k{seed}",
                    "wall_seconds": 20.0,
                    "spec": spec,
                },
                "teacher-inertial": {
                    "cached": True,
                    "key": "t",
                    "wall_seconds": 50.0,
                    "spec": spec,
                },
            }
        return item

    runs = [run("cmkm", seed, f) for seed in (0, 1) for f in (1.0, 0.05)] + [
        run("supervised", 0, 1.0)
    ]
    table = script.cost_table(runs, 100, 300, 60)
    # two student encoders (one per seed) at 2 s/epoch, one shared teacher at 5 s/epoch
    assert "| pre-training, CMC-CMKM | 2 run(s) | 2.0 | 100 epochs: 3 min |" in table
    assert (
        "| pre-training, CMKM teacher (inertial) | 1 run(s) | 5.0 | 300 epochs: 25 min |" in table
    )
    assert (
        "| fine-tuning, frozen encoders, concat head (features computed once), multimodal, "
        "all labels | 2 run(s) | 1.0 |" in table
    )
    # 2 x 200 s + 1500 s of pre-training, 5 runs x (1 s + 60 s) of fine-tuning
    assert table.rstrip().endswith(f"| all 5 runs | | | {(400 + 1500 + 5 * 61) / 3600:.1f} h |")
    assert table.index("pre-training, CMC-CMKM") < table.index("fine-tuning")
