"""Batched, seedable augmentations for IMU (``"b t c"``) and skeleton (``"b t j c"``) batches.

Every transform has ``sample(x, *, generator=None) -> Params`` (all randomness for the batch,
drawn in vectorised calls), a deterministic, differentiable ``apply_params(x, params)`` and
``forward(x, params=None, *, generator=None)``. `Compose`, `RandomApply` and
`Paired` combine them; `Paired` shares one draw of the time-axis transforms
between modalities. The kernels are in `mmcontrast.augment.functional`; the papers'
pipelines are in `mmcontrast.augment.presets`.
"""

from mmcontrast.augment import presets
from mmcontrast.augment._base import Augmentation, Draw, NoParams
from mmcontrast.augment.compose import (
    Compose,
    ComposeParams,
    Paired,
    PairedParams,
    RandomApply,
    RandomApplyParams,
)
from mmcontrast.augment.inertial import (
    ChannelDropout,
    ChannelScale,
    ChannelShuffle,
    DropParams,
    Jitter,
    JitterParams,
    MagnitudeWarp,
    MagnitudeWarpParams,
    PermutationParams,
    RotationParams,
    ScaleParams,
    TriadRotate,
)
from mmcontrast.augment.layout import UTD_MHAD_LAYOUT, JointLayout
from mmcontrast.augment.normalize import NormalizeBoneLength, Recenter
from mmcontrast.augment.skeleton import (
    JointMask,
    LinearParams,
    SkeletonFlip,
    SkeletonRotate,
    SkeletonScale,
    SkeletonShear,
)
from mmcontrast.augment.temporal import (
    CropParams,
    SegmentPermute,
    SegmentPermuteParams,
    TemporalCropResize,
    TimeMask,
    TimeMaskParams,
    TimeWarp,
    TimeWarpParams,
)

__all__ = [
    "UTD_MHAD_LAYOUT",
    "Augmentation",
    "ChannelDropout",
    "ChannelScale",
    "ChannelShuffle",
    "Compose",
    "ComposeParams",
    "CropParams",
    "Draw",
    "DropParams",
    "Jitter",
    "JitterParams",
    "JointLayout",
    "JointMask",
    "LinearParams",
    "MagnitudeWarp",
    "MagnitudeWarpParams",
    "NoParams",
    "NormalizeBoneLength",
    "Paired",
    "PairedParams",
    "PermutationParams",
    "RandomApply",
    "RandomApplyParams",
    "Recenter",
    "RotationParams",
    "ScaleParams",
    "SegmentPermute",
    "SegmentPermuteParams",
    "SkeletonFlip",
    "SkeletonRotate",
    "SkeletonScale",
    "SkeletonShear",
    "TemporalCropResize",
    "TimeMask",
    "TimeMaskParams",
    "TimeWarp",
    "TimeWarpParams",
    "TriadRotate",
    "presets",
]
