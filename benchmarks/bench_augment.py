"""Augmentation throughput: batched ``mmcontrast.augment`` against a per-sample numpy loop.

The two pipelines are CMC-CMKM's UTD-MHAD settings (``reference/data.md`` section 8), acting on
the axes their names say:

* IMU ``(B, 50, 6)``: jitter (sigma 1), per-channel scaling (sigma 1), segment permutation
  (1 or 2 equal segments), channel shuffle; each with p = 0.75.
* skeleton ``(B, 50, 20, 3)``: jitter (sigma 0.1, always), crop-and-resize (0.8-0.9 of the
  window, p = 0.75), per-axis scaling U(0.7, 1.2), rotation U(-10, 10) degrees per axis,
  shear (sigma 0.2); each with p = 0.75.

The baseline does what the reference datasets do in ``__getitem__``: one sample at a time, a
``torch.rand(1) < p`` decision per transform (torchvision's ``RandomApply``), parameters from
NumPy's global RNG, numpy arithmetic, ``scipy.signal.resample`` (FFT) for the crop, then
``torch.stack`` to collate. ``mmcontrast`` draws everything for the batch at once from a
``torch.Generator``. All methods run in one process with one thread
(``torch.set_num_threads``), one batch per round, interleaved round by round; the table gives
medians of the process CPU time and of the wall-clock time per batch. The speed-ups use CPU
time by default (``--clock wall`` for wall-clock): on a shared machine the wall-clock time of
a few-millisecond call mostly measures how often the process was descheduled. The last row
of each pipeline times drawing its jitter noise alone, a floor for the batched pipeline
(768,000 Gaussian values per skeleton batch). ``--compile`` adds rows where ``apply`` is
compiled by inductor (needs a C++ compiler; about a minute of compilation).

Large tensors make glibc's default ``malloc`` hand memory back to the kernel and fault it in
again on every batch, which costs more than the arithmetic here; as PyTorch's CPU tuning guide
suggests for such workloads, the script keeps freed memory in the process (``mallopt``, Linux
glibc only) unless ``--default-malloc`` is given. That setting applies to both methods.

Run: ``python benchmarks/bench_augment.py`` (needs scipy: ``pip install -e ".[data]"``).
The last line reads ``augment speedup: <N>x``, the smaller of the two speed-ups.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import math
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import scipy.signal
import torch
from torch import Tensor

from mmcontrast.augment import (
    ChannelScale,
    ChannelShuffle,
    Compose,
    Jitter,
    RandomApply,
    SegmentPermute,
    SkeletonRotate,
    SkeletonScale,
    SkeletonShear,
    TemporalCropResize,
)

P = 0.75
LOOP, OURS = "per-sample numpy loop", "mmcontrast, batched"
COMPILED = "mmcontrast, batched, apply compiled (inductor)"
FLOOR = "(its jitter noise alone: torch normal_)"


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds so freed blocks are reused (Linux glibc only)."""
    name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or name is None:
        return False
    libc = ctypes.CDLL(name)
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(
        libc.mallopt(m_trim_threshold, 1 << 30)
    )


# ---- the per-sample reference loop ---------------------------------------------------------
def applied(p: float = P) -> bool:
    return bool(torch.rand(1) < p)  # torchvision RandomApply's decision


def imu_sample(x: np.ndarray) -> Tensor:
    if applied():
        x = x + np.random.normal(0.0, 1.0, x.shape)
    if applied():
        x = x * np.random.normal(1.0, 1.0, (1, x.shape[1]))
    if applied():
        pieces = np.array_split(x, np.random.randint(1, 3), axis=0)
        x = np.concatenate([pieces[i] for i in np.random.permutation(len(pieces))], axis=0)
    if applied():
        x = x[:, np.random.permutation(x.shape[1])]
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def rotation(angles: np.ndarray) -> np.ndarray:
    out = np.eye(3)
    for axis, angle in enumerate(angles):
        c, s = math.cos(angle), math.sin(angle)
        i, j = [k for k in range(3) if k != axis]
        r = np.eye(3)
        r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
        if axis == 1:  # the right-handed sign for a rotation about y
            r[i, j], r[j, i] = s, -s
        out = out @ r
    return out


def skeleton_sample(x: np.ndarray) -> Tensor:
    length = x.shape[0]
    if applied(1.0):  # the reference wraps jitter in RandomApply(p=1.0) too
        x = x + np.random.normal(0.0, 0.1, x.shape)
    if applied():
        size = int(np.random.uniform(0.8, 0.9) * length)
        start = np.random.randint(0, length - size + 1)
        x = scipy.signal.resample(x[start : start + size], length, axis=0)
    if applied():
        x = x * np.random.uniform(0.7, 1.2, 3)
    if applied():
        x = x @ rotation(np.radians(np.random.uniform(-10.0, 10.0, 3))).T
    if applied():
        s = np.random.normal(0.0, 0.2, 3)
        x = x @ np.array([[1, s[0], s[0]], [s[1], 1, s[1]], [s[2], s[2], 1]]).T
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def per_sample_loop(
    samples: list[np.ndarray], transform: Callable[[np.ndarray], Tensor]
) -> Callable[[], Tensor]:
    return lambda: torch.stack([transform(x) for x in samples])


# ---- mmcontrast ----------------------------------------------------------------------------
def imu_pipeline() -> Compose:
    return Compose(
        [
            RandomApply(Jitter(sigma=1.0), p=P),
            RandomApply(ChannelScale(sigma=1.0), p=P),
            RandomApply(SegmentPermute(min_segments=1, max_segments=2, cuts="equal"), p=P),
            RandomApply(ChannelShuffle(), p=P),
        ]
    )


def skeleton_pipeline() -> Compose:
    return Compose(
        [
            Jitter(sigma=0.1),
            RandomApply(TemporalCropResize(scale=(0.8, 0.9)), p=P),
            RandomApply(SkeletonScale(scale=(0.7, 1.2)), p=P),
            RandomApply(SkeletonRotate(max_degrees=10.0), p=P),
            RandomApply(SkeletonShear(sigma=0.2), p=P),
        ]
    )


def batched(pipeline: Compose, x: Tensor, generator: torch.Generator) -> Callable[[], Tensor]:
    return lambda: pipeline(x, generator=generator)


def batched_compiled(
    pipeline: Compose, x: Tensor, generator: torch.Generator
) -> Callable[[], Tensor]:
    """``sample`` eagerly, ``apply`` compiled by inductor (one fused kernel per pipeline)."""
    apply = torch.compile(pipeline.apply, fullgraph=True)
    return lambda: apply(x, pipeline.sample(x, generator=generator))


def noise_floor(x: Tensor, generator: torch.Generator) -> Callable[[], Tensor]:
    """Drawing the jitter noise alone: the part of the batched pipeline no kernel can avoid."""
    return lambda: torch.empty_like(x).normal_(generator=generator)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--default-malloc", action="store_true")
    parser.add_argument(
        "--compile", action="store_true", help="add rows with apply compiled by inductor"
    )
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="which median the speed-ups use: process CPU time (default; robust on a shared "
        "machine) or wall-clock time",
    )
    args = parser.parse_args()

    malloc = "default glibc malloc" if args.default_malloc else "freed memory kept"
    if not args.default_malloc and not keep_freed_memory():
        malloc = "default malloc (mallopt unavailable)"
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)
    generator = torch.Generator().manual_seed(0)
    imu = torch.randn(args.batch, 50, 6)
    skeleton = torch.randn(args.batch, 50, 20, 3)
    imu_rows = [row.numpy().astype(np.float64) for row in imu]
    skeleton_rows = [row.numpy().astype(np.float64) for row in skeleton]
    methods = {
        ("IMU", LOOP): per_sample_loop(imu_rows, imu_sample),
        ("IMU", OURS): batched(imu_pipeline(), imu, generator),
        ("skeleton", LOOP): per_sample_loop(skeleton_rows, skeleton_sample),
        ("skeleton", OURS): batched(skeleton_pipeline(), skeleton, generator),
    }
    if args.compile:
        methods[("IMU", COMPILED)] = batched_compiled(imu_pipeline(), imu, generator)
        methods[("skeleton", COMPILED)] = batched_compiled(skeleton_pipeline(), skeleton, generator)
    methods[("IMU", FLOOR)] = noise_floor(imu, generator)
    methods[("skeleton", FLOOR)] = noise_floor(skeleton, generator)

    wall: dict[tuple[str, str], list[float]] = {key: [] for key in methods}
    cpu: dict[tuple[str, str], list[float]] = {key: [] for key in methods}
    for fn in methods.values():  # warm-up (and compilation)
        fn()
    for _ in range(args.rounds):
        for key, fn in methods.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            out = fn()
            wall[key].append(time.perf_counter() - start)
            cpu[key].append(time.process_time() - start_cpu)
            if out.shape[0] != args.batch:
                raise RuntimeError(f"{key}: wrong output shape {tuple(out.shape)}")

    clock = cpu if args.clock == "cpu" else wall
    print(
        f"B = {args.batch}, {args.threads} thread(s), {malloc}, torch {torch.__version__}; "
        f"medians of {args.rounds} interleaved rounds; speed-up = loop / method, "
        f"{args.clock} time\n"
    )
    print("| pipeline | method | CPU ms / batch | wall ms / batch | samples / CPU s | speed-up |")
    print("|---|---|---|---|---|---|")
    speedups = []
    for modality in ("IMU", "skeleton"):
        loop = statistics.median(clock[(modality, LOOP)])
        for method in (LOOP, OURS, COMPILED, FLOOR):
            if (modality, method) not in methods:
                continue
            median_cpu = statistics.median(cpu[(modality, method)])
            median_wall = statistics.median(wall[(modality, method)])
            ratio = loop / statistics.median(clock[(modality, method)])
            print(
                f"| {modality} | {method} | {median_cpu * 1e3:.2f} | {median_wall * 1e3:.2f} | "
                f"{args.batch / median_cpu:,.0f} | {ratio:.1f}x |"
            )
        speedups.append(loop / statistics.median(clock[(modality, OURS)]))
    print(f"\naugment speedup: {min(speedups):.1f}x")


if __name__ == "__main__":
    main()
