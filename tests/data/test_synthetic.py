from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mmcontrast.data import (
    STANDARD_GRAVITY,
    SYNTHETIC_CLASSES,
    UTD_MHAD_CLASSES,
    cross_subject_split,
    make_synthetic,
    simulate_imu,
    synthetic_recordings,
)
from mmcontrast.data._motions import PROGRAMS
from mmcontrast.data.synthetic import _draw_trials, _subjects
from tests.data.helpers import modality_accuracies


@pytest.fixture(scope="module")
def default_data():  # type: ignore[no-untyped-def]
    return make_synthetic()


def test_layout_like_utd_mhad(default_data) -> None:  # type: ignore[no-untyped-def]
    data = default_data
    assert SYNTHETIC_CLASSES == UTD_MHAD_CLASSES
    assert data.inertial.shape == (864, 50, 6) and data.skeleton.shape == (864, 50, 20, 3)
    assert data.classes == UTD_MHAD_CLASSES and data.names[:2] == ("a1_s1_t1", "a1_s1_t2")
    assert torch.bincount(data.label).tolist() == [32] * 27
    split = cross_subject_split(data.subject)
    assert (split.train.size, split.test.size) == (432, 432)
    assert bool(torch.isfinite(data.inertial).all() and torch.isfinite(data.skeleton).all())


def test_native_rates_and_lengths() -> None:
    recordings = synthetic_recordings(num_classes=4, num_subjects=3, num_trials=2, seed=2)
    imu, frames = recordings.inertial_lengths, recordings.skeleton_lengths
    assert frames.min() > 1.5 * 30 and frames.max() < 7.0 * 30  # seconds of motion at 30 Hz
    ratio = imu / frames
    assert ratio.min() > 50 / 30 - 0.05 and ratio.max() < 50 / 30 * 1.4  # plus IMU lead and lag
    fast = synthetic_recordings(
        num_classes=1, num_subjects=1, num_trials=1, imu_rate=100.0, skeleton_rate=15.0
    )
    assert fast.inertial_lengths[0] / fast.skeleton_lengths[0] > 5.0


def test_seeded_and_deterministic() -> None:
    first = synthetic_recordings(num_classes=3, num_subjects=2, num_trials=2, seed=7)
    again = synthetic_recordings(num_classes=3, num_subjects=2, num_trials=2, seed=7)
    other = synthetic_recordings(num_classes=3, num_subjects=2, num_trials=2, seed=8)
    for a, b in zip(first.inertial + first.skeleton, again.inertial + again.skeleton, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.skeleton[0][:5], other.skeleton[0][:5])


def test_without_noise_or_variation_every_recording_of_a_class_is_identical() -> None:
    recordings = synthetic_recordings(
        num_classes=2, num_subjects=3, num_trials=2, noise=0.0, variation=0.0
    )
    for label in range(2):
        rows = np.flatnonzero(recordings.label == label)
        for row in rows[1:]:
            np.testing.assert_allclose(
                recordings.inertial[row], recordings.inertial[rows[0]], atol=1e-9
            )
            np.testing.assert_allclose(
                recordings.skeleton[row], recordings.skeleton[rows[0]], atol=1e-12
            )


def test_a_resting_sensor_reads_one_g_before_the_motion_starts() -> None:
    recordings = synthetic_recordings(num_classes=27, num_subjects=2, num_trials=1, noise=0.0)
    for inertial in recordings.inertial:
        assert abs(np.linalg.norm(inertial[0, :3]) - 1.0) < 1e-6
        assert np.abs(inertial[0, 3:]).max() < 1e-3
    noisy = synthetic_recordings(num_classes=27, num_subjects=2, num_trials=1)
    first = np.stack([np.linalg.norm(x[0, :3]) for x in noisy.inertial])
    assert abs(first.mean() - 1.0) < 0.05 and first.std() > 0.005  # sensor noise and bias


@pytest.mark.parametrize("label", [0, 4, 8, 21, 23])
def test_imu_is_the_skeleton_wrist_physics(label: int) -> None:
    """|specific force| from the skeleton's wrist track equals |accelerometer| (frame-free)."""
    rate = 600.0
    recordings = synthetic_recordings(
        num_classes=label + 1, num_subjects=1, num_trials=1, noise=0.0, variation=0.0,
        imu_rate=rate, skeleton_rate=rate,
    )  # fmt: skip
    wrist = recordings.skeleton[label][:, 10]  # camera frame = world frame without variation
    acceleration = (wrist[2:] - 2 * wrist[1:-1] + wrist[:-2]) * rate**2
    specific = (
        np.linalg.norm(acceleration - [0.0, -STANDARD_GRAVITY, 0.0], axis=1) / STANDARD_GRAVITY
    )
    measured = np.linalg.norm(recordings.inertial[label][1 : len(specific) + 1, :3], axis=1)
    error = np.abs(measured - specific)  # the jerk jumps where keyframes meet: O(h) there
    assert np.median(error) < 5e-4 and error.max() < 1e-2
    assert np.ptp(measured) > 0.1  # the wrist really moves


def test_integrating_the_gyroscope_reproduces_the_sensor_rotation() -> None:
    rng = np.random.default_rng(0)
    trials = _draw_trials(rng, PROGRAMS[4], _subjects(rng, 1, 1.0), 1, 1.0)  # a throw
    step = 1e-3
    duration = float(trials.duration[0])
    mid = (np.arange(int(duration / step)) + 0.5)[None] * step
    _, gyro = simulate_imu(trials.sensor, mid)
    orientation = trials.sensor(np.zeros((1, 1)))[1][0, 0]
    for rate in np.deg2rad(gyro[0]):
        orientation = orientation @ Rotation.from_rotvec(rate * step).as_matrix()
    expected = trials.sensor(np.full((1, 1), mid[0, -1] + step / 2))[1][0, 0]
    assert np.abs(orientation - expected).max() < 1e-3
    assert np.abs(np.rad2deg(gyro)).max() > 300  # a fast motion: the check is not vacuous


def _summaries(data) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """Per-sequence mean and standard deviation of every inertial and skeleton channel."""
    channels = torch.cat([data.inertial, data.skeleton.flatten(2)], dim=2)
    return torch.cat([channels.mean(1), channels.std(1)], dim=1)


def test_learnable_but_not_by_one_feature(default_data) -> None:  # type: ignore[no-untyped-def]
    train, _, test = default_data.split(cross_subject_split(default_data.subject))
    accuracy = modality_accuracies(train, test)
    assert accuracy["inertial"] > 0.45 and accuracy["skeleton"] > 0.6 and accuracy["both"] > 0.6, (
        accuracy
    )
    assert max(accuracy.values()) < 0.99, accuracy  # not trivially separable either
    # Nearest class mean on each single summary feature (132 of them), held-out subjects.
    features, held_out = _summaries(train), _summaries(test)
    means = torch.stack([features[train.label == c].mean(0) for c in range(27)])  # "k f"
    guess = (held_out[:, None, :] - means[None]).abs().argmin(1)  # "n f"
    best = float((guess == test.label[:, None]).float().mean(0).max())
    assert best < 0.3, best  # no single summary feature comes close to separating 27 classes
    print(f"synthetic ridge accuracy {accuracy}, best single feature {best:.3f}")


def test_fft_resampling_and_native_lengths() -> None:
    fft = make_synthetic(
        num_classes=2, num_subjects=2, num_trials=1, resample="fft", length=(60, 40)
    )
    assert fft.inertial.shape == (4, 60, 6) and fft.skeleton.shape == (4, 40, 20, 3)
    native = make_synthetic(num_classes=2, num_subjects=2, num_trials=1, length=None)
    assert (
        native.inertial_mask.sum(1).tolist()
        == synthetic_recordings(
            num_classes=2, num_subjects=2, num_trials=1
        ).inertial_lengths.tolist()
    )


def test_bad_arguments() -> None:
    with pytest.raises(
        ValueError, match="^synthetic_recordings: num_classes must be <= 27, got 28"
    ):
        synthetic_recordings(num_classes=28)
    with pytest.raises(ValueError, match="num_subjects must be >= 1"):
        synthetic_recordings(num_subjects=0)
    with pytest.raises(ValueError, match=r"noise must be in \[0, inf\)"):
        synthetic_recordings(noise=-1.0)
    with pytest.raises(ValueError, match=r"imu_rate must be in \(0, inf\)"):
        synthetic_recordings(imu_rate=0.0)
    with pytest.raises(TypeError, match="seed must be an int"):
        synthetic_recordings(seed=1.5)  # type: ignore[arg-type]
