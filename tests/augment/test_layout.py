from __future__ import annotations

import pytest

from mmcontrast.augment import UTD_MHAD_LAYOUT, JointLayout

# reference/data.md section 5 (0-based)
UTD_NAMES = (
    "head shoulder_center spine hip_center left_shoulder left_elbow left_wrist left_hand "
    "right_shoulder right_elbow right_wrist right_hand left_hip left_knee left_ankle left_foot "
    "right_hip right_knee right_ankle right_foot"
).split()


def test_utd_mhad_layout_matches_the_joint_order_file() -> None:
    layout = UTD_MHAD_LAYOUT
    assert layout.names == tuple(UTD_NAMES) and layout.num_joints == 20


def test_mirror_swaps_left_and_right_by_name() -> None:
    layout = UTD_MHAD_LAYOUT
    for i, name in enumerate(layout.names):
        mirrored = layout.names[layout.mirror[i]]
        if name.startswith("left_"):
            assert mirrored == "right_" + name[5:]
        elif name.startswith("right_"):
            assert mirrored == "left_" + name[6:]
        else:
            assert mirrored == name


def test_bones_form_a_tree_and_limbs_cover_every_joint_once() -> None:
    layout = UTD_MHAD_LAYOUT
    assert len(layout.bones) == layout.num_joints - 1
    reached, frontier = {1}, [1]
    while frontier:
        joint = frontier.pop()
        for a, b in layout.bones:
            for here, there in ((a, b), (b, a)):
                if here == joint and there not in reached:
                    reached.add(there)
                    frontier.append(there)
    assert reached == set(range(20))
    covered = sorted(j for limb in layout.limbs for j in limb)
    assert covered == list(range(20))
    mirrored = {tuple(sorted(layout.mirror[j] for j in limb)) for limb in layout.limbs}
    assert mirrored == {tuple(sorted(limb)) for limb in layout.limbs}


def test_layout_validation() -> None:
    ok = {
        "names": ("a", "b", "c"),
        "bones": ((0, 1), (1, 2)),
        "mirror": (2, 1, 0),
        "limbs": ((0,),),
    }
    JointLayout(**ok)  # type: ignore[arg-type]
    bad = [
        ({"names": ("a", "a", "c")}, "names must be non-empty and unique"),
        ({"mirror": (0, 1)}, r"mirror must be a permutation of range\(3\)"),
        ({"mirror": (1, 2, 0)}, "mirror must be its own inverse"),
        ({"bones": ((0, 3),)}, r"every entry of bones must hold joint indices in \[0, 3\)"),
        ({"bones": ((0, 1, 2),)}, r"bones must be \(parent, child\) pairs"),
        ({"limbs": ((),)}, "every entry of limbs"),
    ]
    for change, message in bad:
        with pytest.raises(ValueError, match="^JointLayout: " + message):
            JointLayout(**{**ok, **change})  # type: ignore[arg-type]
