"""Per-sequence preprocessing shared by every loader: resampling and skeleton normalisation.

These are the steps of the reference pipelines (CMC-CMKM's UTD-MHAD configurations): each
whole sequence is resampled to a fixed number of steps (FFT based, ``scipy.signal.resample``),
which keeps the two modalities aligned on normalised time, and each skeleton sequence is
recentred on one joint of its raw first frame and scaled by one first-frame bone length.
Arrays are time-first: inertial ``"t c"``, skeleton ``"t j c"``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mmcontrast._checks import check_choice, check_int, checking
from mmcontrast.data._optional import import_optional

__all__ = ["RESAMPLE_METHODS", "Resample", "recenter_skeleton", "resample"]

Resample = Literal["fft", "linear"]
RESAMPLE_METHODS: tuple[str, ...] = ("fft", "linear")


def resample(x: ArrayLike, length: int, *, method: Resample = "fft") -> NDArray[np.float64]:
    """Resample a whole sequence along its first (time) axis to ``length`` steps.

    ``method="fft"`` is ``scipy.signal.resample`` (the references' choice; it treats the
    sequence as periodic and rings slightly at the ends; needs the ``data`` extra).
    ``method="linear"`` interpolates linearly on a grid whose first and last points are the
    first and last samples (no ringing, no scipy). Both keep a constant sequence constant.

    Args:
        x: a sequence with at least one step.
        length: the number of output steps, ``>= 1``.
        method: ``"fft"`` or ``"linear"``.

    Shapes:
        x: ``"t ..."``; output: ``"length ..."`` (float64).

    Examples:
        >>> import numpy as np
        >>> from mmcontrast.data import resample
        >>> resample(np.array([0.0, 1.0, 2.0]), 5, method="linear")
        array([0. , 0.5, 1. , 1.5, 2. ])
        >>> resample(np.ones((180, 6)), 50).shape
        (50, 6)
    """
    with checking("resample"):
        check_int("length", length, minimum=1)
        check_choice("method", method, RESAMPLE_METHODS)
    array = np.asarray(x, dtype=np.float64)
    if array.ndim < 1 or array.shape[0] < 1:
        raise ValueError(
            f'resample: x must have shape "t ..." with at least one step, got {array.shape}'
        )
    steps = array.shape[0]
    if steps == length:
        return np.array(array, dtype=np.float64)
    if method == "fft":
        signal = import_optional("scipy.signal", purpose='resample(method="fft")')
        return np.asarray(signal.resample(array, length, axis=0), dtype=np.float64)
    if steps == 1:
        return np.repeat(array, length, axis=0)
    position = np.linspace(0.0, steps - 1.0, length)
    lower = np.minimum(np.floor(position).astype(np.int64), steps - 2)
    weight = (position - lower).reshape(-1, *([1] * (array.ndim - 1)))
    return np.asarray(array[lower] * (1.0 - weight) + array[lower + 1] * weight)


def recenter_skeleton(
    skeleton: ArrayLike,
    *,
    anchor_joint: int | None = 2,
    scale_joints: tuple[int, int] | None = (1, 2),
) -> NDArray[np.float64]:
    """Recentre a skeleton sequence on one joint of its first frame and scale it.

    Subtracts the ``anchor_joint`` position **of the raw first frame** from every joint of
    every frame (so translation over time is kept), then divides by the first frame's
    Euclidean distance between the two ``scale_joints``. The defaults are the UTD-MHAD
    reference choice: anchor joint 2 (spine), scale by joints 1-2 (shoulder_center-spine,
    0.24-0.40 m in the dataset). Both maps are affine per sequence, so they commute with
    resampling as long as they use the raw first frame, as here.

    Args:
        skeleton: joint coordinates, time-first.
        anchor_joint: 0-based joint to recentre on, or ``None`` to keep the coordinates.
        scale_joints: two 0-based joints whose first-frame distance becomes the unit, or
            ``None`` to keep the scale.

    Shapes:
        skeleton: ``"t j c"``; output: ``"t j c"`` (float64).

    Raises:
        ValueError: a joint index out of range, or a first-frame scale distance that is zero
            or not finite.

    Examples:
        >>> import numpy as np
        >>> from mmcontrast.data import recenter_skeleton
        >>> frames = np.zeros((2, 3, 3))
        >>> frames[:, 1] = [0.0, 0.5, 0.0]  # joint 1 is 0.5 above joint 2 in frame 0
        >>> frames[1] += 1.0  # the whole body moves by 1 in frame 1
        >>> out = recenter_skeleton(frames, anchor_joint=2, scale_joints=(1, 2))
        >>> out[0, 1].tolist(), out[1, 2].tolist()
        ([0.0, 1.0, 0.0], [2.0, 2.0, 2.0])
    """
    array = np.asarray(skeleton, dtype=np.float64)
    if array.ndim != 3 or array.shape[0] < 1:
        raise ValueError(
            'recenter_skeleton: skeleton must have shape "t j c" with at least one frame, got '
            f"{array.shape}"
        )
    joints = array.shape[1]
    out = array.copy()
    with checking("recenter_skeleton"):
        if anchor_joint is not None:
            _check_joint("anchor_joint", anchor_joint, joints)
            out -= array[0, anchor_joint]
        if scale_joints is not None:
            if not isinstance(scale_joints, tuple) or len(scale_joints) != 2:
                raise TypeError(f"scale_joints must be a pair of ints, got {scale_joints!r}")
            first, second = scale_joints
            _check_joint("scale_joints[0]", first, joints)
            _check_joint("scale_joints[1]", second, joints)
            distance = float(np.linalg.norm(array[0, first] - array[0, second]))
            if not np.isfinite(distance) or distance <= 0.0:
                raise ValueError(
                    f"the first-frame distance between joints {first} and {second} "
                    f"must be positive and finite to scale by it, got {distance!r}"
                )
            out /= distance
    return np.asarray(out, dtype=np.float64)


def _check_joint(name: str, joint: object, joints: int) -> int:
    index = check_int(name, joint, minimum=0)
    if index >= joints:
        raise ValueError(f"{name} must be < {joints} (the number of joints), got {index}")
    return index
