"""Augmentation pipelines: the papers' settings, and one for standardised IMU channels.

| preset | input | transforms |
|---|---|---|
| `cmc_cmkm_inertial_augment()` | `"b t c"` (raw) | jitter, scaling, segment permute, shuffle |
| `cmc_cmkm_skeleton_augment()` | `"b t j c"` | jitter, crop-and-resize, scaling, rotation, shear |
| `cmc_cmkm_supervised_skeleton_augment()` | `"b t j c"` | crop-and-resize, jitter, rotation |
| `standardized_inertial_augment()` | `"b t c"` (standardised) | jitter, scaling, segment permute |

The ``cmc_cmkm_*`` settings are those of CMC-CMKM (Brinzea et al. 2022) for UTD-MHAD, also
used by the hard-negative CMC paper (Choi et al. 2023), whose fork applies the IMU jitter always
(``jitter_p=1.0``). Unlike the released code, every transform acts on the axis its name says,
angles are continuous and crops are resampled linearly; the augmentation guide lists each
difference. Every strength is a keyword argument whose default is the paper's setting.
`standardized_inertial_augment` is for IMU channels standardised to zero mean and unit
variance, and never moves a channel to another sensor's triad. The pipelines are plain
`Compose` objects: read, replay or edit them like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mmcontrast._checks import check_probability, checking
from mmcontrast.augment._base import Augmentation
from mmcontrast.augment.compose import Compose, RandomApply
from mmcontrast.augment.inertial import (
    ChannelScale,
    ChannelShuffle,
    Jitter,
    MagnitudeWarp,
    TriadRotate,
)
from mmcontrast.augment.skeleton import SkeletonRotate, SkeletonScale, SkeletonShear
from mmcontrast.augment.temporal import SegmentPermute, TemporalCropResize

__all__ = [
    "cmc_cmkm_inertial_augment",
    "cmc_cmkm_skeleton_augment",
    "cmc_cmkm_supervised_skeleton_augment",
    "standardized_inertial_augment",
]

A = TypeVar("A", bound=Augmentation[Any])


def _build(name: str, value: object, make: Callable[[], A]) -> A:
    """``make()``; a rejected argument is reported under the preset's own name for it."""
    try:
        return make()
    except (TypeError, ValueError) as error:
        raise type(error)(f"{name}={value!r} is invalid ({error})") from error


def _permute(max_segments: int) -> SegmentPermute:
    return SegmentPermute(min_segments=1, max_segments=max_segments, cuts="equal")


def cmc_cmkm_inertial_augment(
    *,
    p: float = 0.75,
    jitter_p: float | None = None,
    jitter_sigma: float = 1.0,
    scale_sigma: float = 1.0,
    max_segments: int = 2,
) -> Compose:
    """CMC-CMKM's UTD-MHAD IMU augmentations, each applied per sample with probability ``p``.

    In order: jitter (sigma 1), one scaling factor per channel (sigma 1), the time axis cut into
    1 or 2 equal segments and reordered, a random channel permutation. The sigmas are in the
    sensor's raw units (g, deg/s), as in the reference: 1 is larger than the accelerometer's
    own spread (about 0.5-0.75 g on UTD-MHAD) and negligible next to the gyroscope's (about
    100 deg/s), and the channel permutation moves axes between the accelerometer and the
    gyroscope. For standardised channels use `standardized_inertial_augment`.

    Args:
        p: probability of each transform.
        jitter_p: probability of the jitter (default ``p``; the hard-negative paper's fork
            uses 1.0).
        jitter_sigma: standard deviation of the additive noise, in the input's units.
        scale_sigma: standard deviation of the per-channel factors ``N(1, scale_sigma**2)``.
        max_segments: the time axis is cut into 1 to ``max_segments`` equal segments
            (1 turns the permutation off).

    Shapes:
        x: ``"b t c"``; output: ``"b t c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment.presets import cmc_cmkm_inertial_augment
        >>> augment = cmc_cmkm_inertial_augment()
        >>> augment(torch.zeros(4, 50, 6), generator=torch.Generator().manual_seed(0)).shape
        torch.Size([4, 50, 6])
        >>> cmc_cmkm_inertial_augment(jitter_sigma=0.5).transforms[0].transform
        Jitter(sigma=0.5)
    """
    with checking("cmc_cmkm_inertial_augment"):
        p = check_probability("p", p)
        jitter_p = p if jitter_p is None else check_probability("jitter_p", jitter_p)
        jitter = _build("jitter_sigma", jitter_sigma, lambda: Jitter(sigma=jitter_sigma))
        scale = _build("scale_sigma", scale_sigma, lambda: ChannelScale(sigma=scale_sigma))
        return Compose(
            [
                RandomApply(jitter, p=jitter_p),
                RandomApply(scale, p=p),
                RandomApply(
                    _build("max_segments", max_segments, lambda: _permute(max_segments)), p=p
                ),
                RandomApply(ChannelShuffle(), p=p),
            ]
        )


def cmc_cmkm_skeleton_augment(
    *,
    p: float = 0.75,
    jitter_sigma: float = 0.1,
    crop_scale: tuple[float, float] = (0.8, 0.9),
    scale_range: tuple[float, float] = (0.7, 1.2),
    max_degrees: float | tuple[float, float, float] = 10.0,
    shear_sigma: float = 0.2,
) -> Compose:
    """CMC-CMKM's UTD-MHAD skeleton augmentations (for recentred, bone-scaled skeletons).

    In order: jitter (sigma 0.1, always), a crop of 0.8-0.9 of the window resized to its
    length, per-axis scaling U(0.7, 1.2) and a rotation of up to 10 degrees per axis, both about
    joint 0 of each frame as in the reference, and a shear (sigma 0.2) about the origin; all but
    the jitter with probability ``p``. `Compose` applies the three linear maps in one pass.

    Args:
        p: probability of each transform but the jitter.
        jitter_sigma: standard deviation of the coordinate noise (units of the normalised
            skeleton).
        crop_scale: ``(low, high)`` fraction of the window kept by the crop.
        scale_range: ``(low, high)`` of the per-axis scaling factors.
        max_degrees: largest rotation angle per axis, one for all axes or one per axis.
        shear_sigma: standard deviation of the shear factors.

    Shapes:
        x: ``"b t j c"`` with ``c = 3``; output: ``"b t j c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment.presets import cmc_cmkm_skeleton_augment
        >>> augment = cmc_cmkm_skeleton_augment()
        >>> augment(torch.randn(4, 50, 20, 3), generator=torch.Generator().manual_seed(0)).shape
        torch.Size([4, 50, 20, 3])
    """
    with checking("cmc_cmkm_skeleton_augment"):
        p = check_probability("p", p)
        jitter = _build("jitter_sigma", jitter_sigma, lambda: Jitter(sigma=jitter_sigma))
        crop = _build("crop_scale", crop_scale, lambda: TemporalCropResize(scale=crop_scale))
        scale = _build(
            "scale_range", scale_range, lambda: SkeletonScale(scale=scale_range, pivot=0)
        )
        rotate = _build(
            "max_degrees", max_degrees, lambda: SkeletonRotate(max_degrees=max_degrees, pivot=0)
        )
        shear = _build("shear_sigma", shear_sigma, lambda: SkeletonShear(sigma=shear_sigma))
        return Compose(
            [
                jitter,
                RandomApply(crop, p=p),
                RandomApply(scale, p=p),
                RandomApply(rotate, p=p),
                RandomApply(shear, p=p),
            ]
        )


def cmc_cmkm_supervised_skeleton_augment(
    *,
    crop_scale: tuple[float, float] = (0.7, 1.0),
    jitter_sigma: float = 0.01,
    max_degrees: float | tuple[float, float, float] = 5.0,
) -> Compose:
    """The skeleton augmentations of CMC-CMKM's supervised multimodal baseline.

    A crop of 0.7-1.0 of the window resized to its length, jitter (sigma 0.01) and a rotation
    of up to 5 degrees per axis about joint 0, each always applied. The reference crops before
    recentring and draws angles from a 1-degree grid; the IMU is not augmented there.

    Args:
        crop_scale: ``(low, high)`` fraction of the window kept by the crop.
        jitter_sigma: standard deviation of the coordinate noise.
        max_degrees: largest rotation angle per axis, one for all axes or one per axis.

    Shapes:
        x: ``"b t j c"`` with ``c = 3``; output: ``"b t j c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment.presets import cmc_cmkm_supervised_skeleton_augment
        >>> cmc_cmkm_supervised_skeleton_augment()(torch.randn(2, 50, 20, 3)).shape
        torch.Size([2, 50, 20, 3])
    """
    with checking("cmc_cmkm_supervised_skeleton_augment"):
        return Compose(
            [
                _build("crop_scale", crop_scale, lambda: TemporalCropResize(scale=crop_scale)),
                _build("jitter_sigma", jitter_sigma, lambda: Jitter(sigma=jitter_sigma)),
                _build(
                    "max_degrees",
                    max_degrees,
                    lambda: SkeletonRotate(max_degrees=max_degrees, pivot=0),
                ),
            ]
        )


def standardized_inertial_augment(
    *,
    p: float = 0.75,
    jitter_sigma: float = 0.05,
    scale_sigma: float = 0.1,
    max_segments: int = 2,
    magnitude_sigma: float | None = None,
    max_degrees: float | None = None,
) -> Compose:
    """IMU augmentations for standardised channels that keep every sensor's triad apart.

    For ``"b t c"`` windows whose channels are standardised to zero mean and unit variance
    (e.g. with training-set statistics). In order, each with probability ``p``: jitter
    (sigma 0.05), one scaling factor per channel (sigma 0.1), optionally a smooth magnitude
    warp, the time axis cut into 1 or 2 equal segments and reordered, and optionally one
    rotation applied to every triad alike. There is no channel permutation: no transform moves
    a channel, so the accelerometer triad stays the accelerometer and the gyroscope triad the
    gyroscope (the rotation mixes the axes within each triad only).

    Why not `cmc_cmkm_inertial_augment` on such input: its sigmas of 1 are in raw units
    (g, deg/s), which is larger than the accelerometer's own spread (about 0.5-0.75 g on
    UTD-MHAD) and negligible for the gyroscope (about 100 deg/s); in standard units they are
    noise as strong as the signal. Its channel permutation moves accelerometer axes into the
    gyroscope's places and back. The defaults here are Um et al. (2017)'s values for
    standardised wearable-sensor data (jitter 0.05, scaling 0.1) and CMC-CMKM's segment
    permutation. Rotation is off by default: after standardisation each channel has lost its
    own mean (gravity, for the accelerometer) and its own scale, so turning a triad is only
    roughly a turned sensor; set ``max_degrees`` where the placement varies.

    Args:
        p: probability of each transform.
        jitter_sigma: standard deviation of the additive noise, in standard units.
        scale_sigma: standard deviation of the per-channel factors ``N(1, scale_sigma**2)``.
        max_segments: the time axis is cut into 1 to ``max_segments`` equal segments
            (1 turns the permutation off).
        magnitude_sigma: spread of a `MagnitudeWarp` curve (4 inner knots; Um et al.: 0.2),
            or ``None`` (the default) for no magnitude warp.
        max_degrees: largest angle of a `TriadRotate` in ``[0, 180]``, or ``None`` (the
            default) for no rotation. Needs a channel count that is a multiple of 3.

    Shapes:
        x: ``"b t c"`` (``"b t (g 3)"`` with ``max_degrees``); output: the shape of ``x``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment.presets import standardized_inertial_augment
        >>> augment = standardized_inertial_augment()
        >>> augment(torch.randn(4, 50, 6), generator=torch.Generator().manual_seed(0)).shape
        torch.Size([4, 50, 6])
        >>> [type(step.transform).__name__ for step in augment.transforms]
        ['Jitter', 'ChannelScale', 'SegmentPermute']
        >>> len(standardized_inertial_augment(max_degrees=30.0, magnitude_sigma=0.2).transforms)
        5
    """
    with checking("standardized_inertial_augment"):
        p = check_probability("p", p)
        jitter = _build("jitter_sigma", jitter_sigma, lambda: Jitter(sigma=jitter_sigma))
        scale = _build("scale_sigma", scale_sigma, lambda: ChannelScale(sigma=scale_sigma))
        steps: list[Augmentation[Any]] = [RandomApply(jitter, p=p), RandomApply(scale, p=p)]
        if magnitude_sigma is not None:
            warp = _build(
                "magnitude_sigma", magnitude_sigma, lambda: MagnitudeWarp(sigma=magnitude_sigma)
            )
            steps.append(RandomApply(warp, p=p))
        steps.append(
            RandomApply(_build("max_segments", max_segments, lambda: _permute(max_segments)), p=p)
        )
        if max_degrees is not None:
            rotate = _build(
                "max_degrees", max_degrees, lambda: TriadRotate(max_degrees=max_degrees)
            )
            steps.append(RandomApply(rotate, p=p))
        return Compose(steps)
