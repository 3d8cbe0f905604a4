"""Native-rate paired sequences, as read from disk or generated, before preprocessing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import NDArray

from mmcontrast._checks import check_choice, check_int, checking
from mmcontrast.data import preprocessing
from mmcontrast.data.paired import PairedDataset
from mmcontrast.data.preprocessing import RESAMPLE_METHODS, Resample, recenter_skeleton

__all__ = ["Recordings"]

_OWNER = "Recordings"


@dataclass(frozen=True, eq=False)
class Recordings:
    """Paired raw sequences of different lengths, one entry per recording.

    The loaders (`mmcontrast.data.read_utd_mhad`, `mmcontrast.data.read_mmact`)
    and the synthetic generator return this; `to_dataset` preprocesses it into a
    `mmcontrast.data.PairedDataset`. Arrays are float64 and time-first.

    Attributes:
        inertial: one ``"t c"`` array per recording, in the sensor's units.
        skeleton: one ``"t j c"`` array per recording (its own ``t``).
        label: 0-based class of each recording.
        subject: subject of each recording.
        trial: trial (repetition) of each recording.
        names: one name per recording, e.g. ``"a1_s1_t1"``.
        classes: the class names; ``label`` indexes them.
        missing: recordings that are expected but absent or unusable, name -> reason.
        extras: more integer metadata per recording (MMAct: ``session``, ``scene``).

    Shapes:
        inertial: ``"t c"`` each; skeleton: ``"t j c"`` each; label, subject, trial: ``"n"``.

    Examples:
        >>> import numpy as np
        >>> from mmcontrast.data import Recordings
        >>> skeleton = np.zeros((12, 20, 3))
        >>> skeleton[:, 1, 1] = 0.34  # shoulder_center above the spine
        >>> recordings = Recordings(
        ...     inertial=(np.ones((30, 6)), np.ones((41, 6))), skeleton=(skeleton, skeleton[:9]),
        ...     label=np.array([0, 1]), subject=np.array([1, 2]), trial=np.array([1, 1]),
        ...     names=("a1_s1_t1", "a2_s2_t1"), classes=("swipe_left", "swipe_right"))
        >>> recordings.inertial_lengths.tolist(), recordings.skeleton_lengths.tolist()
        ([30, 41], [12, 9])
        >>> recordings.to_dataset(length=50, resample="linear").skeleton.shape
        torch.Size([2, 50, 20, 3])
        >>> recordings.to_dataset(length=None).inertial_mask.sum(1).tolist()
        [30, 41]
    """

    inertial: tuple[NDArray[np.float64], ...]
    skeleton: tuple[NDArray[np.float64], ...]
    label: NDArray[np.int64]
    subject: NDArray[np.int64]
    trial: NDArray[np.int64]
    names: tuple[str, ...]
    classes: tuple[str, ...]
    missing: Mapping[str, str] = field(default_factory=dict)
    extras: Mapping[str, NDArray[np.int64]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        count = len(self.inertial)
        sizes = {
            "skeleton": len(self.skeleton),
            "label": len(self.label),
            "subject": len(self.subject),
            "trial": len(self.trial),
            "names": len(self.names),
            **{key: len(value) for key, value in self.extras.items()},
        }
        wrong = {key: size for key, size in sizes.items() if size != count}
        if wrong:
            raise ValueError(
                f"{_OWNER}: every field needs one entry per recording ({count} inertial "
                f"arrays), got {wrong}"
            )
        for kind, arrays, ndim in (("inertial", self.inertial, 2), ("skeleton", self.skeleton, 3)):
            shapes = {array.shape[1:] for array in arrays}
            if any(array.ndim != ndim or array.shape[0] < 1 for array in arrays) or len(shapes) > 1:
                raise ValueError(
                    f"{_OWNER}: {kind} arrays must share one {'t c' if ndim == 2 else 't j c'} "
                    f"layout with at least one step, got trailing shapes {sorted(shapes)}"
                )
        for name in ("label", "subject", "trial", *self.extras):
            values = self.extras[name] if name in self.extras else getattr(self, name)
            if not np.issubdtype(np.asarray(values).dtype, np.integer):
                raise TypeError(
                    f"{_OWNER}: {name} must hold integers, got dtype {np.asarray(values).dtype}"
                )
        if count and (self.label.min() < 0 or self.label.max() >= len(self.classes)):
            raise ValueError(
                f"{_OWNER}: labels must be in [0, {len(self.classes)}), got the range "
                f"[{int(self.label.min())}, {int(self.label.max())}]"
            )

    def __len__(self) -> int:
        return len(self.inertial)

    @property
    def inertial_lengths(self) -> NDArray[np.int64]:
        """Native number of inertial samples of each recording."""
        return np.array([array.shape[0] for array in self.inertial], dtype=np.int64)

    @property
    def skeleton_lengths(self) -> NDArray[np.int64]:
        """Native number of skeleton frames of each recording."""
        return np.array([array.shape[0] for array in self.skeleton], dtype=np.int64)

    def to_dataset(
        self,
        *,
        length: int | tuple[int, int] | None = 50,
        resample: Resample = "fft",
        anchor_joint: int | None = 2,
        scale_joints: tuple[int, int] | None = (1, 2),
    ) -> PairedDataset:
        """Preprocess every recording into a `mmcontrast.data.PairedDataset`.

        Skeletons are recentred on ``anchor_joint`` of their raw first frame and scaled by
        the first-frame distance between ``scale_joints``
        (`mmcontrast.data.recenter_skeleton`). Then each whole sequence is resampled
        to a fixed number of steps (`mmcontrast.data.resample`), or, with
        ``length=None``, kept at its native length and zero-padded to the longest one with
        a mask. Inertial channels stay in their units; normalise with
        `PairedDataset.split`. The result is float32.

        Args:
            length: steps for both modalities (the references use 50), a pair
                ``(inertial_steps, skeleton_steps)``, or ``None`` for variable length.
            resample: ``"fft"`` (the references; needs scipy) or ``"linear"``.
            anchor_joint: joint to recentre on, or ``None``.
            scale_joints: joints whose first-frame distance is the unit, or ``None``.

        Shapes:
            output: inertial ``"n t c"``, skeleton ``"n t j c"``, masks ``"n t"``.
        """
        with checking(_OWNER):
            check_choice("resample", resample, RESAMPLE_METHODS)
        if not len(self):
            raise ValueError(f"{_OWNER}: there are no recordings to preprocess")
        inertial_steps, skeleton_steps = _lengths(length)
        skeletons = [
            recenter_skeleton(frames, anchor_joint=anchor_joint, scale_joints=scale_joints)
            for frames in self.skeleton
        ]
        inertial, inertial_mask = _stack(list(self.inertial), inertial_steps, resample)
        skeleton, skeleton_mask = _stack(skeletons, skeleton_steps, resample)
        return PairedDataset(
            inertial=inertial,
            skeleton=skeleton,
            label=torch.as_tensor(self.label, dtype=torch.long),
            subject=torch.as_tensor(self.subject, dtype=torch.long),
            trial=torch.as_tensor(self.trial, dtype=torch.long),
            inertial_mask=inertial_mask,
            skeleton_mask=skeleton_mask,
            names=self.names,
            classes=self.classes,
            extras={
                key: torch.as_tensor(value, dtype=torch.long) for key, value in self.extras.items()
            },
        )


def _lengths(length: object) -> tuple[int | None, int | None]:
    if length is None:
        return None, None
    with checking(_OWNER):
        if isinstance(length, tuple):
            if len(length) != 2:
                raise ValueError(f"{_OWNER}: length must be an int, a pair or None, got {length!r}")
            return (
                check_int("length[0]", length[0], minimum=1),
                check_int("length[1]", length[1], minimum=1),
            )
        steps = check_int("length", length, minimum=1)
    return steps, steps


def _stack(
    arrays: list[NDArray[np.float64]], steps: int | None, method: Resample
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resample to ``steps`` (or zero-pad to the longest when ``None``) and stack, float32."""
    trailing = arrays[0].shape[1:]
    if steps is not None:
        stacked = np.empty((len(arrays), steps, *trailing))
        by_length: dict[int, list[int]] = {}
        for row, array in enumerate(arrays):
            by_length.setdefault(array.shape[0], []).append(row)
        for rows in by_length.values():  # one call per distinct length: same result, faster
            block = np.stack([arrays[row] for row in rows], axis=1)
            resampled = preprocessing.resample(block, steps, method=method)
            stacked[rows] = np.moveaxis(resampled, 1, 0)
        mask = torch.ones(len(arrays), steps, dtype=torch.bool)
        return torch.as_tensor(stacked, dtype=torch.float32), mask
    longest = max(array.shape[0] for array in arrays)
    padded = np.zeros((len(arrays), longest, *trailing), dtype=np.float32)
    real = np.zeros((len(arrays), longest), dtype=bool)
    for row, array in enumerate(arrays):
        padded[row, : array.shape[0]] = array
        real[row, : array.shape[0]] = True
    return torch.from_numpy(padded), torch.from_numpy(real)
