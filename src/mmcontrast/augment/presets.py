"""The augmentation pipelines of published systems, on the axes their names say.

| preset | input | transforms |
|---|---|---|
| `cmc_cmkm_inertial_augment()` | `"b t c"` | jitter, channel scaling, segment permute, shuffle |
| `cmc_cmkm_skeleton_augment()` | `"b t j c"` | jitter, crop-and-resize, scaling, rotation, shear |
| `cmc_cmkm_supervised_skeleton_augment()` | `"b t j c"` | crop-and-resize, jitter, rotation |

The settings are those of CMC-CMKM (Brinzea et al. 2022) for UTD-MHAD, also used by the
hard-negative CMC paper (Choi et al. 2023), whose fork applies the IMU jitter always
(``jitter_p=1.0``). Unlike the released code, every transform acts on the axis its name says,
angles are continuous and crops are resampled linearly; the augmentation guide lists each
difference. The pipelines are plain `Compose` objects: read, replay or edit them like any other.
"""

from __future__ import annotations

from mmcontrast._checks import check_probability
from mmcontrast.augment.compose import Compose, RandomApply
from mmcontrast.augment.inertial import ChannelScale, ChannelShuffle, Jitter
from mmcontrast.augment.skeleton import SkeletonRotate, SkeletonScale, SkeletonShear
from mmcontrast.augment.temporal import SegmentPermute, TemporalCropResize

__all__ = [
    "cmc_cmkm_inertial_augment",
    "cmc_cmkm_skeleton_augment",
    "cmc_cmkm_supervised_skeleton_augment",
]


def cmc_cmkm_inertial_augment(*, p: float = 0.75, jitter_p: float | None = None) -> Compose:
    """CMC-CMKM's UTD-MHAD IMU augmentations, each applied per sample with probability ``p``.

    In order: jitter (sigma 1), one scaling factor per channel (sigma 1), the time axis cut into
    1 or 2 equal segments and reordered, a random channel permutation. The sigmas are in the
    sensor's raw units (g, deg/s), as in the reference; for standardised channels, Um et al.'s
    0.05 (jitter) and 0.1 (scaling) are the usual values.

    Args:
        p: probability of each transform.
        jitter_p: probability of the jitter (default ``p``; the hard-negative paper's fork
            uses 1.0).

    Shapes:
        x: ``"b t c"``; output: ``"b t c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment.presets import cmc_cmkm_inertial_augment
        >>> augment = cmc_cmkm_inertial_augment()
        >>> augment(torch.zeros(4, 50, 6), generator=torch.Generator().manual_seed(0)).shape
        torch.Size([4, 50, 6])
    """
    owner = "cmc_cmkm_inertial_augment"
    p = check_probability(owner, "p", p)
    jitter_p = p if jitter_p is None else check_probability(owner, "jitter_p", jitter_p)
    return Compose(
        [
            RandomApply(Jitter(sigma=1.0), p=jitter_p),
            RandomApply(ChannelScale(sigma=1.0), p=p),
            RandomApply(SegmentPermute(min_segments=1, max_segments=2, cuts="equal"), p=p),
            RandomApply(ChannelShuffle(), p=p),
        ]
    )


def cmc_cmkm_skeleton_augment(*, p: float = 0.75) -> Compose:
    """CMC-CMKM's UTD-MHAD skeleton augmentations (for recentred, bone-scaled skeletons).

    In order: jitter (sigma 0.1, always), a crop of 0.8-0.9 of the window resized to its
    length, per-axis scaling U(0.7, 1.2) and a rotation of up to 10 degrees per axis, both about
    joint 0 of each frame as in the reference, and a shear (sigma 0.2) about the origin; all but
    the jitter with probability ``p``. `Compose` applies the three linear maps in one pass.

    Args:
        p: probability of each transform but the jitter.

    Shapes:
        x: ``"b t j c"`` with ``c = 3``; output: ``"b t j c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment.presets import cmc_cmkm_skeleton_augment
        >>> augment = cmc_cmkm_skeleton_augment()
        >>> augment(torch.randn(4, 50, 20, 3), generator=torch.Generator().manual_seed(0)).shape
        torch.Size([4, 50, 20, 3])
    """
    p = check_probability("cmc_cmkm_skeleton_augment", "p", p)
    return Compose(
        [
            Jitter(sigma=0.1),
            RandomApply(TemporalCropResize(scale=(0.8, 0.9)), p=p),
            RandomApply(SkeletonScale(scale=(0.7, 1.2), pivot=0), p=p),
            RandomApply(SkeletonRotate(max_degrees=10.0, pivot=0), p=p),
            RandomApply(SkeletonShear(sigma=0.2), p=p),
        ]
    )


def cmc_cmkm_supervised_skeleton_augment() -> Compose:
    """The skeleton augmentations of CMC-CMKM's supervised multimodal baseline.

    A crop of 0.7-1.0 of the window resized to its length, jitter (sigma 0.01) and a rotation
    of up to 5 degrees per axis about joint 0, each always applied. The reference crops before
    recentring and draws angles from a 1-degree grid; the IMU is not augmented there.

    Shapes:
        x: ``"b t j c"`` with ``c = 3``; output: ``"b t j c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment.presets import cmc_cmkm_supervised_skeleton_augment
        >>> cmc_cmkm_supervised_skeleton_augment()(torch.randn(2, 50, 20, 3)).shape
        torch.Size([2, 50, 20, 3])
    """
    return Compose(
        [
            TemporalCropResize(scale=(0.7, 1.0)),
            Jitter(sigma=0.01),
            SkeletonRotate(max_degrees=5.0, pivot=0),
        ]
    )
