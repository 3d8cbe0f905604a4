"""The papers' augmentation pipelines: their steps, parameters, seeding and bad arguments."""

from __future__ import annotations

import pytest
import torch

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
    presets,
)


def steps(pipeline: Compose) -> list[tuple[type, float]]:
    """Each step's transform type and probability (1.0 for a bare transform)."""
    out = []
    for step in pipeline.transforms:
        if isinstance(step, RandomApply):
            out.append((type(step.transform), step.p))
        else:
            out.append((type(step), 1.0))
    return out


def test_inertial_pipeline() -> None:
    pipeline = presets.cmc_cmkm_inertial_augment()
    assert steps(pipeline) == [
        (Jitter, 0.75),
        (ChannelScale, 0.75),
        (SegmentPermute, 0.75),
        (ChannelShuffle, 0.75),
    ]
    text = repr(pipeline)
    assert "Jitter(sigma=1.0)" in text and "ChannelScale(sigma=1.0)" in text
    assert "max_segments=2" in text and "cuts='equal'" in text
    fork = presets.cmc_cmkm_inertial_augment(jitter_p=1.0)
    assert steps(fork)[0] == (Jitter, 1.0) and steps(fork)[1] == (ChannelScale, 0.75)
    assert {p for _, p in steps(presets.cmc_cmkm_inertial_augment(p=0.5))} == {0.5}


def test_skeleton_pipelines() -> None:
    pipeline = presets.cmc_cmkm_skeleton_augment()
    assert steps(pipeline) == [
        (Jitter, 1.0),
        (TemporalCropResize, 0.75),
        (SkeletonScale, 0.75),
        (SkeletonRotate, 0.75),
        (SkeletonShear, 0.75),
    ]
    text = repr(pipeline)
    assert "Jitter(sigma=0.1)" in text and "scale=(0.8, 0.9)" in text
    assert "scale=(0.7, 1.2), pivot=0" in text
    assert "max_degrees=(10.0, 10.0, 10.0), pivot=0" in text
    supervised = presets.cmc_cmkm_supervised_skeleton_augment()
    assert steps(supervised) == [(TemporalCropResize, 1.0), (Jitter, 1.0), (SkeletonRotate, 1.0)]
    assert "max_degrees=(5.0, 5.0, 5.0)" in repr(supervised)
    assert "sigma=0.01" in repr(supervised)


@pytest.mark.parametrize(
    ("factory", "shape"),
    [
        (presets.cmc_cmkm_inertial_augment, (16, 50, 6)),
        (presets.cmc_cmkm_skeleton_augment, (16, 50, 20, 3)),
        (presets.cmc_cmkm_supervised_skeleton_augment, (16, 50, 20, 3)),
    ],
)
def test_seeded_and_replayable(factory: object, shape: tuple[int, ...]) -> None:
    pipeline = factory()  # type: ignore[operator]
    x = torch.randn(*shape)
    first = pipeline(x, generator=torch.Generator().manual_seed(3))
    again = pipeline(x, generator=torch.Generator().manual_seed(3))
    other = pipeline(x, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other)
    params = pipeline.sample(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(pipeline.apply(x, params), first)
    assert first.shape == x.shape and first.dtype == x.dtype


def test_bad_probabilities() -> None:
    with pytest.raises(ValueError, match=r"cmc_cmkm_inertial_augment.*p.*1\.5"):
        presets.cmc_cmkm_inertial_augment(p=1.5)
    with pytest.raises(ValueError, match=r"jitter_p.*-0\.1"):
        presets.cmc_cmkm_inertial_augment(jitter_p=-0.1)
    with pytest.raises(ValueError, match=r"cmc_cmkm_skeleton_augment.*p"):
        presets.cmc_cmkm_skeleton_augment(p=2.0)
