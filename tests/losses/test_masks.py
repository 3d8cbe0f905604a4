from __future__ import annotations

import pytest
import torch

from mmcontrast.losses import HardNegativeLoss, negative_mask, overlap_mask


def _reference_overlap(rec, start, length, min_gap):  # one pair at a time
    n = len(rec)
    out = torch.zeros(n, n, dtype=torch.bool)
    for i in range(n):
        for j in range(n):
            gap = max(start[i], start[j]) - min(start[i] + length, start[j] + length)
            out[i, j] = bool(rec[i] == rec[j]) and gap < min_gap
    return out


@pytest.mark.parametrize("min_gap", [0.0, 1.5])
def test_overlap_mask_matches_pairwise_definition(min_gap: float) -> None:
    g = torch.Generator().manual_seed(0)
    rec = torch.randint(0, 3, (12,), generator=g)
    start = torch.rand(12, generator=g) * 10
    want = _reference_overlap(rec.tolist(), start.tolist(), 2.0, min_gap)
    assert torch.equal(overlap_mask(rec, start, 2.0, min_gap=min_gap), want)


def test_per_window_lengths_and_touching_windows() -> None:
    rec = torch.tensor([0, 0, 0])
    start = torch.tensor([0.0, 2.0, 2.5])
    mask = overlap_mask(rec, start, torch.tensor([2.0, 1.0, 1.0]))
    assert mask.tolist() == [[True, False, False], [False, True, True], [False, True, True]]


def test_negative_mask_by_subject_and_recording() -> None:
    subject = torch.tensor([1, 1, 2, 2])
    recording = torch.tensor([10, 11, 12, 12])
    by_subject = negative_mask(subject=subject)
    assert (
        by_subject.tolist() == [[False, False, True, True]] * 2 + [[True, True, False, False]] * 2
    )
    by_recording = negative_mask(recording=recording)
    assert by_recording[2, 3].item() is False and by_recording[0, 1].item() is True
    windows = negative_mask(recording=recording, start=torch.tensor([0.0, 0.0, 0.0, 5.0]),
                            length=2.0)  # fmt: skip
    assert windows[2, 3].item() is True  # same recording, but 5 s apart


def test_masks_feed_the_loss() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    rec, start = torch.tensor([0, 0, 0, 1, 1, 2]), torch.tensor([0.0, 1.0, 2.0, 0.0, 1.0, 0.0])
    criterion = HardNegativeLoss()
    terms = criterion.terms(a, b, neg_mask=negative_mask(recording=rec, start=start, length=1.5),
                            pos_mask=overlap_mask(rec, start, 1.5))  # fmt: skip
    assert terms.num_positives[:6].tolist() == [2, 3, 2, 2, 2, 1]
    assert terms.num_negatives[:6].tolist() == [4, 3, 4, 4, 4, 5]


def test_errors() -> None:
    with pytest.raises(ValueError, match="give subject and/or recording ids"):
        negative_mask()
    with pytest.raises(ValueError, match="start and length must be given together"):
        negative_mask(recording=torch.zeros(3), start=torch.zeros(3))
    with pytest.raises(ValueError, match=r'start must have shape "b" = \(3,\), got \(2,\)'):
        overlap_mask(torch.zeros(3), torch.zeros(2), 1.0)
    with pytest.raises(ValueError, match="length must be a number or have shape"):
        overlap_mask(torch.zeros(3), torch.zeros(3), torch.ones(2))
