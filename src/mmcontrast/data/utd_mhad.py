"""UTD-MHAD: the original inertial and skeleton ``.mat`` files, parsed, checked and cached.

Dataset: C. Chen, R. Jafari, N. Kehtarnavaz, "UTD-MHAD: A Multimodal Dataset for Human Action
Recognition Utilizing a Depth Camera and a Wearable Inertial Sensor", ICIP 2015,
doi:10.1109/ICIP.2015.7350781. Research use with citation; it is never shipped or downloaded
by this package: point the loader at your own copy.

Expected layout (the official archives, extracted)::

    root/Inertial/a{A}_s{S}_t{T}_inertial.mat   variable d_iner, (T, 6): acc x y z in g,
                                                gyro x y z in deg/s, 50 Hz
    root/Skeleton/a{A}_s{S}_t{T}_skeleton.mat   variable d_skel, (20, 3, T): Kinect v1
                                                joints x y z in metres

``A`` is the action 1..27 (label ``A - 1``), ``S`` the subject 1..8, ``T`` the trial 1..4.
861 of the 864 combinations exist; `UTD_MHAD_MISSING` are the three the official release
leaves out.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from mmcontrast._checks import check_bool, check_choice, checking
from mmcontrast.augment.layout import UTD_MHAD_LAYOUT
from mmcontrast.data._cache import VERIFY, Verify, cached
from mmcontrast.data._optional import import_optional
from mmcontrast.data.paired import PairedDataset
from mmcontrast.data.preprocessing import Resample
from mmcontrast.data.recordings import Recordings

__all__ = [
    "UTD_MHAD_CLASSES",
    "UTD_MHAD_JOINTS",
    "UTD_MHAD_MISSING",
    "load_utd_mhad",
    "parse_utd_mhad_name",
    "read_utd_mhad",
]

_OWNER = "UTD-MHAD"

UTD_MHAD_CLASSES: tuple[str, ...] = (
    "swipe_left", "swipe_right", "wave", "clap", "throw", "arm_cross", "basketball_shoot",
    "draw_x", "draw_circle_cw", "draw_circle_ccw", "draw_triangle", "bowling", "boxing",
    "baseball_swing", "tennis_swing", "arm_curl", "tennis_serve", "push", "knock", "catch",
    "pickup_throw", "jog", "walk", "sit2stand", "stand2sit", "lunge", "squat",
)  # fmt: skip
"""The 27 action names (CMC-CMKM's short names), in label order (label = action - 1)."""

UTD_MHAD_JOINTS: tuple[str, ...] = UTD_MHAD_LAYOUT.names
"""The 20 Kinect v1 joints in file order (``Skeleton_joint_order.txt``), 0-based.

The names of `mmcontrast.augment.UTD_MHAD_LAYOUT`: ``("head", "shoulder_center", "spine",
"hip_center", "left_shoulder", ...)``.
"""

UTD_MHAD_MISSING: tuple[str, ...] = ("a8_s1_t4", "a23_s6_t4", "a27_s8_t4")
"""The three sequences (corrupted in the recording) that the official release leaves out."""

_ACTIONS, _SUBJECTS, _TRIALS = 27, 8, 4
_NAME = re.compile(r"^a(\d+)_s(\d+)_t(\d+)_(inertial|skeleton)\.mat$")
_KEYS = {"inertial": "d_iner", "skeleton": "d_skel"}
_FOLDERS = {"inertial": "Inertial", "skeleton": "Skeleton"}


def parse_utd_mhad_name(name: str) -> tuple[int, int, int, str]:
    """``(action, subject, trial, modality)`` from a file name such as ``a8_s1_t3_inertial.mat``.

    Action, subject and trial are 1-based as in the file names (the label is ``action - 1``);
    modality is ``"inertial"`` or ``"skeleton"``.

    Raises:
        ValueError: the name does not follow the scheme, or a number is out of range
            (action 1..27, subject 1..8, trial 1..4).

    Examples:
        >>> from mmcontrast.data import parse_utd_mhad_name
        >>> parse_utd_mhad_name("a27_s8_t3_skeleton.mat")
        (27, 8, 3, 'skeleton')
    """
    match = _NAME.match(name)
    if match is None:
        raise ValueError(
            f"{_OWNER}: {name!r} is not named a{{A}}_s{{S}}_t{{T}}_inertial.mat or "
            "a{A}_s{S}_t{T}_skeleton.mat"
        )
    action, subject, trial = (int(group) for group in match.groups()[:3])
    if not (1 <= action <= _ACTIONS and 1 <= subject <= _SUBJECTS and 1 <= trial <= _TRIALS):
        raise ValueError(
            f"{_OWNER}: {name!r} is out of range (action 1..{_ACTIONS}, subject "
            f"1..{_SUBJECTS}, trial 1..{_TRIALS})"
        )
    return action, subject, trial, match.group(4)


def read_utd_mhad(
    root: str | os.PathLike[str],
    *,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    verify: Verify = "stat",
) -> Recordings:
    """Read every paired UTD-MHAD sequence at its native length (cached after the first call).

    Sequences are sorted by (action, subject, trial). A sequence is used when both its
    inertial and its skeleton file exist; every absent combination is listed in
    ``missing`` with the reason (the three of `UTD_MHAD_MISSING` as "not in the
    official release"), and anything missing beyond those three raises a ``UserWarning``
    naming it. Skeletons are returned time-first, ``(T, 20, 3)``.

    The parsed arrays are cached (see ``docs/data.md``, "Caching"): the cache file is
    reused while the ``.mat`` files keep their names, sizes and modification times
    (``verify="stat"``) or their contents (``verify="content"``, which hashes the 20 MB).

    Args:
        root: the folder holding ``Inertial/`` and ``Skeleton/``.
        cache: use and write the cache.
        cache_dir: the cache folder; default ``$MMCONTRAST_CACHE_DIR``, else
            ``$XDG_CACHE_HOME/mmcontrast``, else ``~/.cache/mmcontrast``.
        verify: ``"stat"`` or ``"content"``: what must be unchanged to reuse the cache.

    Shapes:
        output: ``inertial`` ``"t 6"`` and ``skeleton`` ``"t 20 3"`` per sequence (native
        lengths), ``label`` ``"n"`` in 0..26.

    Raises:
        FileNotFoundError: ``root``, ``Inertial/`` or ``Skeleton/`` does not exist, or no
            sequence is found.
        ValueError: a file that cannot be read (corrupt or truncated), lacks its variable,
            has the wrong shape or non-finite values; the message names the file.
        ImportError: scipy is not installed (``pip install "mmcontrast[data]"``).

    Examples:
        >>> from mmcontrast.data import read_utd_mhad
        >>> recordings = read_utd_mhad("path/to/UTD-MHAD")  # doctest: +SKIP
        >>> len(recordings), sorted(recordings.missing)  # doctest: +SKIP
        (861, ['a23_s6_t4', 'a27_s8_t4', 'a8_s1_t4'])
        >>> recordings.inertial[0].shape, recordings.skeleton[0].shape  # doctest: +SKIP
        ((180, 6), (67, 20, 3))
    """
    with checking("read_utd_mhad"):
        check_bool("cache", cache)
        check_choice("verify", verify, VERIFY)
    base = Path(root).expanduser()
    folders = {kind: base / folder for kind, folder in _FOLDERS.items()}
    for kind, folder in folders.items():
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{_OWNER}: no {folder.name}/ folder in {base}; expected "
                f"{base}/Inertial/a{{A}}_s{{S}}_t{{T}}_inertial.mat and "
                f"{base}/Skeleton/a{{A}}_s{{S}}_t{{T}}_skeleton.mat ({kind} data)"
            )
    files = sorted(path for folder in folders.values() for path in folder.glob("*.mat"))
    found, ignored = _index(files)
    if ignored:
        warnings.warn(
            f"{_OWNER}: ignored {len(ignored)} .mat file(s) that do not follow the naming "
            f"scheme: {', '.join(ignored[:5])}{' ...' if len(ignored) > 5 else ''}",
            stacklevel=2,
        )
    recordings = cached(
        loader=_OWNER,
        root=base,
        files=files,
        salt="utd_mhad",
        cache=cache,
        cache_dir=cache_dir,
        verify=verify,
        parse=lambda: _parse(base, found),
    )
    unexpected = {n: why for n, why in recordings.missing.items() if n not in UTD_MHAD_MISSING}
    if unexpected:
        first = sorted(unexpected.items(), key=lambda item: item[1].startswith("inertial and"))
        listed = ", ".join(f"{name} ({why})" for name, why in first[:10])  # half pairs first
        warnings.warn(
            f"{_OWNER}: {len(unexpected)} sequence(s) missing beyond the 3 the official "
            f"release leaves out, loading {len(recordings)}: {listed}"
            f"{' ...' if len(unexpected) > 10 else ''}",
            stacklevel=2,
        )
    return recordings


def load_utd_mhad(
    root: str | os.PathLike[str],
    *,
    length: int | tuple[int, int] | None = 50,
    resample: Resample = "fft",
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    verify: Verify = "stat",
) -> PairedDataset:
    """UTD-MHAD preprocessed as in the references, as a `PairedDataset` of 861 pairs.

    `read_utd_mhad`, then `Recordings.to_dataset`: skeletons recentred on the
    spine (joint 2) of the raw first frame and scaled by the first-frame
    shoulder_center-spine distance; both modalities resampled to ``length`` steps (FFT by
    default, as the references; ``length=None`` keeps native lengths with masks). Inertial
    channels stay in g and deg/s; `PairedDataset.split` normalises them with
    training-side statistics.

    Args:
        root: the folder holding ``Inertial/`` and ``Skeleton/``.
        length: steps per sequence (50 in the references), a pair
            ``(inertial_steps, skeleton_steps)``, or ``None`` for native lengths.
        resample: ``"fft"`` or ``"linear"``.
        cache: use and write the cache of parsed files.
        cache_dir: the cache folder (see `read_utd_mhad`).
        verify: ``"stat"`` or ``"content"`` (see `read_utd_mhad`).

    Shapes:
        output: inertial ``"n t 6"``, skeleton ``"n t 20 3"``, label ``"n"`` in 0..26.

    Examples:
        >>> from mmcontrast.data import cross_subject_split, load_utd_mhad
        >>> data = load_utd_mhad("path/to/UTD-MHAD")  # doctest: +SKIP
        >>> train, _, test = data.split(cross_subject_split(data.subject))  # doctest: +SKIP
        >>> len(train), len(test)  # doctest: +SKIP
        (431, 430)
    """
    recordings = read_utd_mhad(root, cache=cache, cache_dir=cache_dir, verify=verify)
    return recordings.to_dataset(
        length=length, resample=resample, anchor_joint=2, scale_joints=(1, 2)
    )


def _index(files: list[Path]) -> tuple[dict[tuple[int, int, int], dict[str, Path]], list[str]]:
    """The files of each (action, subject, trial) by modality, and the names that do not fit."""
    found: dict[tuple[int, int, int], dict[str, Path]] = {}
    ignored = []
    for path in files:
        try:
            action, subject, trial, kind = parse_utd_mhad_name(path.name)
        except ValueError:
            ignored.append(path.name)
            continue
        if path.parent.name != _FOLDERS[kind]:
            ignored.append(f"{path.parent.name}/{path.name}")
            continue
        found.setdefault((action, subject, trial), {})[kind] = path
    return found, ignored


def _parse(base: Path, found: dict[tuple[int, int, int], dict[str, Path]]) -> Recordings:
    sio = import_optional("scipy.io", purpose="reading the UTD-MHAD .mat files")
    missing: dict[str, str] = {}
    keys = []
    for action in range(1, _ACTIONS + 1):
        for subject in range(1, _SUBJECTS + 1):
            for trial in range(1, _TRIALS + 1):
                name = f"a{action}_s{subject}_t{trial}"
                present = found.get((action, subject, trial), {})
                if len(present) == 2:
                    keys.append((action, subject, trial))
                elif name in UTD_MHAD_MISSING and not present:
                    missing[name] = "not in the official release"
                else:
                    absent = " and ".join(k for k in ("inertial", "skeleton") if k not in present)
                    missing[name] = f"{absent} file absent"
    if not keys:
        raise FileNotFoundError(
            f"{_OWNER}: no paired a{{A}}_s{{S}}_t{{T}}_inertial.mat / _skeleton.mat files in "
            f"{base}/Inertial and {base}/Skeleton"
        )
    inertial = tuple(_read(sio, found[key]["inertial"], "inertial") for key in keys)
    skeleton = tuple(_read(sio, found[key]["skeleton"], "skeleton") for key in keys)
    table = np.array(keys, dtype=np.int64).reshape(-1, 3)
    return Recordings(
        inertial=inertial,
        skeleton=skeleton,
        label=table[:, 0] - 1,
        subject=table[:, 1],
        trial=table[:, 2],
        names=tuple(f"a{a}_s{s}_t{t}" for a, s, t in keys),
        classes=UTD_MHAD_CLASSES,
        missing=missing,
    )


def _read(sio: ModuleType, path: Path, kind: str) -> NDArray[np.float64]:
    """One file's array, checked, time-first: inertial ``(T, 6)``, skeleton ``(T, 20, 3)``."""
    key = _KEYS[kind]
    try:
        content = sio.loadmat(str(path))
    except Exception as error:  # scipy raises many types for corrupt or truncated files
        raise ValueError(
            f"{_OWNER}: cannot read {path} (corrupt or truncated?): {type(error).__name__}: {error}"
        ) from error
    if key not in content:
        found = sorted(name for name in content if not name.startswith("__"))
        raise ValueError(f"{_OWNER}: {path} has no variable {key!r}; it holds {found}")
    raw = np.asarray(content[key])
    if not np.issubdtype(raw.dtype, np.number) or np.iscomplexobj(raw):
        raise ValueError(f"{_OWNER}: {path}: {key} must be real numbers, got dtype {raw.dtype}")
    array = raw.astype(np.float64)
    if kind == "inertial":
        if array.ndim != 2 or array.shape[1] != 6 or array.shape[0] < 1:
            raise ValueError(
                f"{_OWNER}: {path}: {key} must have shape (T, 6) with T >= 1, got {array.shape}"
            )
    else:
        if array.shape == (20, 3):  # MATLAB drops a trailing singleton: one frame
            array = array[:, :, None]
        if array.ndim != 3 or array.shape[:2] != (20, 3) or array.shape[2] < 1:
            raise ValueError(
                f"{_OWNER}: {path}: {key} must have shape (20, 3, T) with T >= 1, got {array.shape}"
            )
        array = np.ascontiguousarray(array.transpose(2, 0, 1))
    if not np.isfinite(array).all():
        bad = int(np.size(array) - np.isfinite(array).sum())
        raise ValueError(f"{_OWNER}: {path}: {key} has {bad} non-finite value(s)")
    return array
