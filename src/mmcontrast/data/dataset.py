"""The paired dataset every loader returns: preprocessed IMU and skeleton tensors with labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor
from torch.utils.data import Dataset

from mmcontrast._checks import check_bool, check_tensor
from mmcontrast.data.splits import Split

__all__ = ["PairedDataset", "SplitDatasets"]

_OWNER = "PairedDataset"
_STANDARD_KEYS = (
    "inertial",
    "skeleton",
    "inertial_mask",
    "skeleton_mask",
    "label",
    "subject",
    "trial",
)


class SplitDatasets(NamedTuple):
    """The three sides of a protocol; ``val`` is empty when the protocol has none."""

    train: PairedDataset
    val: PairedDataset
    test: PairedDataset


class PairedDataset(Dataset[dict[str, Tensor]]):
    """Paired inertial and skeleton sequences with labels, subjects and trials, in memory.

    Item ``i`` is a dict of tensors: ``inertial`` ``"t c"``, ``skeleton`` ``"t j c"``,
    ``inertial_mask`` and ``skeleton_mask`` ``"t"`` (bool, ``True`` on real steps; all
    ``True`` for fixed-length data), and 0-d int64 ``label`` (0-based), ``subject``, ``trial``
    plus any ``extras`` (e.g. MMAct's ``session`` and ``scene``). ``torch.utils.data``'s
    default collate batches them into ``"b t c"``, ``"b t j c"``, ``"b t"`` and ``"b"``.
    The whole arrays are attributes too (``dataset.inertial`` etc.), for full-batch work.

    Inertial normalisation is not applied at construction: `split` computes per-channel
    statistics on the training side only and applies them to every side, and the normalised
    datasets keep them in ``inertial_mean`` and ``inertial_std`` (store these with a model).

    Args:
        inertial: float tensor ``"n t c"``.
        skeleton: float tensor ``"n t j c"``.
        label: integer tensor ``"n"`` in ``[0, len(classes))``.
        subject: integer tensor ``"n"``.
        trial: integer tensor ``"n"``.
        inertial_mask: bool tensor ``"n t"`` or ``None`` (all steps real).
        skeleton_mask: bool tensor ``"n t"`` (the skeleton's ``t``) or ``None``.
        names: one name per sequence (e.g. ``"a1_s1_t1"``), or ``None`` for ``"#0"``, ...
        classes: the class names, or ``None`` for ``"0"``, ``"1"``, ... up to the largest
            label.
        extras: more integer ``"n"`` tensors returned with each item.
        inertial_mean: ``"c"`` statistics already applied to ``inertial``, or ``None``.
        inertial_std: ``"c"``, given together with ``inertial_mean``.

    Shapes:
        inertial: ``"n t c"``; skeleton: ``"n t j c"``; masks: ``"n t"``; label, subject,
        trial, extras: ``"n"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.data import PairedDataset
        >>> data = PairedDataset(
        ...     inertial=torch.randn(4, 50, 6), skeleton=torch.randn(4, 50, 20, 3),
        ...     label=torch.tensor([0, 1, 0, 1]), subject=torch.tensor([1, 1, 2, 2]),
        ...     trial=torch.ones(4, dtype=torch.long))
        >>> item = data[0]
        >>> item["inertial"].shape, item["skeleton"].shape, int(item["label"])
        (torch.Size([50, 6]), torch.Size([50, 20, 3]), 0)
        >>> batch = next(iter(torch.utils.data.DataLoader(data, batch_size=4)))
        >>> batch["skeleton"].shape
        torch.Size([4, 50, 20, 3])
    """

    def __init__(
        self,
        *,
        inertial: Tensor,
        skeleton: Tensor,
        label: Tensor,
        subject: Tensor,
        trial: Tensor,
        inertial_mask: Tensor | None = None,
        skeleton_mask: Tensor | None = None,
        names: Sequence[str] | None = None,
        classes: Sequence[str] | None = None,
        extras: Mapping[str, Tensor] | None = None,
        inertial_mean: Tensor | None = None,
        inertial_std: Tensor | None = None,
    ) -> None:
        self.inertial = check_tensor(_OWNER, "inertial", inertial, pattern="n t c")
        self.skeleton = check_tensor(_OWNER, "skeleton", skeleton, pattern="n t j c")
        count = self.inertial.shape[0]
        if self.skeleton.shape[0] != count:
            raise ValueError(
                f"{_OWNER}: inertial and skeleton must hold the same number of sequences, got "
                f"inertial: {tuple(self.inertial.shape)} and skeleton: "
                f"{tuple(self.skeleton.shape)}"
            )
        self.label = _index_tensor("label", label, count)
        self.subject = _index_tensor("subject", subject, count)
        self.trial = _index_tensor("trial", trial, count)
        self.inertial_mask = _mask("inertial_mask", inertial_mask, self.inertial)
        self.skeleton_mask = _mask("skeleton_mask", skeleton_mask, self.skeleton)
        self.extras = {
            key: _index_tensor(key, value, count) for key, value in (extras or {}).items()
        }
        clashes = sorted(set(self.extras) & set(_STANDARD_KEYS))
        if clashes:
            raise ValueError(f"{_OWNER}: extras must not reuse the standard keys, got {clashes}")
        self.names = _names(names, count)
        self.classes = _classes(classes, self.label)
        if (inertial_mean is None) != (inertial_std is None):
            raise ValueError(f"{_OWNER}: give both inertial_mean and inertial_std, or neither")
        channels = self.inertial.shape[-1]
        self.inertial_mean = _stat("inertial_mean", inertial_mean, channels)
        self.inertial_std = _stat("inertial_std", inertial_std, channels)

    def __len__(self) -> int:
        return int(self.inertial.shape[0])

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{_OWNER}: index must be an int, got {type(index).__name__}")
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"{_OWNER}: index {index} is out of range for {count} sequences")
        item = {
            "inertial": self.inertial[index],
            "skeleton": self.skeleton[index],
            "inertial_mask": self.inertial_mask[index],
            "skeleton_mask": self.skeleton_mask[index],
            "label": self.label[index],
            "subject": self.subject[index],
            "trial": self.trial[index],
        }
        item.update({key: value[index] for key, value in self.extras.items()})
        return item

    @property
    def num_classes(self) -> int:
        """The number of classes (``len(classes)``)."""
        return len(self.classes)

    @property
    def normalized(self) -> bool:
        """Whether inertial statistics have been applied (see `split`)."""
        return self.inertial_mean is not None

    def subset(self, indices: Sequence[int] | NDArray[np.integer] | Tensor) -> PairedDataset:
        """The sequences at ``indices`` (in that order), keeping classes and statistics."""
        index = torch.as_tensor(np.asarray(indices, dtype=np.int64).reshape(-1))
        count = len(self)
        if index.numel() and (int(index.min()) < -count or int(index.max()) >= count):
            raise IndexError(
                f"{_OWNER}: subset indices must be in [{-count}, {count}), got the range "
                f"[{int(index.min())}, {int(index.max())}]"
            )
        return PairedDataset(
            inertial=self.inertial[index],
            skeleton=self.skeleton[index],
            label=self.label[index],
            subject=self.subject[index],
            trial=self.trial[index],
            inertial_mask=self.inertial_mask[index],
            skeleton_mask=self.skeleton_mask[index],
            names=[self.names[i] for i in index.tolist()],
            classes=self.classes,
            extras={key: value[index] for key, value in self.extras.items()},
            inertial_mean=self.inertial_mean,
            inertial_std=self.inertial_std,
        )

    def inertial_statistics(self) -> tuple[Tensor, Tensor]:
        """Per-channel mean and standard deviation over every real (unmasked) step.

        Computed in float64 and returned in the data's dtype. A channel that is constant
        gets a standard deviation of 1, so normalising leaves it centred rather than
        dividing by zero.

        Shapes:
            output: ``("c", "c")``.
        """
        if not bool(self.inertial_mask.any()):
            raise ValueError(
                f"{_OWNER}: inertial statistics need at least one real step, got "
                f"{len(self)} sequences"
            )
        values = self.inertial.double()[self.inertial_mask]
        mean = values.mean(dim=0)
        std = values.std(dim=0, unbiased=False)
        std = torch.where(std > 0, std, torch.ones_like(std))
        return mean.to(self.inertial.dtype), std.to(self.inertial.dtype)

    def normalize_inertial(self, mean: Tensor, std: Tensor) -> PairedDataset:
        """A copy with ``(inertial - mean) / std`` on real steps (padding stays 0)."""
        if self.normalized:
            raise ValueError(f"{_OWNER}: the inertial channels are already normalised")
        channels = self.inertial.shape[-1]
        mean = check_tensor(_OWNER, "mean", mean, pattern="c", sizes={"c": channels})
        std = check_tensor(_OWNER, "std", std, pattern="c", sizes={"c": channels})
        if not bool((std > 0).all()):
            raise ValueError(f"{_OWNER}: std must be positive, got {std.tolist()}")
        scaled = (self.inertial - mean.to(self.inertial)) / std.to(self.inertial)
        inertial = torch.where(self.inertial_mask[..., None], scaled, torch.zeros_like(scaled))
        return PairedDataset(
            inertial=inertial,
            skeleton=self.skeleton,
            label=self.label,
            subject=self.subject,
            trial=self.trial,
            inertial_mask=self.inertial_mask,
            skeleton_mask=self.skeleton_mask,
            names=self.names,
            classes=self.classes,
            extras=self.extras,
            inertial_mean=mean,
            inertial_std=std,
        )

    def split(self, split: Split, *, normalize_inertial: bool = True) -> SplitDatasets:
        """The train, validation and test datasets of a protocol.

        With ``normalize_inertial=True`` the per-channel statistics come from the training
        side only (`inertial_statistics`) and are applied to all three sides, which
        keep them in ``inertial_mean`` / ``inertial_std``.

        Examples:
            >>> import torch
            >>> from mmcontrast.data import PairedDataset, cross_subject_split
            >>> data = PairedDataset(
            ...     inertial=torch.randn(8, 50, 6) * 100, skeleton=torch.randn(8, 50, 20, 3),
            ...     label=torch.arange(8) % 2, subject=torch.arange(8) // 2 + 1,
            ...     trial=torch.ones(8, dtype=torch.long))
            >>> train, val, test = data.split(cross_subject_split(data.subject))
            >>> len(train), len(val), len(test)
            (4, 0, 4)
            >>> bool(train.inertial.mean(dim=(0, 1)).abs().max() < 1e-5)
            True
            >>> torch.equal(test.inertial_mean, train.inertial_mean)
            True
        """
        if not isinstance(split, Split):
            raise TypeError(f"{_OWNER}: split must be a Split, got {type(split).__name__}")
        check_bool(_OWNER, "normalize_inertial", normalize_inertial)
        top = int(max((int(part.max()) for part in split if part.size), default=-1))
        if top >= len(self):
            raise IndexError(
                f"{_OWNER}: the split indexes sequence {top}, but the dataset has {len(self)}"
            )
        sides = [self.subset(part) for part in split]
        if normalize_inertial:
            mean, std = sides[0].inertial_statistics()
            sides = [side.normalize_inertial(mean, std) for side in sides]
        return SplitDatasets(*sides)

    def __repr__(self) -> str:
        subjects = sorted(set(self.subject.tolist()))
        return (
            f"{_OWNER}(sequences={len(self)}, inertial={tuple(self.inertial.shape[1:])}, "
            f"skeleton={tuple(self.skeleton.shape[1:])}, classes={self.num_classes}, "
            f"subjects={subjects}, normalized={self.normalized})"
        )


def _index_tensor(name: str, value: object, count: int) -> Tensor:
    tensor = check_tensor(_OWNER, name, value, pattern="n", floating=False)
    if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
        raise TypeError(f"{_OWNER}: {name} must have an integer dtype, got {tensor.dtype}")
    if tensor.shape[0] != count:
        raise ValueError(
            f'{_OWNER}: {name} must have shape "n" = ({count},), got {tuple(tensor.shape)}'
        )
    return tensor.long()


def _mask(name: str, value: Tensor | None, data: Tensor) -> Tensor:
    expected = tuple(data.shape[:2])
    if value is None:
        return torch.ones(expected, dtype=torch.bool)
    mask = check_tensor(_OWNER, name, value, pattern="n t", floating=False)
    if mask.dtype != torch.bool:
        raise TypeError(f"{_OWNER}: {name} must be a bool tensor, got {mask.dtype}")
    if tuple(mask.shape) != expected:
        raise ValueError(f"{_OWNER}: {name} must have shape {expected}, got {tuple(mask.shape)}")
    return mask


def _names(names: Sequence[str] | None, count: int) -> tuple[str, ...]:
    if names is None:
        return tuple(f"#{i}" for i in range(count))
    result = tuple(names)
    if len(result) != count or not all(isinstance(name, str) for name in result):
        raise ValueError(f"{_OWNER}: names must be {count} strings, got {len(result)} entries")
    return result


def _classes(classes: Sequence[str] | None, label: Tensor) -> tuple[str, ...]:
    top = int(label.max()) if label.numel() else -1
    if classes is None:
        return tuple(str(i) for i in range(top + 1))
    result = tuple(classes)
    if not all(isinstance(name, str) for name in result):
        raise TypeError(f"{_OWNER}: classes must be strings, got {result!r}")
    low = int(label.min()) if label.numel() else 0
    if low < 0 or top >= len(result):
        raise ValueError(
            f"{_OWNER}: labels must be in [0, {len(result)}) for {len(result)} classes, got "
            f"the range [{low}, {top}]"
        )
    return result


def _stat(name: str, value: Tensor | None, channels: int) -> Tensor | None:
    if value is None:
        return None
    tensor = check_tensor(_OWNER, name, value, pattern="c", sizes={"c": channels})
    return tensor.detach().clone()
