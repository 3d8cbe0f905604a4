"""Pair masks for HAR false-negative control: same subject, same recording, overlapping windows.

Sliding windows cut from one recording overlap in time; contrasting two such windows as
negatives pushes apart near-identical signals (and a random split of overlapping windows leaks
labels). These helpers build the ``"b b"`` masks the losses take: ``neg_mask`` (``True``: the
pair may be a negative) and, if overlapping windows should attract, ``pos_mask``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mmcontrast._checks import check_finite_number, checking

__all__ = ["negative_mask", "overlap_mask"]


def _ids(name: str, ids: object, size: int | None) -> Tensor:
    if not isinstance(ids, Tensor) or ids.ndim != 1:
        got = tuple(ids.shape) if isinstance(ids, Tensor) else type(ids).__name__
        raise ValueError(f'{name} must be a 1-D tensor "b", got {got}')
    if size is not None and ids.shape[0] != size:
        raise ValueError(f'{name} must have shape "b" = ({size},), got {tuple(ids.shape)}')
    return ids


def overlap_mask(
    recording: Tensor, start: Tensor, length: float | Tensor, *, min_gap: float = 0.0
) -> Tensor:
    """``[i, j]`` is ``True`` when windows ``i`` and ``j`` share a recording and overlap.

    Windows cover ``[start, start + length)``. With ``min_gap > 0``, windows of one recording
    that are less than ``min_gap`` apart also count (temporal neighbours). The diagonal is
    ``True``, so the result can serve directly as a ``pos_mask``.

    Args:
        recording: recording (or session) id of each window.
        start: start time of each window (any unit).
        length: window length, one for all or one per window.
        min_gap: windows closer than this are treated as overlapping (``>= 0``).

    Returns:
        A bool matrix.

    Shapes:
        recording, start: ``"b"``; length: ``""`` or ``"b"``; output: ``"b b"``.

    Examples:
        >>> import torch
        >>> rec, start = torch.tensor([0, 0, 0, 1]), torch.tensor([0.0, 1.0, 4.0, 0.5])
        >>> overlap_mask(rec, start, 2.0).int()
        tensor([[1, 1, 0, 0],
                [1, 1, 0, 0],
                [0, 0, 1, 0],
                [0, 0, 0, 1]], dtype=torch.int32)
    """
    with checking("overlap_mask"):
        recording = _ids("recording", recording, None)
        start = _ids("start", start, recording.shape[0])
        min_gap = check_finite_number("min_gap", min_gap, low=0.0)
        length_t = torch.as_tensor(length, dtype=torch.promote_types(start.dtype, torch.float32))
        if length_t.ndim not in (0, 1) or (length_t.ndim == 1 and length_t.shape != start.shape):
            raise ValueError(
                f'length must be a number or have shape "b" = {tuple(start.shape)}, got '
                f"{tuple(length_t.shape)}"
            )
    begin = start.to(length_t.dtype)
    end = begin + length_t.to(begin.device)
    gap = torch.maximum(begin[:, None], begin[None, :]) - torch.minimum(end[:, None], end[None, :])
    return (recording[:, None] == recording[None, :]) & (gap < min_gap)


def negative_mask(
    *,
    subject: Tensor | None = None,
    recording: Tensor | None = None,
    start: Tensor | None = None,
    length: float | Tensor | None = None,
    min_gap: float = 0.0,
) -> Tensor:
    """A ``neg_mask``: ``True`` where sample ``j`` may serve as a negative for anchor ``i``.

    Removes pairs from the same ``subject`` (if given) and, for ``recording``: with ``start``
    and ``length``, only the windows of one recording that overlap (or are closer than
    ``min_gap``); without them, every pair from one recording.

    Args:
        subject: subject id per sample.
        recording: recording id per sample.
        start: window start times (with ``recording`` and ``length``).
        length: window length(s).
        min_gap: see `overlap_mask`.

    Returns:
        A bool matrix.

    Shapes:
        inputs: ``"b"``; output: ``"b b"``.

    Examples:
        >>> import torch
        >>> rec, start = torch.tensor([0, 0, 1]), torch.tensor([0.0, 1.0, 0.0])
        >>> negative_mask(recording=rec, start=start, length=2.0).int()
        tensor([[0, 0, 1],
                [0, 0, 1],
                [1, 1, 0]], dtype=torch.int32)
    """
    ids = [x for x in (subject, recording) if x is not None]
    with checking("negative_mask"):
        if not ids:
            raise ValueError("give subject and/or recording ids")
        size = _ids("ids", ids[0], None).shape[0]
        keep = torch.ones(size, size, dtype=torch.bool, device=ids[0].device)
        if subject is not None:
            subject = _ids("subject", subject, size)
            keep &= subject[:, None] != subject[None, :]
        if recording is not None:
            recording = _ids("recording", recording, size)
            if (start is None) != (length is None):
                raise ValueError("start and length must be given together")
            if start is None or length is None:
                keep &= recording[:, None] != recording[None, :]
            else:
                keep &= ~overlap_mask(recording, start, length, min_gap=min_gap)
        elif start is not None or length is not None:
            raise ValueError("start and length need recording ids")
    return keep
