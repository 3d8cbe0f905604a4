from __future__ import annotations

import numpy as np
import pytest

from mmcontrast.data import UTD_MHAD_JOINTS
from mmcontrast.data._body import (
    DOFS,
    REST,
    SEGMENT_LENGTHS,
    SEGMENTS,
    Body,
    forward_kinematics,
    rotation,
)

PARENT = {
    "head": "shoulder_center", "shoulder_center": "spine", "spine": "hip_center",
    "left_shoulder": "shoulder_center", "left_elbow": "left_shoulder", "left_wrist": "left_elbow",
    "left_hand": "left_wrist", "right_shoulder": "shoulder_center", "right_elbow": "right_shoulder",
    "right_wrist": "right_elbow", "right_hand": "right_wrist", "left_hip": "hip_center",
    "left_knee": "left_hip", "left_ankle": "left_knee", "left_foot": "left_ankle",
    "right_hip": "hip_center", "right_knee": "right_hip", "right_ankle": "right_knee",
    "right_foot": "right_ankle",
}  # fmt: skip
BONES = {
    "elbow": "upper", "wrist": "fore", "hand": "hand", "knee": "thigh", "ankle": "shin",
}  # fmt: skip


def _body(count: int = 4) -> Body:
    rng = np.random.default_rng(0)
    lengths = SEGMENT_LENGTHS * rng.uniform(0.9, 1.1, size=(count, 1, len(SEGMENTS)))
    mount = np.tile(rotation(2, 20.0), (count, 1, 1, 1))
    return Body(lengths=lengths, root=np.tile([[[0.1, -0.2, 3.0]]], (count, 1, 1)), mount=mount)


def _random_angles(count: int = 4, steps: int = 6) -> np.ndarray:
    rng = np.random.default_rng(1)
    angles = REST + rng.uniform(-90.0, 90.0, size=(count, steps, len(DOFS)))
    angles[..., DOFS.index("root_y") :] = rng.uniform(-0.2, 0.2, size=(count, steps, 2))
    return angles


def test_rest_pose_is_an_upright_figure_facing_the_camera() -> None:
    joints, _ = forward_kinematics(np.tile(REST, (1, 1, 1)), _body(1), planted=False)
    at = {name: joints[0, 0, i] for i, name in enumerate(UTD_MHAD_JOINTS)}
    assert at["head"][1] > at["shoulder_center"][1] > at["spine"][1] > at["hip_center"][1]
    assert at["hip_center"][1] > at["right_knee"][1] > at["right_ankle"][1]
    assert at["right_shoulder"][0] > 0 > at["left_shoulder"][0]  # x: the subject's right
    assert at["right_foot"][2] < at["right_ankle"][2]  # feet point towards the camera (-z)


@pytest.mark.parametrize("planted", [False, True])
def test_bones_keep_their_lengths_in_any_pose(planted: bool) -> None:
    body = _body()
    joints, sensor = forward_kinematics(_random_angles(), body, planted=planted)
    index = {name: i for i, name in enumerate(UTD_MHAD_JOINTS)}
    for child, bone in BONES.items():
        for side in ("left", "right"):
            a, b = (
                joints[..., index[f"{side}_{child}"], :],
                joints[..., index[PARENT[f"{side}_{child}"]], :],
            )
            expected = body.lengths[..., SEGMENTS.index(bone)]
            np.testing.assert_allclose(
                np.linalg.norm(a - b, axis=-1), np.broadcast_to(expected, a.shape[:-1])
            )
    spine = np.linalg.norm(joints[..., 1, :] - joints[..., 2, :], axis=-1)
    np.testing.assert_allclose(spine, np.broadcast_to(body.lengths[..., 1], spine.shape))
    identity = np.einsum("...ji,...jk->...ik", sensor, sensor)
    np.testing.assert_allclose(identity, np.broadcast_to(np.eye(3), identity.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(sensor), 1.0)


def test_planted_right_ankle_stays_put() -> None:
    body = _body()
    angles = _random_angles()
    angles[..., DOFS.index("root_y") :] = 0.0
    joints, _ = forward_kinematics(angles, body, planted=True)
    rest, _ = forward_kinematics(np.broadcast_to(REST, angles.shape), body, planted=True)
    ankle = UTD_MHAD_JOINTS.index("right_ankle")
    np.testing.assert_allclose(joints[..., ankle, :], rest[..., ankle, :], atol=1e-12)


def test_wrist_only_matches_the_full_skeleton_with_extra_leading_axes() -> None:
    body = _body()
    angles = np.stack([_random_angles(), _random_angles() + 1.0])  # e.g. t - h and t + h
    joints, sensor = forward_kinematics(angles, body, planted=True)
    wrist, sensor_only = forward_kinematics(angles, body, planted=True, wrist_only=True)
    np.testing.assert_allclose(wrist, joints[..., UTD_MHAD_JOINTS.index("right_wrist"), :])
    np.testing.assert_allclose(sensor_only, sensor)
    assert joints.shape == (2, 4, 6, 20, 3)


def test_sensor_frame_turns_with_forearm_pronation_about_its_long_axis() -> None:
    body = Body(
        lengths=SEGMENT_LENGTHS[None, None], root=np.zeros((1, 1, 3)), mount=np.eye(3)[None, None]
    )
    angles = np.tile(REST, (1, 2, 1))
    angles[0, 1, DOFS.index("r_pron")] = 90.0
    joints, sensor = forward_kinematics(angles, body, planted=False)
    np.testing.assert_allclose(joints[0, 0], joints[0, 1])  # positions unchanged ...
    relative = sensor[0, 0].T @ sensor[0, 1]  # ... the frame turned 90 degrees about local y
    np.testing.assert_allclose(relative, rotation(1, 90.0), atol=1e-12)
