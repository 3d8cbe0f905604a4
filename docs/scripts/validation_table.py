"""Validation-subject accuracy of `examples/utd_mhad.py --protocol cmc-cmkm` runs, as a table.

The CMC-CMKM protocol trains on subjects 1, 3 and 5, validates on subject 7 and tests on 2, 4,
6 and 8. This table is what settings are chosen on: for every (method, pipeline) and
(evaluation, label fraction) it gives the validation accuracy of the last fine-tuning epoch
(as the odd/even protocol scores the last epoch) and, after a slash, of the best epoch (the
epoch the protocol keeps). The test subjects' accuracy of these runs is not printed: it is not
used to choose anything. The last column is what the choices read: the mean last-epoch
accuracy of the four main settings (multimodal and IMU-only, all labels and 5 %).

A run that departs from the papers' protocol in a swept setting (the late-fusion head, raw
IMU, the pre-training length, the temperature, tau+, a plateau schedule, the projection's
features) gets its own row, named by that setting,
so the variants of one method share a table. A late-fusion row's main-four mean takes its
IMU-only settings from the same method's concat row (with one modality the heads are the same).

Run: ``python docs/scripts/validation_table.py docs/results/validation [MORE FOLDERS]``
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

METHODS = ("supervised", "simclr", "cmc", "debiased", "hnl", "cmkm", "clmm")


LATE = "late fusion"
PAPERS_TEMPERATURE = 0.1  # the cross-modal losses' tau in the papers
MAIN = (("multimodal", 1.0), ("multimodal", 0.05), ("inertial", 1.0), ("inertial", 0.05))


def load(*folders: Path) -> list[dict[str, Any]]:
    """Every result of the folders; a run of another protocol is an error."""
    results = []
    for folder in folders:
        found = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
        if not found:
            raise ValueError(f"no result files (*.json) in {folder}")
        results += found
    for result in results:
        if result["data"]["protocol"] != "cmc-cmkm" or not result["finetuning"]["val_accuracies"]:
            raise ValueError(f"{result['command']!r} has no validation subject")
    return results


def variant(config: dict[str, Any]) -> str:
    """The swept settings in which a run departs from the command line's defaults."""
    parts = []
    if config.get("head") == "late":  # None: clmm and the probe have their own heads
        parts.append(LATE)
    if config.get("normalize_inertial") is False:
        parts.append("raw IMU")
    if config.get("epochs", 100) != 100:
        parts.append(f"{config['epochs']} epochs")
    if config.get("temperature") not in (None, PAPERS_TEMPERATURE):  # None: an older file, 0.1
        parts.append(f"tau {config['temperature']:g}")
    if config.get("tau_plus") is not None:
        parts.append(f"tau+ {config['tau_plus']:g}")
    if config.get("plateau") is not None:
        parts.append(f"plateau {config['plateau']}")
    if config.get("features", "encoder") != "encoder":
        parts.append(f"{config['features']} features")
    return ", ".join(parts)


def same_head(
    cells: dict[tuple[str, str, str], dict[tuple[str, float], list[tuple[float, float]]]],
    row: tuple[str, str, str],
    setting: tuple[str, float],
) -> list[tuple[float, float]] | None:
    """A late-fusion row's single-modality cell: the concat row's (with one modality the two
    heads are the same head, so the grid runs those settings once)."""
    if setting[0] == "multimodal" or LATE not in row[2].split(", "):
        return None
    variant = ", ".join(part for part in row[2].split(", ") if part != LATE)
    return cells.get((row[0], row[1], variant), {}).get(setting)


def table(results: Sequence[dict[str, Any]]) -> str:
    """Markdown: last-epoch / best-epoch validation accuracy (%), mean over seeds."""
    cells: dict[tuple[str, str, str], dict[tuple[str, float], list[tuple[float, float]]]]
    cells = defaultdict(lambda: defaultdict(list))
    for r in results:
        accuracies = r["finetuning"]["val_accuracies"]
        row = (r["method"], r["pipeline"], variant(r.get("config", {})))
        cells[row][(r["eval"], float(r["label_fraction"]))].append(
            (accuracies[-1], max(accuracies))
        )
    settings = sorted(
        {s for row in cells.values() for s in row},
        key=lambda s: (s[0] != "multimodal", s[0], -s[1]),
    )
    rows = sorted(cells, key=lambda row: (METHODS.index(row[0]) if row[0] in METHODS else 99, row))
    sizes = {r["data"]["num_val"] for r in results}
    seeds = sorted({r["seed"] for r in results})
    lines = [
        f"Validation accuracy (%), last epoch / best epoch; {'/'.join(map(str, sizes))} "
        f"validation sequences; mean over seeds {', '.join(map(str, seeds))}",
        "",
        "| method | "
        + " | ".join(f"{e}, {100 * f:g} %" for e, f in settings)
        + " | main four, last |",
        "|---" * (len(settings) + 2) + "|",
    ]
    for row in rows:
        values = []
        for setting in settings:
            pairs = cells[row].get(setting)
            if not pairs:
                values.append("–")
                continue
            last = statistics.fmean(p[0] for p in pairs)
            best = statistics.fmean(p[1] for p in pairs)
            values.append(f"{100 * last:.1f} / {100 * best:.1f}")
        main = [cells[row].get(setting) or same_head(cells, row, setting) for setting in MAIN]
        if all(main):
            lasts = [statistics.fmean(p[0] for p in pairs) for pairs in main if pairs]
            values.append(f"{100 * statistics.fmean(lasts):.1f}")
        else:
            values.append("–")
        name = ", ".join(part for part in (row[1], row[2]) if part)
        lines.append(f"| {row[0]} ({name}) | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+", help="folders of result JSON files")
    args = parser.parse_args(argv)
    print(table(load(*args.folders)), end="")


if __name__ == "__main__":
    main()
