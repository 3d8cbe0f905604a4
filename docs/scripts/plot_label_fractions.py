"""Accuracy against label fraction per method and pipeline (the papers' Figure 4), from results.

Reads the files written by ``examples/utd_mhad.py --out`` (files or folders of ``*.json``) and
groups them by (method, evaluation pipeline, evaluation, label fraction). The pipeline is the
file's ``"pipeline"`` field (``frozen``, ``probe``, ``finetune``, or ``supervised`` for the
supervised baseline); files written before it existed count as ``supervised`` for the
supervised method and ``frozen`` otherwise. A row is "method (pipeline)", e.g. "CMC-HNL
(finetune)", and just "supervised" for the baseline.

The figure draws, for one evaluation mode (``--eval``, default ``multimodal``), one line per
(method, pipeline): the mean test accuracy over seeds against the label fraction, with the 95 %
t interval of the mean as error bars (a point from a single seed has none; the title says how
many seeds). With ``--table`` it also prints the markdown tables of ``docs/results.md``:
accuracy and macro-F1 as mean ± standard deviation over seeds (``--ci`` adds the 95 % t
interval of the mean in brackets), and the wall time of an independent run (its pre-training
included, also when this run reused it from the cache). ``--paired`` prints each method's
difference to the supervised run of the same seed (the seed also draws the labelled subset, so
the pair saw the same labels), mean ± std over the seeds both ran. ``--summary`` prints one
compact accuracy table, fractions that label the same sequences sharing a column, with the
papers' UTD-MHAD numbers beside ours. With ``--costs EPOCHS
TEACHER_EPOCHS FINETUNE_EPOCHS`` it prints the measured seconds per epoch of every stage and
what the runs would take at that schedule (each stage scaled linearly in its epochs; a linear
probe has no epochs and is counted as measured). With ``--confusion PATH.png`` it draws the
row-normalised confusion matrix, summed over seeds, of the best (method, pipeline) at 100 % of
the labels for ``--eval`` (highest mean test accuracy), or of the one named by ``--confusion-of
METHOD[:PIPELINE]`` (without a pipeline: that method's best).

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

from mmcontrast.evaluation._stats import mean_interval

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
PIPELINES = ("supervised", "frozen", "probe", "finetune")
CONFIDENCE = 0.95
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

Key = tuple[str, str, str, float]  # (method, pipeline, evaluation, label fraction)


@dataclass(frozen=True)
class Summary:
    """One (method, pipeline, evaluation, label fraction) cell, over seeds."""

    accuracy: list[float]
    macro_f1: list[float]
    seconds: list[float]
    seeds: list[int]

    @staticmethod
    def stats(values: Sequence[float]) -> tuple[float, float]:
        """Mean and sample standard deviation (``nan`` for a single value)."""
        mean, std, _, _ = mean_interval(list(values), CONFIDENCE)
        return mean, std

    @staticmethod
    def interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
        """The two-sided t interval of the mean over seeds (``nan`` for a single value)."""
        _, _, low, high = mean_interval(list(values), confidence)
        return low, high


LATE = "-late"  # a pipeline run with `--head late` is grouped as e.g. "frozen-late"
PAPERS_TEMPERATURE = 0.1  # the cross-modal losses' tau in the papers (and --temperature unset)
TAU = " tau "  # a run at another temperature is grouped as e.g. "debiased tau 0.3"


def method_of(result: dict[str, Any]) -> str:
    """The result's method, with its temperature when it is not the papers' 0.1.

    Runs of one loss at another ``--temperature`` get their own rows ("debiased tau 0.3");
    files without the setting (or with it unset) ran at the papers' 0.1.
    """
    tau = result.get("config", {}).get("temperature")
    if tau is None or tau == PAPERS_TEMPERATURE:
        return str(result["method"])
    return f"{result['method']}{TAU}{tau:g}"


def loss_of(method: str) -> str:
    """The method of a row without its temperature: "debiased tau 0.3" -> "debiased"."""
    return method.partition(TAU)[0]


def pipeline_of(result: dict[str, Any]) -> str:
    """The result's evaluation pipeline, with ``-late`` for the late-fusion head.

    Files without the field predate the finetune mode; files without ``head`` used the concat
    head.
    """
    default = "supervised" if result["method"] == "supervised" else "frozen"
    pipeline = str(result.get("pipeline") or default)
    return pipeline + LATE if result.get("head", "concat") == "late" else pipeline


def row_label(method: str, pipeline: str) -> str:
    """The table row and legend entry.

    "CMC-HNL (frozen)", "SimCLR (unimodal, finetune)", just "supervised" for the baseline;
    the late-fusion head adds "late fusion": "supervised (late fusion)", "CMC (frozen, late
    fusion)"; another temperature adds it: "CMC-Debiased (frozen, late fusion, tau 0.3)".
    """
    method, _, tau = method.partition(TAU)
    name = LABELS.get(method, method)
    late = pipeline.endswith(LATE)
    pipeline = pipeline.removesuffix(LATE)
    if method == "supervised" or pipeline == "supervised":
        return f"{name} (late fusion)" if late else name
    if late:
        pipeline += ", late fusion"
    if tau:
        pipeline += f", tau {tau}"
    if name.endswith(")"):  # "SimCLR (unimodal)" -> "SimCLR (unimodal, frozen)"
        return f"{name[:-1]}, {pipeline})"
    return f"{name} ({pipeline})"


def row_order(row: tuple[str, str]) -> tuple[int, str, int, str]:
    """METHODS order (a temperature variant after its method), then PIPELINES order."""
    method, pipeline = row
    loss = loss_of(method)
    known = METHODS.index(loss) if loss in METHODS else len(METHODS)
    base = pipeline.removesuffix(LATE)
    kind = 2 * (PIPELINES.index(base) if base in PIPELINES else len(PIPELINES))
    return known, method, kind + (base != pipeline), pipeline


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


def cell_key(result: dict[str, Any]) -> Key:
    return (
        method_of(result),
        pipeline_of(result),
        result["eval"],
        float(result["label_fraction"]),
    )


def group(results: Iterable[dict[str, Any]]) -> dict[Key, list[dict[str, Any]]]:
    """The results of every cell, sorted by seed; one seed may appear only once per cell."""
    cells: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        cells[cell_key(result)].append(result)
    for key, items in cells.items():
        seeds = [r["seed"] for r in items]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"{key} has the same seed more than once: {sorted(seeds)}")
        items.sort(key=lambda r: r["seed"])
    return dict(cells)


def summarize(results: Iterable[dict[str, Any]]) -> dict[Key, Summary]:
    """Group by (method, pipeline, evaluation, label fraction), over seeds."""
    return {
        key: Summary(
            accuracy=[r["test_accuracy"] for r in items],
            macro_f1=[r["test_macro_f1"] for r in items],
            seconds=[run_seconds(r) for r in items],
            seeds=[r["seed"] for r in items],
        )
        for key, items in group(results).items()
    }


def schedule(results: Iterable[dict[str, Any]]) -> str:
    """The epochs used, e.g. "10 pre-training / 30 fine-tuning epochs" (or "mixed")."""
    keys = {(r["config"]["epochs"], r["config"]["finetune_epochs"]) for r in results}
    if len(keys) != 1:
        return "mixed schedules"
    epochs, finetune = keys.pop()
    return f"{epochs} pre-training / {finetune} fine-tuning epochs"


def percent(values: Sequence[float], *, ci: bool = False) -> str:
    """Mean ± std (%), with ``ci`` the t interval too: "82.0 ± 2.0 [77.0, 87.0]"; one seed: mean."""
    mean, std = Summary.stats(values)
    if math.isnan(std):
        return f"{100 * mean:.1f}"
    text = f"{100 * mean:.1f} ± {100 * std:.1f}"
    if ci:
        low, high = Summary.interval(values)
        text += f" [{100 * low:.1f}, {100 * high:.1f}]"
    return text


def markdown_tables(summary: dict[Key, Summary], *, ci: bool = False) -> str:
    """Accuracy and macro-F1 (%) per (method, pipeline) and setting, then the wall time."""
    settings = sorted(
        {(e, f) for _, _, e, f in summary}, key=lambda s: (s[0] != "multimodal", s[0], -s[1])
    )
    rows = sorted({(m, p) for m, p, _, _ in summary}, key=row_order)
    header = [f"{e}, {100 * f:g} % of the labels" for e, f in settings]
    spread = "mean ± std over seeds" + (
        f" [{100 * CONFIDENCE:g} % t interval of the mean]" if ci else ""
    )
    lines = []
    for title, field in (("accuracy (%)", "accuracy"), ("macro-F1 (%)", "macro_f1")):
        lines += [f"**Test {title}**, {spread}", ""]
        lines += ["| method | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
        for method, pipeline in rows:
            cells = [
                percent(getattr(summary[(method, pipeline, e, f)], field), ci=ci)
                if (method, pipeline, e, f) in summary
                else "–"
                for e, f in settings
            ]
            lines.append(f"| {row_label(method, pipeline)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["**Wall time of one independent run (s)**, pre-training included, mean ± std", ""]
    lines += ["| method | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
    for method, pipeline in rows:
        cells = []
        for e, f in settings:
            cell = summary.get((method, pipeline, e, f))
            if cell is None:
                cells.append("–")
                continue
            mean, std = Summary.stats(cell.seconds)
            cells.append(f"{mean:.0f}" + ("" if math.isnan(std) else f" ± {std:.0f}"))
        lines.append(f"| {row_label(method, pipeline)} | " + " | ".join(cells) + " |")
    seeds = sorted({s for cell in summary.values() for s in cell.seeds})
    lines += ["", f"Seeds: {', '.join(map(str, seeds))}."]
    return "\n".join(lines) + "\n"


# The papers' UTD-MHAD accuracies (%) beside ours in --summary: the hard-negative paper's
# Table / the CMC-CMKM repository's README (shared/reference/losses.md §9c); raw IMU inputs,
# their own baselines and splits of the schedule.
PAPERS = {
    "supervised": {
        "multimodal": "94.96 / 97.21",
        "inertial": "74.65 / 76.74",
        "skeleton": "– / 94.65",
    },
    "simclr": {"inertial": "– / 72.09", "skeleton": "– / 95.11"},
    "cmc": {"multimodal": "95.35 / 96.04", "inertial": "69.77"},
    "debiased": {"multimodal": "95.12", "inertial": "70.70"},
    "hnl": {"multimodal": "96.20", "inertial": "75.73"},
    "cmkm": {"multimodal": "94.96 / 97.67", "inertial": "74.42"},
}


def summary_table(results: Sequence[dict[str, Any]]) -> str:
    """One compact row per (method, pipeline): accuracy mean ± std, the papers' numbers beside.

    Label fractions that label the same number of sequences (on UTD-MHAD 5 % and 10 % both
    give one per class, the same subset for a seed) share one column, headed by the smallest
    ("5 % (= 10 %)"). A cell run with fewer seeds than the most in the table says how many
    in brackets. The papers' columns are printed for UTD-MHAD results only. A late-fusion row
    leaves the single-modality columns empty: with one modality the late and concat heads are
    the same head, run once, in the concat row.
    """
    cells = group(results)
    labelled: dict[tuple[str, float], set[int]] = defaultdict(set)
    for (_, _, evaluation, fraction), items in cells.items():
        labelled[(evaluation, fraction)].update(r["data"]["num_labelled"] for r in items)
    columns: dict[tuple[str, int], list[float]] = defaultdict(list)  # (eval, count) -> fractions
    for (evaluation, fraction), counts in labelled.items():
        if len(counts) != 1:  # different data sets in one cell: keep the fraction on its own
            counts = {-round(1e6 * fraction)}
        columns[(evaluation, counts.pop())].append(fraction)
    order = {"multimodal": 0, "inertial": 1, "skeleton": 2}
    heads = sorted(
        ((e, sorted(fs)) for (e, _), fs in columns.items()),
        key=lambda c: (order.get(c[0], 3), c[0], -c[1][0]),
    )
    most = max(len(items) for items in cells.values())
    papers = results[0]["data"]["source"] == "utd-mhad"
    names = {"multimodal": "multimodal", "inertial": "IMU-only", "skeleton": "skeleton"}
    header = []
    for evaluation, fractions in heads:
        same = f" (= {', '.join(f'{100 * f:g} %' for f in fractions[1:])})" if fractions[1:] else ""
        header.append(f"{names.get(evaluation, evaluation)} {100 * fractions[0]:g} %{same}")
    evals = [e for e in order if any(h[0] == e for h in heads)]
    if papers:
        header += [f"papers: {names[e]}" for e in evals]
    lines = [
        "| method | " + " | ".join(header) + " |",
        "|---|" + "---:|" * len(heads) + "---|" * (len(header) - len(heads)),
    ]
    for method, pipeline in sorted({(k[0], k[1]) for k in cells}, key=row_order):
        values = []
        for evaluation, fractions in heads:
            items = cells.get((method, pipeline, evaluation, fractions[0]), [])
            if not items:
                values.append("–")
                continue
            text = percent([r["test_accuracy"] for r in items])
            values.append(text + ("" if len(items) == most else f" ({len(items)})"))
        if papers:
            values += [PAPERS.get(loss_of(method), {}).get(e, "–") for e in evals]
        lines.append(f"| {row_label(method, pipeline)} | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def paired_differences(results: Iterable[dict[str, Any]]) -> dict[Key, list[float]]:
    """Per cell, the seed-by-seed accuracy differences (points) against the supervised run.

    A seed of `examples/utd_mhad.py` draws the labelled subset too, so a pre-trained run and
    the supervised run of the same seed, evaluation and fraction saw the same labelled
    sequences: their difference removes the label draw from the spread. Only seeds that both
    sides ran count.
    """
    cells = group(results)
    differences: dict[Key, list[float]] = {}
    for (method, pipeline, evaluation, fraction), items in cells.items():
        if method == "supervised":
            continue
        head = LATE if pipeline.endswith(LATE) else ""  # the supervised run with the same head
        baseline = cells.get(("supervised", "supervised" + head, evaluation, fraction), [])
        by_seed = {r["seed"]: r["test_accuracy"] for r in baseline}
        pairs = [
            100 * (r["test_accuracy"] - by_seed[r["seed"]]) for r in items if r["seed"] in by_seed
        ]
        if pairs:
            differences[(method, pipeline, evaluation, fraction)] = pairs
    return differences


def paired_table(differences: dict[Key, list[float]]) -> str:
    """Mean ± std of the paired differences (points), with the number of seeds paired."""
    settings = sorted(
        {(e, f) for _, _, e, f in differences}, key=lambda s: (s[0] != "multimodal", s[0], -s[1])
    )
    rows = sorted({(m, p) for m, p, _, _ in differences}, key=row_order)
    header = [f"{e}, {100 * f:g} %" for e, f in settings]
    lines = [
        "**Pre-trained minus supervised (points)**, the same seed and labelled subset, "
        "mean ± std over the seeds both ran (n)",
        "",
        "| method | " + " | ".join(header) + " |",
        "|---" * (len(header) + 1) + "|",
    ]
    for method, pipeline in rows:
        cells = []
        for e, f in settings:
            values = differences.get((method, pipeline, e, f))
            if not values:
                cells.append("–")
                continue
            mean, std = Summary.stats([v / 100 for v in values])
            spread = "" if math.isnan(std) else f" ± {100 * std:.1f}"
            cells.append(f"{100 * mean:+.1f}{spread} ({len(values)})")
        lines.append(f"| {row_label(method, pipeline)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _finetune_kind(result: dict[str, Any]) -> str:
    pipeline = pipeline_of(result)
    if pipeline.endswith(LATE):
        kind = _finetune_kind({**result, "head": "concat"})
        return kind.replace("concat head", "late-fusion heads").replace("+ head", "+ heads, late")
    if result["method"] == "supervised":
        return "supervised from scratch (encoders + head)"
    if pipeline == "probe":
        return "linear probe"
    if result["method"] == "clmm":
        if pipeline == "finetune":
            return "CLMM-style two-stage classifier, end to end (encoders at a lower rate)"
        return "CLMM-style two-stage classifier (branches, fusion, heads)"
    if pipeline == "finetune":
        return "end-to-end fine-tuning (encoders at a lower rate + head)"
    return "frozen encoders, concat head (features computed once)"


def cost_table(
    results: Sequence[dict[str, Any]], epochs: int, teacher_epochs: int, finetune_epochs: int
) -> str:
    """Measured seconds per epoch of every stage, and the runs' cost at another schedule.

    A pre-trained encoder (or teacher) is counted once however many runs reused it; the CMKM
    teachers are scaled to ``teacher_epochs`` and every other pre-training to ``epochs``; the
    fine-tuning of every run to ``finetune_epochs``, plus its data loading as measured. A linear
    probe has no epochs: it is counted as measured.
    """
    per_epoch: dict[str, list[float]] = defaultdict(list)
    measured: dict[str, list[float]] = defaultdict(list)  # stages without epochs
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
        full = result["eval"] == "multimodal" and float(result["label_fraction"]) == 1.0
        name = f"fine-tuning, {_finetune_kind(result)}, multimodal, all labels"
        if pipeline_of(result) == "probe" and result["method"] != "supervised":
            total += timings["data"] + timings["finetune"]
            if full:
                measured[name].append(timings["finetune"])
            continue
        seconds = timings["finetune"] / result["config"]["finetune_epochs"]
        total += timings["data"] + seconds * finetune_epochs
        if full:
            targets[name] = finetune_epochs
            per_epoch[name].append(seconds)
    lines = [
        "| stage | measured | s / epoch (mean) | estimate at the schedule |",
        "|---|---|---|---|",
    ]
    rows = [(name, values, True) for name, values in per_epoch.items()]
    rows += [(name, values, False) for name, values in measured.items()]
    for name, values, scaled in sorted(rows, key=lambda row: (row[0][0] == "f", row[0])):
        mean = statistics.fmean(values)
        if scaled:
            estimate = f"{targets[name]} epochs: {mean * targets[name] / 60:.0f} min"
            lines.append(f"| {name} | {len(values)} run(s) | {mean:.1f} | {estimate} |")
        else:
            estimate = f"no epochs, as measured: {mean:.0f} s"
            lines.append(f"| {name} | {len(values)} run(s) | – | {estimate} |")
    lines.append(f"| all {len(results)} runs | | | {total / 3600:.1f} h |")
    return "\n".join(lines) + "\n"


def data_name(results: Sequence[dict[str, Any]]) -> str:
    if results[0]["data"]["source"] == "synthetic":
        return "SYNTHETIC data (make_synthetic) - not UTD-MHAD, not a reproduction"
    return "UTD-MHAD, cross-subject"


def seed_note(counts: Iterable[int]) -> str:
    """How many seeds per point, e.g. "3 seeds per point" or "1-3 seeds per point (...)"."""
    counts = list(counts)
    low, high = min(counts), max(counts)
    if low == high:
        return f"{low} seed{'s' if low != 1 else ''} per point" + (
            " (no interval from a single seed)" if low == 1 else ""
        )
    note = f"{low}-{high} seeds per point"
    return note + (" (a single-seed point has no bar)" if low == 1 else "")


def plot(
    results: list[dict[str, Any]],
    summary: dict[Key, Summary],
    evaluation: str,
    out: Path,
) -> Path:
    """One line per (method, pipeline): accuracy (%) against label fraction.

    The markers are the means over seeds, the error bars the 95 % t interval of the mean; a
    point from a single seed has no bar.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = {k: v for k, v in summary.items() if k[2] == evaluation}
    fractions = sorted({f for _, _, _, f in cells})
    if not fractions:
        raise ValueError(f"no results with --eval {evaluation}")
    rows = sorted({(m, p) for m, p, _, _ in cells}, key=row_order)
    methods = sorted({m for m, _ in rows}, key=lambda m: row_order((m, "")))
    # a colour and a marker per method; a line style (and marker fill) per pipeline
    styles = {"supervised": "--", "frozen": "-", "probe": ":", "finetune": "-."}
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    figure, axes = plt.subplots(figsize=(8.4, 4.6), dpi=120)
    for method, pipeline in rows:
        index = methods.index(method)
        colour = "black" if method == "supervised" else colours[index % len(colours)]
        xs = [f for f in fractions if (method, pipeline, evaluation, f) in cells]
        accuracies = [cells[(method, pipeline, evaluation, f)].accuracy for f in xs]
        means = [100 * statistics.fmean(values) for values in accuracies]
        axes.plot(
            [100 * x for x in xs],
            means,
            marker="os^vDPX"[index % 7],
            fillstyle={"finetune": "none", "probe": "bottom"}.get(pipeline, "full"),
            color=colour,
            linewidth=1.5,
            linestyle=styles.get(pipeline, (0, (3, 1, 1, 1, 1, 1))),
            label=row_label(method, pipeline),
        )
        bars = [
            (100 * x, mean, [100 * v for v in Summary.interval(values)])
            for x, mean, values in zip(xs, means, accuracies, strict=True)
            if len(values) > 1
        ]
        if bars:
            axes.errorbar(
                [x for x, _, _ in bars],
                [mean for _, mean, _ in bars],
                yerr=[
                    [mean - low for _, mean, (low, _) in bars],
                    [high - mean for _, mean, (_, high) in bars],
                ],
                fmt="none",
                ecolor=colour,
                capsize=3,
                linewidth=1.0,
            )
    axes.set_xscale("log")
    axes.set_xticks([100 * f for f in fractions], [f"{100 * f:g}" for f in fractions])
    axes.minorticks_off()
    axes.set_xlabel("labelled training data per class (% of the labels)")
    axes.set_ylabel(f"test accuracy (%), mean ± {100 * CONFIDENCE:g} % t interval")
    evaluated = [r for r in results if r["eval"] == evaluation]
    axes.set_title(
        f"{data_name(results)}, {evaluation} evaluation\nmean over seeds, error bars: "
        f"{100 * CONFIDENCE:g} % t interval of the mean\n"
        f"{seed_note(len(cell.seeds) for cell in cells.values())}; {schedule(evaluated)}",
        fontsize=8,
    )
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out


def parse_row(text: str) -> tuple[str, str | None]:
    """``--confusion-of``: "hnl" -> ("hnl", None), "hnl:finetune" -> ("hnl", "finetune").

    A temperature variant is named as its rows are grouped: "debiased tau 0.3:frozen-late".
    """
    method, _, pipeline = text.partition(":")
    if loss_of(method) not in LABELS:
        raise ValueError(f"--confusion-of: unknown method {method!r}, one of {sorted(LABELS)}")
    return method, pipeline or None


def best_row(
    summary: dict[Key, Summary], evaluation: str, only: tuple[str, str | None] | None = None
) -> tuple[str, str]:
    """The (method, pipeline) with the highest mean test accuracy at 100 % of the labels.

    ``only`` restricts it to one method (and pipeline); ties go to the METHODS order.
    """
    candidates = {
        (m, p): statistics.fmean(cell.accuracy)
        for (m, p, e, f), cell in summary.items()
        if e == evaluation and f == 1.0
    }
    if only is not None:
        method, pipeline = only
        if method == "supervised" and pipeline is None:
            pipeline = "supervised"
        candidates = {
            row: acc
            for row, acc in candidates.items()
            if row[0] == method and (pipeline is None or row[1] == pipeline)
        }
    if not candidates:
        available = sorted({f"{m}:{p}" for m, p, e, f in summary if e == evaluation and f == 1.0})
        wanted = "" if only is None else f" for {only[0]}" + (f":{only[1]}" if only[1] else "")
        raise ValueError(
            f"no results with --eval {evaluation} at 100 % of the labels{wanted}; "
            f"available: {available or 'none'}"
        )
    return max(sorted(candidates, key=row_order), key=lambda row: candidates[row])


def confusion(
    results: Sequence[dict[str, Any]], evaluation: str, row: tuple[str, str]
) -> tuple[list[str], list[list[int]], list[dict[str, Any]]]:
    """Class names, the confusion matrix summed over seeds, and the runs summed."""
    method, pipeline = row
    runs = group(results)[(method, pipeline, evaluation, 1.0)]
    classes = runs[0].get("classes")
    if classes is None or any("confusion_matrix" not in r for r in runs):
        raise ValueError(f"{row_label(*row)}: the results carry no classes / confusion_matrix")
    if any(r.get("classes") != classes for r in runs):
        raise ValueError(f"{row_label(*row)}: the seeds disagree on the classes")
    size = len(classes)
    total = [[0] * size for _ in range(size)]
    for run in runs:
        matrix = run["confusion_matrix"]
        if len(matrix) != size or any(len(line) != size for line in matrix):
            raise ValueError(f"{row_label(*row)}: a confusion matrix is not {size} x {size}")
        for i, line in enumerate(matrix):
            for j, count in enumerate(line):
                total[i][j] += int(count)
    return classes, total, runs


def plot_confusion(
    results: list[dict[str, Any]], evaluation: str, row: tuple[str, str], out: Path
) -> Path:
    """The row-normalised confusion matrix (true class per row) of ``row``, summed over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes, counts, runs = confusion(results, evaluation, row)
    rates = [[100 * c / sum(line) if sum(line) else 0.0 for c in line] for line in counts]
    size = len(classes)
    accuracy = percent([r["test_accuracy"] for r in runs])
    pooled = sum(counts[i][i] for i in range(size)) / max(1, sum(map(sum, counts)))
    side = max(4.0, 0.28 * size + 2.5)
    figure, axes = plt.subplots(figsize=(side + 1.0, side), dpi=120)
    image = axes.imshow(rates, cmap="Blues", vmin=0.0, vmax=100.0)
    for i in range(size):
        for j in range(size):
            if rates[i][j] >= 0.5:
                axes.text(
                    j,
                    i,
                    f"{rates[i][j]:.0f}",
                    ha="center",
                    va="center",
                    fontsize=5 if size > 12 else 7,
                    color="white" if rates[i][j] > 50 else "black",
                )
    ticks = range(size)
    axes.set_xticks(ticks, classes, rotation=90, fontsize=6 if size > 12 else 8)
    axes.set_yticks(ticks, classes, fontsize=6 if size > 12 else 8)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    seeds = len(runs)
    axes.set_title(
        f"{data_name(results)}\n{row_label(*row)}, {evaluation} evaluation, 100 % of the labels: "
        f"test accuracy {accuracy} % (mean{' ± std' if seeds > 1 else ''} over {seeds} "
        f"seed{'s' if seeds != 1 else ''}; pooled {100 * pooled:.1f} %)\n"
        f"confusion summed over the seeds, each row normalised to 100 % (%)",
        fontsize=8,
    )
    bar = figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02)
    bar.set_label("share of the true class's test sequences (%)")
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
        "--ci",
        action="store_true",
        help="the tables also give the 95 %% t interval of the mean over seeds",
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="print one compact accuracy table (the papers' numbers beside ours on UTD-MHAD)",
    )
    parser.add_argument(
        "--paired",
        action="store_true",
        help="print each method's seed-by-seed difference to the supervised baseline",
    )
    parser.add_argument(
        "--costs",
        nargs=3,
        type=int,
        metavar=("EPOCHS", "TEACHER_EPOCHS", "FINETUNE_EPOCHS"),
        help="print the cost of these runs at another schedule, e.g. the papers' 100 300 100",
    )
    parser.add_argument(
        "--confusion",
        type=Path,
        metavar="PATH.png",
        help="draw the confusion matrix of the best (method, pipeline) at 100 %% of the labels",
    )
    parser.add_argument(
        "--confusion-of",
        metavar="METHOD[:PIPELINE]",
        help="the confusion matrix of this method (its best pipeline) or method:pipeline",
    )
    args = parser.parse_args(argv)
    if args.confusion_of and not args.confusion:
        parser.error("--confusion-of needs --confusion PATH.png")
    if args.ci and not args.table:
        parser.error("--ci needs --table")
    results = load_results(args.paths)
    summary = summarize(results)
    source = results[0]["data"]["source"].replace("-", "_")
    out = args.out or REPO / "docs" / "images" / "results" / f"label_fractions_{source}.png"
    print(f"wrote {plot(results, summary, args.eval, out)} from {len(results)} results")
    if args.confusion:
        only = parse_row(args.confusion_of) if args.confusion_of else None
        row = best_row(summary, args.eval, only)
        written = plot_confusion(results, args.eval, row, args.confusion)
        print(f"wrote {written}: confusion matrix of {row_label(*row)}, {args.eval}")
    if args.table:
        print()
        print(markdown_tables(summary, ci=args.ci), end="")
    if args.summary:
        print()
        print(summary_table(results), end="")
    if args.paired:
        print()
        print(paired_table(paired_differences(results)), end="")
    if args.costs:
        print()
        print(cost_table(results, *args.costs), end="")


if __name__ == "__main__":
    main()
