from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import mmcontrast.data.mmact as mmact_module
from mmcontrast.data import (
    MMACT_ACTIVITIES,
    MMActLayout,
    PairedDataset,
    load_mmact,
    mmact_split,
    read_mmact,
)

STREAMS = {
    "acc_phone_clip": 100.0,
    "acc_watch_clip": 100.0,
    "gyro_clip": 50.0,
    "orientation_clip": 50.0,
}


def _write_stream(path: Path, rate: float, seconds: float, offset: float, channel: int) -> None:
    """Rows 'timestamp_ms, x, y, z' with x = time in seconds, y = channel id, z = 2 * time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    times = offset + np.arange(int(seconds * rate)) / rate
    rows = [f"{1000 * t:.3f},{t:.6f},{channel},{2 * t:.6f}" for t in times]
    path.write_text("\n".join(rows) + "\n")


def _write_pose(
    path: Path, frames: int, *, second_person: bool = True, empty_frames: int = 0
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {}
    for frame in range(frames):
        first = [v for j in range(17) for v in (10.0 * j, frame, 0.9)]
        second = [v for j in range(17) for v in (-10.0 * j, -frame, 0.8)]
        people = {"person1": first, "person2": second if second_person else []}
        content[f"{frame}"] = {} if frame < empty_frames else people
    path.write_text(json.dumps(content))


def _write_clip(
    root: Path, activity: str, subject: int, scene: int, session: int, **pose: object
) -> None:
    where = Path(f"subject{subject}") / f"scene{scene}" / f"session{session}" / f"{activity}.csv"
    for channel, (stream, rate) in enumerate(STREAMS.items()):
        _write_stream(
            root / stream / where, rate, seconds=2.0, offset=0.01 * channel, channel=channel
        )
    pose_path = (
        root
        / "pose/cross_view/trainval"
        / f"subject{subject}"
        / "cam1"
        / where.parent.relative_to(f"subject{subject}")
        / f"{activity}.json"
    )
    _write_pose(pose_path, 30, **pose)  # type: ignore[arg-type]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "mmact"
    _write_clip(base, "talking", 1, 1, 1)
    _write_clip(base, "talking", 1, 2, 1, second_person=False)
    _write_clip(base, "Walking", 2, 1, 3, empty_frames=5)
    return base


def test_layout_defaults_and_validation() -> None:
    layout = MMActLayout()
    assert layout.num_joints == 17 and layout.camera == "cam1" and layout.rate == 50.0
    assert len(MMACT_ACTIVITIES) == 35 and MMACT_ACTIVITIES.count("using_phone") == 1
    with pytest.raises(
        ValueError, match="streams and stream_rates must be non-empty and of equal length"
    ):
        MMActLayout(stream_rates=(50.0,))
    with pytest.raises(ValueError, match="rates and timestamp_unit must be positive"):
        MMActLayout(rate=0.0)
    with pytest.raises(ValueError, match="activities must be distinct"):
        MMActLayout(activities=("a", "a"))


def test_reads_the_published_layout(root: Path) -> None:
    recordings = read_mmact(root, cache=False)
    assert recordings.names == ("a20_s1_t1_ses1_sc1", "a20_s1_t2_ses1_sc2", "a25_s2_t1_ses3_sc1")
    assert recordings.label.tolist() == [19, 19, 24]  # "talking", "walking" (name lower-cased)
    assert recordings.classes[19] == "talking"
    assert recordings.subject.tolist() == [1, 1, 2] and recordings.trial.tolist() == [1, 2, 1]
    assert recordings.extras["scene"].tolist() == [1, 2, 1]
    assert recordings.extras["session"].tolist() == [1, 1, 3]
    inertial, skeleton = recordings.inertial[0], recordings.skeleton[0]
    assert inertial.shape == (100, 12) and skeleton.shape == (30, 17, 2)
    # upstream alignment: the 100 Hz accelerometers halved (FFT), all cut to the shortest
    np.testing.assert_allclose(
        inertial[:, [1, 4, 7, 10]], np.tile([0.0, 1.0, 2.0, 3.0], (100, 1)), atol=1e-9
    )
    np.testing.assert_allclose(inertial[:, 6], 0.02 + np.arange(100) / 50.0, atol=1e-9)
    assert skeleton[3, 2].tolist() == [-20.0, -3.0]  # person2 preferred, confidence dropped
    assert recordings.skeleton[1][3, 2].tolist() == [20.0, 3.0]  # person1 when person2 is empty
    assert (recordings.skeleton[2][:5] == 0).all() and recordings.skeleton[2][5].any()


def test_timestamp_alignment_interpolates_on_the_common_span(root: Path) -> None:
    recordings = read_mmact(root, align="timestamps", cache=False)
    inertial = recordings.inertial[0]
    # streams start at 0, 10, 20, 30 ms and end 2 s later at their own rates
    time = inertial[:, 0]
    np.testing.assert_allclose(np.diff(time), 0.02, atol=1e-9)
    assert time[0] == pytest.approx(0.03) and time[-1] <= 1.99 + 1e-9
    for first in (0, 3, 6, 9):  # every stream's x is its own time: linear, so exact
        np.testing.assert_allclose(inertial[:, first], time, atol=1e-9)
        np.testing.assert_allclose(inertial[:, first + 2], 2 * time, atol=1e-9)


def test_incomplete_clips_are_reported(root: Path) -> None:
    (root / "gyro_clip/subject1/scene2/session1/talking.csv").unlink()
    _write_clip(root, "fall", 3, 1, 1)
    (root / "acc_watch_clip/subject3/scene1/session1/fall.csv").write_text("")
    _write_clip(root, "kicking", 4, 1, 1)
    pose = root / "pose/cross_view/trainval/subject4/cam1/scene1/session1/kicking.json"
    pose.write_text(json.dumps({"0": {"person1": []}, "1": {}}))
    with pytest.warns(UserWarning, match=r"skipped 3 incomplete clip\(s\)") as caught:
        recordings = read_mmact(root, cache=False)
    assert len(recordings) == 2
    assert recordings.missing == {
        "a20_s1_ses1_sc2": "gyro_clip absent",
        "a7_s3_ses1_sc1": "empty stream: acc_watch_clip",
        "a9_s4_ses1_sc1": "no person in any pose frame",
    }
    assert "a20_s1_ses1_sc2 (gyro_clip absent)" in str(caught[0].message)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("csv", r"cannot parse .*talking.csv as rows of 'timestamp, x, y, z' numbers"),
        ("json", r"cannot parse .*talking.json as pose frames of 17 \(x, y, confidence\)"),
        ("keypoints", r"cannot parse .*talking.json as pose frames"),
        ("activity", r"unknown activity 'dancing'; pass MMActLayout\(activities=...\)"),
        ("folder", r"folder 'subj1' should be subject<number>"),
    ],
)
def test_bad_files_are_named(root: Path, edit: str, message: str) -> None:
    clip = "subject1/scene1/session1"
    pose = root / "pose/cross_view/trainval/subject1/cam1/scene1/session1/talking.json"
    if edit == "csv":
        (root / "gyro_clip" / clip / "talking.csv").write_text("1,2,three,4\n")
    elif edit == "json":
        pose.write_text("{not json")
    elif edit == "keypoints":
        pose.write_text(json.dumps({"0": {"person1": [1.0, 2.0, 3.0]}}))
    elif edit == "activity":
        _write_clip(root, "dancing", 1, 1, 1)
    else:
        _write_stream(root / "gyro_clip/subj1/scene1/session1/talking.csv", 50.0, 1.0, 0.0, 0)
    with pytest.raises(ValueError, match=message):
        read_mmact(root, cache=False)


def test_layout_options(root: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no folder"):
        read_mmact(tmp_path / "nowhere")
    empty = MMActLayout(camera="cam2")
    with pytest.raises(
        FileNotFoundError,
        match=r"no complete clip .*; 3 incomplete: a20_s1_ses1_sc1 \(pose absent\)",
    ):
        read_mmact(root, layout=empty, cache=False)
    renamed = MMActLayout(activities=("walking", "talking"))
    assert read_mmact(root, layout=renamed, cache=False).label.tolist() == [0, 1, 1]
    single = MMActLayout(streams=("gyro_clip",), stream_rates=(50.0,), rate=25.0)
    recordings = read_mmact(root, layout=single, resample="linear", cache=False)
    assert recordings.inertial[0].shape == (50, 3)
    with pytest.raises(TypeError, match="layout must be an MMActLayout"):
        read_mmact(root, layout="default")  # type: ignore[arg-type]


def test_load_and_cache(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = load_mmact(root, cache_dir=tmp_path / "cache")
    assert data.inertial.shape == (3, 50, 12) and data.skeleton.shape == (3, 50, 17, 2)
    assert set(data.extras) == {"scene", "session"}
    native = load_mmact(root, length=None, anchor_joint=0, cache_dir=tmp_path / "cache")
    assert native.skeleton.shape == (3, 30, 17, 2)
    assert native.skeleton[0, 0, 0].tolist() == [0.0, 0.0]
    assert list((tmp_path / "cache").glob("mmact-*.npz"))
    monkeypatch.setattr(mmact_module, "read_pose", _fail)  # a cache hit parses nothing
    assert len(read_mmact(root, cache_dir=tmp_path / "cache")) == 3
    with pytest.raises(AssertionError, match="parsed on a cache hit"):  # a new layout: a miss
        read_mmact(root, layout=MMActLayout(camera="cam1", rate=25.0), cache_dir=tmp_path / "cache")


def _fail(*args: object, **kwargs: object) -> None:
    raise AssertionError("parsed on a cache hit")


def _protocol_data() -> PairedDataset:
    subject, scene, session = np.meshgrid(
        np.arange(1, 21), np.arange(1, 5), np.arange(1, 6), indexing="ij"
    )
    count = subject.size
    return PairedDataset(
        inertial=torch.zeros(count, 2, 12),
        skeleton=torch.zeros(count, 2, 17, 2),
        label=torch.zeros(count, dtype=torch.long),
        subject=torch.as_tensor(subject.ravel()),
        trial=torch.ones(count, dtype=torch.long),
        extras={
            "scene": torch.as_tensor(scene.ravel()),
            "session": torch.as_tensor(session.ravel()),
        },
    )


def test_protocols() -> None:
    data = _protocol_data()
    subject = data.subject.numpy()
    scene, session = data.extras["scene"].numpy(), data.extras["session"].numpy()
    split = mmact_split(data)
    assert set(subject[split.train]) == set(range(1, 13))
    assert set(subject[split.val]) == {13, 14, 15}
    assert set(subject[split.test]) == {17, 18, 19, 20}
    split = mmact_split(data, protocol="cross-scene")
    assert set(scene[split.train]) == {1, 3, 4} and set(subject[split.train]) == set(range(1, 17))
    assert set(subject[split.val]) == set(range(17, 21)) and set(scene[split.test]) == {2}
    split = mmact_split(data, protocol="cross-session")
    assert set(session[split.train]) == {1, 2, 3, 4} and set(session[split.test]) == {5}
    assert set(subject[split.val]) == set(range(17, 21))
    with pytest.raises(ValueError, match="protocol must be one of 'cross-subject'"):
        mmact_split(data, protocol="cross-view")  # type: ignore[arg-type]
    plain = data.subset([0, 1])
    plain.extras.pop("scene")
    with pytest.raises(ValueError, match="the dataset has no 'scene' extra"):
        mmact_split(plain)
