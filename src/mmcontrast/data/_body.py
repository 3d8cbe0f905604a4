"""The synthetic generator's body: a 20-joint kinematic tree in UTD-MHAD's joint order (private).

World frame: ``x`` to the subject's right, ``y`` up (against gravity), ``z`` backwards (away
from a camera the subject faces), i.e. a level Kinect's frame. Angles are in degrees, the
root offsets in metres. Rotations compose along the tree; the right forearm's rotation (after
elbow flexion and pronation) carries the wrist sensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["DOFS", "REST", "SEGMENTS", "SEGMENT_LENGTHS", "Body", "forward_kinematics", "rotation"]

Array = NDArray[np.float64]

DOFS: tuple[str, ...] = (
    "r_flex", "r_abd", "r_rot", "r_elbow", "r_pron", "r_wrist",
    "l_flex", "l_abd", "l_rot", "l_elbow", "l_pron",
    "trunk_flex", "trunk_yaw",
    "r_hip", "r_knee", "l_hip", "l_knee",
    "root_y", "root_z",
)  # fmt: skip
"""Degrees of freedom: shoulder flexion (forward), abduction (sideways), humeral rotation,
elbow flexion, forearm pronation, wrist flexion per arm; trunk flexion and yaw; hip and knee
flexion per leg; root height and depth offsets (metres)."""

REST = np.zeros(len(DOFS))
REST[[DOFS.index("r_abd"), DOFS.index("l_abd")]] = 8.0
REST[[DOFS.index("r_elbow"), DOFS.index("l_elbow")]] = 12.0
REST.setflags(write=False)

SEGMENTS: tuple[str, ...] = (
    "spine", "chest", "neck", "shoulder", "upper", "fore", "hand", "hip", "thigh", "shin", "foot",
)  # fmt: skip
"""Segments: hip_center-spine, spine-shoulder_center, neck, half shoulder width, upper arm,
forearm, hand, half hip width, thigh, shin, foot."""

SEGMENT_LENGTHS = np.array([0.08, 0.34, 0.20, 0.18, 0.29, 0.26, 0.08, 0.09, 0.43, 0.42, 0.12])
SEGMENT_LENGTHS.setflags(write=False)
"""Average segment lengths in metres (a 1.75 m adult)."""


@dataclass(frozen=True)
class Body:
    """Per-sequence body parameters, each with a leading ``n`` axis that broadcasts over time.

    ``lengths`` ``(n, 1, 11)`` in metres (`SEGMENTS`); ``root`` ``(n, 1, 3)``: the hip
    centre at rest in world coordinates; ``mount`` ``(n, 1, 3, 3)``: forearm-from-sensor.
    """

    lengths: Array
    root: Array
    mount: Array


def rotation(axis: int, degrees: Array | float) -> Array:
    """Rotation matrices ``"... 3 3"`` about world axis 0 (x), 1 (y) or 2 (z)."""
    return np.moveaxis(_rotation(axis, np.asarray(degrees, dtype=np.float64)), (0, 1), (-2, -1))


# Internally matrices are "3 3 ..." and vectors "3 ..." (the small axes first), so every
# product is a handful of operations on long contiguous arrays.


def _rotation(axis: int, degrees: Array) -> Array:
    angle = np.deg2rad(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    out = np.zeros((3, 3, *angle.shape))
    first, second = [(1, 2), (2, 0), (0, 1)][axis]
    out[axis, axis] = 1.0
    out[first, first] = cos
    out[second, second] = cos
    out[first, second] = -sin
    out[second, first] = sin
    return out


def _turn(matrix: Array, axis: int, degrees: Array) -> Array:
    """``matrix @ rotation(axis, degrees)``, mixing only the two columns the rotation moves."""
    angle = np.deg2rad(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    first, second = [(1, 2), (2, 0), (0, 1)][axis]
    shape = np.broadcast_shapes(matrix.shape[2:], angle.shape)
    out = np.empty((3, 3, *shape))
    out[:, axis] = matrix[:, axis]
    out[:, first] = matrix[:, first] * cos + matrix[:, second] * sin
    out[:, second] = matrix[:, second] * cos - matrix[:, first] * sin
    return out


def _apply(matrix: Array, x: Array | float, y: Array | float, z: Array | float) -> Array:
    """``matrix @ (x, y, z)`` as a sum of columns, skipping literal zero components."""
    total: Array | float = 0.0
    for column, component in enumerate((x, y, z)):
        if not (isinstance(component, float) and component == 0.0):
            total = total + matrix[:, column] * component
    return np.asarray(total)


def _vector(ndim: int, x: Array | float, y: Array | float, z: Array | float) -> Array:
    """A ``"3 ..."`` vector whose ``...`` has ``ndim`` axes (leading ones added as needed)."""
    stacked = np.stack(np.broadcast_arrays(x, y, z))
    return stacked.reshape(3, *([1] * (ndim + 1 - stacked.ndim)), *stacked.shape[1:])


def forward_kinematics(
    angles: Array, body: Body, *, planted: bool, wrist_only: bool = False
) -> tuple[Array, Array]:
    """Joint positions ``"... 20 3"`` (world, metres) and the sensor rotation ``"... 3 3"``.

    ``angles`` is ``"... d"`` over `DOFS`, ``...`` ending in ``(n, t)``. With
    ``planted`` the root moves so that the right ankle stays where it is at rest (squats,
    sitting, lunges keep that foot on the floor). With ``wrist_only`` the first output is
    the right wrist's position ``"... 3"`` alone (what the IMU needs; about half the work).
    """
    dof = {name: angles[..., i] for i, name in enumerate(DOFS)}
    length = {name: body.lengths[..., i] for i, name in enumerate(SEGMENTS)}
    trunk = _turn(_rotation(1, dof["trunk_yaw"]), 0, -dof["trunk_flex"])
    pelvis = _rotation(1, 0.3 * dof["trunk_yaw"])
    ndim = angles.ndim - 1
    base = np.moveaxis(body.root, -1, 0)
    root = _vector(ndim, *base) + _vector(ndim, 0.0, dof["root_y"], dof["root_z"])

    def leg(side: float, hip: Array, knee: Array) -> list[Array]:
        joint = _apply(pelvis, side * length["hip"], -0.05, 0.0)
        thigh = _turn(pelvis, 0, hip)
        knee_at = joint + _apply(thigh, 0.0, -length["thigh"], 0.0)
        shin = _turn(thigh, 0, -knee)
        ankle = knee_at + _apply(shin, 0.0, -length["shin"], 0.0)
        toe = ankle + _apply(pelvis, 0.0, -0.05, -length["foot"])
        return [joint, knee_at, ankle, toe]

    right_leg = leg(1.0, dof["r_hip"], dof["r_knee"]) if planted or not wrist_only else []
    if planted:
        drop = -0.05 - length["thigh"] - length["shin"]
        rest_ankle = _vector(ndim, length["hip"], drop, 0.0)
        root = root + rest_ankle - right_leg[2]
    neck = _apply(trunk, 0.0, length["spine"] + length["chest"], 0.0)

    def arm(side: float, prefix: str) -> tuple[list[Array], Array]:
        top = neck + _apply(trunk, side * length["shoulder"], -0.03, 0.0)
        upper = _turn(trunk, 0, dof[f"{prefix}_flex"])
        upper = _turn(upper, 2, side * dof[f"{prefix}_abd"])
        upper = _turn(upper, 1, side * dof[f"{prefix}_rot"])
        elbow = top + _apply(upper, 0.0, -length["upper"], 0.0)
        forearm = _turn(_turn(upper, 0, dof[f"{prefix}_elbow"]), 1, side * dof[f"{prefix}_pron"])
        wrist = elbow + _apply(forearm, 0.0, -length["fore"], 0.0)
        if wrist_only:
            return [wrist], forearm
        bend = _turn(forearm, 0, dof["r_wrist"]) if prefix == "r" else forearm
        hand = wrist + _apply(bend, 0.0, -length["hand"], 0.0)
        return [top, elbow, wrist, hand], forearm

    right_arm, forearm = arm(1.0, "r")
    mount = np.moveaxis(body.mount, (-2, -1), (0, 1))
    sensor = np.moveaxis(np.einsum("ij...,jk...->ik...", forearm, mount), (0, 1), (-2, -1))
    if wrist_only:
        return np.moveaxis(right_arm[0] + root, 0, -1), sensor
    left_arm, _ = arm(-1.0, "l")
    left_leg = leg(-1.0, dof["l_hip"], dof["l_knee"])
    spine = _apply(trunk, 0.0, length["spine"], 0.0)
    head = neck + _apply(trunk, 0.0, length["neck"], 0.0)
    relative = [head, neck, spine, np.zeros_like(spine), *left_arm, *right_arm, *left_leg]
    joints = np.stack(np.broadcast_arrays(*relative, *right_leg)) + root
    return np.moveaxis(joints, (0, 1), (-2, -1)), sensor
