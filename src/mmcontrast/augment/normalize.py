"""Deterministic skeleton normalisations used by the reference preprocessing.

CMC-CMKM prepares UTD-MHAD skeletons by subtracting joint 2 (spine) of the first frame and
dividing by the first frame's shoulder_center-spine distance: ``Compose([Recenter(joint=2),
NormalizeBoneLength(joints=(1, 2))])``. Both are per-sequence affine maps, so they commute with
linear temporal resampling when the anchor and the bone are read from the raw first frame.
"""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from mmcontrast._checks import check_finite_number, check_int, checking
from mmcontrast.augment._base import Augmentation, Draw, NoParams, compute_dtype, expect_joint

__all__ = ["NormalizeBoneLength", "Recenter"]


class Recenter(Augmentation[NoParams]):
    """Subtract one joint of the first frame from every joint of every frame (deterministic).

    Global translation over time is kept. CMC-CMKM recentres UTD-MHAD on joint 2 (spine).

    Args:
        joint: the anchor joint.

    Shapes:
        x: ``"b t j c"``; output: ``"b t j c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import Recenter
        >>> y = Recenter(joint=2)(torch.randn(2, 50, 20, 3))
        >>> bool((y[:, 0, 2] == 0).all())
        True
    """

    pattern: ClassVar[str] = "b t j c"

    def __init__(self, *, joint: int = 2) -> None:
        super().__init__()
        with checking(type(self).__name__):
            self.joint = check_int("joint", joint, minimum=0)

    def _check_input(self, x: object) -> Tensor:
        checked = super()._check_input(x)
        with checking(type(self).__name__):
            expect_joint(f"joint {self.joint}", self.joint, checked)
        return checked

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> NoParams:
        return NoParams()

    def _transform(self, x: Tensor, params: NoParams) -> Tensor:
        return x - x[:, :1, self.joint : self.joint + 1]

    def _repr_fields(self) -> dict[str, object]:
        return {"joint": self.joint}


class NormalizeBoneLength(Augmentation[NoParams]):
    """Divide all coordinates by the first frame's distance between two joints.

    CMC-CMKM divides UTD-MHAD skeletons by the shoulder_center-spine distance (joints 1, 2),
    0.24-0.40 m over the dataset. Apply it after `Recenter` so that the scaling is
    about the anchor joint.

    Args:
        joints: the two joints of the reference bone.
        eps: smallest length divided by (guards a degenerate first frame).

    Shapes:
        x: ``"b t j c"``; output: ``"b t j c"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.augment import NormalizeBoneLength
        >>> y = NormalizeBoneLength(joints=(1, 2))(torch.randn(2, 50, 20, 3))
        >>> torch.allclose((y[:, 0, 1] - y[:, 0, 2]).norm(dim=1), torch.ones(2))
        True
    """

    pattern: ClassVar[str] = "b t j c"

    def __init__(self, *, joints: tuple[int, int] = (1, 2), eps: float = 1e-6) -> None:
        super().__init__()
        if len(joints) != 2 or joints[0] == joints[1]:
            raise ValueError(
                f"NormalizeBoneLength: joints must be two different joints, got {joints!r}"
            )
        with checking("NormalizeBoneLength"):
            self.joints = (
                check_int("joints[0]", joints[0], minimum=0),
                check_int("joints[1]", joints[1], minimum=0),
            )
            self.eps = check_finite_number("eps", eps, low=0.0, low_open=True)

    def _check_input(self, x: object) -> Tensor:
        checked = super()._check_input(x)
        last = max(self.joints)
        with checking(type(self).__name__):
            expect_joint(f"joint {last} of joints {self.joints}", last, checked)
        return checked

    def _sample(self, x: Tensor, batch: int, draw: Draw) -> NoParams:
        return NoParams()

    def _transform(self, x: Tensor, params: NoParams) -> Tensor:
        first = x[:, 0].to(compute_dtype(x.dtype))
        bone = first[:, self.joints[0]] - first[:, self.joints[1]]
        length: Tensor = bone.norm(dim=-1)
        scale = length.clamp_min(self.eps).reciprocal()
        return (x * scale.view(-1, 1, 1, 1)).to(x.dtype)

    def _repr_fields(self) -> dict[str, object]:
        return {"joints": self.joints, "eps": self.eps}
