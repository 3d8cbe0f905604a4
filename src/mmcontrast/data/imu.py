"""A strapdown IMU model: what an accelerometer and a gyroscope read on a moving rigid body."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mmcontrast._checks import check_finite_number, checking

__all__ = ["STANDARD_GRAVITY", "Motion", "simulate_imu"]

STANDARD_GRAVITY = 9.80665
"""Metres per second squared in one g."""

Motion = Callable[[NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]]
"""``motion(times) -> (position, rotation)``: sensor position ``"... 3"`` in metres and the
world-from-sensor rotation ``"... 3 3"`` (its columns are the sensor axes in world
coordinates), at ``times`` ``"..."`` in seconds."""


def simulate_imu(
    motion: Motion,
    times: ArrayLike,
    *,
    step: float = 1e-3,
    gravity: tuple[float, float, float] = (0.0, -STANDARD_GRAVITY, 0.0),
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Accelerometer (g) and gyroscope (deg/s) readings of a sensor following ``motion``.

    An accelerometer measures specific force, the acceleration minus gravity, in its own
    frame: ``acc = R(t)^T (p''(t) - gravity) / g``; at rest it reads 1 g pointing up. A
    gyroscope measures the angular velocity of its frame, in that frame:
    ``[omega]x = R^T dR/dt``. Both derivatives are central differences of ``motion`` with
    half-width ``step`` (the rotation one through the exact logarithm of
    ``R(t - step)^T R(t + step)``), so ``motion`` must be smooth (twice differentiable) on
    ``[t - step, t + step]``. No noise is added.

    Args:
        motion: the sensor's trajectory, vectorised over times of any shape.
        times: sampling times in seconds.
        step: the finite-difference half-width in seconds, ``> 0``.
        gravity: the gravity vector in world coordinates, m/s^2 (default: ``y`` up).

    Shapes:
        times: ``"..."``; output: ``("... 3", "... 3")``: acceleration in g and angular
        velocity in deg/s, both in the sensor frame.

    Examples:
        >>> import numpy as np
        >>> from mmcontrast.data import simulate_imu
        >>> def spin(t):  # resting sensor turning about the vertical at 90 deg/s
        ...     angle = np.deg2rad(90.0) * t
        ...     c, s, zero, one = np.cos(angle), np.sin(angle), 0 * t, 0 * t + 1
        ...     rotation = np.stack([np.stack([c, zero, s], -1), np.stack([zero, one, zero], -1),
        ...                          np.stack([-s, zero, c], -1)], -2)
        ...     return np.zeros((*np.shape(t), 3)), rotation
        >>> acc, gyro = simulate_imu(spin, np.linspace(0.0, 1.0, 5))
        >>> np.round(acc[0], 6).tolist(), np.round(gyro[0], 6).tolist()
        ([0.0, 1.0, 0.0], [0.0, 90.0, 0.0])
    """
    if not callable(motion):
        raise TypeError(f"simulate_imu: motion must be callable, got {type(motion).__name__}")
    with checking("simulate_imu"):
        step = check_finite_number("step", step, low=0.0, low_open=True)
    down = np.asarray(gravity, dtype=np.float64)
    if down.shape != (3,) or not np.isfinite(down).all():
        raise ValueError(f"simulate_imu: gravity must be 3 finite numbers, got {gravity!r}")
    moments = np.asarray(times, dtype=np.float64)
    position, rotation = motion(np.stack([moments - step, moments, moments + step]))
    position = np.asarray(position, dtype=np.float64)
    rotation = np.asarray(rotation, dtype=np.float64)
    expected = (3, *moments.shape)
    if position.shape != (*expected, 3) or rotation.shape != (*expected, 3, 3):
        raise ValueError(
            f"simulate_imu: motion(times) must return positions {(*moments.shape, 3)} and "
            f"rotations {(*moments.shape, 3, 3)} for times {moments.shape}, got "
            f"{position.shape[1:]} and {rotation.shape[1:]}"
        )
    acceleration = (position[2] - 2.0 * position[1] + position[0]) / step**2
    specific_force = np.einsum("...ji,...j->...i", rotation[1], acceleration - down)
    # R(t - step)^T R(t + step), with the 3 x 3 axes first: fast for long time axes.
    before = np.moveaxis(rotation[0], (-2, -1), (0, 1))
    after = np.moveaxis(rotation[2], (-2, -1), (0, 1))
    relative = np.einsum("ji...,jk...->ik...", before, after)
    cosine = np.clip((relative[0, 0] + relative[1, 1] + relative[2, 2] - 1.0) / 2.0, -1.0, 1.0)
    skew = np.stack(
        [
            relative[2, 1] - relative[1, 2],
            relative[0, 2] - relative[2, 0],
            relative[1, 0] - relative[0, 1],
        ],
        axis=-1,
    )
    rotation_vector = skew / 2.0 / np.sinc(np.arccos(cosine) / np.pi)[..., None]
    angular_velocity = rotation_vector / (2.0 * step)
    return specific_force / STANDARD_GRAVITY, np.rad2deg(angular_velocity)
