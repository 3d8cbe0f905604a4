from __future__ import annotations

import pytest
import torch

from mmcontrast.augment import SegmentPermute, TemporalCropResize, TimeMask, TimeWarp
from mmcontrast.augment.functional import normalised_time


def _ramp(batch: int, length: int) -> torch.Tensor:
    """``x[b, i, 0] = i / (T - 1)``: each frame holds its own normalised time."""
    return (
        normalised_time(length, device=torch.device("cpu"), dtype=torch.float64)
        .expand(batch, length)
        .unsqueeze(-1)
    )


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_crop_parameters_are_in_range_and_length_free() -> None:
    crop = TemporalCropResize(scale=(0.6, 0.8))
    params = crop.sample(torch.zeros(4000, 7, 3), generator=_g())
    assert bool((params.extent >= 0.6).all() and (params.extent <= 0.8).all())
    assert bool((params.start >= 0).all() and (params.start + params.extent <= 1 + 1e-6).all())
    # the draw depends on the batch size only: another length and layout give the same draw
    again = crop.sample(torch.zeros(4000, 50, 20, 3), generator=_g())
    assert all(torch.equal(a, b) for a, b in zip(params, again, strict=True))


@pytest.mark.parametrize("length", [50, 41, 2])
def test_crop_reads_the_cropped_normalised_interval(length: int) -> None:
    crop = TemporalCropResize(scale=(0.5, 0.9))
    x = _ramp(8, length)
    params = crop.sample(x, generator=_g(1))
    out = crop.apply_params(x, params)[..., 0]
    u = normalised_time(length, device=x.device, dtype=x.dtype)
    expected = params.start.double().unsqueeze(1) + params.extent.double().unsqueeze(1) * u
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


def test_time_warp_knots_are_monotone_from_zero_to_one() -> None:
    params = TimeWarp(sigma=1.0, num_knots=5).sample(torch.zeros(500, 9, 2), generator=_g())
    knots = params.knots
    assert knots.shape == (500, 7)
    assert bool((knots[:, 0] == 0).all()) and torch.allclose(knots[:, -1], torch.ones(500))
    assert bool((knots.diff(dim=1) > 0).all())
    out = TimeWarp(sigma=1.0).forward(_ramp(500, 30), generator=_g())
    assert bool((out.diff(dim=1) >= -1e-12).all())  # a warp never runs time backwards


def test_time_mask_extents_and_fill() -> None:
    mask = TimeMask(max_extent=0.3, num_masks=3, value=7.0)
    x = torch.zeros(1000, 40, 2)
    params = mask.sample(x, generator=_g())
    assert params.start.shape == (1000, 3)
    assert bool((params.extent <= 0.3).all() and (params.start + params.extent <= 1 + 1e-6).all())
    out = mask.apply_params(x, params)
    assert set(out.unique().tolist()) == {0.0, 7.0}
    masked = (out[..., 0] == 7).float().mean().item()
    assert 0.2 < masked < 0.45  # 1 - E[uncovered] for three masks of mean extent 0.15


def test_segment_permute_counts_cuts_and_orders() -> None:
    permute = SegmentPermute(min_segments=2, max_segments=4)
    params = permute.sample(torch.zeros(6000, 12, 3), generator=_g())
    used = (params.cuts < 1).sum(dim=1) + 1  # segments per sample
    counts = torch.bincount(used, minlength=5)[2:].double() / 6000
    torch.testing.assert_close(
        counts, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.03, rtol=0
    )
    assert bool((params.cuts.diff(dim=1) >= 0).all())
    two = params.cuts[used == 2, 0]  # a single cut must be uniform, not the smallest of three
    assert abs(two.mean().item() - 0.5) < 0.03
    assert torch.equal(params.order.sort(dim=1).values, torch.arange(4).expand(6000, 4))


def test_segment_permute_moves_whole_segments() -> None:
    permute = SegmentPermute(min_segments=3, max_segments=3, cuts="equal")
    x = torch.arange(12.0).expand(50, 12).unsqueeze(-1)
    params = permute.sample(x, generator=_g())
    torch.testing.assert_close(params.cuts, torch.tensor([1 / 3, 2 / 3]).expand(50, 2))
    out = permute.apply_params(x, params)[..., 0]
    assert torch.equal(out.sort(dim=1).values, x[..., 0])
    blocks = out.view(50, 3, 4)
    assert bool((blocks.diff(dim=2) == 1).all())  # each block is a contiguous run of frames
    expected = (params.order * 4).unsqueeze(-1) + torch.arange(4)
    assert torch.equal(blocks, expected.float())


def test_temporal_flag() -> None:
    for transform in (TemporalCropResize(), TimeWarp(), TimeMask(), SegmentPermute()):
        assert transform.temporal


def test_repr() -> None:
    assert repr(TimeWarp()) == "TimeWarp(sigma=0.2, num_knots=4)"
    assert repr(TimeMask()) == "TimeMask(max_extent=0.1, num_masks=1, value=0.0)"
    assert repr(SegmentPermute(cuts="equal")) == (
        "SegmentPermute(min_segments=1, max_segments=4, cuts='equal')"
    )


def test_bad_hyperparameters() -> None:
    with pytest.raises(
        ValueError, match=r"^TemporalCropResize: scale\[0\] must be in \(0, 1\], got 0"
    ):
        TemporalCropResize(scale=(0.0, 0.5))
    with pytest.raises(
        ValueError, match=r"^TemporalCropResize: scale\[1\] must be in \(0, 1\], got 1.2"
    ):
        TemporalCropResize(scale=(0.5, 1.2))
    with pytest.raises(ValueError, match="^TemporalCropResize: scale must be .* low <= high"):
        TemporalCropResize(scale=(0.9, 0.8))
    with pytest.raises(ValueError, match="^TimeWarp: sigma must be in"):
        TimeWarp(sigma=-1.0)
    with pytest.raises(TypeError, match="^TimeWarp: num_knots must be an int"):
        TimeWarp(num_knots=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^TimeMask: max_extent must be in \[0, 1\], got 1.5"):
        TimeMask(max_extent=1.5)
    with pytest.raises(ValueError, match="^TimeMask: num_masks must be >= 1"):
        TimeMask(num_masks=0)
    with pytest.raises(ValueError, match="^SegmentPermute: max_segments must be >= 3, got 2"):
        SegmentPermute(min_segments=3, max_segments=2)
    with pytest.raises(ValueError, match="^SegmentPermute: cuts must be one of 'random', 'equal'"):
        SegmentPermute(cuts="even")  # type: ignore[arg-type]
