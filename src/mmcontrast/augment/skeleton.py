"""Skeleton augmentations and normalisations for ``"b t j c"`` batches (``c = 3``: x, y, z).

Geometric transforms act about the origin by default (``pivot=None``); after
`mmcontrast.augment.Recenter` that is the anchor joint of the first frame.
``pivot=j`` instead turns or scales each frame about its own joint ``j`` (CMC-CMKM pivots on
joint 0, the head). Use `mmcontrast.augment.Jitter` for coordinate noise, the
`mmcontrast.augment.temporal` transforms for time and
`mmcontrast.augment.normalize` for the deterministic normalisations.
"""

from __future__ import annotations

import math
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor

from mmcontrast._checks import (
    check_finite_number,
    check_int,
    check_positive_range,
    check_probability,
    check_tensor,
    checking,
)
from mmcontrast.augment import functional as AF
from mmcontrast.augment._base import (
    Augmentation,
    Draw,
    NoParams,
    compute_dtype,
    expect_joint,
    where_rows,
)
from mmcontrast.augment.inertial import DropParams
from mmcontrast.augment.layout import UTD_MHAD_LAYOUT, JointLayout

__all__ = [
    "JointMask",
    "LinearParams",
    "SkeletonFlip",
    "SkeletonRotate",
    "SkeletonScale",
    "SkeletonShear",
]


class LinearParams(NamedTuple):
    """One linear map of the coordinates per sample, ``"b c c"``."""

    matrix: Tensor


def _check_joints(x: Tensor, layout: JointLayout) -> Tensor:
    if x.shape[2] != layout.num_joints:
        raise ValueError(
            f'x must have shape "b t j c" with j={layout.num_joints} to match the '
            f"joint layout, got {tuple(x.shape)}"
        )
    return x


def _neutral_linear(params: LinearParams, applied: Tensor) -> LinearParams:
    matrix = params.matrix
    eye = torch.eye(matrix.shape[1], device=matrix.device, dtype=matrix.dtype)
    return LinearParams(matrix=where_rows(applied, matrix, eye))


class _LinearMap(Augmentation[LinearParams]):
    """A per-sample 3 x 3 map of the coordinates about ``self.pivot`` (a joint, or the origin).

    Subclasses pass ``pivot`` up and draw the matrices in ``_sample``; `Compose` multiplies
    consecutive maps into one pass through ``_linear``.
    """

    pattern: ClassVar[str] = "b t j c"

    def __init__(self, *, pivot: int | None, same_on_batch: bool) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking(type(self).__name__):
            if pivot is not None:
                pivot = check_int("pivot", pivot, minimum=0)
        self.pivot = pivot

    def _check_input(self, x: object) -> Tensor:
        with checking(type(self).__name__):
            x = check_tensor("x", x, pattern="b t j c", sizes={"c": 3})
            if self.pivot is not None:
                expect_joint(f"pivot {self.pivot}", self.pivot, x)
        return x

    def _transform(self, x: Tensor, params: LinearParams) -> Tensor:
        return AF.linear_about(x, params.matrix, pivot=self.pivot)

    def _neutralize(self, params: LinearParams, applied: Tensor) -> LinearParams:
        return _neutral_linear(params, applied)

    def _linear(self, x: Tensor, params: LinearParams) -> tuple[Tensor, int | None]:
        return params.matrix.to(compute_dtype(x.dtype)), self.pivot


class SkeletonScale(_LinearMap):
    """Stretch the skeleton by an independent factor ``U(*scale)`` along each axis.

    Args:
        scale: ``(low, high)`` factor range, ``0 < low <= high``; ``(1, 1)`` is the
            identity. CMC-CMKM's UTD-MHAD setting: ``(0.7, 1.2)``.
        pivot: joint to scale about (per frame), or ``None`` for the origin.
        same_on_batch: the same factors for every sample.

    Shapes:
        x: ``"b t j 3"``; output: ``"b t j 3"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import SkeletonScale
        >>> SkeletonScale(scale=(0.7, 1.2))(torch.randn(4, 50, 20, 3)).shape
        torch.Size([4, 50, 20, 3])
    """

    def __init__(
        self,
        *,
        scale: tuple[float, float] = (0.7, 1.2),
        pivot: int | None = None,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(pivot=pivot, same_on_batch=same_on_batch)
        with checking("SkeletonScale"):
            self.scale = check_positive_range("scale", scale)

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> LinearParams:
        factors = draw.uniform(batch, 3, low=self.scale[0], high=self.scale[1])
        return LinearParams(matrix=torch.diag_embed(factors))

    def _repr_fields(self) -> dict[str, object]:
        return {"scale": self.scale, "pivot": self.pivot}


class SkeletonRotate(_LinearMap):
    """Rotate the skeleton by ``Rx(a) Ry(b) Rz(c)`` with each angle uniform in ``±max_degrees``.

    Args:
        max_degrees: largest angle per axis in degrees, one value for all axes or one per
            axis ``(x, y, z)``, each in ``[0, 180]``. CMC-CMKM's UTD-MHAD setting: 10 (drawn
            there from a 2-degree grid; here continuously).
        pivot: joint to rotate about (per frame), or ``None`` for the origin.
        same_on_batch: the same rotation for every sample.

    Shapes:
        x: ``"b t j 3"``; output: ``"b t j 3"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import SkeletonRotate
        >>> x = torch.randn(4, 50, 20, 3)
        >>> torch.allclose(SkeletonRotate(max_degrees=10.0)(x).norm(dim=3), x.norm(dim=3))
        True
    """

    def __init__(
        self,
        *,
        max_degrees: float | tuple[float, float, float] = 10.0,
        pivot: int | None = None,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(pivot=pivot, same_on_batch=same_on_batch)
        limits = max_degrees if isinstance(max_degrees, tuple) else (max_degrees,) * 3
        if len(limits) != 3:
            raise ValueError(
                f"SkeletonRotate: max_degrees must be a float or 3 floats, got {limits}"
            )
        with checking("SkeletonRotate"):
            self.max_degrees = tuple(
                check_finite_number("max_degrees", v, low=0.0, high=180.0, high_open=False)
                for v in limits
            )

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> LinearParams:
        unit = 2 * draw.uniform(batch, 3) - 1
        limits = [math.radians(v) for v in self.max_degrees]
        if len(set(limits)) == 1:
            angles = unit * limits[0]
        else:  # Python scalars: no host-to-device copy
            angles = torch.stack([unit[:, i] * limits[i] for i in range(3)], dim=1)
        return LinearParams(matrix=AF.euler_to_matrix(angles))

    def _repr_fields(self) -> dict[str, object]:
        return {"max_degrees": self.max_degrees, "pivot": self.pivot}


class SkeletonShear(_LinearMap):
    """Shear with one factor ``N(0, sigma**2)`` per axis.

    The matrix has rows ``(1, sx, sx), (sy, 1, sy), (sz, sz, 1)`` (as in CMC-CMKM).

    Args:
        sigma: factor standard deviation, ``>= 0`` (0 is the identity). CMC-CMKM's UTD-MHAD
            setting: 0.2.
        pivot: joint to shear about (per frame), or ``None`` for the origin.
        same_on_batch: the same shear for every sample.

    Shapes:
        x: ``"b t j 3"``; output: ``"b t j 3"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import SkeletonShear
        >>> SkeletonShear(sigma=0.2)(torch.randn(4, 50, 20, 3)).shape
        torch.Size([4, 50, 20, 3])
    """

    def __init__(
        self, *, sigma: float = 0.2, pivot: int | None = None, same_on_batch: bool = False
    ) -> None:
        super().__init__(pivot=pivot, same_on_batch=same_on_batch)
        with checking("SkeletonShear"):
            self.sigma = check_finite_number("sigma", sigma, low=0.0)

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> LinearParams:
        factors = draw.normal(batch, 3, std=self.sigma)
        eye = torch.eye(3, device=draw.device, dtype=draw.dtype)
        matrix = factors.unsqueeze(2) * (1 - eye) + eye  # row i holds s_i off the diagonal
        return LinearParams(matrix=matrix)

    def _repr_fields(self) -> dict[str, object]:
        return {"sigma": self.sigma, "pivot": self.pivot}


class JointMask(Augmentation[DropParams]):
    """Hide joints (or whole limbs) for the whole window: their coordinates become ``value``.

    Args:
        rate: probability that a joint (or, with a layout, a limb) is masked, in ``[0, 1]``.
        layout: ``None`` masks joints independently; a `JointLayout` masks its limbs.
        value: fill value.
        same_on_batch: the same joints masked in every sample.

    Shapes:
        x: ``"b t j c"``; output: ``"b t j c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import UTD_MHAD_LAYOUT, JointMask
        >>> mask = JointMask(rate=0.2, layout=UTD_MHAD_LAYOUT)
        >>> params = mask.sample(torch.randn(4, 50, 20, 3))
        >>> params.dropped.shape
        torch.Size([4, 20])
    """

    pattern: ClassVar[str] = "b t j c"
    members: Tensor

    def __init__(
        self,
        *,
        rate: float = 0.1,
        layout: JointLayout | None = None,
        value: float = 0.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(same_on_batch=same_on_batch)
        with checking("JointMask"):
            self.rate = check_probability("rate", rate)
            if layout is not None and not isinstance(layout, JointLayout):
                raise TypeError(
                    f"layout must be a JointLayout or None, got {type(layout).__name__}"
                )
            self.layout = layout
            self.value = check_finite_number("value", value, low=-float("inf"))
        members = torch.zeros(0, 0)
        if layout is not None:
            members = torch.zeros(len(layout.limbs), layout.num_joints)
            for row, limb in enumerate(layout.limbs):
                members[row, list(limb)] = 1.0
        self.register_buffer("members", members, persistent=False)

    def _check_input(self, x: object) -> Tensor:
        checked = super()._check_input(x)
        with checking("JointMask"):
            if self.layout is not None:
                _check_joints(checked, self.layout)
        return checked

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> DropParams:
        if self.layout is None:
            return DropParams(dropped=draw.uniform(batch, x.shape[2]) < self.rate)
        limbs = (draw.uniform(batch, len(self.layout.limbs)) < self.rate).to(draw.dtype)
        return DropParams(dropped=limbs @ self.members.to(limbs) > 0)

    def _transform(self, x: Tensor, params: DropParams) -> Tensor:
        return x.masked_fill(params.dropped[:, None, :, None], self.value)

    def _neutralize(self, params: DropParams, applied: Tensor) -> DropParams:
        return DropParams(dropped=params.dropped & applied.unsqueeze(1))

    def _repr_fields(self) -> dict[str, object]:
        limbs = None if self.layout is None else len(self.layout.limbs)
        return {"rate": self.rate, "limbs": limbs, "value": self.value}


class SkeletonFlip(Augmentation[NoParams]):
    """Mirror the skeleton left-right: negate one axis and swap left and right joints.

    Deterministic; wrap it in `mmcontrast.augment.RandomApply` to flip a random half
    of the batch. Do not flip the skeleton of a cross-modal pair alone: a right-wrist IMU
    then no longer matches the skeleton's right arm.

    Args:
        layout: the joint layout whose ``mirror`` swaps left and right.
        axis: the coordinate to negate (Kinect: 0, the horizontal x axis).

    Shapes:
        x: ``"b t j c"``; output: ``"b t j c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import SkeletonFlip
        >>> flip = SkeletonFlip()
        >>> x = torch.randn(2, 50, 20, 3)
        >>> torch.equal(flip(flip(x)), x)
        True
    """

    pattern: ClassVar[str] = "b t j c"
    mirror: Tensor

    def __init__(self, *, layout: JointLayout = UTD_MHAD_LAYOUT, axis: int = 0) -> None:
        super().__init__()
        if not isinstance(layout, JointLayout):
            raise TypeError(
                f"SkeletonFlip: layout must be a JointLayout, got {type(layout).__name__}"
            )
        self.layout = layout
        with checking("SkeletonFlip"):
            self.axis = check_int("axis", axis, minimum=0)
        self.register_buffer("mirror", torch.tensor(layout.mirror), persistent=False)

    def _check_input(self, x: object) -> Tensor:
        with checking("SkeletonFlip"):
            checked = _check_joints(super()._check_input(x), self.layout)
        if self.axis >= checked.shape[3]:
            raise ValueError(
                f"SkeletonFlip: axis {self.axis} is not a coordinate of x with shape "
                f"{tuple(checked.shape)}"
            )
        return checked

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> NoParams:
        return NoParams()

    def _transform(self, x: Tensor, params: NoParams) -> Tensor:
        sign = torch.ones(x.shape[3], device=x.device, dtype=x.dtype)
        sign[self.axis] = -1
        return x.index_select(2, self.mirror.to(x.device)) * sign

    def _repr_fields(self) -> dict[str, object]:
        return {"joints": self.layout.num_joints, "axis": self.axis}
