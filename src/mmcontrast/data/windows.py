"""Sliding windows over continuous recordings, with a majority label and a purity rule."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from einops import rearrange
from numpy.typing import NDArray
from torch import Tensor

from mmcontrast._checks import check_alike, check_fraction, check_int, checking

__all__ = ["Windows", "sliding_windows"]

_OWNER = "sliding_windows"
_Array = Tensor | NDArray[Any]


class Windows(NamedTuple):
    """The windows `sliding_windows` cuts, with where they come from.

    Attributes:
        windows: ``"n window c"`` (or ``"n window j c"``), a new tensor (not a view of the
            recordings) in their dtype and on their device.
        starts: ``"n"`` int64, the index of each window's first sample in its recording.
        labels: ``"n"`` int64, each window's majority label, or ``None`` without labels.
        groups: ``"n"`` int64, the group (subject, session) of each window's recording:
            ``groups[k]`` for recording ``k``, or ``k`` itself when no groups were given.
        recordings: ``"n"`` int64, the index of each window's recording in the input list
            (0 for a single recording).
        dropped: how many whole windows the purity rule removed (not counted in ``n``).
    """

    windows: Tensor
    starts: Tensor
    labels: Tensor | None
    groups: Tensor
    recordings: Tensor
    dropped: int


def sliding_windows(
    x: _Array | Sequence[_Array],
    labels: _Array | Sequence[_Array] | None = None,
    *,
    window: int,
    hop: int,
    purity: float = 1.0,
    groups: int | Sequence[int] | _Array | None = None,
) -> Windows:
    """Cut continuous recordings into fixed-length windows, labelled by majority vote.

    Each recording gives the windows starting at ``0, hop, 2 * hop, ...`` that fit in it
    (``(t - window) // hop + 1`` of them; the last ``(t - window) % hop`` samples start no
    window). With ``labels`` (one integer per sample), a window's label is the label of most
    of its samples (ties go to the smallest label), and the window is kept only when that
    label covers at least ``ceil(purity * window)`` of its samples; ``purity=1.0`` keeps
    only windows of a single label, ``purity=0.5`` windows with an absolute or tied
    majority. The count of windows removed this way is ``dropped``. Any integers are labels,
    negative ones too (e.g. ``-1`` for unlabelled samples: filter ``labels >= 0`` after).

    A recording shorter than ``window`` gives no window, with a ``UserWarning`` naming it.

    Several recordings (one per subject or session) go in a list, each with its own labels
    and group; their windows are concatenated in order, and no window crosses from one
    recording into the next. Everything is vectorised: ``Tensor.unfold`` cuts the windows
    and label counts come from one cumulative sum of the one-hot labels.

    Args:
        x: a recording ``"t c"`` or ``"t j c"`` (float tensor or NumPy array), or a list of
            them with the same trailing shape and dtype.
        labels: per-sample integer labels ``"t"`` (a list for a list of recordings), or
            ``None``.
        window: samples per window, ``>= 1``.
        hop: samples between the starts of consecutive windows, ``>= 1`` (``hop < window``
            overlaps them, ``hop = window`` tiles them).
        purity: in ``(0, 1]``, the fraction of a window its majority label must cover; needs
            ``labels`` unless it is 1.
        groups: the group id of the recording (an int), or one per recording for a list;
            ``None`` numbers the recordings ``0, 1, ...``.

    Returns:
        A `Windows` with ``windows``, ``starts``, ``labels``, ``groups``, ``recordings``
        and ``dropped``.

    Shapes:
        x: ``"t c"`` or ``"t j c"`` (each ``t`` its own); labels: ``"t"``; output windows:
        ``"n window c"`` or ``"n window j c"``; starts, labels, groups, recordings: ``"n"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.data import sliding_windows
        >>> x = torch.arange(10.0)[:, None]  # "t c", 10 samples, 1 channel
        >>> labels = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
        >>> cut = sliding_windows(x, labels, window=4, hop=2)
        >>> cut.windows.shape, cut.starts.tolist(), cut.labels.tolist(), cut.dropped
        (torch.Size([2, 4, 1]), [0, 6], [0, 1], 2)
        >>> sliding_windows(x, labels, window=4, hop=2, purity=0.75).labels.tolist()
        [0, 0, 1, 1]

        One recording per subject, windows of 2.56 s at 50 Hz with half overlap:

        >>> recordings = [torch.randn(1000, 6), torch.randn(700, 6)]
        >>> per_sample = [torch.randint(0, 6, (1000,)), torch.randint(0, 6, (700,))]
        >>> cut = sliding_windows(
        ...     recordings, [y.sort().values for y in per_sample], window=128, hop=64,
        ...     purity=0.8, groups=[7, 9])
        >>> cut.windows.shape[1:], sorted(set(cut.groups.tolist()))
        (torch.Size([128, 6]), [7, 9])
    """
    with checking(_OWNER):
        window = check_int("window", window, minimum=1)
        hop = check_int("hop", hop, minimum=1)
        purity = check_fraction("purity", purity)
    many = isinstance(x, (list, tuple))
    records = list(x) if many else [x]
    if not records:
        raise ValueError(f"{_OWNER}: x must hold at least one recording, got an empty list")
    names = [f"x[{k}]" for k in range(len(records))] if many else ["x"]
    signals = [_signal(name, record) for name, record in zip(names, records, strict=True)]
    _check_alike(names, signals)
    group_ids = _groups(groups, len(signals), many)
    if labels is None and purity != 1.0:
        raise ValueError(f"{_OWNER}: purity={purity!r} needs labels, got labels=None")

    given = _label_list(labels, signals, names, many)
    counts = [(len(s) - window) // hop + 1 if len(s) >= window else 0 for s in signals]
    short = [
        f"{name} ({len(s)} samples)"
        for name, s, n in zip(names, signals, counts, strict=True)
        if not n
    ]
    if short:
        warnings.warn(
            f"{_OWNER}: {len(short)} of {len(signals)} recordings are shorter than "
            f"window={window} and give no windows: {', '.join(short)}",
            UserWarning,
            stacklevel=2,
        )
    device = signals[0].device
    count = torch.tensor(counts, dtype=torch.long)
    recording = torch.repeat_interleave(torch.arange(len(signals)), count).to(device)
    first = torch.cat([torch.zeros(1, dtype=torch.long), count.cumsum(0)[:-1]]).to(device)
    starts = (torch.arange(int(count.sum()), device=device) - first[recording]) * hop
    pieces = [
        rearrange(signal.unfold(0, window, hop), "n ... w -> n w ...")
        for signal, n in zip(signals, counts, strict=True)
        if n
    ]
    windows = (
        torch.cat(pieces).contiguous()
        if pieces
        else signals[0].new_empty((0, window, *signals[0].shape[1:]))
    )
    majority, dropped = None, 0
    if given is not None:
        majority, keep = _vote(given, [len(s) for s in signals], recording, starts, window, purity)
        dropped = int((~keep).sum())
        windows, starts, majority, recording = (
            windows[keep], starts[keep], majority[keep], recording[keep]
        )  # fmt: skip
    return Windows(
        windows=windows,
        starts=starts,
        labels=majority,
        groups=group_ids.to(device)[recording],
        recordings=recording,
        dropped=dropped,
    )


def _label_list(
    labels: object, signals: list[Tensor], names: list[str], many: bool
) -> list[Tensor] | None:
    """One int64 ``"t"`` tensor per recording, on the recordings' device, or ``None``."""
    if labels is None:
        return None
    if many and (not isinstance(labels, (list, tuple)) or len(labels) != len(signals)):
        got = (
            f"{len(labels)} entries" if isinstance(labels, (list, tuple)) else type(labels).__name__
        )
        raise ValueError(
            f'{_OWNER}: labels must be a list with one "t" array per recording '
            f"({len(signals)}), got {got}"
        )
    given = list(labels) if isinstance(labels, (list, tuple)) and many else [labels]
    return [
        _labels(f"labels[{k}]" if many else "labels", value, name, len(signal), signal.device)
        for k, (value, name, signal) in enumerate(zip(given, names, signals, strict=True))
    ]


def _vote(
    labels: list[Tensor],
    lengths: list[int],
    recording: Tensor,
    starts: Tensor,
    window: int,
    purity: float,
) -> tuple[Tensor, Tensor]:
    """Majority label and purity verdict of every window, from one cumulative count."""
    flat = torch.cat(labels)
    device = flat.device
    if not len(starts):
        return flat.new_empty(0), torch.zeros(0, dtype=torch.bool, device=device)
    values, classes = torch.unique(flat, return_inverse=True)
    one_hot = torch.zeros(len(flat), len(values), dtype=torch.int32, device=device)
    one_hot.scatter_(1, classes[:, None], 1)
    cumulative = torch.cat(
        [one_hot.new_zeros(1, len(values)), one_hot.cumsum(0, dtype=torch.int32)]
    )  # "(t + 1) classes": cumulative[i] counts the samples before i
    offsets = torch.tensor([0, *lengths], device=device).cumsum(0)
    begin = offsets[recording] + starts
    counts = cumulative[begin + window] - cumulative[begin]  # "n classes"
    top = counts.argmax(dim=1)  # the first maximum: ties go to the smallest label
    need = max(1, math.ceil(purity * window - 1e-9))
    keep = counts.gather(1, top[:, None])[:, 0] >= need
    return values[top], keep


def _signal(name: str, value: object) -> Tensor:
    if isinstance(value, np.ndarray):
        if not np.issubdtype(value.dtype, np.floating):
            raise TypeError(f"{_OWNER}: {name} must be a floating-point array, got {value.dtype}")
        value = torch.from_numpy(value if value.flags.writeable else value.copy())
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{_OWNER}: {name} must be a torch.Tensor or a NumPy array (or a list of them), got "
            f"{type(value).__name__}"
        )
    if not value.is_floating_point():
        raise TypeError(f"{_OWNER}: {name} must be a floating-point tensor, got {value.dtype}")
    if value.ndim not in (2, 3):
        raise ValueError(
            f'{_OWNER}: {name} must have shape "t c" or "t j c", got {tuple(value.shape)}'
        )
    return value


def _check_alike(names: list[str], signals: list[Tensor]) -> None:
    first = signals[0]
    for name, signal in zip(names[1:], signals[1:], strict=True):
        if signal.shape[1:] != first.shape[1:]:
            raise ValueError(
                f'{_OWNER}: every recording must share its trailing shape ("c" or "j c"); '
                f"{name} is {tuple(signal.shape)} and {names[0]} is {tuple(first.shape)}"
            )
    with checking(_OWNER):
        check_alike("recording", dict(zip(names, signals, strict=True)))


def _labels(name: str, value: object, of: str, steps: int, device: torch.device) -> Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value if value.flags.writeable else value.copy())
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{_OWNER}: {name} must be a torch.Tensor or a NumPy array, got {type(value).__name__}"
        )
    if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
        raise TypeError(f"{_OWNER}: {name} must have an integer dtype, got {value.dtype}")
    if value.ndim != 1 or value.shape[0] != steps:
        raise ValueError(
            f'{_OWNER}: {name} must have shape "t" = ({steps},) like {of}, got {tuple(value.shape)}'
        )
    return value.to(device=device, dtype=torch.long)


def _groups(groups: object, recordings: int, many: bool) -> Tensor:
    if isinstance(groups, np.integer):
        groups = int(groups)
    if groups is None:
        return torch.arange(recordings)
    with checking(_OWNER):
        if not many:
            return torch.tensor([check_int("groups", groups)])
        if isinstance(groups, (Tensor, np.ndarray)):
            values = torch.as_tensor(groups)
            if values.is_floating_point() or values.is_complex() or values.dtype == torch.bool:
                raise TypeError(f"{_OWNER}: groups must have an integer dtype, got {values.dtype}")
            values = values.reshape(-1) if values.ndim <= 1 else values
        elif isinstance(groups, (list, tuple)):
            values = torch.tensor(
                [check_int(f"groups[{k}]", g) for k, g in enumerate(groups)], dtype=torch.long
            )
        else:
            raise TypeError(
                f"{_OWNER}: groups must be a list of ints (one per recording) or None, got "
                f"{type(groups).__name__}"
            )
    if values.ndim != 1 or values.shape[0] != recordings:
        raise ValueError(
            f"{_OWNER}: groups must hold one id per recording ({recordings}), got shape "
            f"{tuple(values.shape)}"
        )
    return values.long().cpu()
