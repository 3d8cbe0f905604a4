"""Skeleton joint layouts: joint names, bones, the left-right mirror and the limbs.

`UTD_MHAD_LAYOUT` is the 20-joint Kinect v1 layout of UTD-MHAD
(``Skeleton_joint_order.txt``, 0-based).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["UTD_MHAD_LAYOUT", "JointLayout"]


@dataclass(frozen=True)
class JointLayout:
    """A skeleton's joints and how they connect.

    Args:
        names: joint names, in the order of the joint axis ``j``.
        bones: ``(parent, child)`` joint index pairs (used for drawing).
        mirror: ``mirror[i]`` is the joint that ``i`` becomes under a left-right flip
            (``i`` itself on the midline); must be a permutation that is its own inverse.
        limbs: groups of joints masked together by `mmcontrast.augment.JointMask`.

    Examples:
        >>> from mmcontrast.augment import UTD_MHAD_LAYOUT
        >>> UTD_MHAD_LAYOUT.num_joints, UTD_MHAD_LAYOUT.names[UTD_MHAD_LAYOUT.mirror[4]]
        (20, 'right_shoulder')
    """

    names: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    mirror: tuple[int, ...]
    limbs: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        n = len(self.names)
        if n == 0 or len(set(self.names)) != n:
            raise ValueError(f"JointLayout: names must be non-empty and unique, got {self.names!r}")
        if sorted(self.mirror) != list(range(n)):
            raise ValueError(
                f"JointLayout: mirror must be a permutation of range({n}) (one entry per joint), "
                f"got {self.mirror!r}"
            )
        if any(self.mirror[self.mirror[i]] != i for i in range(n)):
            raise ValueError(f"JointLayout: mirror must be its own inverse, got {self.mirror!r}")
        for name, groups in (("bones", self.bones), ("limbs", self.limbs)):
            for group in groups:
                if len(group) == 0 or any(not 0 <= j < n for j in group):
                    raise ValueError(
                        f"JointLayout: every entry of {name} must hold joint indices in "
                        f"[0, {n}), got {group!r}"
                    )
        if any(len(bone) != 2 for bone in self.bones):
            raise ValueError(
                f"JointLayout: bones must be (parent, child) pairs, got {self.bones!r}"
            )

    @property
    def num_joints(self) -> int:
        """The number of joints ``j``."""
        return len(self.names)


UTD_MHAD_LAYOUT = JointLayout(
    names=(
        "head",
        "shoulder_center",
        "spine",
        "hip_center",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "left_hand",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "right_hand",
        "left_hip",
        "left_knee",
        "left_ankle",
        "left_foot",
        "right_hip",
        "right_knee",
        "right_ankle",
        "right_foot",
    ),
    bones=(
        (1, 0),
        (1, 2),
        (2, 3),
        (1, 4),
        (4, 5),
        (5, 6),
        (6, 7),
        (1, 8),
        (8, 9),
        (9, 10),
        (10, 11),
        (3, 12),
        (12, 13),
        (13, 14),
        (14, 15),
        (3, 16),
        (16, 17),
        (17, 18),
        (18, 19),
    ),
    mirror=(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15),
    limbs=(
        (0, 1, 2, 3),
        (4, 5, 6, 7),
        (8, 9, 10, 11),
        (12, 13, 14, 15),
        (16, 17, 18, 19),
    ),
)
"""UTD-MHAD's 20-joint Kinect v1 layout; limbs: trunk, left arm, right arm, left leg, right leg."""
