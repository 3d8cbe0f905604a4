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
    pipeline: str | None = None,
) -> dict[str, Any]:
    pretraining = {}
    if cached_pretraining is not None:
        pretraining["cross-modal"] = {"cached": True, "wall_seconds": cached_pretraining}
    item: dict[str, Any] = {
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
    if pipeline is not None:  # the older files (the synthetic grid) have no "pipeline"
        item["pipeline"] = pipeline
    return item


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
    cell = summary[("hnl", "frozen", "multimodal", 1.0)]
    assert cell.seeds == [0, 1, 2]
    mean, std = script.Summary.stats(cell.accuracy)
    assert mean == pytest.approx(0.82) and std == pytest.approx(0.02)  # sample std
    assert cell.seconds == [110.0, 111.0, 112.0]  # the reused pre-training is counted
    assert summary[("supervised", "supervised", "multimodal", 1.0)].seconds == [10.0, 11.0, 12.0]
    single = summary[("hnl", "frozen", "inertial", 1.0)]
    assert math.isnan(script.Summary.stats(single.accuracy)[1])


def test_tables(script: ModuleType, grid: list[dict[str, Any]]) -> None:
    text = script.markdown_tables(script.summarize(grid))
    header = "| method | multimodal, 100 % of the labels | multimodal, 5 % of the labels | "
    assert header + "inertial, 100 % of the labels |" in text
    assert "| CMC-HNL (frozen) | 82.0 ± 2.0 | 52.0 ± 2.0 | 60.0 |" in text  # one seed: no ±
    assert "| supervised | 62.0 ± 2.0 | 32.0 ± 2.0 | – |" in text
    assert "| CMC-HNL (frozen) | 41.0 ± 1.0 | 26.0 ± 1.0 | 30.0 |" in text  # macro-F1
    assert "| CMC-HNL (frozen) | 111 ± 1 | 111 ± 1 | 10 |" in text  # wall time
    assert text.index("| supervised") < text.index("| CMC-HNL")  # the METHODS order
    assert "[" not in text  # no interval without ci=True
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
    assert f"wrote {out} from 13 results" in printed
    assert "| CMC-HNL (frozen) | 82.0 ± 2.0 |" in printed
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


def test_groups_by_pipeline(script: ModuleType) -> None:
    items = [
        result("hnl", 1.0, seed, 0.80 + 0.01 * seed, pipeline=pipeline)
        for seed in (0, 1)
        for pipeline in ("finetune", "frozen", "probe")
    ] + [result("simclr", 1.0, 0, 0.7, pipeline="finetune")]
    summary = script.summarize(items)
    assert sorted(k[:2] for k in summary) == [
        ("hnl", "finetune"),
        ("hnl", "frozen"),
        ("hnl", "probe"),
        ("simclr", "finetune"),
    ]
    assert summary[("hnl", "finetune", "multimodal", 1.0)].seeds == [0, 1]
    text = script.markdown_tables(summary)
    # METHODS order, then frozen, probe, finetune; a label with parentheses gets a comma
    rows = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| ")]
    assert rows[1:5] == [
        "| SimCLR (unimodal, finetune)",
        "| CMC-HNL (frozen)",
        "| CMC-HNL (probe)",
        "| CMC-HNL (finetune)",
    ]
    assert script.row_label("supervised", "supervised") == "supervised"
    with pytest.raises(ValueError, match="same seed more than once"):
        script.summarize([*items, result("hnl", 1.0, 0, 0.5, pipeline="probe")])


def test_missing_pipeline_is_frozen_or_supervised(script: ModuleType) -> None:
    old = [result("hnl", 1.0, 0, 0.8), result("supervised", 1.0, 0, 0.6)]
    assert [script.pipeline_of(r) for r in old] == ["frozen", "supervised"]
    # an old file and a new one of the same pipeline are the same cell
    new = [result("hnl", 1.0, 1, 0.9, pipeline="frozen")]
    new.append(result("supervised", 1.0, 1, 0.7, pipeline="supervised"))
    summary = script.summarize(old + new)
    assert set(summary) == {
        ("hnl", "frozen", "multimodal", 1.0),
        ("supervised", "supervised", "multimodal", 1.0),
    }
    assert summary[("hnl", "frozen", "multimodal", 1.0)].accuracy == [0.8, 0.9]


def test_t_interval(script: ModuleType, grid: list[dict[str, Any]]) -> None:
    values = [0.80, 0.82, 0.84]
    low, high = script.Summary.interval(values)
    half = 4.302652729911275 * 0.02 / math.sqrt(3)  # t(0.975, df=2) * std / sqrt(n)
    assert low == pytest.approx(0.82 - half) and high == pytest.approx(0.82 + half)
    assert all(math.isnan(v) for v in script.Summary.interval([0.8]))
    assert script.percent(values, ci=True) == "82.0 ± 2.0 [77.0, 87.0]"
    assert script.percent([0.6], ci=True) == "60.0"
    text = script.markdown_tables(script.summarize(grid), ci=True)
    assert "mean ± std over seeds [95 % t interval of the mean]" in text
    assert "| CMC-HNL (frozen) | 82.0 ± 2.0 [77.0, 87.0] | 52.0 ± 2.0 [47.0, 57.0] | 60.0 |" in text
    assert script.seed_note([3, 3]) == "3 seeds per point"
    assert script.seed_note([1, 3]) == "1-3 seeds per point (a single-seed point has no bar)"


def confusion_result(
    method: str, seed: int, accuracy: float, pipeline: str, *, diagonal: int
) -> dict[str, Any]:
    item = result(method, 1.0, seed, accuracy, pipeline=pipeline)
    item["classes"] = ["wave", "clap", "throw"]
    item["confusion_matrix"] = [
        [diagonal, 4 - diagonal, 0],
        [0, 4, 0],
        [1, 0, 3],
    ]
    return item


def test_confusion_figure(
    script: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    items = [confusion_result("hnl", seed, 0.9, "finetune", diagonal=4) for seed in (0, 1, 2)] + [
        confusion_result("hnl", 0, 0.8, "frozen", diagonal=2),
        confusion_result("supervised", 0, 0.7, "supervised", diagonal=1),
        result("cmc", 0.05, 0, 0.95, pipeline="frozen"),  # not at 100 %: no candidate
    ]
    summary = script.summarize(items)
    assert script.best_row(summary, "multimodal") == ("hnl", "finetune")
    assert script.best_row(summary, "multimodal", ("hnl", "frozen")) == ("hnl", "frozen")
    assert script.best_row(summary, "multimodal", ("supervised", None)) == (
        "supervised",
        "supervised",
    )
    classes, counts, runs = script.confusion(items, "multimodal", ("hnl", "finetune"))
    assert classes == ["wave", "clap", "throw"] and len(runs) == 3
    assert counts == [[12, 0, 0], [0, 12, 0], [3, 0, 9]]  # summed over the seeds
    with pytest.raises(ValueError, match="no results with --eval inertial"):
        script.best_row(summary, "inertial")
    with pytest.raises(ValueError, match=r"for cmc; available: \['hnl:finetune'"):
        script.best_row(summary, "multimodal", ("cmc", None))
    with pytest.raises(ValueError, match="unknown method 'foo'"):
        script.parse_row("foo:frozen")
    assert script.parse_row("hnl:probe") == ("hnl", "probe")

    folder = write(tmp_path / "results", items)
    out = tmp_path / "confusion.png"
    script.main([str(folder), "--out", str(tmp_path / "f.png"), "--confusion", str(out)])
    assert out.stat().st_size > 5000
    assert "confusion matrix of CMC-HNL (finetune), multimodal" in capsys.readouterr().out
    chosen = tmp_path / "frozen.png"
    script.main(
        [str(folder), "--out", str(tmp_path / "f.png")]
        + ["--confusion", str(chosen), "--confusion-of", "hnl:frozen"]
    )
    assert chosen.stat().st_size > 5000
    assert "confusion matrix of CMC-HNL (frozen)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        script.main([str(folder), "--confusion-of", "hnl"])  # needs --confusion
    del items[0]["confusion_matrix"]
    with pytest.raises(ValueError, match="no classes / confusion_matrix"):
        script.confusion(items, "multimodal", ("hnl", "finetune"))


def test_figure_with_pipelines_and_single_seeds(script: ModuleType, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    items = [
        result("hnl", fraction, seed, 0.5 + fraction / 2 + 0.01 * seed, pipeline=pipeline)
        for fraction in (0.05, 1.0)
        for seed in (0, 1, 2)
        for pipeline in ("frozen", "finetune")
    ] + [result("cmkm", 1.0, 0, 0.9, pipeline="probe")]  # one seed: a point without a bar
    out = script.plot(items, script.summarize(items), "multimodal", tmp_path / "f.png")
    assert out.stat().st_size > 5000


def test_costs_of_the_pipelines(script: ModuleType) -> None:
    def run(method: str, pipeline: str) -> Any:
        item = result(method, 1.0, 0, 0.5, pipeline=pipeline)
        item["timings"] = {"data": 1.0, "finetune": 30.0}
        return item

    runs = [run("hnl", "finetune"), run("hnl", "probe"), run("clmm", "finetune")]
    table = script.cost_table(runs, 100, 300, 60)
    assert (
        "| fine-tuning, end-to-end fine-tuning (encoders at a lower rate + head), multimodal, "
        "all labels | 1 run(s) | 1.0 | 60 epochs: 1 min |" in table
    )
    # the probe has no epochs: its 30 s count as measured
    assert (
        "| fine-tuning, linear probe, multimodal, all labels | 1 run(s) | – | "
        "no epochs, as measured: 30 s |" in table
    )
    assert "CLMM-style two-stage classifier, end to end (encoders at a lower rate)" in table
    assert table.rstrip().endswith(f"| all 3 runs | | | {(2 * 61 + 31) / 3600:.1f} h |")


def test_paired_differences_match_seeds(script: ModuleType) -> None:
    results = [
        result("supervised", 0.05, 0, 0.50, pipeline="supervised"),
        result("supervised", 0.05, 1, 0.70, pipeline="supervised"),
        result("cmc", 0.05, 0, 0.60, pipeline="frozen"),
        result("cmc", 0.05, 1, 0.75, pipeline="frozen"),
        result("cmc", 0.05, 2, 0.99, pipeline="frozen"),  # no supervised seed 2: left out
        result("cmc", 1.0, 0, 0.90, pipeline="frozen"),  # no supervised run at 100 %
    ]
    differences = script.paired_differences(results)
    assert list(differences) == [("cmc", "frozen", "multimodal", 0.05)]
    assert differences[("cmc", "frozen", "multimodal", 0.05)] == pytest.approx([10.0, 5.0])
    table = script.paired_table(differences)
    assert "| CMC (frozen) | +7.5 ± 3.5 (2) |" in table


def test_summary_table_merges_fractions_with_the_same_labels(script: ModuleType) -> None:
    results = []
    for seed in (0, 1):
        for fraction, labelled in ((0.05, 27), (0.1, 27), (1.0, 431)):
            for method, accuracy in (("supervised", 0.6), ("cmkm", 0.7)):
                item = result(
                    method, fraction, seed, accuracy + fraction / 10 + seed / 100,
                    source="utd-mhad", pipeline="supervised" if method == "supervised" else None,
                )  # fmt: skip
                item["data"]["num_labelled"] = labelled
                results.append(item)
    extra = result("cmkm", 1.0, 0, 0.5, evaluation="skeleton", source="utd-mhad")
    extra["data"]["num_labelled"] = 431
    lines = script.summary_table([*results, extra]).splitlines()
    assert lines[0] == (
        "| method | multimodal 100 % | multimodal 5 % (= 10 %) | skeleton 100 % "
        "| papers: multimodal | papers: skeleton |"
    )
    assert lines[2] == "| supervised | 70.5 ± 0.7 | 61.0 ± 0.7 | – | 94.96 / 97.21 | – / 94.65 |"
    assert (
        lines[3] == "| CMC-CMKM (frozen) | 80.5 ± 0.7 | 71.0 ± 0.7 | 50.0 (1) | 94.96 / 97.67 | – |"
    )
    synthetic = [dict(r, data={"source": "synthetic", "num_labelled": 27}) for r in results]
    assert "papers" not in script.summary_table(synthetic)


def test_late_fusion_runs_get_their_own_rows_and_pair_with_the_late_baseline(
    script: ModuleType,
) -> None:
    results = [
        result("supervised", 0.05, 0, 0.50, pipeline="supervised"),
        result("supervised", 0.05, 0, 0.55, pipeline="supervised"),
        result("cmc", 0.05, 0, 0.60, pipeline="frozen"),
        result("cmc", 0.05, 0, 0.70, pipeline="frozen"),
    ]
    for item in results[1::2]:
        item["head"] = "late"
    assert [script.pipeline_of(r) for r in results] == [
        "supervised", "supervised-late", "frozen", "frozen-late"
    ]  # fmt: skip
    differences = script.paired_differences(results)
    assert differences[("cmc", "frozen", "multimodal", 0.05)] == pytest.approx([10.0])
    assert differences[("cmc", "frozen-late", "multimodal", 0.05)] == pytest.approx([15.0])
    rows = sorted({(r["method"], script.pipeline_of(r)) for r in results}, key=script.row_order)
    assert [script.row_label(*row) for row in rows] == [
        "supervised", "supervised (late fusion)", "CMC (frozen)", "CMC (frozen, late fusion)"
    ]  # fmt: skip


def test_other_temperatures_get_their_own_rows(script: ModuleType) -> None:
    results = [
        result("supervised", 0.05, 0, 0.50, pipeline="supervised"),
        result("debiased", 0.05, 0, 0.60, pipeline="frozen"),
        result("debiased", 0.05, 0, 0.65, pipeline="frozen"),
        result("debiased", 0.05, 0, 0.70, pipeline="frozen"),
        result("cmc", 0.05, 0, 0.55, pipeline="frozen"),
    ]
    results[2]["config"]["temperature"] = 0.1  # the papers' value, set explicitly
    results[3]["config"]["temperature"] = 0.3
    results[3]["head"] = "late"
    assert [script.method_of(r) for r in results] == [
        "supervised", "debiased", "debiased", "debiased tau 0.3", "cmc"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="the same seed more than once"):
        script.group(results)  # 0.1 unset and 0.1 set are the same cell
    del results[2]
    differences = script.paired_differences(results)
    assert differences[("debiased", "frozen", "multimodal", 0.05)] == pytest.approx([10.0])
    assert ("debiased tau 0.3", "frozen-late", "multimodal", 0.05) not in differences
    rows = sorted({script.cell_key(r)[:2] for r in results}, key=script.row_order)
    assert [script.row_label(*row) for row in rows] == [
        "supervised", "CMC (frozen)", "CMC-Debiased (frozen)",
        "CMC-Debiased (frozen, late fusion, tau 0.3)",
    ]  # fmt: skip
    for item in results:
        item["data"]["source"] = "utd-mhad"
        item["data"]["num_labelled"] = 27
    table = script.summary_table(results)
    assert "| CMC-Debiased (frozen, late fusion, tau 0.3) | 70.0 | 95.12 |" in table
    assert script.parse_row("debiased tau 0.3:frozen-late") == ("debiased tau 0.3", "frozen-late")
    with pytest.raises(ValueError, match="unknown method 'simclr2 tau 0.3'"):
        script.parse_row("simclr2 tau 0.3")
