"""Time-axis augmentations for any ``"b t ..."`` batch: IMU ``"b t c"`` or skeleton ``"b t j c"``.

Their parameters live in normalised time (``[0, 1]`` over the window) and are drawn from the
batch size alone, so one draw means the same thing for windows of different lengths:
`mmcontrast.augment.Paired` uses this to give a paired IMU window and skeleton window
the same crop, warp, mask or segment order.
"""

from __future__ import annotations

from typing import ClassVar, Literal, NamedTuple

import torch
from torch import Tensor

from mmcontrast._checks import (
    check_choice,
    check_finite_number,
    check_int,
    check_positive_range,
    check_probability,
    checking,
)
from mmcontrast.augment import functional as AF
from mmcontrast.augment._base import Augmentation, Draw, where_rows

__all__ = [
    "CropParams",
    "SegmentPermute",
    "SegmentPermuteParams",
    "TemporalCropResize",
    "TimeMask",
    "TimeMaskParams",
    "TimeWarp",
    "TimeWarpParams",
]

Cuts = Literal["random", "equal"]


class CropParams(NamedTuple):
    """Crop start and extent in normalised time, ``"b"`` each."""

    start: Tensor
    extent: Tensor


class TimeWarpParams(NamedTuple):
    """Warped times of equally spaced knots, ``"b k"`` (0 first, 1 last, non-decreasing)."""

    knots: Tensor


class TimeMaskParams(NamedTuple):
    """Mask starts and extents in normalised time, ``"b m"`` each."""

    start: Tensor
    extent: Tensor


class SegmentPermuteParams(NamedTuple):
    """Sorted inner cut points ``"b (n-1)"`` (1 = unused) and segment order ``"b n"``."""

    cuts: Tensor
    order: Tensor


class TemporalCropResize(Augmentation[CropParams]):
    """Crop a random contiguous part of the window and stretch it back to the full length.

    The crop covers a fraction ``U(*scale)`` of the duration at a uniformly random start;
    it is resampled to the input length by linear interpolation
    (`mmcontrast.augment.functional.crop_resize`).

    Args:
        scale: ``(low, high)`` crop fraction, ``0 < low <= high <= 1``; ``(1, 1)`` is the
            identity. CMC-CMKM's UTD-MHAD skeleton setting is ``(0.8, 0.9)``.
        same_on_batch: one crop for the whole batch.

    Shapes:
        x: ``"b t ..."``; output: ``"b t ..."``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import TemporalCropResize
        >>> crop = TemporalCropResize(scale=(0.8, 0.9))
        >>> crop(torch.randn(8, 50, 6), generator=torch.Generator().manual_seed(0)).shape
        torch.Size([8, 50, 6])
        >>> crop
        TemporalCropResize(scale=(0.8, 0.9))
    """

    pattern: ClassVar[str] = "b t ..."
    _temporal: ClassVar[bool] = True

    def __init__(
        self, *, scale: tuple[float, float] = (0.8, 0.9), same_on_batch: bool = False
    ) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking("TemporalCropResize"):
            self.scale = check_positive_range("scale", scale, high=1.0)

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> CropParams:
        extent = draw.uniform(batch, low=self.scale[0], high=self.scale[1])
        start = draw.uniform(batch) * (1 - extent)
        return CropParams(start=start, extent=extent)

    def _transform(self, x: Tensor, params: CropParams) -> Tensor:
        return AF.crop_resize(x, params.start, params.extent)

    def _neutralize(self, params: CropParams, applied: Tensor) -> CropParams:
        return CropParams(
            start=where_rows(applied, params.start, 0.0),
            extent=where_rows(applied, params.extent, 1.0),
        )

    def _repr_fields(self) -> dict[str, object]:
        return {"scale": self.scale}


class TimeWarp(Augmentation[TimeWarpParams]):
    """Speed up and slow down time smoothly (Um et al. 2017), all channels alike.

    The window is split into ``num_knots + 1`` equal parts of output time; part ``k`` plays
    the input at speed ``exp(sigma * z_k)``, ``z_k ~ N(0, 1)``, normalised so that the whole
    window is still covered. The warp is monotone and piecewise linear in normalised time
    (`mmcontrast.augment.functional.time_warp`).

    Args:
        sigma: spread of the log-speeds, ``>= 0`` (0 is the identity). Um et al.: 0.2.
        num_knots: inner knots, ``>= 0``. Um et al.: 4.
        same_on_batch: one warp for the whole batch.

    Shapes:
        x: ``"b t ..."``; output: ``"b t ..."``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import TimeWarp
        >>> TimeWarp(sigma=0.2)(torch.randn(8, 50, 20, 3)).shape
        torch.Size([8, 50, 20, 3])
    """

    pattern: ClassVar[str] = "b t ..."
    _temporal: ClassVar[bool] = True

    def __init__(
        self, *, sigma: float = 0.2, num_knots: int = 4, same_on_batch: bool = False
    ) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking("TimeWarp"):
            self.sigma = check_finite_number("sigma", sigma, low=0.0)
            self.num_knots = check_int("num_knots", num_knots, minimum=0)

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> TimeWarpParams:
        speed = torch.exp(draw.normal(batch, self.num_knots + 1, std=self.sigma))
        knots = torch.cat([speed.new_zeros(batch, 1), speed.cumsum(1)], dim=1)
        return TimeWarpParams(knots=knots / knots[:, -1:])

    def _transform(self, x: Tensor, params: TimeWarpParams) -> Tensor:
        return AF.time_warp(x, params.knots)

    def _neutralize(self, params: TimeWarpParams, applied: Tensor) -> TimeWarpParams:
        knots = params.knots
        uniform = AF.normalised_time(knots.shape[1], device=knots.device, dtype=knots.dtype)
        return TimeWarpParams(knots=where_rows(applied, knots, uniform))

    def _repr_fields(self) -> dict[str, object]:
        return {"sigma": self.sigma, "num_knots": self.num_knots}


class TimeMask(Augmentation[TimeMaskParams]):
    """Blank out random stretches of time (SpecAugment-style time masking).

    Each of ``num_masks`` masks covers a fraction ``U(0, max_extent)`` of the duration at a
    uniformly random start (`mmcontrast.augment.functional.time_mask`).

    Args:
        max_extent: largest masked fraction per mask, in ``[0, 1]`` (0 is the identity).
        num_masks: masks per sample, ``>= 1``.
        value: fill value.
        same_on_batch: the same masks for the whole batch.

    Shapes:
        x: ``"b t ..."``; output: ``"b t ..."``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import TimeMask
        >>> mask = TimeMask(max_extent=0.5)
        >>> x = torch.ones(3, 10, 6)
        >>> params = mask.sample(x, generator=torch.Generator().manual_seed(0))
        >>> (mask.apply_params(x, params) == 0).all(dim=2).sum(dim=1).tolist()  # masked frames
        [3, 4, 0]
    """

    pattern: ClassVar[str] = "b t ..."
    _temporal: ClassVar[bool] = True

    def __init__(
        self,
        *,
        max_extent: float = 0.1,
        num_masks: int = 1,
        value: float = 0.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking("TimeMask"):
            self.max_extent = check_probability("max_extent", max_extent)
            self.num_masks = check_int("num_masks", num_masks, minimum=1)
            self.value = check_finite_number("value", value, low=-float("inf"))

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> TimeMaskParams:
        extent = draw.uniform(batch, self.num_masks, high=self.max_extent)
        start = draw.uniform(batch, self.num_masks) * (1 - extent)
        return TimeMaskParams(start=start, extent=extent)

    def _transform(self, x: Tensor, params: TimeMaskParams) -> Tensor:
        return AF.time_mask(x, params.start, params.extent, value=self.value)

    def _neutralize(self, params: TimeMaskParams, applied: Tensor) -> TimeMaskParams:
        return params._replace(extent=where_rows(applied, params.extent, 0.0))

    def _repr_fields(self) -> dict[str, object]:
        return {"max_extent": self.max_extent, "num_masks": self.num_masks, "value": self.value}


class SegmentPermute(Augmentation[SegmentPermuteParams]):
    """Cut the window into segments and shuffle their order (Um et al. 2017).

    The number of segments is uniform in ``[min_segments, max_segments]``; cuts are uniform
    random points (``cuts="random"``) or equal splits (``cuts="equal"``); the order is a
    uniformly random permutation (which may be the identity)
    (`mmcontrast.augment.functional.segment_permute`).

    Args:
        min_segments: fewest segments, ``>= 1``.
        max_segments: most segments, ``>= min_segments`` (``1`` is the identity). Um et al.
            use exactly 4 random segments; CMC-CMKM's UTD-MHAD IMU setting is 1 or 2 equal
            segments.
        cuts: ``"random"`` or ``"equal"``.
        same_on_batch: the same cut and order for the whole batch.

    Shapes:
        x: ``"b t ..."``; output: ``"b t ..."``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import SegmentPermute
        >>> permute = SegmentPermute(min_segments=2, max_segments=2, cuts="equal")
        >>> x = torch.arange(4.0).view(1, 4, 1)
        >>> params = permute.sample(x, generator=torch.Generator().manual_seed(0))
        >>> params.cuts.tolist()
        [[0.5]]
        >>> swapped = params._replace(order=torch.tensor([[1, 0]]))  # params are plain tensors
        >>> permute.apply_params(x, swapped).flatten().tolist()
        [2.0, 3.0, 0.0, 1.0]
    """

    pattern: ClassVar[str] = "b t ..."
    _temporal: ClassVar[bool] = True

    def __init__(
        self,
        *,
        min_segments: int = 1,
        max_segments: int = 4,
        cuts: Cuts = "random",
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking("SegmentPermute"):
            self.min_segments = check_int("min_segments", min_segments, minimum=1)
            self.max_segments = check_int("max_segments", max_segments, minimum=min_segments)
            self.cuts: Cuts = cuts
            check_choice("cuts", cuts, ("random", "equal"))

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> SegmentPermuteParams:
        low, high = self.min_segments, self.max_segments
        count = draw.uniform(batch, 1, low=low, high=high + 1).floor_().clamp_(max=high)
        inner = torch.arange(1, high, device=draw.device, dtype=draw.dtype)  # cut numbers
        if self.cuts == "random":
            used = inner < count  # "b (n-1)": the first count - 1 cuts
            cuts = torch.where(used, draw.uniform(batch, high - 1), 1.0).sort(dim=1).values
        else:  # k / count for the first count - 1 cuts, 1 (unused) for the others
            cuts = (inner / count).clamp_(max=1.0)
        return SegmentPermuteParams(cuts=cuts, order=draw.permutation(batch, high))

    def _transform(self, x: Tensor, params: SegmentPermuteParams) -> Tensor:
        return AF.segment_permute(x, params.cuts, params.order)

    @property
    def _reorders_frames(self) -> bool:
        return True

    def _neutralize(self, params: SegmentPermuteParams, applied: Tensor) -> SegmentPermuteParams:
        order = params.order
        identity = torch.arange(order.shape[1], device=order.device)
        return params._replace(order=where_rows(applied, order, identity))

    def _repr_fields(self) -> dict[str, object]:
        return {
            "min_segments": self.min_segments,
            "max_segments": self.max_segments,
            "cuts": self.cuts,
        }
