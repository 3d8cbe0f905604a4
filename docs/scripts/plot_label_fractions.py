"""Accuracy against label fraction per method (the papers' Figure 4), from result JSON files.

Reads the files written by ``examples/utd_mhad.py --out`` (files or folders of ``*.json``),
averages over seeds and draws one line per method: mean test accuracy with the standard
deviation over seeds as error bars, for one evaluation mode (``--eval``, default
``multimodal``). With ``--table`` it also prints the markdown tables of ``docs/results.md``:
accuracy and macro-F1 as mean ± standard deviation over seeds for every (method, evaluation,
label fraction), and the wall time of an independent run (its pre-training included, also when
this run reused it from the cache). With ``--costs EPOCHS TEACHER_EPOCHS FINETUNE_EPOCHS`` it
prints the measured seconds per epoch of every stage and what the runs would take at that
schedule (each stage scaled linearly in its epochs).

Results on the synthetic data and on UTD-MHAD are never mixed in one figure or table; the title
of a synthetic figure says that it is not a reproduction.

Run: ``python docs/scripts/plot_label_fractions.py docs/results/synthetic --table``
(needs ``pip install -e ".[docs]"`` for matplotlib).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
METHODS = ("supervised", "simclr", "cmc", "debiased", "hnl", "cmkm", "clmm")
LABELS = {
    "supervised": "supervised",
    "simclr": "SimCLR (unimodal)",
    "cmc": "CMC",
    "debiased": "CMC-Debiased",
    "hnl": "CMC-HNL",
    "cmkm": "CMC-CMKM",
    "clmm": "CLMM-style (ours)",
}
REQUIRED = (
    "method",
    "eval",
    "label_fraction",
    "seed",
    "test_accuracy",
    "test_macro_f1",
    "wall_seconds",
    "data",
    "config",
)


@dataclass(frozen=True)
class Summary:
    """One (method, evaluation, label fraction) cell, over seeds."""

    accuracy: list[float]
    macro_f1: list[float]
    seconds: list[float]
    seeds: list[int]

    @staticmethod
    def stats(values: Sequence[float]) -> tuple[float, float]:
        """Mean and sample standard deviation (``nan`` for a single value)."""
        mean = statistics.fmean(values)
        return mean, statistics.stdev(values) if len(values) > 1 else math.nan


def load_results(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every result file under ``paths``; a file without the result fields is an error."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise ValueError(f"{path} does not exist")
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    if not files:
        raise ValueError(f"no result files (*.json) in {[str(p) for p in paths]}")
    results = []
    for file in files:
        result = json.loads(file.read_text())
        missing = [key for key in REQUIRED if key not in result]
        if missing:
            raise ValueError(f"{file} is not a result of examples/utd_mhad.py: no {missing}")
        results.append(result)
    sources = {r["data"]["source"] for r in results}
    if len(sources) > 1:
        raise ValueError(
            f"results from different data sources must not be mixed: {sorted(sources)}"
        )
    return results


def run_seconds(result: dict[str, Any]) -> float:
    """The run's wall time plus any pre-training it reused from the cache."""
    reused = sum(r["wall_seconds"] for r in result.get("pretraining", {}).values() if r["cached"])
    return float(result["wall_seconds"] + reused)


def summarize(results: Iterable[dict[str, Any]]) -> dict[tuple[str, str, float], Summary]:
    """Group by (method, evaluation, label fraction); one seed may appear only once."""
    cells: dict[tuple[str, str, float], list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        cells[(result["method"], result["eval"], float(result["label_fraction"]))].append(result)
    summary = {}
    for key, group in cells.items():
        seeds = [r["seed"] for r in group]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"{key} has the same seed more than once: {sorted(seeds)}")
        group.sort(key=lambda r: r["seed"])
        summary[key] = Summary(
            accuracy=[r["test_accuracy"] for r in group],
            macro_f1=[r["test_macro_f1"] for r in group],
            seconds=[run_seconds(r) for r in group],
            seeds=sorted(seeds),
        )
    return summary


def schedule(results: Iterable[dict[str, Any]]) -> str:
    """The epochs used, e.g. "10 pre-training / 30 fine-tuning epochs" (or "mixed")."""
    keys = {(r["config"]["epochs"], r["config"]["finetune_epochs"]) for r in results}
    if len(keys) != 1:
        return "mixed schedules"
    epochs, finetune = keys.pop()
    return f"{epochs} pre-training / {finetune} fine-tuning epochs"


def percent(values: Sequence[float]) -> str:
    mean, std = Summary.stats(values)
    return f"{100 * mean:.1f}" + ("" if math.isnan(std) else f" ± {100 * std:.1f}")


def markdown_tables(summary: dict[tuple[str, str, float], Summary]) -> str:
    """Accuracy and macro-F1 (%) per method and setting, then the wall time per run."""
    settings = sorted(
        {(e, f) for _, e, f in summary}, key=lambda s: (s[0] != "multimodal", s[0], -s[1])
    )
    methods = [m for m in METHODS if any(key[0] == m for key in summary)]
    header = [f"{e}, {100 * f:g} % of the labels" for e, f in settings]
    lines = []
    for title, field in (("accuracy (%)", "accuracy"), ("macro-F1 (%)", "macro_f1")):
        lines += [f"**Test {title}**, mean ± std over seeds", ""]
        lines += ["| method | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
        for method in methods:
            cells = [
                percent(getattr(summary[(method, e, f)], field))
                if (method, e, f) in summary
                else "–"
                for e, f in settings
            ]
            lines.append(f"| {LABELS[method]} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["**Wall time of one independent run (s)**, pre-training included, mean ± std", ""]
    lines += ["| method | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
    for method in methods:
        cells = []
        for e, f in settings:
            cell = summary.get((method, e, f))
            if cell is None:
                cells.append("–")
                continue
            mean, std = Summary.stats(cell.seconds)
            cells.append(f"{mean:.0f}" + ("" if math.isnan(std) else f" ± {std:.0f}"))
        lines.append(f"| {LABELS[method]} | " + " | ".join(cells) + " |")
    seeds = sorted({s for cell in summary.values() for s in cell.seeds})
    lines += ["", f"Seeds: {', '.join(map(str, seeds))}."]
    return "\n".join(lines) + "\n"


def _finetune_kind(result: dict[str, Any]) -> str:
    if result["method"] == "supervised":
        return "supervised from scratch (encoders + head)"
    if result["method"] == "clmm":
        return "CLMM-style two-stage classifier (branches, fusion, heads)"
    return "frozen encoders, concat head (features computed once)"


def cost_table(
    results: Sequence[dict[str, Any]], epochs: int, teacher_epochs: int, finetune_epochs: int
) -> str:
    """Measured seconds per epoch of every stage, and the runs' cost at another schedule.

    A pre-trained encoder (or teacher) is counted once however many runs reused it; the CMKM
    teachers are scaled to ``teacher_epochs`` and every other pre-training to ``epochs``; the
    fine-tuning of every run to ``finetune_epochs``, plus its data loading as measured.
    """
    per_epoch: dict[str, list[float]] = defaultdict(list)
    targets: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    total = 0.0
    for result in results:
        for role, stage in result.get("pretraining", {}).items():
            if (role, stage["key"]) in seen:
                continue
            seen.add((role, stage["key"]))
            if role == "cross-modal":
                name = f"pre-training, {LABELS[result['method']]}"
            elif role.startswith("teacher-"):
                name = f"pre-training, CMKM teacher ({role.removeprefix('teacher-')})"
            else:
                name = f"pre-training, SimCLR ({role.removeprefix('simclr-')})"
            targets[name] = teacher_epochs if role.startswith("teacher-") else epochs
            per_epoch[name].append(stage["wall_seconds"] / stage["spec"]["epochs"])
            total += per_epoch[name][-1] * targets[name]
        timings = result["timings"]
        seconds = timings["finetune"] / result["config"]["finetune_epochs"]
        total += timings["data"] + seconds * finetune_epochs
        if result["eval"] == "multimodal" and float(result["label_fraction"]) == 1.0:
            name = f"fine-tuning, {_finetune_kind(result)}, multimodal, all labels"
            targets[name] = finetune_epochs
            per_epoch[name].append(seconds)
    lines = [
        "| stage | measured | s / epoch (mean) | estimate at the schedule |",
        "|---|---|---|---|",
    ]
    for name, values in sorted(per_epoch.items(), key=lambda item: (item[0][0] == "f", item[0])):
        mean = statistics.fmean(values)
        estimate = mean * targets[name]
        lines.append(
            f"| {name} | {len(values)} run(s) | {mean:.1f} | "
            f"{targets[name]} epochs: {estimate / 60:.0f} min |"
        )
    lines.append(f"| all {len(results)} runs | | | {total / 3600:.1f} h |")
    return "\n".join(lines) + "\n"


def plot(
    results: list[dict[str, Any]],
    summary: dict[tuple[str, str, float], Summary],
    evaluation: str,
    out: Path,
) -> Path:
    """One line per method: accuracy (%) against label fraction, error bars = std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.0, 4.4), dpi=120)
    fractions = sorted({f for _, e, f in summary if e == evaluation})
    if not fractions:
        raise ValueError(f"no results with --eval {evaluation}")
    for index, method in enumerate(m for m in METHODS if (m, evaluation, fractions[-1]) in summary):
        xs = [f for f in fractions if (method, evaluation, f) in summary]
        stats = [Summary.stats(summary[(method, evaluation, f)].accuracy) for f in xs]
        means = [100 * mean for mean, _ in stats]
        errors = [0.0 if math.isnan(std) else 100 * std for _, std in stats]
        axes.errorbar(
            [100 * x for x in xs],
            means,
            yerr=errors,
            marker="os^vDPX"[index % 7],
            capsize=3,
            linewidth=1.5,
            label=LABELS[method],
            linestyle="--" if method == "supervised" else "-",
        )
    axes.set_xscale("log")
    axes.set_xticks([100 * f for f in fractions], [f"{100 * f:g}" for f in fractions])
    axes.set_xlabel("labelled training data per class (%)")
    axes.set_ylabel("test accuracy (%)")
    source = results[0]["data"]["source"]
    seeds = len({r["seed"] for r in results})
    name = (
        "SYNTHETIC data (make_synthetic) - not UTD-MHAD, not a reproduction"
        if source == "synthetic"
        else "UTD-MHAD, cross-subject"
    )
    axes.set_title(
        f"{name}\n{evaluation} evaluation, mean ± std over {seeds} seeds, {schedule(results)}",
        fontsize=9,
    )
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="result files or folders")
    parser.add_argument(
        "--eval", default="multimodal", choices=("multimodal", "inertial", "skeleton")
    )
    parser.add_argument("--out", type=Path, help="PNG (default: docs/images/results/...)")
    parser.add_argument("--table", action="store_true", help="print the markdown tables")
    parser.add_argument(
        "--costs",
        nargs=3,
        type=int,
        metavar=("EPOCHS", "TEACHER_EPOCHS", "FINETUNE_EPOCHS"),
        help="print the cost of these runs at another schedule, e.g. the papers' 100 300 100",
    )
    args = parser.parse_args(argv)
    results = load_results(args.paths)
    summary = summarize(results)
    source = results[0]["data"]["source"].replace("-", "_")
    out = args.out or REPO / "docs" / "images" / "results" / f"label_fractions_{source}.png"
    print(f"wrote {plot(results, summary, args.eval, out)} from {len(results)} results")
    if args.table:
        print()
        print(markdown_tables(summary), end="")
    if args.costs:
        print()
        print(cost_table(results, *args.costs), end="")


if __name__ == "__main__":
    main()
