"""The papers' augmentation pipelines: their steps, parameters, seeding and bad arguments."""

from __future__ import annotations

import pytest
import torch

from mmcontrast.augment import (
    ChannelScale,
    ChannelShuffle,
    Compose,
    Jitter,
    MagnitudeWarp,
    RandomApply,
    SegmentPermute,
    SkeletonRotate,
    SkeletonScale,
    SkeletonShear,
    TemporalCropResize,
    TriadRotate,
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
        (presets.standardized_inertial_augment, (16, 50, 6)),
        (
            lambda: presets.standardized_inertial_augment(max_degrees=45.0, magnitude_sigma=0.2),
            (16, 50, 6),
        ),
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
    assert torch.equal(pipeline.apply_params(x, params), first)
    assert first.shape == x.shape and first.dtype == x.dtype


def test_strengths_are_arguments_with_the_papers_defaults() -> None:
    inertial = presets.cmc_cmkm_inertial_augment(jitter_sigma=0.05, scale_sigma=0.1, max_segments=4)
    assert steps(inertial) == steps(presets.cmc_cmkm_inertial_augment())
    text = repr(inertial)
    assert "Jitter(sigma=0.05)" in text and "ChannelScale(sigma=0.1)" in text
    assert "min_segments=1, max_segments=4, cuts='equal'" in text
    assert repr(presets.cmc_cmkm_inertial_augment()) == repr(
        presets.cmc_cmkm_inertial_augment(jitter_sigma=1.0, scale_sigma=1.0, max_segments=2)
    )
    skeleton = presets.cmc_cmkm_skeleton_augment(
        jitter_sigma=0.05,
        crop_scale=(0.7, 1.0),
        scale_range=(0.9, 1.1),
        max_degrees=(0.0, 30.0, 0.0),
        shear_sigma=0.1,
    )
    assert steps(skeleton) == steps(presets.cmc_cmkm_skeleton_augment())
    text = repr(skeleton)
    assert "Jitter(sigma=0.05)" in text and "TemporalCropResize(scale=(0.7, 1.0))" in text
    assert "scale=(0.9, 1.1), pivot=0" in text
    assert "max_degrees=(0.0, 30.0, 0.0), pivot=0" in text and "sigma=0.1, pivot=None" in text
    supervised = presets.cmc_cmkm_supervised_skeleton_augment(
        crop_scale=(0.9, 1.0), jitter_sigma=0.02, max_degrees=15.0
    )
    text = repr(supervised)
    assert "scale=(0.9, 1.0)" in text and "sigma=0.02" in text
    assert "max_degrees=(15.0, 15.0, 15.0)" in text


def test_standardized_inertial_pipeline() -> None:
    pipeline = presets.standardized_inertial_augment()
    assert steps(pipeline) == [(Jitter, 0.75), (ChannelScale, 0.75), (SegmentPermute, 0.75)]
    text = repr(pipeline)
    assert "Jitter(sigma=0.05)" in text and "ChannelScale(sigma=0.1)" in text
    assert "min_segments=1, max_segments=2, cuts='equal'" in text
    full = presets.standardized_inertial_augment(
        p=0.5,
        jitter_sigma=0.1,
        scale_sigma=0.2,
        max_segments=3,
        magnitude_sigma=0.2,
        max_degrees=30.0,
    )
    assert steps(full) == [
        (Jitter, 0.5),
        (ChannelScale, 0.5),
        (MagnitudeWarp, 0.5),
        (SegmentPermute, 0.5),
        (TriadRotate, 0.5),
    ]
    text = repr(full)
    assert "Jitter(sigma=0.1)" in text and "ChannelScale(sigma=0.2)" in text
    assert "MagnitudeWarp(sigma=0.2, num_knots=4)" in text and "max_segments=3" in text
    assert "TriadRotate(max_degrees=30.0)" in text
    assert not any(isinstance(m, ChannelShuffle) for m in full.modules())


@pytest.mark.parametrize("sensor", [0, 1])
def test_standardized_inertial_keeps_the_triads_apart(sensor: int) -> None:
    """A signal in one sensor's triad never reaches the other triad, whatever the draw."""
    pipeline = presets.standardized_inertial_augment(
        p=1.0, jitter_sigma=0.0, magnitude_sigma=0.2, max_degrees=180.0
    )
    x = torch.zeros(64, 50, 6)
    x[..., 3 * sensor : 3 * sensor + 3] = torch.randn(
        64, 50, 3, generator=torch.Generator().manual_seed(0)
    )
    for seed in range(5):
        y = pipeline(x, generator=torch.Generator().manual_seed(seed))
        other = y[..., 3 * (1 - sensor) : 3 * (1 - sensor) + 3]
        assert torch.equal(other, torch.zeros_like(other))
        assert y[..., 3 * sensor : 3 * sensor + 3].abs().amax(dim=(1, 2)).gt(0).all()
    # the paper's pipeline, by contrast, moves axes between the sensors
    shuffled = presets.cmc_cmkm_inertial_augment(p=1.0, jitter_sigma=0.0)(
        x, generator=torch.Generator().manual_seed(0)
    )
    assert shuffled[..., 3 * (1 - sensor) : 3 * (1 - sensor) + 3].abs().sum() > 0


def test_standardized_inertial_noise_is_per_sensor_jitter_only() -> None:
    """With only jitter, each channel moves by its own noise: no channel is mixed in."""
    pipeline = presets.standardized_inertial_augment(p=1.0, scale_sigma=0.0, max_segments=1)
    x = torch.randn(32, 50, 6, generator=torch.Generator().manual_seed(1))
    params = pipeline.sample(x, generator=torch.Generator().manual_seed(2))
    noise = params.steps[0].inner.noise
    torch.testing.assert_close(pipeline.apply_params(x, params), x + noise)
    assert 0.04 < float(noise.std()) < 0.06


def test_bad_probabilities() -> None:
    with pytest.raises(ValueError, match=r"cmc_cmkm_inertial_augment.*p.*1\.5"):
        presets.cmc_cmkm_inertial_augment(p=1.5)
    with pytest.raises(ValueError, match=r"jitter_p.*-0\.1"):
        presets.cmc_cmkm_inertial_augment(jitter_p=-0.1)
    with pytest.raises(ValueError, match=r"cmc_cmkm_skeleton_augment.*p"):
        presets.cmc_cmkm_skeleton_augment(p=2.0)


@pytest.mark.parametrize(
    ("factory", "kwargs", "error", "message"),
    [
        (
            presets.cmc_cmkm_inertial_augment,
            {"jitter_sigma": -1.0},
            ValueError,
            r"jitter_sigma=-1\.0 is invalid \(Jitter: sigma",
        ),
        (
            presets.cmc_cmkm_inertial_augment,
            {"scale_sigma": "1"},
            TypeError,
            r"scale_sigma='1' is invalid",
        ),
        (
            presets.cmc_cmkm_inertial_augment,
            {"max_segments": 0},
            ValueError,
            r"max_segments=0 is invalid",
        ),
        (
            presets.cmc_cmkm_skeleton_augment,
            {"crop_scale": (0.9, 0.8)},
            ValueError,
            r"crop_scale=\(0\.9, 0\.8\) is invalid",
        ),
        (
            presets.cmc_cmkm_skeleton_augment,
            {"scale_range": (0.0, 1.0)},
            ValueError,
            r"scale_range=\(0\.0, 1\.0\)",
        ),
        (
            presets.cmc_cmkm_skeleton_augment,
            {"max_degrees": 200.0},
            ValueError,
            r"max_degrees=200\.0",
        ),
        (
            presets.cmc_cmkm_skeleton_augment,
            {"shear_sigma": float("nan")},
            ValueError,
            r"shear_sigma=nan",
        ),
        (
            presets.cmc_cmkm_supervised_skeleton_augment,
            {"jitter_sigma": None},
            TypeError,
            r"jitter_sigma=None is invalid",
        ),
        (
            presets.standardized_inertial_augment,
            {"p": 1.5},
            ValueError,
            r"p must be in \[0, 1\], got 1\.5",
        ),
        (
            presets.standardized_inertial_augment,
            {"jitter_sigma": -0.05},
            ValueError,
            r"jitter_sigma=-0\.05",
        ),
        (
            presets.standardized_inertial_augment,
            {"scale_sigma": True},
            TypeError,
            r"scale_sigma=True",
        ),
        (
            presets.standardized_inertial_augment,
            {"max_segments": 1.5},
            TypeError,
            r"max_segments=1\.5",
        ),
        (
            presets.standardized_inertial_augment,
            {"magnitude_sigma": -0.2},
            ValueError,
            r"magnitude_sigma=-0\.2",
        ),
        (
            presets.standardized_inertial_augment,
            {"max_degrees": 190.0},
            ValueError,
            r"max_degrees=190\.0 is invalid \(TriadRotate",
        ),
    ],
)
def test_bad_strengths(
    factory: object, kwargs: dict[str, object], error: type, message: str
) -> None:
    name = factory.__name__  # type: ignore[attr-defined]
    with pytest.raises(error, match=f"^{name}: {message}"):
        factory(**kwargs)  # type: ignore[operator]


def test_standardized_inertial_rotation_needs_triads() -> None:
    pipeline = presets.standardized_inertial_augment(max_degrees=10.0)
    with pytest.raises(ValueError, match="multiple of 3"):
        pipeline(torch.randn(2, 50, 4))
    assert presets.standardized_inertial_augment()(torch.randn(2, 50, 4)).shape == (2, 50, 4)
