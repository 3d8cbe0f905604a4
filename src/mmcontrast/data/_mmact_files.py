"""MMAct file readers: inertial CSV streams, pose JSON files, and stream alignment (private)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from mmcontrast.data import preprocessing
from mmcontrast.data.preprocessing import Resample

__all__ = ["Align", "align_streams", "read_pose", "read_stream"]

_OWNER = "MMAct"
Array = NDArray[np.float64]
Align = Literal["samples", "timestamps"]


def read_stream(path: Path, *, timestamps: bool) -> tuple[Array, Array]:
    """Rows of ``timestamp, x, y, z`` (no header): values ``(n, 3)`` and timestamps ``(n,)``.

    Without ``timestamps`` the first column is not parsed (it may not be numeric) and the
    returned timestamps are empty. An empty file gives ``n = 0``.
    """
    columns = (0, 1, 2, 3) if timestamps else (1, 2, 3)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # numpy warns on an empty file
            table = np.loadtxt(path, delimiter=",", usecols=columns, ndmin=2, dtype=np.float64)
    except (ValueError, IndexError) as error:
        raise ValueError(
            f"{_OWNER}: cannot parse {path} as rows of 'timestamp, x, y, z' numbers: {error}"
        ) from error
    if not np.isfinite(table).all():
        raise ValueError(f"{_OWNER}: {path} holds non-finite values")
    if not timestamps:
        return table, np.zeros(0)
    return table[:, 1:], table[:, 0]


def read_pose(path: Path, *, num_joints: int, person_keys: Sequence[str]) -> Array:
    """``(frames, num_joints, 2)`` keypoints in the file's frame order, confidence dropped.

    Per frame, the first of ``person_keys`` that is present and non-empty is used; a frame
    with none of them is all zeros.
    """
    try:
        content = json.loads(path.read_text())
        if not isinstance(content, dict):
            raise ValueError(f"expected an object of frames, got {type(content).__name__}")
        frames = np.zeros((len(content), num_joints, 2))
        for index, frame in enumerate(content.values()):
            people = frame if isinstance(frame, dict) else {}
            chosen = next((people[key] for key in person_keys if people.get(key)), None)
            if chosen is not None:
                points = np.asarray(chosen, dtype=np.float64).reshape(num_joints, 3)
                frames[index] = points[:, :2]
    except (ValueError, TypeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{_OWNER}: cannot parse {path} as pose frames of {num_joints} (x, y, "
            f"confidence) keypoints: {error}"
        ) from error
    if not np.isfinite(frames).all():
        raise ValueError(f"{_OWNER}: {path} holds non-finite keypoints")
    return frames


def align_streams(
    streams: Sequence[tuple[Array, Array]],
    *,
    stream_rates: Sequence[float],
    rate: float,
    align: Align,
    method: Resample,
    timestamp_unit: float,
    where: Path,
) -> Array:
    """Bring every stream to ``rate`` Hz on one time base and concatenate the channels.

    ``"samples"`` (upstream): resample each stream by its count to
    ``int(n * rate / stream_rate)`` samples, then cut all to the shortest. ``"timestamps"``:
    interpolate linearly on a common grid at ``rate`` over the span every stream covers
    (repeated timestamps dropped).
    """
    if align == "samples":
        parts = []
        for (values, _), stream_rate in zip(streams, stream_rates, strict=True):
            steps = max(1, int(len(values) * rate / stream_rate))
            same = steps == len(values)
            parts.append(values if same else preprocessing.resample(values, steps, method=method))
        shortest = min(len(part) for part in parts)
        return np.concatenate([part[:shortest] for part in parts], axis=1)
    cleaned = []
    for values, stamps in streams:
        seconds, first = np.unique(stamps * timestamp_unit, return_index=True)
        cleaned.append((seconds, values[first]))
    start = max(seconds[0] for seconds, _ in cleaned)
    stop = min(seconds[-1] for seconds, _ in cleaned)
    if stop < start:
        raise ValueError(
            f"{_OWNER}: the streams of {where} do not overlap in time (check "
            "MMActLayout.timestamp_unit)"
        )
    grid = start + np.arange(int(np.floor((stop - start) * rate + 1e-9)) + 1) / rate
    channels = [
        np.interp(grid, seconds, values[:, channel])
        for seconds, values in cleaned
        for channel in range(values.shape[1])
    ]
    return np.stack(channels, axis=1)
