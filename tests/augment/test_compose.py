from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from mmcontrast.augment import (
    Augmentation,
    ChannelScale,
    Compose,
    Jitter,
    Paired,
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
)
from mmcontrast.augment import functional as AF
from mmcontrast.augment.functional import normalised_time
from tests.helpers import compiled_matches_eager


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _batch(batch: int = 6) -> dict[str, torch.Tensor]:
    return {
        "inertial": torch.randn(batch, 50, 6, generator=_g(1), dtype=torch.float64),
        "skeleton": torch.randn(batch, 41, 20, 3, generator=_g(2), dtype=torch.float64),
    }


def test_compose_applies_steps_in_order() -> None:
    x = torch.randn(4, 10, 6, generator=_g())
    first, second = Jitter(sigma=1.0), ChannelScale(sigma=0.5)
    pipeline = Compose([first, second])
    params = pipeline.sample(x, generator=_g(3))
    assert len(pipeline) == 2 and len(params.steps) == 2
    expected = second.apply_params(first.apply_params(x, params.steps[0]), params.steps[1])
    assert torch.equal(pipeline.apply_params(x, params), expected)


def test_compose_fuses_linear_maps_without_changing_the_result() -> None:
    x = torch.randn(8, 5, 20, 3, generator=_g(), dtype=torch.float64)
    steps = [
        RandomApply(SkeletonScale(), p=0.5),
        SkeletonRotate(max_degrees=40.0),
        RandomApply(SkeletonShear(), p=0.5),
        SkeletonRotate(pivot=0),  # another pivot: a new product
        SkeletonScale(pivot=0),
        SkeletonFlip(),  # not linear in the sense of _linear: applied on its own
        SkeletonShear(),
    ]
    pipeline = Compose(steps)
    params = pipeline.sample(x, generator=_g(4))
    expected = x
    for step, step_params in zip(steps, params.steps, strict=True):
        expected = step.apply_params(expected, step_params)
    torch.testing.assert_close(pipeline.apply_params(x, params), expected)


def _step_by_step(steps: list[Augmentation[Any]], x: torch.Tensor, params: Any) -> torch.Tensor:
    for step, step_params in zip(steps, params.steps, strict=True):
        x = step.apply_params(x, step_params)
    return x


def _count_linear_about(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    kernel = AF.linear_about

    def counting(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls.append(kwargs)
        return kernel(*args, **kwargs)

    monkeypatch.setattr(AF, "linear_about", counting)
    return calls


def test_compose_fuses_maps_about_a_pivot_and_the_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(16, 6, 20, 3, generator=_g(), dtype=torch.float64)
    steps: list[Augmentation[Any]] = [
        RandomApply(SkeletonScale(scale=(0.5, 1.5), pivot=0), p=0.5),
        RandomApply(SkeletonRotate(max_degrees=40.0, pivot=0), p=0.5),
        SkeletonShear(sigma=0.3),  # about the origin
        SkeletonRotate(max_degrees=20.0, pivot=0),  # the pivot again, after a map about 0
        RandomApply(SkeletonShear(sigma=0.3), p=0.5),
    ]
    pipeline = Compose(steps)
    params = pipeline.sample(x, generator=_g(5))
    expected = _step_by_step(steps, x, params)
    calls = _count_linear_about(monkeypatch)
    torch.testing.assert_close(pipeline.apply_params(x, params), expected)
    assert len(calls) == 1 and calls[0]["pivot"] == 0 and calls[0]["pivot_matrix"] is not None
    origin_first = [SkeletonShear(sigma=0.3), SkeletonScale(scale=(0.5, 1.5), pivot=3)]
    params = Compose(origin_first).sample(x, generator=_g(6))
    expected = _step_by_step(origin_first, x, params)
    calls.clear()
    torch.testing.assert_close(Compose(origin_first).apply_params(x, params), expected)
    assert len(calls) == 1 and calls[0]["pivot"] == 3


def test_compose_starts_a_new_product_for_another_pivot(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(8, 5, 20, 3, generator=_g(), dtype=torch.float64)
    steps: list[Augmentation[Any]] = [
        SkeletonScale(pivot=0),
        SkeletonRotate(max_degrees=30.0, pivot=0),
        SkeletonRotate(max_degrees=30.0, pivot=2),
        SkeletonShear(),
    ]
    params = Compose(steps).sample(x, generator=_g(1))
    calls = _count_linear_about(monkeypatch)
    out = Compose(steps).apply_params(x, params)
    assert [call["pivot"] for call in calls] == [0, 2]
    calls.clear()
    torch.testing.assert_close(out, _step_by_step(steps, x, params))


def test_compose_runs_frame_reorders_first_and_exactly() -> None:
    x = torch.randn(32, 12, 20, 3, generator=_g())
    steps: list[Augmentation[Any]] = [
        RandomApply(SkeletonRotate(max_degrees=30.0, pivot=0), p=0.7),
        RandomApply(SegmentPermute(min_segments=2, max_segments=4), p=0.7),
        SegmentPermute(max_segments=3, cuts="equal"),
    ]
    pipeline = Compose(steps)
    assert not pipeline._reorders_frames and Compose(steps[1:])._reorders_frames
    params = pipeline.sample(x, generator=_g(2))
    # a map of each frame on its own commutes with moving whole frames: bit-identical
    assert torch.equal(pipeline.apply_params(x, params), _step_by_step(steps, x, params))


def test_compose_of_the_cmc_cmkm_skeleton_pipeline_equals_its_steps() -> None:
    x = torch.randn(64, 50, 20, 3, generator=_g(), dtype=torch.float64)
    steps: list[Augmentation[Any]] = [
        Jitter(sigma=0.1),
        RandomApply(TemporalCropResize(scale=(0.8, 0.9)), p=0.75),
        RandomApply(SkeletonScale(scale=(0.7, 1.2), pivot=0), p=0.75),
        RandomApply(SkeletonRotate(max_degrees=10.0, pivot=0), p=0.75),
        RandomApply(SkeletonShear(sigma=0.2), p=0.75),
    ]
    pipeline = Compose(steps)
    params = pipeline.sample(x, generator=_g(3))
    torch.testing.assert_close(pipeline.apply_params(x, params), _step_by_step(steps, x, params))
    # rows that only get the jitter (the first four, here) come back exactly jittered
    only_jitter = torch.arange(64) < 4
    params = params._replace(
        steps=(
            params.steps[0],
            *(step._replace(applied=step.applied & ~only_jitter) for step in params.steps[1:]),
        )
    )
    out = pipeline.apply_params(x, params)
    assert torch.equal(out[:4], (x + params.steps[0].noise)[:4])
    torch.testing.assert_close(out, _step_by_step(steps, x, params))


def test_compose_temporal_flag_and_errors() -> None:
    assert Compose([TimeWarp(), RandomApply(TimeMask(), p=0.5)]).temporal
    assert not Compose([TimeWarp(), Jitter()]).temporal
    with pytest.raises(TypeError, match="^Compose: transforms must be a sequence of augmentations"):
        Compose(Jitter())  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"^Compose: transforms\[1\] must be an mmcontrast Augmentation, got Linear"
    ):
        Compose([Jitter(), nn.Linear(2, 2)])  # type: ignore[list-item]
    x = torch.randn(2, 8, 6)
    params = Compose([Jitter()]).sample(x)
    with pytest.raises(ValueError, match="^Compose: params hold 1 steps for 2 transforms"):
        Compose([Jitter(), Jitter()]).apply_params(x, params)
    with pytest.raises(TypeError, match="^Compose: params must be ComposeParams"):
        Compose([Jitter()]).apply_params(x, params.steps)  # type: ignore[arg-type]


def test_random_apply_where_jitter_is_applied() -> None:
    x = torch.randn(400, 6, 3, generator=_g())
    maybe = RandomApply(Jitter(sigma=1.0), p=0.6)
    params = maybe.sample(x, generator=_g(5))
    changed = (maybe.apply_params(x, params) != x).any(dim=(1, 2))
    assert torch.equal(changed, params.applied)


def test_random_apply_repr_and_errors() -> None:
    assert "p=0.25" in repr(RandomApply(Jitter(), p=0.25))
    with pytest.raises(ValueError, match=r"^RandomApply: p must be in \[0, 1\], got 1.5"):
        RandomApply(Jitter(), p=1.5)
    with pytest.raises(ValueError, match=r"^RandomApply: p must be in \[0, 1\], got -0.1"):
        RandomApply(Jitter(), p=-0.1)
    with pytest.raises(
        TypeError, match="^RandomApply: transform must be an mmcontrast Augmentation"
    ):
        RandomApply(nn.Identity(), p=0.5)  # type: ignore[arg-type]


def test_paired_gives_both_modalities_the_same_crop() -> None:
    crop = TemporalCropResize(scale=(0.5, 0.8))
    paired = Paired(crop)
    ramps = {  # every frame holds its normalised time
        name: normalised_time(length, device=torch.device("cpu"), dtype=torch.float64)
        .view(1, length, *([1] * extra))
        .expand(16, length, *([4] * extra))
        for name, length, extra in (("inertial", 50, 1), ("skeleton", 41, 2))
    }
    params = paired.sample(ramps, generator=_g())
    out = paired.apply_params(ramps, params)
    start, extent = params.shared.start.double(), params.shared.extent.double()
    for value in out.values():
        u = normalised_time(value.shape[1], device=value.device, dtype=value.dtype)
        expected = start[:, None] + extent[:, None] * u
        torch.testing.assert_close(value.reshape(16, value.shape[1], -1)[..., 0], expected)
    # the shared draw is the one a single crop would make on either modality alone
    for name in ramps:
        alone = crop.sample(ramps[name], generator=_g())
        assert torch.equal(alone.start, params.shared.start)


def test_paired_shares_warps_and_masks_across_lengths() -> None:
    shared = Compose([TimeWarp(sigma=0.5), TimeMask(max_extent=0.3, value=-1.0)])
    paired = Paired(RandomApply(shared, p=0.7))
    batch = {  # ramps of normalised time; frame k of 31 sits where frame 2k of 61 does
        name: normalised_time(length, device=torch.device("cpu"), dtype=torch.float64)
        .view(1, length, 1)
        .expand(32, length, 3)
        for name, length in (("inertial", 61), ("skeleton", 31))
    }
    out = paired(batch, generator=_g(7))
    torch.testing.assert_close(out["skeleton"], out["inertial"][:, ::2])
    assert bool((out["inertial"] == -1).any()) and not torch.equal(
        out["inertial"], batch["inertial"]
    )
    replay = paired.apply_params(batch, paired.sample(batch, generator=_g(7)))
    assert torch.equal(replay["inertial"], out["inertial"])
    assert torch.equal(replay["skeleton"], out["skeleton"])
    permuted = Paired(SegmentPermute())(batch, generator=_g(8))
    assert torch.equal(permuted["inertial"].sort(dim=1).values, batch["inertial"])


def test_paired_own_transforms_draw_independently() -> None:
    paired = Paired(own={"inertial": Jitter(sigma=1.0), "skeleton": Jitter(sigma=1.0)})
    batch = {"inertial": torch.zeros(4, 10, 3), "skeleton": torch.zeros(4, 10, 1, 3)}
    params = paired.sample(batch, generator=_g())
    assert params.shared is None
    out = paired.apply_params(batch, params)
    assert not torch.equal(out["inertial"], out["skeleton"].view(4, 10, 3))
    assert torch.equal(out["inertial"], params.own["inertial"].noise)
    untouched = Paired(TimeMask(max_extent=0.0))({"other": torch.ones(2, 5)})
    assert torch.equal(untouched["other"], torch.ones(2, 5))


def test_paired_module_behaviour() -> None:
    paired = Paired(TimeWarp(), own={"skeleton": Recenter()})
    assert Paired.apply is nn.Module.apply
    assert paired.apply(lambda m: None) is paired
    assert "TimeWarp" in repr(paired) and "Recenter" in repr(paired)


@pytest.mark.compile
def test_paired_apply_compiles() -> None:
    paired = Paired(RandomApply(TemporalCropResize(), p=0.5), own={"inertial": Jitter()})
    batch = {k: v.float() for k, v in _batch().items()}
    params = paired.sample(batch, generator=_g())

    def views(imu: torch.Tensor, skeleton: torch.Tensor) -> torch.Tensor:
        out = paired.apply_params({"inertial": imu, "skeleton": skeleton}, params)
        return torch.cat([v.flatten(1) for v in out.values()], dim=1)

    compiled_matches_eager(views, [batch["inertial"], batch["skeleton"]])


def test_paired_errors() -> None:
    with pytest.raises(ValueError, match="^Paired: shared must act on the time axis only"):
        Paired(Compose([TimeWarp(), Jitter()]))
    with pytest.raises(TypeError, match="^Paired: own must be a mapping"):
        Paired(own=[Jitter()])  # type: ignore[arg-type]
    paired = Paired(TimeWarp(), own={"inertial": Jitter()})
    good = _batch()
    with pytest.raises(
        ValueError,
        match=r"^Paired: all inputs must share the batch size, got "
        r"\{'inertial': \(6, 50, 6\), 'skeleton': \(5, 41, 20, 3\)\}",
    ):
        paired({"inertial": good["inertial"], "skeleton": good["skeleton"][:5]})
    with pytest.raises(ValueError, match=r"^Paired: no input for the modalities \['inertial'\]"):
        paired({"skeleton": good["skeleton"]})
    with pytest.raises(TypeError, match="^Paired: inputs must be a non-empty mapping"):
        paired({})
    with pytest.raises(
        ValueError,
        match=r'^Paired: inputs\[\'inertial\'\] must be a "b t \.\.\." tensor, got \(6,\)',
    ):
        paired({"inertial": torch.zeros(6)})
    with pytest.raises(TypeError, match="^Paired: params must be PairedParams"):
        paired.apply_params(good, (None, {}))  # type: ignore[arg-type]
