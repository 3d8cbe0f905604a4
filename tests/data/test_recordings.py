from __future__ import annotations

import numpy as np
import pytest
import torch

from mmcontrast.data import Recordings


def _recordings(
    lengths: tuple[int, ...] = (30, 41, 25), frames: tuple[int, ...] = (12, 17, 9)
) -> Recordings:
    rng = np.random.default_rng(0)
    skeletons = []
    for count in frames:
        frames_ = rng.normal(size=(count, 20, 3))
        frames_[:, 1] += [0.0, 0.5, 0.0]
        skeletons.append(frames_)
    size = len(lengths)
    return Recordings(
        inertial=tuple(rng.normal(size=(n, 6)) for n in lengths),
        skeleton=tuple(skeletons),
        label=np.arange(size, dtype=np.int64) % 2,
        subject=np.arange(1, size + 1, dtype=np.int64),
        trial=np.ones(size, dtype=np.int64),
        names=tuple(f"r{i}" for i in range(size)),
        classes=("x", "y"),
        missing={"r9": "absent"},
        extras={"scene": np.arange(size, dtype=np.int64)},
    )


def test_fixed_length_dataset() -> None:
    recordings = _recordings()
    data = recordings.to_dataset(length=50, resample="linear")
    assert data.inertial.shape == (3, 50, 6) and data.skeleton.shape == (3, 50, 20, 3)
    assert data.inertial.dtype == torch.float32 and bool(data.inertial_mask.all())
    np.testing.assert_allclose(
        data.inertial[0, [0, -1]].numpy(), recordings.inertial[0][[0, -1]], rtol=1e-6
    )
    raw = recordings.skeleton[1]
    scale = np.linalg.norm(raw[0, 1] - raw[0, 2])
    np.testing.assert_allclose(
        data.skeleton[1, 0].numpy(), (raw[0] - raw[0, 2]) / scale, rtol=1e-5, atol=1e-6
    )
    assert data.names == recordings.names and data.classes == ("x", "y")
    assert data.extras["scene"].tolist() == [0, 1, 2]
    pair = recordings.to_dataset(length=(120, 40))
    assert pair.inertial.shape[1] == 120 and pair.skeleton.shape[1] == 40


def test_variable_length_dataset_pads_with_masks() -> None:
    recordings = _recordings()
    data = recordings.to_dataset(length=None, anchor_joint=None, scale_joints=None)
    assert data.inertial.shape == (3, 41, 6) and data.skeleton.shape == (3, 17, 20, 3)
    assert data.inertial_mask.sum(1).tolist() == [30, 41, 25]
    assert data.skeleton_mask.sum(1).tolist() == [12, 17, 9]
    np.testing.assert_allclose(data.inertial[2, :25].numpy(), recordings.inertial[2], rtol=1e-6)
    assert bool((data.inertial[2, 25:] == 0).all())
    np.testing.assert_allclose(data.skeleton[0, :12].numpy(), recordings.skeleton[0], rtol=1e-6)
    np.testing.assert_array_equal(recordings.inertial_lengths, [30, 41, 25])
    np.testing.assert_array_equal(recordings.skeleton_lengths, [12, 17, 9])


def test_validation() -> None:
    good = _recordings()
    with pytest.raises(
        ValueError, match=r"one entry per recording \(3 inertial arrays\), got \{'names': 2\}"
    ):
        Recordings(**{**good.__dict__, "names": ("a", "b")})
    with pytest.raises(ValueError, match="inertial arrays must share one t c layout"):
        Recordings(
            **{**good.__dict__, "inertial": (np.ones((4, 6)), np.ones((4, 5)), np.ones((4, 6)))}
        )
    with pytest.raises(TypeError, match="subject must hold integers, got dtype float64"):
        Recordings(**{**good.__dict__, "subject": np.array([1.0, 2.0, 3.0])})
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        Recordings(**{**good.__dict__, "label": np.array([0, 1, 2])})
    with pytest.raises(ValueError, match="length must be >= 1"):
        good.to_dataset(length=0)
    with pytest.raises(ValueError, match="length must be an int, a pair or None"):
        good.to_dataset(length=(1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="resample must be one of"):
        good.to_dataset(resample="nearest")  # type: ignore[arg-type]
    nothing = np.zeros(0, dtype=np.int64)
    empty = Recordings(
        inertial=(),
        skeleton=(),
        label=nothing,
        subject=nothing,
        trial=nothing,
        names=(),
        classes=("x",),
    )
    with pytest.raises(ValueError, match="there are no recordings to preprocess"):
        empty.to_dataset()
