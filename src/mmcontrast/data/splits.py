"""Evaluation protocols: subject-wise splits and stratified label-fraction subsets.

Splits are by subject, so no subject's sequences are on two sides. Label-fraction subsets are
drawn from one side (the training side) only, per class, from a seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from torch import Tensor

from mmcontrast._checks import (
    check_choice,
    check_fraction,
    check_int,
    checking,
)

__all__ = [
    "LABEL_FRACTIONS",
    "PROTOCOLS",
    "Protocol",
    "Split",
    "cross_subject_split",
    "label_fraction_subset",
    "subject_split",
]

Protocol = Literal["odd-even", "cmc-cmkm"]
PROTOCOLS: tuple[str, ...] = ("odd-even", "cmc-cmkm")
LABEL_FRACTIONS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
"""Label fractions for few-label experiments. The reference protocol (CMC-CMKM) uses
1, 5, 10 and 25 %; on UTD-MHAD, with 16 training sequences per class, 2 % and 5 % both keep
one sequence per class (at least one is always kept)."""


@dataclass(frozen=True, eq=False)
class Split:
    """Indices of the train, validation and test sides (sorted, disjoint, int64).

    Iterating gives ``train, val, test``. ``val`` is empty for protocols without one.

    Examples:
        >>> from mmcontrast.data import Split
        >>> train, val, test = Split(train=[0, 2], val=[], test=[1, 3])
        >>> test.tolist()
        [1, 3]
        >>> Split(train=[0, 1], val=[], test=[1])
        Traceback (most recent call last):
        ...
        ValueError: Split: train and test must be disjoint, got 1 shared index: [1]
    """

    train: NDArray[np.int64]
    val: NDArray[np.int64]
    test: NDArray[np.int64]

    def __post_init__(self) -> None:
        with checking("Split"):
            for side in ("train", "val", "test"):
                values = _as_int_array(side, getattr(self, side))
                if values.size and values.min() < 0:
                    raise ValueError(f"{side} indices must be >= 0, got {int(values.min())}")
                if np.unique(values).size != values.size:
                    raise ValueError(f"{side} contains repeated indices")
                object.__setattr__(self, side, np.sort(values))
        for first, second in (("train", "val"), ("train", "test"), ("val", "test")):
            shared = np.intersect1d(getattr(self, first), getattr(self, second))
            if shared.size:
                noun = "index" if shared.size == 1 else "indices"
                raise ValueError(
                    f"Split: {first} and {second} must be disjoint, got {shared.size} shared "
                    f"{noun}: {shared[:10].tolist()}"
                )

    def __iter__(self) -> Iterator[NDArray[np.int64]]:
        return iter((self.train, self.val, self.test))

    def __repr__(self) -> str:
        return f"Split(train={self.train.size}, val={self.val.size}, test={self.test.size})"


def subject_split(
    subjects: ArrayLike | Tensor,
    *,
    train: Iterable[int],
    test: Iterable[int],
    val: Iterable[int] = (),
) -> Split:
    """Split sequences by the subject who recorded them.

    Sequences of subjects listed on no side are left out (e.g. MMAct's subject 16 in its
    cross-subject protocol).

    Args:
        subjects: the subject of every sequence.
        train: the training subjects.
        test: the test subjects.
        val: the validation subjects (default none).

    Shapes:
        subjects: ``"n"``; output indices: ``"n_side"``.

    Raises:
        ValueError: a subject on two sides, or a listed subject with no sequence.

    Examples:
        >>> from mmcontrast.data import subject_split
        >>> subject_split([1, 2, 3, 1, 2, 3], train=[1], val=[2], test=[3])
        Split(train=2, val=2, test=2)
    """
    with checking("subject_split"):
        values = _as_int_array("subjects", subjects)
    sides = {
        name: sorted({int(s) for s in side})
        for name, side in (("train", train), ("val", val), ("test", test))
    }
    for first, second in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = sorted(set(sides[first]) & set(sides[second]))
        if shared:
            raise ValueError(
                f"subject_split: subjects must be on one side only, got {shared} in both {first} "
                f"and {second}"
            )
    present = set(np.unique(values).tolist())
    absent = sorted({s for side in sides.values() for s in side} - present)
    if absent:
        raise ValueError(
            f"subject_split: subjects {absent} have no sequence; the data has subjects "
            f"{sorted(present)}"
        )
    return Split(**{name: np.flatnonzero(np.isin(values, side)) for name, side in sides.items()})


def cross_subject_split(subjects: ArrayLike | Tensor, *, protocol: Protocol = "odd-even") -> Split:
    """The cross-subject protocols of UTD-MHAD.

    * ``"odd-even"`` (Chen et al. 2015): odd subjects train, even subjects test. On
      UTD-MHAD: subjects 1, 3, 5, 7 (431 sequences) against 2, 4, 6, 8 (430).
    * ``"cmc-cmkm"`` (the CMC-CMKM and hard-negative repositories): subject 7 moves to
      validation; train 1, 3, 5 and test 2, 4, 6, 8 on UTD-MHAD.

    Both work on any subject numbering with odd and even subjects (the synthetic data uses
    the same one); ``"cmc-cmkm"`` needs subject 7.

    Args:
        subjects: the subject of every sequence.
        protocol: ``"odd-even"`` or ``"cmc-cmkm"``.

    Shapes:
        subjects: ``"n"``; output indices: ``"n_side"``.

    Examples:
        >>> from mmcontrast.data import cross_subject_split
        >>> subjects = [1, 2, 3, 4, 5, 6, 7, 8]
        >>> cross_subject_split(subjects).train.tolist()
        [0, 2, 4, 6]
        >>> cross_subject_split(subjects, protocol="cmc-cmkm").val.tolist()
        [6]
    """
    with checking("cross_subject_split"):
        check_choice("protocol", protocol, PROTOCOLS)
        present = sorted(set(np.unique(_as_int_array("subjects", subjects)).tolist()))
    odd = [s for s in present if s % 2 == 1]
    even = [s for s in present if s % 2 == 0]
    val: list[int] = []
    if protocol == "cmc-cmkm":
        if 7 not in present:
            raise ValueError(
                'cross_subject_split: protocol "cmc-cmkm" validates on subject 7, but the data '
                f"has subjects {present}"
            )
        odd, val = [s for s in odd if s != 7], [7]
    if not odd or not even:
        raise ValueError(
            f"cross_subject_split: protocol {protocol!r} needs training and test subjects, got "
            f"subjects {present}"
        )
    return subject_split(subjects, train=odd, val=val, test=even)


def label_fraction_subset(
    labels: ArrayLike | Tensor, *, fraction: float, seed: int
) -> NDArray[np.int64]:
    """A stratified subset keeping ``fraction`` of every class, from a seed.

    Each class of size ``n`` keeps ``max(1, floor(fraction * n))`` sequences, drawn without
    replacement: the rule of the CMC-CMKM semi-supervised runs, ``int(fraction * n)`` with at
    least one per class (the floor allows a 1e-9 tolerance, so ``0.29 * 100`` gives 29 and
    not the 28 of a bare ``int``). One random order per class is drawn from ``seed``, and
    each fraction takes its head, so for one seed the subsets are nested (the 5 % subset is
    inside the 10 % one). Apply it to the training side only.

    Args:
        labels: the label of every sequence (of the side to subsample).
        fraction: in ``(0, 1]``; see `LABEL_FRACTIONS`.
        seed: a non-negative int.

    Shapes:
        labels: ``"n"``; output: ``"k"``, sorted positions into ``labels``.

    Examples:
        >>> import numpy as np
        >>> from mmcontrast.data import label_fraction_subset
        >>> labels = np.repeat(np.arange(3), 16)  # 3 classes of 16
        >>> subset = label_fraction_subset(labels, fraction=0.25, seed=0)
        >>> np.bincount(labels[subset]).tolist()
        [4, 4, 4]
        >>> np.bincount(labels[label_fraction_subset(labels, fraction=0.02, seed=0)]).tolist()
        [1, 1, 1]
    """
    with checking("label_fraction_subset"):
        values = _as_int_array("labels", labels)
        fraction = check_fraction("fraction", fraction)
        check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(values):
        members = np.flatnonzero(values == label)
        keep = max(1, math.floor(fraction * members.size + 1e-9))
        chosen.append(rng.permutation(members)[:keep])
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _as_int_array(name: str, value: object) -> NDArray[np.int64]:
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1:
        raise ValueError(f'{name} must have shape "n", got {array.shape}')
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {array.dtype}")
    return array.astype(np.int64)
