"""Augmentation throughput: batched ``mmcontrast.augment`` against per-sample loops.

The two pipelines are CMC-CMKM's UTD-MHAD settings (``reference/data.md`` section 8), acting on
the axes their names say:

* IMU ``(B, 50, 6)``: jitter (sigma 1), per-channel scaling (sigma 1), segment permutation
  (1 or 2 equal segments), channel shuffle; each with p = 0.75.
* skeleton ``(B, 50, 20, 3)``: jitter (sigma 0.1, always), crop-and-resize (0.8-0.9 of the
  window), per-axis scaling U(0.7, 1.2) and rotation of up to 10 degrees per axis, both about
  joint 0 of each frame, shear (sigma 0.2) about the origin; each but jitter with p = 0.75.

Two per-sample baselines run the same transforms the way the reference datasets do in
``__getitem__``: one sample at a time, each transform behind a torchvision-style
``RandomApply`` whose decision comes from the global torch RNG, parameters from NumPy's global
RNG (Python's ``random`` for the crop, as there), ``scipy.signal.resample`` (FFT) for the crop,
then ``torch.stack`` to collate.

* *reference operations*: the operations the CMC-CMKM transforms execute, on the float32
  tensors its datasets produce (skeleton channel-first ``(3, 50, 20)``): NumPy noise converted
  with ``torch.tensor(...).float()``; scaling, rotation and shear through per-frame 4 x 4
  homogeneous matrices (translate the pivot to the origin, map, translate back), built with
  ``torch.eye(...).repeat`` per sample; rotation angles from the 2-degree grid; each
  ``RandomApply`` an ``nn.Module`` as torchvision's is.
* *numpy loop*: a leaner rewrite of the same transforms, faster than the reference: float64
  NumPy arithmetic throughout, one 3 x 3 product per geometric transform, one conversion to a
  tensor per sample.

``mmcontrast`` draws everything for the batch at once from a ``torch.Generator``. All methods
run in one process with ``--threads`` intra-op threads (default 1: the loops do one sample at a
time), one batch per round, interleaved round by round; the table gives medians of the process
CPU time and of the wall-clock time per batch. The speed-ups use CPU time by default
(``--clock wall`` for wall-clock): on a shared machine the wall-clock time of a few-millisecond
call mostly measures how often the process was descheduled. The rows "jitter noise alone" time
drawing each pipeline's Gaussian noise with ``torch``'s CPU generator (768,000 values per
skeleton batch): work that no batched implementation drawing from a ``torch.Generator`` avoids.
``--compile`` adds rows where ``apply_params`` is compiled by inductor (needs a C++ compiler;
about a minute of compilation).

Large tensors make glibc's default ``malloc`` hand memory back to the kernel and fault it in
again on every batch, which costs more than the arithmetic here; as PyTorch's CPU tuning guide
suggests for such workloads, the script keeps freed memory in the process (``mallopt``, Linux
glibc only) unless ``--default-malloc`` is given. That setting applies to every method.

Run: ``python benchmarks/bench_augment.py`` (needs scipy: ``pip install -e ".[data]"``).
The last line reads ``augment speedup: <N>x``: the smaller of the IMU and skeleton speed-ups
against the reference-operations loop. The line before it gives the same against the numpy
loop.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import math
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import scipy.signal
import torch
from torch import Tensor, nn

from mmcontrast.augment import Compose
from mmcontrast.augment.presets import cmc_cmkm_inertial_augment, cmc_cmkm_skeleton_augment

P = 0.75
REFERENCE, NUMPY = "per-sample loop, reference operations", "per-sample numpy loop"
OURS = "mmcontrast, batched"
COMPILED = "mmcontrast, batched, apply_params compiled (inductor)"
FLOOR = "(jitter noise alone: torch normal_)"
LOOPS = (REFERENCE, NUMPY)


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


# ---- baseline 1: the reference transforms' own operations ---------------------------------
class ApplyWithProbability(nn.Module):
    """A module that skips its transform when ``p < rand(1)``, as torchvision's ``RandomApply``."""

    def __init__(self, transform: Callable[[Tensor], Tensor], p: float) -> None:
        super().__init__()
        self.transform, self.p = transform, p

    def forward(self, x: Tensor) -> Tensor:
        """The transformed ``x`` with probability ``p``, else ``x``."""
        if self.p < torch.rand(1):
            return x
        return self.transform(x)


def chain(steps: Sequence[nn.Module]) -> Callable[[Tensor], Tensor]:
    """Call the steps in order, as torchvision's ``Compose`` does."""

    def run(x: Tensor) -> Tensor:
        for step in steps:
            x = step(x)
        return x

    return run


def numpy_noise(sigma: float) -> Callable[[Tensor], Tensor]:
    return lambda x: x + torch.tensor(np.random.normal(0.0, sigma, tuple(x.shape))).float()


def reference_crop(x: Tensor, low: float = 0.8, high: float = 0.9) -> Tensor:
    """``(3, T, J)``: an integer crop at a random start (Python's RNG), FFT-resampled to T."""
    length = x.shape[1]
    size = int(random.uniform(low, high) * length)
    start = random.randint(0, length - size)
    window = x[:, start : start + size, :]
    return torch.tensor(scipy.signal.resample(window, length, axis=1)).float()


def homogeneous(x: Tensor) -> Tensor:
    """``(3, T, J)`` coordinates as ``(T, J, 4)`` homogeneous points."""
    points = x.permute(1, 2, 0)
    return torch.cat((points, torch.ones((*points.shape[:2], 1))), dim=2)


def translations(offsets: Tensor) -> Tensor:
    """One 4 x 4 translation per frame, ``offsets: (T, 3)``."""
    t = torch.eye(4).repeat([offsets.shape[0], 1, 1])
    t[:, :3, -1] = offsets
    return t.float()


def map_frames(x: Tensor, matrix: Tensor, *, about_joint_0: bool) -> Tensor:
    """Apply a 4 x 4 map to every frame of ``(3, T, J)``, about joint 0 of each frame or not."""
    points = homogeneous(x)
    frames = points.shape[0]
    per_frame = matrix.repeat([frames, 1, 1]).float()
    if about_joint_0:
        origin = points[:, 0, :3]
        per_frame = translations(origin) @ per_frame @ translations(-origin)
    mapped = (per_frame @ points.permute(0, 2, 1)).permute(0, 2, 1)
    return mapped[:, :, :3].permute(2, 0, 1)


def reference_scale(x: Tensor) -> Tensor:
    factors = np.random.uniform(0.7, 1.2, size=3)
    return map_frames(x, torch.diagflat(torch.tensor([*factors, 1])), about_joint_0=True)


DEGREES = list(range(-10, 11, 2))  # the 2-degree grid of the reference configuration


def reference_rotate(x: Tensor) -> Tensor:
    degrees = np.random.choice(DEGREES, size=3)
    (cx, cy, cz), (sx, sy, sz) = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    rx, ry, rz = torch.eye(4), torch.eye(4), torch.eye(4)
    rx[1, 1], rx[1, 2], rx[2, 1], rx[2, 2] = cx, -sx, sx, cx
    ry[0, 0], ry[0, 2], ry[2, 0], ry[2, 2] = cy, sy, -sy, cy
    rz[0, 0], rz[0, 1], rz[1, 0], rz[1, 1] = cz, -sz, sz, cz
    return map_frames(x.float(), rx @ ry @ rz, about_joint_0=True)


def reference_shear(x: Tensor) -> Tensor:
    s = np.random.normal(0.0, 0.2, size=3)
    rows = [[1, s[0], s[0], 0], [s[1], 1, s[1], 0], [s[2], s[2], 1, 0], [0, 0, 0, 1]]
    return map_frames(x, torch.tensor(rows), about_joint_0=False)


def reference_scale_channels(x: Tensor) -> Tensor:
    # ``tensor * ndarray``, as there (the result is float64); one factor per channel here
    return x * np.random.normal(1.0, 1.0, size=(1, x.shape[1]))


def reference_permute(x: Tensor) -> Tensor:
    steps = np.arange(x.shape[0])
    count = np.random.randint(1, 3)
    np.zeros_like(x)  # allocated there before the branch (and then unused)
    if count == 1:
        return x
    order = np.concatenate(np.random.permutation(np.array_split(steps, count))).ravel()
    return x[order]


def reference_shuffle(x: Tensor) -> Tensor:
    channels = np.arange(x.shape[1])
    np.random.shuffle(channels)
    return x[:, channels]


def reference_imu() -> Callable[[Tensor], Tensor]:
    """``(T, C)`` float32 tensors; transforms on the axes their names say."""
    steps = [numpy_noise(1.0), reference_scale_channels, reference_permute, reference_shuffle]
    return chain([ApplyWithProbability(step, P) for step in steps])


def reference_skeleton() -> Callable[[Tensor], Tensor]:
    """``(3, T, J)`` float32 tensors, as the reference datasets hand them to the transforms."""
    steps = [reference_crop, reference_scale, reference_rotate, reference_shear]
    first = ApplyWithProbability(numpy_noise(0.1), 1.0)  # the config wraps jitter too
    return chain([first, *(ApplyWithProbability(step, P) for step in steps)])


# ---- baseline 2: a lean numpy rewrite -----------------------------------------------------
def applied(p: float = P) -> bool:
    return not p < torch.rand(1)  # torchvision RandomApply's decision


def numpy_imu(x: np.ndarray) -> Tensor:
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


def about_joint_0(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``(T, J, 3)``: ``M (p - o) + o`` with ``o`` joint 0 of each frame."""
    origin = x[:, :1]
    return (x - origin) @ matrix.T + origin


def numpy_skeleton(x: np.ndarray) -> Tensor:
    length = x.shape[0]
    if applied(1.0):
        x = x + np.random.normal(0.0, 0.1, x.shape)
    if applied():
        size = int(random.uniform(0.8, 0.9) * length)
        start = random.randint(0, length - size)
        x = scipy.signal.resample(x[start : start + size], length, axis=0)
    if applied():
        x = about_joint_0(x, np.diag(np.random.uniform(0.7, 1.2, 3)))
    if applied():
        x = about_joint_0(x, rotation(np.radians(np.random.uniform(-10.0, 10.0, 3))))
    if applied():
        s = np.random.normal(0.0, 0.2, 3)
        x = x @ np.array([[1, s[0], s[0]], [s[1], 1, s[1]], [s[2], s[2], 1]]).T
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def per_sample_loop(
    samples: list[Tensor] | list[np.ndarray], transform: Callable[..., Tensor]
) -> Callable[[], Tensor]:
    return lambda: torch.stack([transform(x) for x in samples])


# ---- mmcontrast ----------------------------------------------------------------------------
def imu_pipeline() -> Compose:
    return cmc_cmkm_inertial_augment()


def skeleton_pipeline() -> Compose:
    return cmc_cmkm_skeleton_augment()


def batched(pipeline: Compose, x: Tensor, generator: torch.Generator) -> Callable[[], Tensor]:
    return lambda: pipeline(x, generator=generator)


def batched_compiled(
    pipeline: Compose, x: Tensor, generator: torch.Generator
) -> Callable[[], Tensor]:
    """``sample`` eagerly, ``apply_params`` compiled by inductor (one fused kernel each)."""
    apply_params = torch.compile(pipeline.apply_params, fullgraph=True)
    return lambda: apply_params(x, pipeline.sample(x, generator=generator))


def noise_floor(x: Tensor, generator: torch.Generator) -> Callable[[], Tensor]:
    """Drawing the jitter noise alone: the part of the batched pipeline no kernel can avoid."""
    return lambda: torch.empty_like(x).normal_(generator=generator)


def median_cpu_ms(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median process CPU time of each callable, interleaved round by round."""
    times: dict[str, list[float]] = {key: [] for key in fns}
    for fn in fns.values():
        fn()
    for _ in range(rounds):
        for key, fn in fns.items():
            start = time.process_time()
            fn()
            times[key].append(time.process_time() - start)
    return {key: statistics.median(value) * 1e3 for key, value in times.items()}


def breakdown(
    modality: str,
    pipeline: Compose,
    groups: Sequence[tuple[str, slice]],
    x: Tensor,
    generator: torch.Generator,
    rounds: int,
) -> None:
    """Where the batched pipeline's time goes: ``sample`` and ``apply_params`` of each group.

    Each group is run as its own ``Compose`` on the output of the groups before it, so a group
    of several linear maps is timed as the one fused pass ``Compose`` makes of it.
    """
    steps = list(pipeline.transforms)
    params = pipeline.sample(x, generator=generator)
    fns: dict[str, Callable[[], object]] = {
        "whole pipeline, forward": lambda: pipeline(x, generator=generator),
        "whole pipeline, sample": lambda: pipeline.sample(x, generator=generator),
        "whole pipeline, apply_params": lambda: pipeline.apply_params(x, params),
    }
    inputs = x
    for name, group in groups:
        part = Compose(steps[group])
        part_params = params._replace(steps=params.steps[group])
        fns[f"{name}, sample"] = lambda part=part: part.sample(x, generator=generator)
        run = part.apply_params
        fns[f"{name}, apply_params"] = lambda run=run, y=inputs, q=part_params: run(y, q)
        inputs = part.apply_params(inputs, part_params)
    for key, value in median_cpu_ms(fns, rounds).items():
        print(f"| {modality} | {key} | {value:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--default-malloc", action="store_true")
    parser.add_argument(
        "--compile", action="store_true", help="add rows with apply_params compiled by inductor"
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time sample and apply_params of each stage of the batched pipelines",
    )
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="which median the speed-ups use: process CPU time (default; robust on a shared "
        "machine) or wall-clock time",
    )
    args = parser.parse_args()
    # NumPy 2 warns about ``tensor * ndarray``, which the reference's IMU scaling does
    warnings.filterwarnings("ignore", message="__array_wrap__", category=DeprecationWarning)

    malloc = "default glibc malloc" if args.default_malloc else "freed memory kept"
    if not args.default_malloc and not keep_freed_memory():
        malloc = "default malloc (mallopt unavailable)"
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    generator = torch.Generator().manual_seed(0)
    imu = torch.randn(args.batch, 50, 6)
    skeleton = torch.randn(args.batch, 50, 20, 3)
    methods = {
        ("IMU", REFERENCE): per_sample_loop(list(imu), reference_imu()),
        ("IMU", NUMPY): per_sample_loop([r.double().numpy() for r in imu], numpy_imu),
        ("IMU", OURS): batched(imu_pipeline(), imu, generator),
        ("skeleton", REFERENCE): per_sample_loop(
            [r.permute(2, 0, 1).contiguous() for r in skeleton], reference_skeleton()
        ),
        ("skeleton", NUMPY): per_sample_loop(
            [r.double().numpy() for r in skeleton], numpy_skeleton
        ),
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
    print(
        "| pipeline | method | CPU ms / batch | wall ms / batch | samples / CPU s "
        "| vs reference loop | vs numpy loop |"
    )
    print("|---|---|---|---|---|---|---|")
    speedups: dict[str, list[float]] = {loop: [] for loop in LOOPS}
    for modality in ("IMU", "skeleton"):
        loops = {loop: statistics.median(clock[(modality, loop)]) for loop in LOOPS}
        for method in (*LOOPS, OURS, COMPILED, FLOOR):
            if (modality, method) not in methods:
                continue
            median_cpu = statistics.median(cpu[(modality, method)])
            median_wall = statistics.median(wall[(modality, method)])
            own = statistics.median(clock[(modality, method)])
            ratios = " | ".join(f"{loops[loop] / own:.1f}x" for loop in LOOPS)
            print(
                f"| {modality} | {method} | {median_cpu * 1e3:.2f} | {median_wall * 1e3:.2f} | "
                f"{args.batch / median_cpu:,.0f} | {ratios} |"
            )
        ours = statistics.median(clock[(modality, OURS)])
        for loop in LOOPS:
            speedups[loop].append(loops[loop] / ours)
    if args.breakdown:
        print("\n| pipeline | stage | median CPU ms / batch |\n|---|---|---|")
        breakdown(
            "IMU",
            imu_pipeline(),
            [
                ("jitter (noise drawn in sample)", slice(0, 1)),
                ("channel scaling", slice(1, 2)),
                ("segment permutation", slice(2, 3)),
                ("channel shuffle", slice(3, 4)),
            ],
            imu,
            generator,
            args.rounds * 5,
        )
        breakdown(
            "skeleton",
            skeleton_pipeline(),
            [
                ("jitter (noise drawn in sample)", slice(0, 1)),
                ("crop-and-resize", slice(1, 2)),
                ("scaling, rotation, shear (one fused pass)", slice(2, 5)),
            ],
            skeleton,
            generator,
            args.rounds * 5,
        )
    print(f"\nspeedup vs the numpy loop: {min(speedups[NUMPY]):.1f}x")
    print(f"augment speedup: {min(speedups[REFERENCE]):.1f}x")


if __name__ == "__main__":
    main()
