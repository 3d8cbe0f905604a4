from __future__ import annotations

import pytest
import torch

from mmcontrast.augment import (
    UTD_MHAD_LAYOUT,
    JointLayout,
    JointMask,
    SkeletonFlip,
    SkeletonRotate,
    SkeletonScale,
    SkeletonShear,
)


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _skeleton(batch: int = 8, frames: int = 6, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(batch, frames, 20, 3, generator=_g(99), dtype=dtype)


def test_scale_factors_and_pivot() -> None:
    x = _skeleton(2000, 3)
    scale = SkeletonScale(scale=(0.7, 1.2))
    params = scale.sample(x, generator=_g())
    factors = params.matrix.diagonal(dim1=1, dim2=2)
    assert bool((factors >= 0.7).all() and (factors <= 1.2).all())
    assert torch.equal(params.matrix, torch.diag_embed(factors))
    torch.testing.assert_close(scale.apply_params(x, params), x * factors[:, None, None, :])
    pivoted = SkeletonScale(scale=(0.5, 2.0), pivot=3)
    out = pivoted(x, generator=_g())
    torch.testing.assert_close(out[:, :, 3], x[:, :, 3])  # the pivot joint stays put


@pytest.mark.parametrize("pivot", [None, 0])
def test_rotation_preserves_lengths(pivot: int | None) -> None:
    x = _skeleton(64)
    rotate = SkeletonRotate(max_degrees=45.0, pivot=pivot)
    out = rotate(x, generator=_g())
    centre = 0 if pivot is None else x[:, :, pivot : pivot + 1]
    centre_out = 0 if pivot is None else out[:, :, pivot : pivot + 1]
    torch.testing.assert_close((out - centre_out).norm(dim=3), (x - centre).norm(dim=3))
    bones = torch.tensor(UTD_MHAD_LAYOUT.bones)
    length = (x[:, :, bones[:, 0]] - x[:, :, bones[:, 1]]).norm(dim=3)
    torch.testing.assert_close(
        (out[:, :, bones[:, 0]] - out[:, :, bones[:, 1]]).norm(dim=3), length
    )


def test_rotation_limits_per_axis() -> None:
    rotate = SkeletonRotate(max_degrees=(0.0, 30.0, 0.0))  # about the vertical y axis only
    params = rotate.sample(_skeleton(500), generator=_g())
    r = params.matrix
    assert torch.equal(r[:, 1], torch.tensor([0.0, 1.0, 0.0], dtype=r.dtype).expand(500, 3))
    angles = torch.rad2deg(torch.atan2(r[:, 0, 2], r[:, 0, 0]))
    assert bool((angles.abs() <= 30 + 1e-4).all()) and angles.abs().max() > 25
    torch.testing.assert_close(r @ r.transpose(1, 2), torch.eye(3, dtype=r.dtype).expand(500, 3, 3))


def test_shear_matrix_structure() -> None:
    params = SkeletonShear(sigma=0.2).sample(_skeleton(3000), generator=_g())
    m = params.matrix
    assert bool((m.diagonal(dim1=1, dim2=2) == 1).all())
    assert torch.equal(m[:, 0, 1], m[:, 0, 2]) and torch.equal(m[:, 1, 0], m[:, 1, 2])
    assert torch.equal(m[:, 2, 0], m[:, 2, 1])
    assert abs(m[:, 0, 1].std().item() - 0.2) < 0.01


def test_joint_mask_independent_joints_and_whole_limbs() -> None:
    x = _skeleton(2000, 2) + 5
    joints = JointMask(rate=0.3).sample(x, generator=_g())
    assert abs(joints.dropped.double().mean().item() - 0.3) < 0.01
    limbs = JointMask(rate=0.3, layout=UTD_MHAD_LAYOUT, value=-1.0)
    params = limbs.sample(x, generator=_g())
    for limb in UTD_MHAD_LAYOUT.limbs:
        group = params.dropped[:, list(limb)]
        assert bool((group == group[:, :1]).all())  # a limb is masked as a whole
    out = limbs.apply_params(x, params)
    assert torch.equal(out == -1, params.dropped[:, None, :, None].expand_as(out))


def test_flip_mirrors_and_swaps_sides() -> None:
    x = _skeleton()
    out = SkeletonFlip()(x)
    names = UTD_MHAD_LAYOUT.names
    right_hand, left_hand = names.index("right_hand"), names.index("left_hand")
    sign = torch.tensor([-1.0, 1.0, 1.0], dtype=x.dtype)
    torch.testing.assert_close(out[:, :, left_hand], x[:, :, right_hand] * sign)
    torch.testing.assert_close(out[:, :, 0], x[:, :, 0] * sign)  # head: on the midline
    assert torch.equal(SkeletonFlip(axis=2)(SkeletonFlip(axis=2)(x)), x)


def test_repr() -> None:
    assert repr(SkeletonRotate()) == "SkeletonRotate(max_degrees=(10.0, 10.0, 10.0), pivot=None)"
    assert repr(SkeletonFlip()) == "SkeletonFlip(joints=20, axis=0)"
    assert repr(JointMask(layout=UTD_MHAD_LAYOUT)) == "JointMask(rate=0.1, limbs=5, value=0.0)"


def test_bad_inputs() -> None:
    kinect = _skeleton()
    coco = torch.randn(2, 5, 17, 2)
    with pytest.raises(
        ValueError, match=r'^SkeletonFlip: x must have shape "b t j c" with j=20 .*\(2, 5, 17, 2\)'
    ):
        SkeletonFlip()(coco)
    with pytest.raises(ValueError, match=r"^JointMask: x must have shape \"b t j c\" with j=20"):
        JointMask(layout=UTD_MHAD_LAYOUT)(coco)
    with pytest.raises(ValueError, match=r'^SkeletonRotate: x must have shape "b t j c" with c=3'):
        SkeletonRotate()(coco)
    with pytest.raises(
        ValueError, match=r'^SkeletonShear: x must have shape "b t j c" \(4 dimensions\)'
    ):
        SkeletonShear()(torch.randn(2, 5, 6))
    with pytest.raises(ValueError, match="^SkeletonScale: pivot 20 is not a joint"):
        SkeletonScale(pivot=20)(kinect)
    with pytest.raises(ValueError, match="^SkeletonFlip: axis 3 is not a coordinate"):
        SkeletonFlip(axis=3)(kinect)
    with pytest.raises(ValueError, match="^SkeletonScale: scale must be .* low <= high"):
        SkeletonScale(scale=(1.2, 0.7))
    with pytest.raises(ValueError, match=r"^SkeletonScale: scale\[0\] must be in \(0, inf\)"):
        SkeletonScale(scale=(0.0, 1.0))
    with pytest.raises(
        ValueError, match="^SkeletonRotate: max_degrees must be a float or 3 floats"
    ):
        SkeletonRotate(max_degrees=(1.0, 2.0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^JointMask: rate must be in \[0, 1\], got -0.1"):
        JointMask(rate=-0.1)
    with pytest.raises(TypeError, match="^SkeletonFlip: layout must be a JointLayout"):
        SkeletonFlip(layout=tuple(range(20)))  # type: ignore[arg-type]
    small = JointLayout(names=("a", "b"), bones=((0, 1),), mirror=(1, 0), limbs=((0,), (1,)))
    with pytest.raises(ValueError, match="with j=2 to match the joint layout"):
        SkeletonFlip(layout=small)(kinect)
