from __future__ import annotations

import numpy as np
import pytest
import torch

from mmcontrast.data import (
    LABEL_FRACTIONS,
    Split,
    cross_subject_split,
    label_fraction_subset,
    subject_split,
)
from tests.data.helpers import full_grid

GRID = np.array(full_grid())  # UTD-MHAD's 861 (action, subject, trial) keys
LABELS, SUBJECTS = GRID[:, 0] - 1, GRID[:, 1]


def test_split_sorts_validates_and_iterates() -> None:
    split = Split(train=[3, 1], val=np.array([], dtype=np.int64), test=[0, 2])
    train, val, test = split
    assert train.tolist() == [1, 3] and val.size == 0 and test.tolist() == [0, 2]
    assert train.dtype == np.int64
    assert repr(split) == "Split(train=2, val=0, test=2)"
    with pytest.raises(ValueError, match="^Split: train contains repeated indices"):
        Split(train=[1, 1], val=[], test=[2])
    with pytest.raises(ValueError, match="^Split: val and test must be disjoint, got 2 shared"):
        Split(train=[0], val=[1, 2], test=[2, 1])
    with pytest.raises(ValueError, match="^Split: test indices must be >= 0, got -1"):
        Split(train=[0], val=[], test=[-1])
    with pytest.raises(TypeError, match="^Split: train must hold integers, got dtype float64"):
        Split(train=[0.5], val=[], test=[1])


def test_original_protocol_counts_on_the_utd_mhad_grid() -> None:
    split = cross_subject_split(SUBJECTS)
    assert (split.train.size, split.val.size, split.test.size) == (431, 0, 430)
    assert set(SUBJECTS[split.train]) == {1, 3, 5, 7}
    assert set(SUBJECTS[split.test]) == {2, 4, 6, 8}
    train_counts = np.bincount(LABELS[split.train], minlength=27)
    test_counts = np.bincount(LABELS[split.test], minlength=27)
    assert train_counts[7] == 15 and test_counts[22] == 15 and test_counts[26] == 15
    assert (np.delete(train_counts, 7) == 16).all()
    assert (np.delete(test_counts, [22, 26]) == 16).all()


def test_cmc_cmkm_protocol_moves_subject_7_to_validation() -> None:
    split = cross_subject_split(torch.as_tensor(SUBJECTS), protocol="cmc-cmkm")
    assert (split.train.size, split.val.size, split.test.size) == (323, 108, 430)
    assert set(SUBJECTS[split.train]) == {1, 3, 5}
    assert set(SUBJECTS[split.val]) == {7}
    with pytest.raises(ValueError, match='protocol "cmc-cmkm" validates on subject 7'):
        cross_subject_split([1, 2, 3, 4], protocol="cmc-cmkm")
    with pytest.raises(ValueError, match="needs training and test subjects, got subjects"):
        cross_subject_split([1, 3, 5])
    with pytest.raises(ValueError, match="protocol must be one of 'odd-even', 'cmc-cmkm'"):
        cross_subject_split(SUBJECTS, protocol="leave-one-out")  # type: ignore[arg-type]


def test_subject_split() -> None:
    subjects = np.array([1, 2, 3, 4, 16, 1])
    split = subject_split(subjects, train=[1, 2], val=[3], test=[4])
    assert split.train.tolist() == [0, 1, 5] and split.val.tolist() == [2]
    assert 4 not in np.concatenate(list(split))  # subject 16 is on no side
    with pytest.raises(ValueError, match=r"must be on one side only, got \[2\] in both train"):
        subject_split(subjects, train=[1, 2], test=[2])
    with pytest.raises(ValueError, match=r"subjects \[9\] have no sequence"):
        subject_split(subjects, train=[1], test=[9])
    with pytest.raises(ValueError, match='subjects must have shape "n"'):
        subject_split(np.ones((2, 2), dtype=int), train=[1], test=[2])


@pytest.mark.parametrize(
    ("fraction", "per_class"),
    [(0.02, (1, 1)), (0.05, (1, 1)), (0.1, (1, 1)), (0.25, (4, 3)), (0.5, (8, 7)), (1.0, (16, 15))],
)
def test_label_fractions_follow_the_reference_rule(
    fraction: float, per_class: tuple[int, int]
) -> None:
    train = cross_subject_split(SUBJECTS).train
    labels = LABELS[train]  # 16 per class, 15 for class 7 (a8)
    subset = label_fraction_subset(labels, fraction=fraction, seed=3)
    counts = np.bincount(labels[subset], minlength=27)
    assert counts[7] == per_class[1]
    assert (np.delete(counts, 7) == per_class[0]).all()
    assert np.all(np.diff(subset) > 0)  # sorted, no repeats


def test_label_fraction_subsets_are_seeded_nested_and_subject_wise() -> None:
    split = cross_subject_split(SUBJECTS)
    labels = LABELS[split.train]
    subsets = [
        set(label_fraction_subset(labels, fraction=f, seed=0).tolist()) for f in LABEL_FRACTIONS
    ]
    assert all(small <= large for small, large in zip(subsets[:-1], subsets[1:], strict=True))
    again = label_fraction_subset(torch.as_tensor(labels), fraction=0.25, seed=0)
    np.testing.assert_array_equal(again, sorted(subsets[3]))
    other = label_fraction_subset(labels, fraction=0.25, seed=1)
    assert set(other.tolist()) != subsets[3]
    chosen = split.train[again]  # back to dataset indices: training subjects only
    assert set(SUBJECTS[chosen]) <= {1, 3, 5, 7}


def test_label_fraction_floor_tolerates_float_error() -> None:
    labels = np.zeros(100, dtype=np.int64)
    assert label_fraction_subset(labels, fraction=0.29, seed=0).size == 29  # int(0.29*100) is 28
    assert label_fraction_subset(np.zeros(0, dtype=np.int64), fraction=0.5, seed=0).size == 0


def test_label_fraction_rejects_bad_arguments() -> None:
    labels = np.arange(4)
    with pytest.raises(ValueError, match=r"^label_fraction_subset: fraction must be in \(0, 1\]"):
        label_fraction_subset(labels, fraction=0.0, seed=0)
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\], got 1.5"):
        label_fraction_subset(labels, fraction=1.5, seed=0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        label_fraction_subset(labels, fraction=0.5, seed=-1)
    with pytest.raises(TypeError, match="labels must hold integers"):
        label_fraction_subset(labels.astype(float), fraction=0.5, seed=0)
