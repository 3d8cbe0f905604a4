"""How long the data layer takes: synthetic generation, UTD-MHAD parsing, cache hits, preprocessing.

The UTD-MHAD timings run on a stand-in written to a temporary folder: the 861 sequences of the
official release (the three missing ones left out) from the synthetic generator, saved as
compressed MATLAB files with the real names, variables and array layouts, so nothing of the
real data is needed. Each figure is the median of ``--repeats`` runs; wall and CPU seconds are
both printed because the machine may be shared (CPU time is the steadier one).

Run: ``python benchmarks/bench_data.py`` (needs scipy, the ``data`` extra). Prints a markdown
table.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import scipy.io

from mmcontrast.data import (
    UTD_MHAD_MISSING,
    load_utd_mhad,
    make_synthetic,
    read_utd_mhad,
    synthetic_recordings,
)


def write_stand_in(root: Path) -> int:
    """The synthetic recordings as UTD-MHAD .mat files; returns the total size in bytes."""
    (root / "Inertial").mkdir(parents=True)
    (root / "Skeleton").mkdir(parents=True)
    recordings = synthetic_recordings(seed=1)
    for name, inertial, skeleton in zip(
        recordings.names, recordings.inertial, recordings.skeleton, strict=True
    ):
        if name in UTD_MHAD_MISSING:
            continue
        scipy.io.savemat(
            root / "Inertial" / f"{name}_inertial.mat", {"d_iner": inertial}, do_compression=True
        )
        layout = skeleton.transpose(1, 2, 0)  # (20, 3, T) as in the release
        scipy.io.savemat(
            root / "Skeleton" / f"{name}_skeleton.mat", {"d_skel": layout}, do_compression=True
        )
    return sum(path.stat().st_size for path in root.rglob("*.mat"))


def measure(
    step: Callable[[], object], repeats: int, setup: Callable[[], None] | None = None
) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        if setup is not None:
            setup()
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mmcontrast-bench-"))
    try:
        root, cache = work / "utd_mhad", work / "cache"
        size = write_stand_in(root)

        def fresh() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        def hit(**options: object) -> Callable[[], object]:
            return lambda: read_utd_mhad(root, cache_dir=cache, **options)  # type: ignore[arg-type]

        def load(**options: object) -> Callable[[], object]:
            return lambda: load_utd_mhad(root, cache_dir=cache, **options)  # type: ignore[arg-type]

        n = args.repeats
        rows = [
            ("make_synthetic() (864 pairs, 27 x 8 x 4, length 50)", measure(make_synthetic, n)),
            ("read_utd_mhad, first call (parse, write the cache)", measure(hit(), n, setup=fresh)),
            ("read_utd_mhad, cache hit (verify='stat')", measure(hit(), n)),
            (
                "read_utd_mhad, cache hit (verify='content')",
                measure(hit(verify="content"), n, setup=hit(verify="content")),
            ),
            ("load_utd_mhad, cache hit, FFT to 50 steps", measure(load(), n)),
            ("load_utd_mhad, cache hit, linear to 50 steps", measure(load(resample="linear"), n)),
            ("load_utd_mhad, cache hit, native lengths + masks", measure(load(length=None), n)),
        ]
        print(f"UTD-MHAD stand-in: 861 pairs, {size / 1e6:.1f} MB of .mat files; "
              f"median of {args.repeats} runs\n")  # fmt: skip
        print("| step | median wall s | median CPU s |")
        print("|---|---|---|")
        for label, (wall, cpu) in rows:
            print(f"| {label} | {wall:.3f} | {cpu:.3f} |")
        cache_files = list(cache.glob("*.npz"))
        print(f"\ncache file: {sum(f.stat().st_size for f in cache_files) / 1e6:.1f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
