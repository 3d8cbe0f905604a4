"""MMAct: a loader for the published archives' layout, as far as it is known.

MMAct (Kong et al., ICCV 2019) is distributed only on request to its authors; this project has
no copy, so the layout below is what the CMC-CMKM preprocessing script parses (upstream
``razzu/cmc-cmkm``, ``datasets/mmact_raw_preprocessing.py``, commit fb19f5b), not something
checked against the data. Every assumption is a field of `MMActLayout`, so a different
release can be described without code changes. Expected layout, after extracting
``acc_phone_clip.tar.gz``, ``acc_watch_clip.tar.gz``, ``gyro_clip.tar.gz``,
``orientation_clip.tar.gz`` and ``trimmed_pose.zip`` into ``root``::

    root/{stream}/subject{S}/scene{C}/session{E}/{activity}.csv
        one file per stream (acc_phone_clip, acc_watch_clip, gyro_clip, orientation_clip);
        no header; rows "timestamp, x, y, z"
    root/pose/cross_view/trainval/subject{S}/cam{K}/scene{C}/session{E}/{activity}.json
        {frame: {"person1": [51 numbers], "person2": [...]}}: 17 COCO keypoints x (x, y,
        confidence) per person and frame

A clip is one (activity, subject, scene, session); its trial is the rank of its (scene,
session) among the subject's clips of that activity, as in the upstream script.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from mmcontrast._checks import check_bool, check_choice, checking
from mmcontrast.data._cache import VERIFY, Verify, cached
from mmcontrast.data._mmact_files import Align, align_streams, read_pose, read_stream
from mmcontrast.data.dataset import MultimodalDataset
from mmcontrast.data.paired import PairedDataset
from mmcontrast.data.preprocessing import RESAMPLE_METHODS, Resample
from mmcontrast.data.recordings import Recordings
from mmcontrast.data.splits import Split

__all__ = [
    "MMACT_ACTIVITIES",
    "MMACT_PROTOCOLS",
    "MMActLayout",
    "MMActProtocol",
    "load_mmact",
    "mmact_split",
    "read_mmact",
]

_OWNER = "MMAct"

MMACT_ACTIVITIES: tuple[str, ...] = (
    "carrying", "checking_time", "closing", "crouching", "entering", "exiting", "fall",
    "jumping", "kicking", "loitering", "looking_around", "opening", "picking_up", "pointing",
    "pulling", "pushing", "running", "setting_down", "standing", "talking", "talking_on_phone",
    "throwing", "transferring_object", "using_phone", "walking", "waving_hand", "drinking",
    "pocket_in", "pocket_out", "sitting", "sitting_down", "standing_up", "using_pc",
    "carrying_heavy", "carrying_light",
)  # fmt: skip
"""The 35 distinct activity names of the upstream script's table, in its order.

The upstream table lists ``using_phone`` twice (as 24 and 34) and declares 36 classes; here
each name appears once and labels are contiguous, 0..34.
"""

MMActProtocol = Literal["cross-subject", "cross-scene", "cross-session"]
MMACT_PROTOCOLS: tuple[str, ...] = ("cross-subject", "cross-scene", "cross-session")


@dataclass(frozen=True)
class MMActLayout:
    """Where the extracted MMAct files are and how to read them (every field an assumption).

    Args:
        streams: the inertial stream folders, concatenated in this order (3 channels each).
        stream_rates: the assumed sampling rate of each stream in Hz (upstream assumes
            100 Hz for both accelerometers and resamples them to 50 Hz).
        rate: the common inertial rate in Hz after alignment.
        timestamp_unit: seconds per unit of the CSV timestamp column (used only by
            ``align="timestamps"``; milliseconds assumed).
        pose_dir: the pose folder, relative to the root.
        camera: the camera view folder to read (upstream reads ``cam1`` only).
        person_keys: per frame, the first of these entries that is present and non-empty is
            used (upstream prefers ``person2``); a frame with none is all zeros.
        num_joints: keypoints per person (17, COCO order).
        activities: the activity names (file stems, lower-cased); the label is the index.
        subject_prefix: folder-name prefix before the subject number.
        scene_prefix: folder-name prefix before the scene number.
        session_prefix: folder-name prefix before the session number.

    Examples:
        >>> from mmcontrast.data import MMActLayout
        >>> MMActLayout(camera="cam2").streams
        ('acc_phone_clip', 'acc_watch_clip', 'gyro_clip', 'orientation_clip')
    """

    streams: tuple[str, ...] = ("acc_phone_clip", "acc_watch_clip", "gyro_clip", "orientation_clip")
    stream_rates: tuple[float, ...] = (100.0, 100.0, 50.0, 50.0)
    rate: float = 50.0
    timestamp_unit: float = 1e-3
    pose_dir: str = "pose/cross_view/trainval"
    camera: str = "cam1"
    person_keys: tuple[str, ...] = ("person2", "person1")
    num_joints: int = 17
    activities: tuple[str, ...] = MMACT_ACTIVITIES
    subject_prefix: str = "subject"
    scene_prefix: str = "scene"
    session_prefix: str = "session"

    def __post_init__(self) -> None:
        if not self.streams or len(self.stream_rates) != len(self.streams):
            raise ValueError(
                f"MMActLayout: streams and stream_rates must be non-empty and of equal length, got "
                f"{self.streams!r} and {self.stream_rates!r}"
            )
        if not all(r > 0 for r in (*self.stream_rates, self.rate, self.timestamp_unit)):
            raise ValueError(
                f"MMActLayout: rates and timestamp_unit must be positive, got stream_rates="
                f"{self.stream_rates!r}, rate={self.rate!r}, timestamp_unit={self.timestamp_unit!r}"
            )
        if not self.person_keys or self.num_joints < 1 or not self.activities:
            raise ValueError(
                f"MMActLayout: person_keys and activities must be non-empty and num_joints >= 1, "
                f"got {self.person_keys!r}, {len(self.activities)} activities, {self.num_joints}"
            )
        if len(set(self.activities)) != len(self.activities):
            raise ValueError(f"MMActLayout: activities must be distinct, got {self.activities!r}")


def read_mmact(
    root: str | os.PathLike[str],
    *,
    layout: MMActLayout | None = None,
    align: Align = "samples",
    resample: Resample = "fft",
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    verify: Verify = "stat",
) -> Recordings:
    """Read every MMAct clip that has all inertial streams and a pose file.

    Inertial: the streams' x, y, z are concatenated (12 channels with the default layout)
    after bringing them to ``layout.rate``. ``align="samples"`` is the upstream method:
    each stream is resampled by its sample count from its assumed rate
    (``int(n * rate / stream_rate)`` samples), then all are cut to the shortest.
    ``align="timestamps"`` interpolates every stream linearly on one grid at ``rate`` over
    the time span all streams cover (timestamps must be numeric; repeated ones are dropped).
    Skeleton: ``(T, 17, 2)`` pixel coordinates from the chosen camera; confidence dropped.

    Clips with a stream or the pose file absent, an empty stream, or no person in any pose
    frame are listed in ``missing`` with the reason (and a ``UserWarning``). Parsed clips
    are cached like UTD-MHAD's (`mmcontrast.data.read_utd_mhad`).

    Args:
        root: the folder the archives were extracted into.
        layout: the layout; default `MMActLayout`'s.
        align: ``"samples"`` (upstream) or ``"timestamps"``.
        resample: how ``align="samples"`` changes a stream's rate (``"fft"`` upstream).
        cache: use and write the cache.
        cache_dir: the cache folder (see `mmcontrast.data.read_utd_mhad`).
        verify: ``"stat"`` or ``"content"``.

    Shapes:
        output: ``inertial`` ``"t 12"`` and ``skeleton`` ``"t 17 2"`` per clip (native
        lengths); ``label``, ``subject``, ``trial`` and extras ``scene``, ``session``: ``"n"``.

    Raises:
        FileNotFoundError: a stream or pose folder is absent, or no clip is complete.
        ValueError: a file that cannot be parsed, a folder or activity name outside the
            layout; the message names the file.

    Examples:
        >>> from mmcontrast.data import MMActLayout, read_mmact
        >>> layout = MMActLayout(camera="cam2")
        >>> recordings = read_mmact("path/to/MMAct", layout=layout)  # doctest: +SKIP
        >>> recordings.inertial[0].shape[1], recordings.skeleton[0].shape[1:]  # doctest: +SKIP
        (12, (17, 2))
    """
    layout = layout if layout is not None else MMActLayout()
    if not isinstance(layout, MMActLayout):
        raise TypeError(f"read_mmact: layout must be an MMActLayout, got {type(layout).__name__}")
    with checking("read_mmact"):
        check_choice("align", align, ("samples", "timestamps"))
        check_choice("resample", resample, RESAMPLE_METHODS)
        check_bool("cache", cache)
        check_choice("verify", verify, VERIFY)
    base = Path(root).expanduser()
    folders = [base / stream for stream in layout.streams] + [base / layout.pose_dir]
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"{_OWNER}: no folder {folder} (see MMActLayout)")
    stream_files = {s: sorted((base / s).glob("*/*/*/*.csv")) for s in layout.streams}
    pose_files = sorted((base / layout.pose_dir).glob(f"*/{layout.camera}/*/*/*.json"))
    every = [path for paths in stream_files.values() for path in paths] + pose_files
    recordings = cached(
        loader=_OWNER,
        root=base,
        files=every,
        salt=f"mmact\n{layout!r}\n{align}\n{resample}",
        cache=cache,
        cache_dir=cache_dir,
        verify=verify,
        parse=lambda: _parse(layout, stream_files, pose_files, align, resample),
    )
    if recordings.missing:
        listed = ", ".join(f"{n} ({why})" for n, why in list(recordings.missing.items())[:10])
        warnings.warn(
            f"{_OWNER}: skipped {len(recordings.missing)} incomplete clip(s): {listed}"
            f"{' ...' if len(recordings.missing) > 10 else ''}",
            stacklevel=2,
        )
    return recordings


def load_mmact(
    root: str | os.PathLike[str],
    *,
    layout: MMActLayout | None = None,
    length: int | tuple[int, int] | None = 50,
    resample: Resample = "fft",
    align: Align = "samples",
    anchor_joint: int | None = None,
    scale_joints: tuple[int, int] | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    verify: Verify = "stat",
) -> PairedDataset:
    """MMAct as a `PairedDataset`: `read_mmact`, then resampling to ``length``.

    The upstream MMAct configuration only resamples both modalities to 50 steps, so the
    skeleton keeps its pixel coordinates by default; ``anchor_joint=0`` recentres on the
    nose of the first frame and ``scale_joints=(5, 6)`` divides by the first-frame shoulder
    width (COCO order).

    Args:
        root: the folder the archives were extracted into.
        layout: the layout; default `MMActLayout`'s.
        length: steps per sequence, a pair, or ``None`` for native lengths with masks.
        resample: ``"fft"`` or ``"linear"``, for both the stream rates and ``length``.
        align: ``"samples"`` or ``"timestamps"`` (see `read_mmact`).
        anchor_joint: joint to recentre on, or ``None``.
        scale_joints: joints whose first-frame distance becomes the unit, or ``None``.
        cache: use and write the cache.
        cache_dir: the cache folder.
        verify: ``"stat"`` or ``"content"``.

    Shapes:
        output: inertial ``"n t 12"``, skeleton ``"n t 17 2"``, extras ``session``,
        ``scene``: ``"n"``.

    Examples:
        >>> from mmcontrast.data import load_mmact, mmact_split
        >>> data = load_mmact("path/to/MMAct")  # doctest: +SKIP
        >>> split = mmact_split(data, protocol="cross-scene")  # doctest: +SKIP
        >>> train, val, test = data.split(split)  # doctest: +SKIP
    """
    recordings = read_mmact(
        root,
        layout=layout,
        align=align,
        resample=resample,
        cache=cache,
        cache_dir=cache_dir,
        verify=verify,
    )
    return recordings.to_dataset(
        length=length, resample=resample, anchor_joint=anchor_joint, scale_joints=scale_joints
    )


def mmact_split(data: MultimodalDataset, *, protocol: MMActProtocol = "cross-subject") -> Split:
    """The MMAct protocols of the CMC-CMKM and hard-negative repositories.

    * ``"cross-subject"``: train subjects 1-12, validation 13-15, test 17-20 (subject 16 is
      in none, as upstream).
    * ``"cross-scene"``: train scenes 1, 3, 4 of subjects 1-16, validation scenes 1, 3, 4 of
      subjects 17-20, test scene 2.
    * ``"cross-session"``: train sessions 1-4 of subjects 1-16, validation sessions 1-4 of
      subjects 17-20, test session 5.

    Shapes:
        output indices: ``"n_side"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.data import PairedDataset, mmact_split
        >>> subject = torch.tensor([1, 13, 16, 17, 17])
        >>> data = PairedDataset(
        ...     inertial=torch.zeros(5, 50, 12), skeleton=torch.zeros(5, 50, 17, 2),
        ...     label=torch.zeros(5, dtype=torch.long), subject=subject,
        ...     trial=torch.ones(5, dtype=torch.long),
        ...     extras={"scene": torch.tensor([1, 1, 2, 3, 2]), "session": torch.ones(5).long()})
        >>> [side.tolist() for side in mmact_split(data)]
        [[0], [1], [3, 4]]
        >>> [side.tolist() for side in mmact_split(data, protocol="cross-scene")]
        [[0, 1], [3], [2, 4]]
    """
    with checking("mmact_split"):
        check_choice("protocol", protocol, MMACT_PROTOCOLS)
    for key in ("scene", "session"):
        if key not in data.extras:
            raise ValueError(f"mmact_split: the dataset has no {key!r} extra (not MMAct data?)")
    subject = data.subject.numpy()
    scene = data.extras["scene"].numpy()
    session = data.extras["session"].numpy()
    early, late = np.isin(subject, range(1, 17)), np.isin(subject, range(17, 21))
    if protocol == "cross-subject":
        masks = (subject <= 12, np.isin(subject, (13, 14, 15)), late)
    elif protocol == "cross-scene":
        kept = np.isin(scene, (1, 3, 4))
        masks = (kept & early, kept & late, scene == 2)
    else:
        kept = np.isin(session, (1, 2, 3, 4))
        masks = (kept & early, kept & late, session == 5)
    train, val, test = (np.flatnonzero(mask) for mask in masks)
    return Split(train=train, val=val, test=test)


_Key = tuple[int, int, int, int]  # activity index, subject, scene, session


def _parse(
    layout: MMActLayout,
    stream_files: Mapping[str, list[Path]],
    pose_files: list[Path],
    align: Align,
    method: Resample,
) -> Recordings:
    by_stream = {
        s: {_clip_key(layout, p, pose=False): p for p in files} for s, files in stream_files.items()
    }
    poses = {_clip_key(layout, p, pose=True): p for p in pose_files}
    keys = sorted(set(poses).union(*by_stream.values()))
    missing: dict[str, str] = {}
    clips: dict[_Key, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
    for key in keys:
        name = _name(key)
        absent = [s for s in layout.streams if key not in by_stream[s]]
        absent += ["pose"] if key not in poses else []
        if absent:
            missing[name] = f"{', '.join(absent)} absent"
            continue
        streams = [
            read_stream(by_stream[s][key], timestamps=align == "timestamps") for s in layout.streams
        ]
        empty = [
            s for s, (values, _) in zip(layout.streams, streams, strict=True) if not len(values)
        ]
        if empty:
            missing[name] = f"empty stream: {', '.join(empty)}"
            continue
        skeleton = read_pose(
            poses[key], num_joints=layout.num_joints, person_keys=layout.person_keys
        )
        if not np.any(skeleton):
            missing[name] = "no person in any pose frame"
            continue
        inertial = align_streams(
            streams,
            stream_rates=layout.stream_rates,
            rate=layout.rate,
            align=align,
            method=method,
            timestamp_unit=layout.timestamp_unit,
            where=by_stream[layout.streams[0]][key].parent,
        )
        clips[key] = (inertial, skeleton)
    if not clips:
        listed = ", ".join(f"{n} ({why})" for n, why in list(missing.items())[:5])
        raise FileNotFoundError(
            f"{_OWNER}: no complete clip (every stream and a pose file); "
            f"{len(missing)} incomplete: {listed or 'none found'}"
        )
    ordered = sorted(clips)
    trials: dict[tuple[int, int], int] = {}
    trial = []
    for activity, subject, _, _ in ordered:
        trials[(activity, subject)] = trials.get((activity, subject), 0) + 1
        trial.append(trials[(activity, subject)])
    table = np.array(ordered, dtype=np.int64)
    names = tuple(_name(key, t) for key, t in zip(ordered, trial, strict=True))
    return Recordings(
        inertial=tuple(clips[key][0] for key in ordered),
        skeleton=tuple(clips[key][1] for key in ordered),
        label=table[:, 0],
        subject=table[:, 1],
        trial=np.array(trial, dtype=np.int64),
        names=names,
        classes=layout.activities,
        missing=missing,
        extras={"scene": table[:, 2], "session": table[:, 3]},
    )


def _name(key: _Key, trial: int | None = None) -> str:
    activity, subject, scene, session = key
    middle = f"_t{trial}" if trial is not None else ""
    return f"a{activity + 1}_s{subject}{middle}_ses{session}_sc{scene}"


def _number(path: Path, folder: str, prefix: str) -> int:
    match = re.fullmatch(rf"{re.escape(prefix)}(\d+)", folder, flags=re.IGNORECASE)
    if match is None:
        raise ValueError(
            f"{_OWNER}: {path}: folder {folder!r} should be {prefix}<number> (see MMActLayout)"
        )
    return int(match.group(1))


def _clip_key(layout: MMActLayout, path: Path, *, pose: bool) -> _Key:
    parts = path.parts
    subject_dir, scene_dir, session_dir = (
        (parts[-5], parts[-3], parts[-2]) if pose else parts[-4:-1]
    )
    activity = path.stem.lower()
    if activity not in layout.activities:
        raise ValueError(
            f"{_OWNER}: {path}: unknown activity {activity!r}; pass "
            "MMActLayout(activities=...) to name the classes"
        )
    return (
        layout.activities.index(activity),
        _number(path, subject_dir, layout.subject_prefix),
        _number(path, scene_dir, layout.scene_prefix),
        _number(path, session_dir, layout.session_prefix),
    )
