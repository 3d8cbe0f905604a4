"""Deterministic, differentiable kernels behind the augmentation modules.

Every function takes the input batch and its parameters (``"b ..."`` tensors) and draws
nothing. Time is handled in *normalised time*: frame ``i`` of a length-``T`` sequence sits at
``u = i / (T - 1)`` in ``[0, 1]``, so one set of temporal parameters means the same thing for an
IMU window of 50 samples and a skeleton window of 41 frames. Half-precision inputs are
computed in float32 and returned in their own dtype.

`resample_time` is the one temporal resampling kernel (linear interpolation): crop-and-
resize and time warping are both a choice of sampling positions followed by it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_tensor, checking
from mmcontrast._ops import unsqueeze_as
from mmcontrast.augment._base import compute_dtype, expect_shape
from mmcontrast.augment.geometry import (
    axis_angle_to_matrix,
    euler_to_matrix,
    linear_about,
    rotate_triads,
)

__all__ = [
    "axis_angle_to_matrix",
    "crop_resize",
    "euler_to_matrix",
    "linear_about",
    "magnitude_warp",
    "normalised_time",
    "resample_time",
    "rotate_triads",
    "segment_permute",
    "time_mask",
    "time_warp",
]


def normalised_time(length: int, *, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Where frame ``i`` of a length-``T`` window sits in normalised time: ``i / (T - 1)``.

    All zeros for ``T = 1``.

    Args:
        length: ``T``.
        device: output device.
        dtype: output floating dtype.

    Shapes:
        output: ``"t"``.

    Examples:
        >>> normalised_time(5, device=torch.device("cpu"), dtype=torch.float32).tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    steps = torch.arange(length, device=device, dtype=dtype)
    return steps / max(length - 1, 1)


def _take_frames(x: Tensor, index: Tensor) -> Tensor:
    """``out[b, s] = x[b, index[b, s]]`` for ``x: "b t ..."`` and ``index: "b s"`` (int64)."""
    batch, length = x.shape[:2]
    rows = x.reshape(batch * length, -1)  # one row per (sample, frame): a single gather
    offset = torch.arange(0, batch * length, length, device=x.device).unsqueeze(1)
    out = rows.index_select(0, (index + offset).flatten())
    return out.view(batch, index.shape[1], *x.shape[2:])


def resample_time(x: Tensor, positions: Tensor) -> Tensor:
    """Read ``x`` at fractional frame positions by linear interpolation along time.

    Positions are in frame units and clamped to ``[0, T - 1]``; an integer position returns
    that frame exactly. Differentiable in ``x`` and in ``positions``.

    Args:
        x: the batch.
        positions: where to read each output frame, per sample.

    Shapes:
        x: ``"b t ..."``; positions: ``"b s"``; output: ``"b s ..."``.

    Examples:
        >>> import torch
        >>> x = torch.arange(5.0).view(1, 5, 1)
        >>> resample_time(x, torch.tensor([[0.0, 0.5, 3.25, 9.0]])).flatten().tolist()
        [0.0, 0.5, 3.25, 4.0]
    """
    with checking("resample_time"):
        check_tensor("x", x, pattern="b t ...", floating=False)
        expect_shape("positions", positions, (x.shape[0], None))
    batch, length = x.shape[:2]
    if x.numel() == 0:  # nothing to read (and no rows for embedding_bag)
        return x.new_empty(batch, positions.shape[1], *x.shape[2:])
    dtype = compute_dtype(x.dtype)
    pos = positions.to(dtype).clamp(0, length - 1)
    lower = pos.floor()
    index = lower.long()
    weight = pos - lower
    # Output frame = (1 - w) x[i] + w x[i + 1]: a weighted bag of two rows of "(b t) ...",
    # read and summed in one fused pass by embedding_bag (no gathered copies to blend).
    offset = torch.arange(0, batch * length, length, device=x.device).unsqueeze(1)
    rows = torch.stack([index, (index + 1).clamp(max=length - 1)], dim=-1) + offset.unsqueeze(2)
    weights = torch.stack([1 - weight, weight], dim=-1)
    table = x.reshape(batch * length, math.prod(x.shape[2:])).to(dtype)
    out = nn.functional.embedding_bag(
        rows.view(-1, 2), table, per_sample_weights=weights.view(-1, 2), mode="sum"
    )
    return out.view(batch, pos.shape[1], *x.shape[2:]).to(x.dtype)


def crop_resize(x: Tensor, start: Tensor, extent: Tensor, *, size: int | None = None) -> Tensor:
    """Crop ``[start, start + extent]`` of normalised time and resample it to ``size`` frames.

    ``start = 0, extent = 1`` with ``size = T`` returns ``x`` exactly.

    Args:
        x: the batch.
        start: crop start in normalised time.
        extent: crop length as a fraction of the whole duration, in ``(0, 1]``.
        size: output length; ``None`` keeps ``T``.

    Shapes:
        x: ``"b t ..."``; start: ``"b"``; extent: ``"b"``; output: ``"b s ..."`` with
        ``s = size or t``.

    Examples:
        >>> import torch
        >>> x = torch.arange(5.0).view(1, 5, 1)
        >>> crop_resize(x, torch.tensor([0.5]), torch.tensor([0.5]), size=3).flatten().tolist()
        [2.0, 3.0, 4.0]
    """
    with checking("crop_resize"):
        check_tensor("x", x, pattern="b t ...", floating=False)
        expect_shape("start", start, (x.shape[0],))
        expect_shape("extent", extent, (x.shape[0],))
    out_len = x.shape[1] if size is None else size
    if out_len < 1:
        raise ValueError(f"crop_resize: size must be >= 1, got {size}")
    dtype = compute_dtype(x.dtype)
    span = x.shape[1] - 1
    steps = torch.arange(out_len, device=x.device, dtype=dtype)
    start = start.to(dtype).unsqueeze(1) * span
    extent = extent.to(dtype).unsqueeze(1) * span
    if out_len == 1:
        positions = start + 0.5 * extent
    else:
        # ``steps * (extent * span) / (s - 1)``: exact integers when extent = 1 and s = T.
        positions = start + steps * extent / (out_len - 1)
    return resample_time(x, positions)


def time_warp(x: Tensor, knots: Tensor) -> Tensor:
    """Warp time through a monotone piecewise-linear map of normalised time.

    ``knots[:, k]`` is the warped time of the ``k``-th of ``K + 1`` equally spaced knots: it
    starts at 0, ends at 1 and does not decrease. Output frame ``i`` (at ``u = i / (T - 1)``)
    reads the input at ``tau(u) * (T - 1)``. Equally spaced knots return ``x`` exactly.

    Args:
        x: the batch.
        knots: the warp.

    Shapes:
        x: ``"b t ..."``; knots: ``"b k"`` with ``k >= 2``; output: ``"b t ..."``.

    Examples:
        >>> import torch
        >>> x = torch.arange(5.0).view(1, 5, 1)
        >>> time_warp(x, torch.tensor([[0.0, 0.25, 1.0]])).flatten().tolist()
        [0.0, 0.5, 1.0, 2.5, 4.0]
    """
    with checking("time_warp"):
        check_tensor("x", x, pattern="b t ...", floating=False)
        expect_shape("knots", knots, (x.shape[0], None))
    if knots.shape[1] < 2:
        raise ValueError(f"time_warp: knots needs at least 2 columns, got {tuple(knots.shape)}")
    dtype = compute_dtype(x.dtype)
    length, segments = x.shape[1], knots.shape[1] - 1
    u = normalised_time(length, device=x.device, dtype=dtype)
    uniform = normalised_time(segments + 1, device=x.device, dtype=dtype)
    deviation = knots.to(dtype) - uniform  # zero for the identity warp
    s = u * segments
    left = s.floor().clamp(max=segments - 1)
    index = left.long().expand(x.shape[0], -1)
    d0 = deviation.gather(1, index)
    d1 = deviation.gather(1, index + 1)
    shift = torch.lerp(d0, d1, (s - left).expand_as(d0)) * (length - 1)
    steps = torch.arange(length, device=x.device, dtype=dtype)
    return resample_time(x, steps + shift)


def time_mask(x: Tensor, start: Tensor, extent: Tensor, *, value: float = 0.0) -> Tensor:
    """Set the frames with ``start <= u < start + extent`` (normalised time) to ``value``.

    Several masks per sample are the columns of ``start`` and ``extent``.

    Args:
        x: the batch.
        start: mask starts in normalised time.
        extent: mask lengths as fractions of the duration (``0`` masks nothing).
        value: the fill value.

    Shapes:
        x: ``"b t ..."``; start, extent: ``"b m"``; output: ``"b t ..."``.

    Examples:
        >>> import torch
        >>> x = torch.ones(1, 5, 1)
        >>> time_mask(x, torch.tensor([[0.25]]), torch.tensor([[0.5]])).flatten().tolist()
        [1.0, 0.0, 0.0, 1.0, 1.0]
    """
    with checking("time_mask"):
        check_tensor("x", x, pattern="b t ...", floating=False)
        expect_shape("start", start, (x.shape[0], None))
        expect_shape("extent", extent, tuple(start.shape))
    dtype = compute_dtype(x.dtype)
    u = normalised_time(x.shape[1], device=x.device, dtype=dtype)
    begin = start.to(dtype).unsqueeze(-1)
    inside = (u >= begin) & (u < begin + extent.to(dtype).unsqueeze(-1))
    return x.masked_fill(unsqueeze_as(inside.any(dim=1), x), value)


def segment_permute(x: Tensor, cuts: Tensor, order: Tensor) -> Tensor:
    """Cut time into segments and concatenate them in another order.

    ``cuts`` are sorted cut points in normalised time (a cut at 1 makes an empty segment);
    segment ``k`` spans frames ``[round(c_k T), round(c_{k+1} T))`` with ``c_0 = 0`` and
    ``c_n = 1``, and output segment ``m`` is input segment ``order[:, m]``.

    Args:
        x: the batch.
        cuts: the ``n - 1`` inner cut points per sample.
        order: a permutation of ``range(n)`` per sample.

    Shapes:
        x: ``"b t ..."``; cuts: ``"b (n-1)"``; order: ``"b n"``; output: ``"b t ..."``.

    Examples:
        >>> import torch
        >>> x = torch.arange(6.0).view(1, 6, 1)
        >>> cuts, order = torch.tensor([[0.5]]), torch.tensor([[1, 0]])
        >>> segment_permute(x, cuts, order).flatten().tolist()
        [3.0, 4.0, 5.0, 0.0, 1.0, 2.0]
    """
    with checking("segment_permute"):
        check_tensor("x", x, pattern="b t ...", floating=False)
        expect_shape("order", order, (x.shape[0], None))
        expect_shape("cuts", cuts, (x.shape[0], order.shape[1] - 1))
    batch, length = x.shape[:2]
    # round(c T) for c in [0, 1]: truncating c T + 1/2 (>= 0) is flooring it
    edge = (cuts.to(compute_dtype(x.dtype)) * length + 0.5).long().clamp_(0, length)
    begin = nn.functional.pad(edge, (1, 0), value=0)  # "b n": where each input segment begins
    end = nn.functional.pad(edge, (0, 1), value=length)
    out_sizes = (end - begin).gather(1, order)
    # Output frame i of output segment m reads input frame i + shift[m]: repeat each segment's
    # shift over its frames (flat over the batch, so i is also the row of "(b t) ...").
    shift = begin.gather(1, order) - (out_sizes.cumsum(1) - out_sizes)
    total = batch * length
    frame_shift = torch.repeat_interleave(shift.flatten(), out_sizes.flatten(), output_size=total)
    source = torch.arange(total, device=x.device) + frame_shift
    return x.reshape(total, *x.shape[2:]).index_select(0, source).view(x.shape)


def _catmull_rom_weights(
    length: int, knots: int, *, device: torch.device, dtype: torch.dtype
) -> Tensor:
    """``"t k"``: the Catmull-Rom spline through ``knots`` equally spaced values, sampled."""
    segments = knots - 1
    s = normalised_time(length, device=device, dtype=dtype) * segments
    left = s.floor().clamp(max=segments - 1)
    f = (s - left).unsqueeze(-1)
    basis = torch.cat(
        [
            (-f + 2 * f**2 - f**3) / 2,
            (2 - 5 * f**2 + 3 * f**3) / 2,
            (f + 4 * f**2 - 3 * f**3) / 2,
            (-(f**2) + f**3) / 2,
        ],
        dim=-1,
    )
    offsets = torch.arange(-1, 3, device=device)
    index = (left.long().unsqueeze(-1) + offsets).clamp(0, segments)  # ends repeat
    weights = torch.zeros(length, knots, device=device, dtype=dtype)
    return weights.scatter_add(1, index, basis)


def magnitude_warp(x: Tensor, knots: Tensor) -> Tensor:
    """Multiply each channel by a smooth curve through ``knots`` (Um et al. 2017).

    The curve is the Catmull-Rom spline through ``k`` equally spaced knot values spanning the
    sequence; knots equal to 1 return ``x`` exactly.

    Args:
        x: the batch.
        knots: the curve's values at the knots, per channel.

    Shapes:
        x: ``"b t c"``; knots: ``"b k c"`` with ``k >= 2``; output: ``"b t c"``.

    Examples:
        >>> import torch
        >>> x = torch.ones(1, 5, 1)
        >>> magnitude_warp(x, torch.tensor([[[1.0], [2.0]]])).flatten().tolist()
        [1.0, 1.203125, 1.5, 1.796875, 2.0]
    """
    if x.ndim != 3:
        raise ValueError(f'magnitude_warp: x must have shape "b t c", got {tuple(x.shape)}')
    with checking("magnitude_warp"):
        expect_shape("knots", knots, (x.shape[0], None, x.shape[2]))
    if knots.shape[1] < 2:
        raise ValueError(f"magnitude_warp: knots needs at least 2 rows, got {tuple(knots.shape)}")
    dtype = compute_dtype(x.dtype)
    weights = _catmull_rom_weights(x.shape[1], knots.shape[1], device=x.device, dtype=dtype)
    curve = torch.einsum("tk,bkc->btc", weights, knots.to(dtype) - 1) + 1
    return (x.to(dtype) * curve).to(x.dtype)
