from __future__ import annotations

import numpy as np
import pytest

from mmcontrast.data import recenter_skeleton, resample


@pytest.mark.parametrize("method", ["fft", "linear"])
def test_resample_shape_and_constant(method: str) -> None:
    x = np.full((37, 20, 3), 2.5)
    out = resample(x, 50, method=method)
    assert out.shape == (50, 20, 3)
    np.testing.assert_allclose(out, 2.5, atol=1e-12)


def test_linear_resample_is_exact_on_a_ramp_and_keeps_the_endpoints() -> None:
    x = np.stack([np.arange(7.0), -3.0 * np.arange(7.0)], axis=1)
    out = resample(x, 13, method="linear")
    np.testing.assert_allclose(out[:, 0], np.linspace(0.0, 6.0, 13), atol=1e-12)
    np.testing.assert_allclose(out[[0, -1]], x[[0, -1]])
    np.testing.assert_allclose(resample(out, 7, method="linear"), x, atol=1e-12)


def test_fft_resample_is_exact_for_a_band_limited_periodic_signal() -> None:
    steps, length = 40, 50
    t = np.arange(steps) / steps
    x = np.sin(2 * np.pi * 3 * t) + 0.5 * np.cos(2 * np.pi * 5 * t)
    expected_t = np.arange(length) / length
    expected = np.sin(2 * np.pi * 3 * expected_t) + 0.5 * np.cos(2 * np.pi * 5 * expected_t)
    np.testing.assert_allclose(resample(x, length, method="fft"), expected, atol=1e-12)


def test_resample_same_length_is_a_copy_and_one_step_repeats() -> None:
    x = np.arange(6.0).reshape(3, 2)
    out = resample(x, 3, method="fft")
    np.testing.assert_array_equal(out, x)
    out[0, 0] = 99.0
    assert x[0, 0] == 0.0
    np.testing.assert_array_equal(resample(x[:1], 4, method="linear"), np.repeat(x[:1], 4, 0))


def test_resample_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"^resample: length must be >= 1, got 0"):
        resample(np.ones(4), 0)
    with pytest.raises(TypeError, match="^resample: length must be an int"):
        resample(np.ones(4), 2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^resample: method must be one of 'fft', 'linear'"):
        resample(np.ones(4), 2, method="cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r'x must have shape "t \.\.\." with at least one step'):
        resample(np.ones((0, 6)), 5)


def _skeleton(frames: int = 9, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(frames, 20, 3))
    x[:, 1] += [0.0, 0.4, 0.0]
    return x + np.linspace(0.0, 1.0, frames)[:, None, None]  # the body drifts over time


def test_recenter_uses_the_raw_first_frame() -> None:
    x = _skeleton()
    out = recenter_skeleton(x)
    scale = np.linalg.norm(x[0, 1] - x[0, 2])
    np.testing.assert_allclose(out, (x - x[0, 2]) / scale)
    np.testing.assert_allclose(out[0, 2], 0.0, atol=1e-15)
    assert np.linalg.norm(out[0, 1] - out[0, 2]) == pytest.approx(1.0)
    assert not np.allclose(out[-1, 2], 0.0)  # translation over time is kept


def test_recenter_options() -> None:
    x = _skeleton()
    np.testing.assert_allclose(recenter_skeleton(x, anchor_joint=None, scale_joints=None), x)
    np.testing.assert_allclose(recenter_skeleton(x, anchor_joint=0, scale_joints=None), x - x[0, 0])
    planar = x[..., :2]
    assert recenter_skeleton(planar, anchor_joint=0, scale_joints=(5, 6)).shape == planar.shape


@pytest.mark.parametrize("method", ["fft", "linear"])
def test_recenter_commutes_with_resampling_given_the_raw_first_frame(method: str) -> None:
    x = _skeleton(frames=23)
    first = resample(recenter_skeleton(x), 50, method=method)
    scale = np.linalg.norm(x[0, 1] - x[0, 2])
    second = (resample(x, 50, method=method) - x[0, 2]) / scale
    np.testing.assert_allclose(first, second, atol=1e-12)


def test_recenter_rejects_bad_input() -> None:
    x = _skeleton()
    x[0, 1] = x[0, 2]
    with pytest.raises(ValueError, match="distance between joints 1 and 2 must be positive"):
        recenter_skeleton(x)
    with pytest.raises(ValueError, match="anchor_joint must be < 20"):
        recenter_skeleton(_skeleton(), anchor_joint=20)
    with pytest.raises(ValueError, match=r"scale_joints\[1\] must be >= 0, got -1"):
        recenter_skeleton(_skeleton(), scale_joints=(1, -1))
    with pytest.raises(TypeError, match="scale_joints must be a pair of ints"):
        recenter_skeleton(_skeleton(), scale_joints=[1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r'skeleton must have shape "t j c"'):
        recenter_skeleton(np.zeros((20, 3)))
