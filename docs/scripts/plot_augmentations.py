"""Draw every augmentation of ``mmcontrast.augment`` on one IMU trace and one skeleton.

Writes one PNG per transform to ``docs/images/augment/`` and ``source.txt`` saying where the
trace came from. With the UTD-MHAD files under ``--root`` (default: ``../shared/data/utd_mhad``
next to the repository) it uses the real recording ``--recording`` (default ``a9_s1_t1``,
draw_circle_cw, subject 1); otherwise it uses a synthetic trace (a right-arm wave whose IMU
is derived from the wrist's motion) and says so in every title.

Both streams are prepared as in the reference code (``reference/data.md`` section 7) but with
linear instead of FFT resampling: the skeleton is recentred on the spine of its first frame and
divided by the first frame's shoulder_center-spine distance, and both streams are resampled to
50 steps over the whole recording. For the pictures only, each IMU sensor (accelerometer,
gyroscope) is divided by its root mean square so that both share one scale; the three axes of
a sensor keep their common scale, so rotations stay rotations.

Run: ``python docs/scripts/plot_augmentations.py`` (needs ``pip install -e ".[data,docs]"``).
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

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
    Paired,
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
from mmcontrast.augment.functional import crop_resize

REPO = Path(__file__).resolve().parents[2]
LENGTH = 50
RIGHT_HAND = UTD_MHAD_LAYOUT.names.index("right_hand")


@dataclass(frozen=True)
class Trace:
    """One recording: ``inertial`` ``(1, 50, 6)`` and ``skeleton`` ``(1, 50, 20, 3)``."""

    inertial: Tensor
    skeleton: Tensor
    raw_skeleton: Tensor  # before recentring and scaling, resampled to 50 frames
    source: str


def _resample(x: Tensor) -> Tensor:
    ones = torch.ones(x.shape[0], dtype=x.dtype)
    return crop_resize(x, torch.zeros_like(ones), ones, size=LENGTH)


def prepare(inertial: np.ndarray, skeleton: np.ndarray, source: str) -> Trace:
    """From raw arrays ``(T1, 6)`` and ``(20, 3, T2)`` to the 50-step tensors."""
    imu = _resample(torch.from_numpy(np.asarray(inertial, dtype=np.float64))[None])
    raw = torch.from_numpy(np.asarray(skeleton, dtype=np.float64)).permute(2, 0, 1)[None]
    normalise = Compose([Recenter(joint=2), NormalizeBoneLength(joints=(1, 2))])
    skel = _resample(normalise(raw))
    rms = imu.view(1, LENGTH, 2, 3).square().mean(dim=(1, 3), keepdim=True).sqrt()
    imu = (imu.view(1, LENGTH, 2, 3) / rms).view(1, LENGTH, 6)  # each sensor to unit RMS
    return Trace(imu.float(), skel.float(), _resample(raw).float(), source)


def load_real(root: Path, recording: str) -> Trace | None:
    """The UTD-MHAD recording, or ``None`` when its files are absent."""
    inertial = root / "Inertial" / f"{recording}_inertial.mat"
    skeleton = root / "Skeleton" / f"{recording}_skeleton.mat"
    if not (inertial.is_file() and skeleton.is_file()):
        return None
    from scipy.io import loadmat

    source = f"UTD-MHAD {recording} (Chen et al. 2015)"
    return prepare(loadmat(inertial)["d_iner"], loadmat(skeleton)["d_skel"], source)


def synthetic() -> Trace:
    """A 2-second right-arm wave: Kinect-like skeleton at 30 Hz, wrist IMU at 50 Hz."""
    rest = np.array(
        [
            [0.00, 0.70, 0.00],
            [0.00, 0.45, 0.00],
            [0.00, 0.12, 0.02],
            [0.00, 0.00, 0.03],
            [-0.18, 0.42, 0.0],
            [-0.22, 0.15, 0.0],
            [-0.24, -0.10, 0.0],
            [-0.25, -0.17, 0.0],
            [0.18, 0.42, 0.00],
            [0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0],
            [-0.09, -0.05, 0.0],
            [-0.10, -0.48, 0.0],
            [-0.10, -0.88, 0.0],
            [-0.10, -0.95, -0.08],
            [0.09, -0.05, 0.00],
            [0.10, -0.48, 0.00],
            [0.10, -0.88, 0.00],
            [0.10, -0.95, -0.08],
        ]
    ) + np.array([0.1, 0.0, 2.5])  # metres; the subject stands 2.5 m from the camera

    def arm(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forearm angle (rad) and wrist position (metres) at times ``t`` (seconds)."""
        angle = 0.6 * np.sin(2 * math.pi * 1.0 * t)
        elbow = rest[8] + np.array([0.26, 0.05, -0.03])
        direction = np.stack([np.sin(angle), np.cos(angle), np.zeros_like(t)], axis=-1)
        return angle, elbow + 0.25 * direction

    frames = np.linspace(0.0, 2.0, 60)
    skeleton = np.repeat(rest[None], len(frames), axis=0)
    angle, wrist = arm(frames)
    skeleton[:, 9] = rest[8] + np.array([0.26, 0.05, -0.03])
    skeleton[:, 10] = wrist
    direction = (wrist - skeleton[:, 9]) / 0.25
    skeleton[:, 11] = wrist + 0.07 * direction
    skeleton += 0.01 * np.sin(2 * math.pi * 0.5 * frames)[:, None, None] * np.array([1, 0, 0])

    t = np.linspace(0.0, 2.0, 100)
    angle, wrist = arm(t)
    dt = t[1] - t[0]
    acceleration = np.gradient(np.gradient(wrist, dt, axis=0), dt, axis=0) / 9.81
    gravity = np.array([0.0, -1.0, 0.0])
    specific_force = acceleration - gravity  # what an accelerometer reads, in g
    cos, sin = np.cos(angle), np.sin(angle)
    to_sensor = np.stack(
        [
            np.stack([cos, sin, np.zeros_like(t)], -1),
            np.stack([-sin, cos, np.zeros_like(t)], -1),
            np.tile([0.0, 0.0, 1.0], (len(t), 1)),
        ],
        axis=1,
    )  # world -> forearm frame
    acc = np.einsum("tij,tj->ti", to_sensor, specific_force)
    twist = 25.0 * np.sin(2 * math.pi * 2.0 * t)  # a small forearm roll, deg/s
    gyro = np.stack([twist, 0.3 * twist, np.degrees(np.gradient(angle, dt))], axis=-1)
    noise = np.random.default_rng(0).normal(size=(len(t), 6)) * [0.01, 0.01, 0.01, 1, 1, 1]
    inertial = np.concatenate([acc, gyro], axis=1) + noise
    return prepare(inertial, skeleton.transpose(1, 2, 0), "SYNTHETIC trace (UTD-MHAD not found)")


# ---- drawing ------------------------------------------------------------------------------
def _figure(plt: Any, title: str, source: str, columns: int) -> tuple[Any, Any]:
    fig, axes = plt.subplots(1, columns, figsize=(4.0 * columns, 3.0), squeeze=False)
    fig.suptitle(f"{title}\n{source}", fontsize=9)
    return fig, axes[0]


def _imu_axes(axes: Any, before: Tensor, after: Tensor) -> None:
    steps = np.arange(before.shape[1])
    for ax, start, label in ((axes[0], 0, "accelerometer"), (axes[1], 3, "gyroscope")):
        for channel, colour in zip(range(start, start + 3), ("C0", "C1", "C2"), strict=True):
            ax.plot(steps, before[0, :, channel], color="0.7", lw=1.0, ls="--")
            ax.plot(steps, after[0, :, channel], color=colour, lw=1.2, label="xyz"[channel - start])
        ax.set_title(f"{label} (unit RMS)", fontsize=8)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, loc="upper right")


def _hand_axes(ax: Any, before: Tensor, after: Tensor) -> None:
    steps = np.arange(before.shape[1])
    for axis, colour in zip(range(3), ("C0", "C1", "C2"), strict=True):
        ax.plot(steps, before[0, :, RIGHT_HAND, axis], color="0.7", lw=1.0, ls="--")
        ax.plot(steps, after[0, :, RIGHT_HAND, axis], color=colour, lw=1.2, label="xyz"[axis])
    ax.set_title("skeleton: right hand", fontsize=8)
    ax.set_xlabel("frame", fontsize=8)
    ax.tick_params(labelsize=7)


def _pose(ax: Any, joints: Tensor, view: tuple[int, int], colour: str, width: float) -> None:
    h, v = view
    for a, b in UTD_MHAD_LAYOUT.bones:
        ax.plot(joints[[a, b], h], joints[[a, b], v], color=colour, lw=width)
    ax.scatter(joints[:, h], joints[:, v], color=colour, s=6)
    ax.set_aspect("equal", adjustable="datalim")
    ax.tick_params(labelsize=7)


def _pose_axes(axes: Any, before: Tensor, after: Tensor, frame: int) -> None:
    for ax, view, name in ((axes[0], (0, 1), "front (x, y)"), (axes[1], (2, 1), "side (z, y)")):
        _pose(ax, before[0, frame], view, "0.7", 1.0)
        _pose(ax, after[0, frame], view, "C3", 1.6)
        ax.set_title(f"frame {frame}, {name}", fontsize=8)


def _seed() -> torch.Generator:
    return torch.Generator().manual_seed(2)


def imu_figures() -> dict[str, tuple[str, Augmentation[Any]]]:
    return {
        "jitter_imu": ("Jitter(sigma=0.1)", Jitter(sigma=0.1)),
        "channel_scale": ("ChannelScale(sigma=0.3)", ChannelScale(sigma=0.3)),
        "magnitude_warp": ("MagnitudeWarp(sigma=0.3, num_knots=4)", MagnitudeWarp(sigma=0.3)),
        "channel_shuffle": ("ChannelShuffle()", ChannelShuffle()),
        "triad_rotate": ("TriadRotate(max_degrees=90)", TriadRotate(max_degrees=90.0)),
        "channel_dropout": ("ChannelDropout(rate=0.5)", ChannelDropout(rate=0.5)),
    }


def temporal_figures() -> dict[str, tuple[str, Augmentation[Any]]]:
    return {
        "temporal_crop_resize": (
            "TemporalCropResize(scale=(0.6, 0.7)), shared by Paired",
            TemporalCropResize(scale=(0.6, 0.7)),
        ),
        "time_warp": ("TimeWarp(sigma=0.5, num_knots=4), shared by Paired", TimeWarp(sigma=0.5)),
        "time_mask": (
            "TimeMask(max_extent=0.3, num_masks=2), shared by Paired",
            TimeMask(max_extent=0.3, num_masks=2),
        ),
        "segment_permute": (
            "SegmentPermute(min_segments=3, max_segments=3), shared by Paired",
            SegmentPermute(min_segments=3, max_segments=3),
        ),
    }


def skeleton_figures() -> dict[str, tuple[str, Augmentation[Any]]]:
    return {
        "jitter_skeleton": ("Jitter(sigma=0.05)", Jitter(sigma=0.05)),
        "skeleton_scale": ("SkeletonScale(scale=(0.7, 1.2))", SkeletonScale(scale=(0.7, 1.2))),
        "skeleton_rotate": ("SkeletonRotate(max_degrees=30)", SkeletonRotate(max_degrees=30.0)),
        "skeleton_shear": ("SkeletonShear(sigma=0.2)", SkeletonShear(sigma=0.2)),
        "joint_mask": (
            "JointMask(rate=0.4, layout=UTD_MHAD_LAYOUT): whole limbs set to 0",
            JointMask(rate=0.4, layout=UTD_MHAD_LAYOUT),
        ),
        "skeleton_flip": ("SkeletonFlip(layout=UTD_MHAD_LAYOUT)", SkeletonFlip()),
    }


def draw_all(trace: Trace, out: Path) -> list[Path]:
    """Write every figure; returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=80, metadata={"Software": None})
        plt.close(fig)
        written.append(path)

    for name, (title, transform) in imu_figures().items():
        fig, axes = _figure(plt, title, trace.source, 2)
        _imu_axes(axes, trace.inertial, transform(trace.inertial, generator=_seed()))
        save(fig, name)
    batch = {"inertial": trace.inertial, "skeleton": trace.skeleton}
    for name, (title, transform) in temporal_figures().items():
        augmented = Paired(transform)(batch, generator=_seed())
        fig, axes = _figure(plt, title, trace.source, 3)
        _imu_axes(axes[:2], trace.inertial, augmented["inertial"])
        _hand_axes(axes[2], trace.skeleton, augmented["skeleton"])
        save(fig, name)
    frame = LENGTH // 2
    for name, (title, transform) in skeleton_figures().items():
        fig, axes = _figure(plt, title, trace.source, 2)
        _pose_axes(axes, trace.skeleton, transform(trace.skeleton, generator=_seed()), frame)
        save(fig, name)
    title = "Recenter(joint=2), then NormalizeBoneLength(joints=(1, 2))"
    fig, axes = _figure(plt, title, trace.source, 2)
    views = ((trace.raw_skeleton, "camera coordinates (m)"), (trace.skeleton, "normalised"))
    for ax, (pose, label) in zip(axes, views, strict=True):
        _pose(ax, pose[0, 0], (0, 1), "C3", 1.6)
        ax.set_title(f"frame 0, front (x, y), {label}", fontsize=8)
    save(fig, "normalisation")
    (out / "source.txt").write_text(trace.source + "\n")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_root = os.environ.get(
        "MMCONTRAST_UTD_MHAD", REPO.parent / "shared" / "data" / "utd_mhad"
    )
    parser.add_argument("--root", type=Path, default=default_root)
    parser.add_argument("--recording", default="a9_s1_t1")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "augment")
    args = parser.parse_args()
    trace = load_real(args.root, args.recording) or synthetic()
    written = draw_all(trace, args.out)
    print(f"{len(written)} figures from {trace.source} in {args.out}")


if __name__ == "__main__":
    main()
