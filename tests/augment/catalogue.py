"""Every augmentation in a random and (where one exists) a zero-strength configuration.

Shared by the contract tests in ``test_base.py`` and the per-file tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from mmcontrast.augment import (
    UTD_MHAD_LAYOUT,
    Augmentation,
    ChannelDropout,
    ChannelScale,
    ChannelShuffle,
    Compose,
    Jitter,
    JointMask,
    MagnitudeWarp,
    NormalizeBoneLength,
    RandomApply,
    Recenter,
    SegmentPermute,
    SkeletonFlip,
    SkeletonRotate,
    SkeletonScale,
    SkeletonShear,
    TemporalCropResize,
    TimeMask,
    TimeWarp,
    TriadRotate,
)

IMU_SHAPE = (6, 24, 6)
SKELETON_SHAPE = (6, 12, 20, 3)


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], Augmentation[Any]]
    shape: tuple[int, ...]
    zero: Callable[[], Augmentation[Any]] | None = None  # zero-strength configuration
    random: bool = True  # draws something (False for deterministic transforms)

    def input(self, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(self.shape, generator=g).to(dtype)


CASES = [
    Case("Jitter-inertial", lambda: Jitter(sigma=0.5), IMU_SHAPE, lambda: Jitter(sigma=0.0)),
    Case(
        "ChannelScale", lambda: ChannelScale(sigma=0.5), IMU_SHAPE, lambda: ChannelScale(sigma=0.0)
    ),
    Case(
        "MagnitudeWarp",
        lambda: MagnitudeWarp(sigma=0.3, num_knots=3),
        IMU_SHAPE,
        lambda: MagnitudeWarp(sigma=0.0),
    ),
    Case("ChannelShuffle", ChannelShuffle, IMU_SHAPE),
    Case(
        "TriadRotate",
        lambda: TriadRotate(max_degrees=90.0),
        IMU_SHAPE,
        lambda: TriadRotate(max_degrees=0.0),
    ),
    Case(
        "ChannelDropout",
        lambda: ChannelDropout(rate=0.5),
        IMU_SHAPE,
        lambda: ChannelDropout(rate=0.0),
    ),
    Case(
        "TemporalCropResize-inertial",
        lambda: TemporalCropResize(scale=(0.5, 0.9)),
        IMU_SHAPE,
        lambda: TemporalCropResize(scale=(1.0, 1.0)),
    ),
    Case("TimeWarp-inertial", lambda: TimeWarp(sigma=0.5), IMU_SHAPE, lambda: TimeWarp(sigma=0.0)),
    Case(
        "TimeMask-inertial",
        lambda: TimeMask(max_extent=0.5, num_masks=2),
        IMU_SHAPE,
        lambda: TimeMask(max_extent=0.0),
    ),
    Case(
        "SegmentPermute-inertial",
        lambda: SegmentPermute(min_segments=2, max_segments=4),
        IMU_SHAPE,
        lambda: SegmentPermute(max_segments=1),
    ),
    Case("Jitter-skeleton", lambda: Jitter(sigma=0.1), SKELETON_SHAPE, lambda: Jitter(sigma=0.0)),
    Case(
        "TemporalCropResize-skeleton",
        lambda: TemporalCropResize(scale=(0.8, 0.9)),
        SKELETON_SHAPE,
        lambda: TemporalCropResize(scale=(1.0, 1.0)),
    ),
    Case(
        "TimeWarp-skeleton",
        lambda: TimeWarp(sigma=0.5),
        SKELETON_SHAPE,
        lambda: TimeWarp(sigma=0.0),
    ),
    Case(
        "TimeMask-skeleton",
        lambda: TimeMask(max_extent=0.5),
        SKELETON_SHAPE,
        lambda: TimeMask(max_extent=0.0),
    ),
    Case(
        "SegmentPermute-skeleton",
        lambda: SegmentPermute(min_segments=2, max_segments=3, cuts="equal"),
        SKELETON_SHAPE,
        lambda: SegmentPermute(max_segments=1, cuts="equal"),
    ),
    Case(
        "SkeletonScale",
        lambda: SkeletonScale(scale=(0.7, 1.2)),
        SKELETON_SHAPE,
        lambda: SkeletonScale(scale=(1.0, 1.0)),
    ),
    Case(
        "SkeletonScale-pivot",
        lambda: SkeletonScale(scale=(0.7, 1.2), pivot=0),
        SKELETON_SHAPE,
        lambda: SkeletonScale(scale=(1.0, 1.0), pivot=0),
    ),
    Case(
        "SkeletonRotate",
        lambda: SkeletonRotate(max_degrees=30.0),
        SKELETON_SHAPE,
        lambda: SkeletonRotate(max_degrees=0.0),
    ),
    Case(
        "SkeletonRotate-pivot",
        lambda: SkeletonRotate(max_degrees=(10.0, 90.0, 5.0), pivot=2),
        SKELETON_SHAPE,
        lambda: SkeletonRotate(max_degrees=0.0, pivot=2),
    ),
    Case(
        "SkeletonShear",
        lambda: SkeletonShear(sigma=0.2),
        SKELETON_SHAPE,
        lambda: SkeletonShear(sigma=0.0),
    ),
    Case("JointMask", lambda: JointMask(rate=0.5), SKELETON_SHAPE, lambda: JointMask(rate=0.0)),
    Case(
        "JointMask-limbs",
        lambda: JointMask(rate=0.5, layout=UTD_MHAD_LAYOUT),
        SKELETON_SHAPE,
        lambda: JointMask(rate=0.0, layout=UTD_MHAD_LAYOUT),
    ),
    Case("SkeletonFlip", SkeletonFlip, SKELETON_SHAPE, random=False),
    Case("Recenter", Recenter, SKELETON_SHAPE, random=False),
    Case("NormalizeBoneLength", NormalizeBoneLength, SKELETON_SHAPE, random=False),
    Case(
        "RandomApply",
        lambda: RandomApply(TimeWarp(sigma=0.5), p=0.5),
        IMU_SHAPE,
        lambda: RandomApply(TimeWarp(sigma=0.5), p=0.0),
    ),
    Case(
        "Compose-inertial",
        lambda: Compose(
            [
                RandomApply(Jitter(sigma=0.5), p=0.75),
                RandomApply(ChannelScale(sigma=0.5), p=0.75),
                RandomApply(SegmentPermute(max_segments=2, cuts="equal"), p=0.75),
                RandomApply(ChannelShuffle(), p=0.75),
                RandomApply(TriadRotate(), p=0.5),
            ]
        ),
        IMU_SHAPE,
        lambda: Compose([Jitter(sigma=0.0), TimeWarp(sigma=0.0), TriadRotate(max_degrees=0.0)]),
    ),
    Case(
        "Compose-skeleton",
        lambda: Compose(
            [
                Recenter(),
                NormalizeBoneLength(),
                Jitter(sigma=0.1),
                RandomApply(TemporalCropResize(scale=(0.8, 0.9)), p=0.75),
                RandomApply(SkeletonScale(scale=(0.7, 1.2)), p=0.75),
                RandomApply(SkeletonRotate(max_degrees=10.0), p=0.75),
                RandomApply(SkeletonShear(sigma=0.2), p=0.75),
                RandomApply(SkeletonFlip(), p=0.5),
            ]
        ),
        SKELETON_SHAPE,
        lambda: Compose(
            [SkeletonScale(scale=(1.0, 1.0)), SkeletonRotate(max_degrees=0.0), JointMask(rate=0)]
        ),
    ),
]

BY_NAME = {case.name: case for case in CASES}
