from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mmcontrast.data import STANDARD_GRAVITY, simulate_imu


def _fixed(rotation: np.ndarray, position: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    def motion(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        place = np.zeros(3) if position is None else position
        return np.broadcast_to(place, (*t.shape, 3)), np.broadcast_to(rotation, (*t.shape, 3, 3))

    return motion


def test_a_static_sensor_reads_one_g_up_in_its_own_frame() -> None:
    rotation = Rotation.from_euler("xyz", [30.0, -50.0, 110.0], degrees=True).as_matrix()
    acc, gyro = simulate_imu(_fixed(rotation), np.linspace(0.0, 2.0, 7))
    np.testing.assert_allclose(np.linalg.norm(acc, axis=-1), 1.0, atol=1e-9)
    np.testing.assert_allclose(acc, np.tile(rotation.T @ [0.0, 1.0, 0.0], (7, 1)), atol=1e-9)
    np.testing.assert_allclose(gyro, 0.0, atol=1e-9)


def test_free_fall_reads_zero_and_custom_gravity_is_honoured() -> None:
    def falling(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        position = np.stack([0 * t, -0.5 * STANDARD_GRAVITY * t**2, 0 * t], axis=-1)
        return position, np.broadcast_to(np.eye(3), (*t.shape, 3, 3))

    acc, _ = simulate_imu(falling, np.array([0.1, 0.5, 1.0]))
    np.testing.assert_allclose(acc, 0.0, atol=1e-6)
    acc, _ = simulate_imu(_fixed(np.eye(3)), np.zeros(2), gravity=(0.0, 0.0, -2 * STANDARD_GRAVITY))
    np.testing.assert_allclose(acc, [[0.0, 0.0, 2.0]] * 2, atol=1e-9)


def test_circular_motion_centripetal_acceleration_and_constant_rate() -> None:
    radius, rate = 0.4, 3.0  # metres, rad/s: a sensor on a turntable, x axis pointing inwards

    def turntable(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        angle = rate * t
        position = radius * np.stack([np.cos(angle), 0 * t, np.sin(angle)], axis=-1)
        inward = -position / radius
        up = np.broadcast_to([0.0, 1.0, 0.0], inward.shape)
        return position, np.stack([inward, up, np.cross(inward, up)], axis=-1)

    acc, gyro = simulate_imu(turntable, np.linspace(0.0, 3.0, 11))
    centripetal = rate**2 * radius / STANDARD_GRAVITY
    np.testing.assert_allclose(acc, np.tile([centripetal, 1.0, 0.0], (11, 1)), atol=1e-6)
    np.testing.assert_allclose(gyro, np.tile([0.0, -np.rad2deg(rate), 0.0], (11, 1)), atol=1e-6)


def test_integrating_the_gyroscope_reproduces_the_rotation() -> None:
    def tumbling(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        angles = np.stack([2.0 * np.sin(1.3 * t), 1.1 * t**2, 0.7 * np.cos(2.1 * t) + t], axis=-1)
        rotation = Rotation.from_euler("zyx", angles.reshape(-1, 3)).as_matrix()
        return np.zeros((*t.shape, 3)), rotation.reshape(*t.shape, 3, 3)

    step, duration = 1e-3, 2.0
    mid_times = (np.arange(int(duration / step)) + 0.5) * step
    _, gyro = simulate_imu(tumbling, mid_times)
    orientation = tumbling(np.zeros(1))[1][0]
    for rate in np.deg2rad(gyro):  # body-frame rates: R <- R exp(omega dt)
        orientation = orientation @ Rotation.from_rotvec(rate * step).as_matrix()
    expected = tumbling(np.array([duration]))[1][0]
    assert np.abs(orientation - expected).max() < 1e-5


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="^simulate_imu: motion must be callable"):
        simulate_imu(np.eye(3), np.zeros(2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^simulate_imu: step must be in \(0, inf\)"):
        simulate_imu(_fixed(np.eye(3)), np.zeros(2), step=0.0)
    with pytest.raises(ValueError, match="gravity must be 3 finite numbers"):
        simulate_imu(_fixed(np.eye(3)), np.zeros(2), gravity=(0.0, 1.0))  # type: ignore[arg-type]

    def flat(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(3), np.eye(3)

    with pytest.raises(
        ValueError, match=r"must return positions \(2, 3\) and rotations \(2, 3, 3\)"
    ):
        simulate_imu(flat, np.zeros(2))
