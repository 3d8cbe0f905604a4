"""Synthetic paired IMU + skeleton data whose wrist IMU is derived physically from the skeleton.

Each class is a motion program for a 20-joint body in UTD-MHAD's joint order (keyframes of
joint angles with minimum-jerk blends and windowed oscillations, one per UTD-MHAD action).
Subjects differ in body size and proportions, posture, speed, amplitude, where they stand,
the camera's tilt and how the sensor sits on the wrist; trials differ in speed, amplitude,
timing and where the IMU recording starts and stops. The skeleton is sampled at 30 Hz with
Kinect-like jitter, the IMU at 50 Hz: its accelerometer is the second derivative of the right
wrist's position minus gravity, in a sensor frame that turns with the forearm, in g; its
gyroscope is that frame's angular velocity in deg/s (`mmcontrast.data.simulate_imu`),
with white noise and a per-recording bias. So the two modalities share information the way
real ones do, and no single summary feature separates the classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mmcontrast._checks import check_finite_number, check_int, checking
from mmcontrast.data._body import DOFS, SEGMENT_LENGTHS, Body, forward_kinematics, rotation
from mmcontrast.data._motions import PROGRAMS, Program, evaluate_angles
from mmcontrast.data.imu import simulate_imu
from mmcontrast.data.paired import PairedDataset
from mmcontrast.data.preprocessing import Resample
from mmcontrast.data.recordings import Recordings
from mmcontrast.data.utd_mhad import UTD_MHAD_CLASSES

__all__ = ["SYNTHETIC_CLASSES", "make_synthetic", "synthetic_recordings"]

Array = NDArray[np.float64]

SYNTHETIC_CLASSES: tuple[str, ...] = UTD_MHAD_CLASSES
"""The synthetic classes: one motion program per UTD-MHAD action, same names and order."""

_OWNER = "synthetic_recordings"
_ARM_DOFS = tuple(
    DOFS.index(name)
    for name in ("r_flex", "r_abd", "r_rot", "r_elbow", "r_pron", "l_flex", "l_abd", "l_elbow")
)
_DISTAL = (6, 7, 10, 11, 14, 15, 18, 19)  # wrists, hands, ankles, feet: noisier in Kinect
_KEY_STYLE = 15.0  # degrees: how much each subject's keyframe poses differ, per class
_KEY_JITTER = 6.0  # degrees: how much each trial's keyframe poses differ
_JITTER, _JITTER_DISTAL = 0.03, 0.05  # metres: Kinect tracking error, trunk vs extremities
_HEADING = 25.0  # degrees: how far from facing the camera each trial is performed
_SMOOTH = 6  # frames over which the slow part of the tracking error is averaged
# Sensor axes in forearm coordinates: x along the forearm towards the hand, y to the
# forearm's right side (the body's right at rest), z = x cross y.
_BASE_MOUNT = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
_BASE_MOUNT.setflags(write=False)


def synthetic_recordings(
    *,
    num_classes: int = 27,
    num_subjects: int = 8,
    num_trials: int = 4,
    seed: int = 0,
    noise: float = 1.0,
    variation: float = 1.0,
    imu_rate: float = 50.0,
    skeleton_rate: float = 30.0,
) -> Recordings:
    """Generate native-rate paired recordings, named and numbered like UTD-MHAD.

    Recordings are ``a{A}_s{S}_t{T}`` for every class, subject and trial (none missing),
    sorted by (action, subject, trial), so the UTD-MHAD protocols apply unchanged
    (`mmcontrast.data.cross_subject_split`). Inertial ``(T, 6)``: acc x, y, z in g,
    gyro x, y, z in deg/s; skeleton ``(T, 20, 3)`` in metres, in the frame of a camera about
    3 m in front of the subject. The same arguments always give the same data.

    Args:
        num_classes: how many of the 27 programs to use (the first ones, in
            `SYNTHETIC_CLASSES` order).
        num_subjects: subjects, numbered from 1.
        num_trials: trials per class and subject, numbered from 1.
        seed: the random seed.
        noise: multiplies every sensor noise (0 gives exact, noise-free readings).
        variation: multiplies the between-subject and between-trial variation (0 gives
            identical subjects and trials).
        imu_rate: inertial sampling rate in Hz.
        skeleton_rate: skeleton frame rate in Hz.

    Examples:
        >>> from mmcontrast.data import synthetic_recordings
        >>> recordings = synthetic_recordings(num_classes=2, num_subjects=2, num_trials=1)
        >>> recordings.names
        ('a1_s1_t1', 'a1_s2_t1', 'a2_s1_t1', 'a2_s2_t1')
        >>> recordings.inertial[0].shape[1], recordings.skeleton[0].shape[1:]
        (6, (20, 3))
    """
    with checking(_OWNER):
        num_classes = check_int("num_classes", num_classes, minimum=1)
        if num_classes > len(PROGRAMS):
            raise ValueError(f"{_OWNER}: num_classes must be <= {len(PROGRAMS)}, got {num_classes}")
        num_subjects = check_int("num_subjects", num_subjects, minimum=1)
        num_trials = check_int("num_trials", num_trials, minimum=1)
        check_int("seed", seed, minimum=0)
        noise = check_finite_number("noise", noise, low=0.0)
        variation = check_finite_number("variation", variation, low=0.0)
        imu_rate = check_finite_number("imu_rate", imu_rate, low=0.0, low_open=True)
        skeleton_rate = check_finite_number("skeleton_rate", skeleton_rate, low=0.0, low_open=True)
    rng = np.random.default_rng(seed)
    subjects = _subjects(rng, num_subjects, variation)
    inertial: list[Array] = []
    skeleton: list[Array] = []
    for label in range(num_classes):
        trials = _draw_trials(rng, PROGRAMS[label], subjects, num_trials, variation)
        imu, frames = _record(rng, trials, noise, imu_rate, skeleton_rate)
        inertial += imu
        skeleton += frames
    grid = np.stack(
        np.meshgrid(
            np.arange(num_classes),
            np.arange(1, num_subjects + 1),
            np.arange(1, num_trials + 1),
            indexing="ij",
        ),
        axis=-1,
    ).reshape(-1, 3)
    return Recordings(
        inertial=tuple(inertial),
        skeleton=tuple(skeleton),
        label=grid[:, 0].astype(np.int64),
        subject=grid[:, 1].astype(np.int64),
        trial=grid[:, 2].astype(np.int64),
        names=tuple(f"a{a + 1}_s{s}_t{t}" for a, s, t in grid),
        classes=SYNTHETIC_CLASSES[:num_classes],
    )


def make_synthetic(
    *,
    length: int | tuple[int, int] | None = 50,
    resample: Resample = "linear",
    num_classes: int = 27,
    num_subjects: int = 8,
    num_trials: int = 4,
    seed: int = 0,
    noise: float = 1.0,
    variation: float = 1.0,
    imu_rate: float = 50.0,
    skeleton_rate: float = 30.0,
) -> PairedDataset:
    """Synthetic paired data preprocessed like UTD-MHAD, as a `PairedDataset`.

    `synthetic_recordings`, then `Recordings.to_dataset` with UTD-MHAD's
    skeleton normalisation (recentred on the spine of the first frame, scaled by the
    shoulder_center-spine distance). The default 27 classes x 8 subjects x 4 trials (864
    pairs) take about a second to generate.

    Args:
        length: steps per sequence, a pair ``(inertial, skeleton)``, or ``None`` for native
            lengths with masks.
        resample: ``"linear"`` (default; needs no scipy) or ``"fft"`` (the references').
        num_classes: see `synthetic_recordings`.
        num_subjects: see `synthetic_recordings`.
        num_trials: see `synthetic_recordings`.
        seed: see `synthetic_recordings`.
        noise: see `synthetic_recordings`.
        variation: see `synthetic_recordings`.
        imu_rate: see `synthetic_recordings`.
        skeleton_rate: see `synthetic_recordings`.

    Shapes:
        output: inertial ``"n t 6"``, skeleton ``"n t 20 3"``, label ``"n"``.

    Examples:
        >>> from mmcontrast.data import make_synthetic
        >>> data = make_synthetic(num_classes=4, num_subjects=2, num_trials=2, seed=1)
        >>> data.inertial.shape, data.skeleton.shape, data.num_classes
        (torch.Size([16, 50, 6]), torch.Size([16, 50, 20, 3]), 4)
    """
    recordings = synthetic_recordings(
        num_classes=num_classes,
        num_subjects=num_subjects,
        num_trials=num_trials,
        seed=seed,
        noise=noise,
        variation=variation,
        imu_rate=imu_rate,
        skeleton_rate=skeleton_rate,
    )
    return recordings.to_dataset(
        length=length, resample=resample, anchor_joint=2, scale_joints=(1, 2)
    )


def _random_rotation(rng: np.random.Generator, count: int, degrees: float) -> Array:
    """Rotations about random axes by angles drawn from N(0, degrees^2), ``(count, 3, 3)``."""
    axis = rng.normal(size=(count, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = np.deg2rad(rng.normal(0.0, degrees, size=count))
    cross = np.zeros((count, 3, 3))
    cross[:, 0, 1], cross[:, 0, 2], cross[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    cross -= cross.transpose(0, 2, 1)
    sin, cos = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + sin * cross + (1.0 - cos) * cross @ cross


def _subjects(rng: np.random.Generator, count: int, variation: float) -> dict[str, Array]:
    """Per-subject body, posture, speed, amplitude, placement, camera tilt and sensor mount."""
    size = 1.0 + variation * rng.uniform(-0.1, 0.1, size=(count, 1))
    proportions = 1.0 + variation * rng.uniform(-0.05, 0.05, size=(count, len(SEGMENT_LENGTHS)))
    style = np.zeros((count, len(DOFS)))
    style[:, list(_ARM_DOFS)] = variation * rng.normal(0.0, 6.0, size=(count, len(_ARM_DOFS)))
    style[:, DOFS.index("trunk_flex")] = variation * rng.normal(0.0, 3.0, size=count)
    return {
        "lengths": SEGMENT_LENGTHS * size * proportions,
        "amplitude": 1.0 + variation * rng.uniform(-0.15, 0.15, size=count),
        "speed": np.exp(variation * rng.uniform(-0.2, 0.2, size=count)),
        "style": style,
        "root": np.stack(
            [
                variation * rng.uniform(-0.25, 0.25, size=count),
                -0.15 + variation * rng.uniform(-0.12, 0.12, size=count),
                2.9 + variation * rng.uniform(-0.35, 0.35, size=count),
            ],
            axis=1,
        ),
        "tilt": variation * rng.uniform(-6.0, 6.0, size=count),
        "mount": _BASE_MOUNT @ _random_rotation(rng, count, 10.0 * variation),
    }


@dataclass(frozen=True)
class _Trials:
    """Every subject's and trial's recording of one class: parameters and motion, ``n`` rows."""

    program: Program
    duration: Array  # (n,) seconds of motion
    amplitude: Array  # (n,) scale of the deviations from rest
    warp: Array  # (n,) smooth time warp, |warp| < 1 keeps time monotonic
    style: Array  # (n, d) posture offsets in degrees
    values: Array  # (n, k, d) this recording's keyframe poses
    stops: Array  # (n, k) this recording's keyframe times
    lead: Array  # (n,) seconds the IMU records before the motion starts
    lag: Array  # (n,) seconds the IMU records after the motion ends
    heading: Array  # (n,) degrees the body turns away from the camera
    tilt: Array  # (n,) camera pitch in degrees
    body: Body

    def pose(self, times: Array, *, wrist_only: bool) -> tuple[Array, Array]:
        """Joints (or the right wrist) in world coordinates and the sensor rotation."""
        x = times / self.duration[:, None]
        phase = np.clip(x + self.warp[:, None] * np.sin(2.0 * np.pi * x) / (2.0 * np.pi), 0.0, 1.0)
        angles = evaluate_angles(
            self.program, phase, self.amplitude[:, None], values=self.values, stops=self.stops
        )
        return forward_kinematics(
            angles + self.style[:, None, :],
            self.body,
            planted=self.program.planted,
            wrist_only=wrist_only,
        )

    def sensor(self, times: Array) -> tuple[Array, Array]:
        """The wrist sensor's `mmcontrast.data.imu.Motion`: position and rotation."""
        return self.pose(times, wrist_only=True)

    def to_camera(self, joints: Array) -> Array:
        """World joints ``(n, t, 20, 3)`` as the tilted camera sees the turned body.

        The subject faces the camera only roughly: turning the body about the vertical
        moves the skeleton but leaves the IMU readings unchanged (gravity is vertical).
        """
        anchor = self.body.root[:, :, None, :]
        turn = rotation(1, self.heading)[:, None, None]
        turned = anchor + np.einsum("...ij,...j->...i", turn, joints - anchor)
        tilt = rotation(0, self.tilt)[:, None, None]
        return np.asarray(np.einsum("...ij,...j->...i", tilt, turned), dtype=np.float64)


def _draw_trials(
    rng: np.random.Generator,
    program: Program,
    subjects: dict[str, Array],
    trials: int,
    variation: float,
) -> _Trials:
    """Draw every subject's and trial's parameters for one class (subject-major rows)."""
    who = np.repeat(np.arange(len(subjects["speed"])), trials)
    count = who.size
    trial_speed = np.exp(variation * rng.normal(0.0, 0.08, size=count))
    amplitude = subjects["amplitude"][who] * (1.0 + variation * rng.normal(0.0, 0.06, size=count))
    style = subjects["style"][who] + variation * rng.normal(0.0, 2.0, size=(count, len(DOFS)))
    angle_dofs = DOFS.index("root_y")
    style[:, angle_dofs:] = 0.0
    values = np.array(np.broadcast_to(program.values, (count, *program.values.shape)))
    interior = (values.shape[1] - 2, angle_dofs)
    personal = rng.normal(0.0, _KEY_STYLE, size=(len(subjects["speed"]), *interior))
    values[:, 1:-1, :angle_dofs] += variation * (
        personal[who] + rng.normal(0.0, _KEY_JITTER, size=(count, *interior))
    )
    default = np.array([key for key, _ in program.keys])
    room = np.minimum(np.diff(default)[:-1], np.diff(default)[1:])  # interior stops' gaps
    shift = np.clip(variation * rng.uniform(-1.0, 1.0, size=(count, room.size)), -1.0, 1.0)
    stops = np.array(np.broadcast_to(default, (count, default.size)))
    stops[:, 1:-1] += 0.4 * room * shift
    lead, lag = variation * rng.uniform(0.0, 0.4, size=(2, count))
    return _Trials(
        program=program,
        duration=program.duration / subjects["speed"][who] / trial_speed,
        amplitude=amplitude,
        warp=np.clip(variation * rng.uniform(-0.3, 0.3, size=count), -0.9, 0.9),
        style=style,
        values=values,
        stops=stops,
        lead=lead,
        lag=lag,
        heading=variation * rng.normal(0.0, _HEADING, size=count),
        tilt=subjects["tilt"][who],
        body=Body(
            lengths=subjects["lengths"][who][:, None, :],
            root=subjects["root"][who][:, None, :],
            mount=subjects["mount"][who][:, None],
        ),
    )


def _record(
    rng: np.random.Generator,
    trials: _Trials,
    noise: float,
    imu_rate: float,
    skeleton_rate: float,
) -> tuple[list[Array], list[Array]]:
    """Sample the IMU (physics + sensor noise) and the skeleton (camera + tracking noise)."""
    count = trials.duration.size
    imu_steps = (
        np.floor((trials.duration + trials.lead + trials.lag) * imu_rate).astype(np.int64) + 1
    )
    imu_times = np.arange(imu_steps.max())[None, :] / imu_rate - trials.lead[:, None]
    acc, gyro = simulate_imu(trials.sensor, imu_times)
    acc += noise * (
        rng.normal(0.0, 0.02, size=acc.shape) + rng.normal(0.0, 0.03, size=(count, 1, 3))
    )
    gyro += noise * (
        rng.normal(0.0, 1.5, size=gyro.shape) + rng.normal(0.0, 2.0, size=(count, 1, 3))
    )
    frames = np.floor(trials.duration * skeleton_rate).astype(np.int64) + 1
    frame_times = np.broadcast_to(np.arange(frames.max()) / skeleton_rate, (count, frames.max()))
    joints = trials.to_camera(trials.pose(frame_times, wrist_only=False)[0])
    joints += noise * _kinect_noise(rng, joints.shape)
    imu = np.concatenate([acc, gyro], axis=-1)
    return (
        [imu[row, : imu_steps[row]] for row in range(count)],
        [joints[row, : frames[row]] for row in range(count)],
    )


def _kinect_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """Skeleton tracking error ``(n, t, 20, 3)`` in metres.

    White jitter plus a slowly varying error (white noise averaged over about 0.2 s), larger
    on wrists, hands, ankles and feet.
    """
    scale = np.full(20, _JITTER)
    scale[list(_DISTAL)] = _JITTER_DISTAL
    white = rng.standard_normal(size=shape, dtype=np.float32)
    fresh = rng.standard_normal(size=(shape[0], shape[1] + _SMOOTH, *shape[2:]), dtype=np.float32)
    summed = np.cumsum(fresh, axis=1, dtype=np.float64)
    drift = (summed[:, _SMOOTH:] - summed[:, :-_SMOOTH]) / np.sqrt(_SMOOTH)
    return np.asarray((white + drift) / np.sqrt(2.0) * scale[:, None], dtype=np.float64)
