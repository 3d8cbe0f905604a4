"""In-memory datasets of preprocessed sequences: any non-empty set of modalities, with labels.

`MultimodalDataset` holds one ``"n t ..."`` tensor per modality (IMU-only, skeleton-only,
both, or any other names); `mmcontrast.data.PairedDataset` (``paired.py``) is its inertial +
skeleton special case, the type every loader returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Generic, TypeVar

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor
from torch.utils.data import Dataset
from typing_extensions import NamedTuple, Self

from mmcontrast._checks import check_bool, check_int, check_tensor, checking
from mmcontrast.data._dataset_checks import (
    as_names,
    check_classes,
    check_extras,
    check_masks,
    check_modalities,
    check_standardizers,
    index_tensor,
)
from mmcontrast.data.splits import Split
from mmcontrast.data.standardize import Standardizer

__all__ = ["MultimodalDataset", "SplitDatasets"]

DatasetT = TypeVar("DatasetT", bound="MultimodalDataset")


class SplitDatasets(NamedTuple, Generic[DatasetT]):
    """The three sides of a protocol; ``val`` is empty when the protocol has none.

    The sides have the type of the dataset that was split (`PairedDataset` stays paired).
    """

    train: DatasetT
    val: DatasetT
    test: DatasetT


class MultimodalDataset(Dataset[dict[str, Tensor]]):
    """Sequences of one or more modalities with labels, subjects and trials, in memory.

    Item ``i`` is a dict of tensors: one entry per modality (``"inertial"`` ``"t c"``,
    ``"skeleton"`` ``"t j c"``, or any other name ``"t ..."``), ``"<modality>_mask"`` ``"t"``
    (bool, ``True`` on real steps; all ``True`` for fixed-length data), and 0-d int64
    ``label`` (0-based), ``subject``, ``trial`` plus any ``extras``. Only the modalities
    the dataset holds appear. ``torch.utils.data``'s default collate batches them into
    ``"b t c"``, ``"b t j c"``, ``"b t"`` and ``"b"``. The whole arrays are attributes too
    (``modalities``, ``masks``, ``label``, ...; ``inertial`` and ``skeleton`` as properties),
    for full-batch work.

    Standardisation is not applied at construction: `split` fits a `Standardizer` on the
    training side only and applies it to every side, and the standardised datasets keep it
    in ``standardizers`` (store it with a model).

    Args:
        modalities: a non-empty mapping from modality name (a Python identifier) to a float
            tensor ``"n t ..."``; ``"inertial"`` must be ``"n t c"`` and ``"skeleton"``
            ``"n t j c"``. Every modality holds the same ``n`` sequences, each its own ``t``.
        label: integer tensor ``"n"`` in ``[0, len(classes))``.
        subject: integer tensor ``"n"`` (or any group: session, user, recording).
        trial: integer tensor ``"n"``, or ``None`` for 0 everywhere.
        masks: per-modality bool tensors ``"n t"``; a modality left out has every step real.
        names: one name per sequence, or ``None`` for ``"#0"``, ``"#1"``, ...
        classes: the class names, or ``None`` for ``"0"``, ``"1"``, ... up to the largest
            label.
        extras: more integer ``"n"`` tensors returned with each item.
        standardizers: per-modality `Standardizer` already applied to the data.

    Shapes:
        modalities: ``"n t c"`` / ``"n t j c"`` / ``"n t ..."``; masks: ``"n t"``; label,
        subject, trial, extras: ``"n"``.

    Examples:
        IMU-only data (e.g. windows from `sliding_windows`):

        >>> import torch
        >>> from mmcontrast.data import MultimodalDataset, Split
        >>> data = MultimodalDataset(
        ...     modalities={"inertial": torch.randn(6, 50, 6) * 100},
        ...     label=torch.tensor([0, 1, 2, 0, 1, 2]), subject=torch.tensor([1, 1, 2, 2, 3, 3]))
        >>> sorted(data[0])
        ['inertial', 'inertial_mask', 'label', 'subject', 'trial']
        >>> train, val, test = data.split(Split(train=[0, 1, 2, 3], val=[], test=[4, 5]))
        >>> train.standardizers["inertial"]
        Standardizer(channels=(6,))
        >>> bool(train.inertial.mean(dim=(0, 1)).abs().max() < 1e-5)
        True
        >>> data
        MultimodalDataset(sequences=6, inertial=(50, 6), classes=3, subjects=[1, 2, 3],
                          standardized=[])
    """

    def __init__(
        self,
        *,
        modalities: Mapping[str, Tensor],
        label: Tensor,
        subject: Tensor,
        trial: Tensor | None = None,
        masks: Mapping[str, Tensor] | None = None,
        names: Sequence[str] | None = None,
        classes: Sequence[str] | None = None,
        extras: Mapping[str, Tensor] | None = None,
        standardizers: Mapping[str, Standardizer] | None = None,
    ) -> None:
        with checking(type(self).__name__):
            self._modalities = check_modalities(modalities)
            count = next(iter(self._modalities.values())).shape[0]
            self.label = index_tensor("label", label, count)
            self.subject = index_tensor("subject", subject, count)
            self.trial = (
                torch.zeros(count, dtype=torch.long)
                if trial is None
                else index_tensor("trial", trial, count)
            )
            self._masks = check_masks(masks, self._modalities)
            self.extras = check_extras(extras, self._modalities, count)
            self.names = as_names(names, count)
            self.classes = check_classes(classes, self.label)
            self._standardizers = check_standardizers(standardizers, self._modalities)

    @property
    def modalities(self) -> Mapping[str, Tensor]:
        """The data of each modality (read-only mapping), ``"n t ..."``."""
        return MappingProxyType(self._modalities)

    @property
    def masks(self) -> Mapping[str, Tensor]:
        """The ``"n t"`` bool mask of each modality (read-only mapping)."""
        return MappingProxyType(self._masks)

    @property
    def standardizers(self) -> Mapping[str, Standardizer]:
        """The `Standardizer` applied to each standardised modality (read-only mapping)."""
        return MappingProxyType(self._standardizers)

    @property
    def inertial(self) -> Tensor:
        """The ``"n t c"`` inertial data (an ``AttributeError`` when the dataset has none)."""
        return self._modality("inertial")

    @property
    def skeleton(self) -> Tensor:
        """The ``"n t j c"`` skeleton data (an ``AttributeError`` when the dataset has none)."""
        return self._modality("skeleton")

    @property
    def inertial_mask(self) -> Tensor:
        """The ``"n t"`` inertial mask."""
        return self._masks[self._present("inertial", AttributeError)]

    @property
    def skeleton_mask(self) -> Tensor:
        """The ``"n t"`` skeleton mask."""
        return self._masks[self._present("skeleton", AttributeError)]

    @property
    def inertial_mean(self) -> Tensor | None:
        """The ``"c"`` inertial means applied (see `split`), or ``None``."""
        scaler = self._standardizers.get("inertial")
        return None if scaler is None else scaler.mean

    @property
    def inertial_std(self) -> Tensor | None:
        """The ``"c"`` inertial standard deviations applied, or ``None``."""
        scaler = self._standardizers.get("inertial")
        return None if scaler is None else scaler.std

    @property
    def num_classes(self) -> int:
        """The number of classes (``len(classes)``)."""
        return len(self.classes)

    @property
    def normalized(self) -> bool:
        """Whether inertial statistics have been applied (see `split`)."""
        return "inertial" in self._standardizers

    def __len__(self) -> int:
        return int(self.label.shape[0])

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(
                f"{type(self).__name__}: index must be an int, got {type(index).__name__}"
            )
        count = len(self)
        if not -count <= index < count:
            raise IndexError(
                f"{type(self).__name__}: index {index} is out of range for {count} sequences"
            )
        item = {name: value[index] for name, value in self._modalities.items()}
        item.update({f"{name}_mask": mask[index] for name, mask in self._masks.items()})
        item["label"] = self.label[index]
        item["subject"] = self.subject[index]
        item["trial"] = self.trial[index]
        item.update({key: value[index] for key, value in self.extras.items()})
        return item

    def subset(self, indices: Sequence[int] | NDArray[np.integer] | Tensor) -> Self:
        """The sequences at ``indices`` (in that order), keeping classes and statistics."""
        index = torch.as_tensor(np.asarray(indices, dtype=np.int64).reshape(-1))
        count = len(self)
        if index.numel() and (int(index.min()) < -count or int(index.max()) >= count):
            raise IndexError(
                f"{type(self).__name__}: subset indices must be in [{-count}, {count}), got "
                f"the range [{int(index.min())}, {int(index.max())}]"
            )
        return self._rebuild(
            type(self),
            {name: value[index] for name, value in self._modalities.items()},
            index=index,
        )

    def select(self, modalities: str | Sequence[str]) -> MultimodalDataset:
        """A `MultimodalDataset` with only ``modalities`` (e.g. ``"inertial"`` for IMU-only).

        Labels, subjects, masks, extras and the statistics of the kept modalities stay.
        """
        wanted = [modalities] if isinstance(modalities, str) else list(modalities)
        if not wanted:
            raise ValueError(
                f"{type(self).__name__}: select needs at least one modality, got {wanted!r}"
            )
        for name in wanted:
            self._present(name)
        return self._rebuild(MultimodalDataset, {name: self._modalities[name] for name in wanted})

    def fit_standardizer(self, modality: str, *, channel_dims: int = 1) -> Standardizer:
        """A `Standardizer` fitted on ``modality`` over every real (unmasked) step.

        Args:
            modality: a modality of the dataset.
            channel_dims: trailing axes with their own statistics: 1 gives ``"c"`` (pooled
                over joints for a skeleton), 2 gives ``"j c"`` on a skeleton.
        """
        self._present(modality)
        with checking(type(self).__name__):
            check_int("channel_dims", channel_dims, minimum=1)
        if not bool(self._masks[modality].any()):
            raise ValueError(
                f"{type(self).__name__}: {modality} statistics need at least one real step, "
                f"got {len(self)} sequences"
            )
        return Standardizer.fit(
            self._modalities[modality], mask=self._masks[modality], channel_dims=channel_dims
        )

    def standardize(self, modality: str, standardizer: Standardizer) -> Self:
        """A copy with ``modality`` standardised on real steps (padding stays 0)."""
        self._present(modality)
        if not isinstance(standardizer, Standardizer):
            raise TypeError(
                f"{type(self).__name__}: standardizer must be a Standardizer, got "
                f"{type(standardizer).__name__}"
            )
        if modality in self._standardizers:
            raise ValueError(
                f"{type(self).__name__}: the {modality} channels are already standardised"
            )
        data = self._modalities[modality]
        shape = standardizer.channel_shape
        if data.ndim - len(shape) < 2 or tuple(data.shape[data.ndim - len(shape) :]) != shape:
            raise ValueError(
                f"{type(self).__name__}: the standardizer's channel shape {shape} does not fit "
                f"{modality} "
                f"{tuple(data.shape)}"
            )
        modalities = dict(self._modalities)
        modalities[modality] = standardizer.transform(data, self._masks[modality])
        return self._rebuild(
            type(self),
            modalities,
            standardizers={**self._standardizers, modality: standardizer},
        )

    def inertial_statistics(self) -> tuple[Tensor, Tensor]:
        """Per-channel mean and standard deviation over every real (unmasked) step.

        Computed in float64 and returned in the data's dtype (`fit_standardizer`). A
        constant channel gets a standard deviation of 1, so normalising leaves it centred
        rather than dividing by zero.

        Shapes:
            output: ``("c", "c")``.
        """
        scaler = self.fit_standardizer("inertial")
        return scaler.mean, scaler.std

    def normalize_inertial(self, mean: Tensor, std: Tensor) -> Self:
        """A copy with ``(inertial - mean) / std`` on real steps (padding stays 0)."""
        if self.normalized:
            raise ValueError(f"{type(self).__name__}: the inertial channels are already normalised")
        channels = self.inertial.shape[-1]
        with checking(type(self).__name__):
            mean = check_tensor("mean", mean, pattern="c", sizes={"c": channels})
            std = check_tensor("std", std, pattern="c", sizes={"c": channels})
        if not bool((std > 0).all()):
            raise ValueError(f"{type(self).__name__}: std must be positive, got {std.tolist()}")
        return self.standardize("inertial", Standardizer(mean, std))

    def split(
        self,
        split: Split,
        *,
        normalize_inertial: bool = True,
        standardize: Sequence[str] = (),
    ) -> SplitDatasets[Self]:
        """The train, validation and test datasets of a protocol.

        For each modality to standardise, a `Standardizer` is fitted on the training side
        only (`fit_standardizer`, per channel) and applied to all three sides, which keep
        it in ``standardizers`` (and, for the inertial one, ``inertial_mean`` /
        ``inertial_std``).

        Args:
            split: the sides' indices.
            normalize_inertial: standardise the ``"inertial"`` modality when the dataset
                has one (a dataset without it is split as it is).
            standardize: more modalities to standardise, e.g. ``("skeleton",)``.

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
            raise TypeError(
                f"{type(self).__name__}: split must be a Split, got {type(split).__name__}"
            )
        with checking(type(self).__name__):
            check_bool("normalize_inertial", normalize_inertial)
        if isinstance(standardize, str) or not isinstance(standardize, Sequence):
            raise TypeError(
                f"{type(self).__name__}: standardize must be a sequence of modality names, e.g. "
                f"('skeleton',), got {standardize!r}"
            )
        names = list(dict.fromkeys(standardize))
        for name in names:
            self._present(name)
        if normalize_inertial and "inertial" in self._modalities and "inertial" not in names:
            names.insert(0, "inertial")
        top = int(max((int(part.max()) for part in split if part.size), default=-1))
        if top >= len(self):
            raise IndexError(
                f"{type(self).__name__}: the split indexes sequence {top}, but the dataset has "
                f"{len(self)}"
            )
        sides = [self.subset(part) for part in split]
        for name in names:
            scaler = sides[0].fit_standardizer(name)
            sides = [side.standardize(name, scaler) for side in sides]
        return SplitDatasets(*sides)

    def __repr__(self) -> str:
        shapes = ", ".join(
            f"{name}={tuple(value.shape[1:])}" for name, value in self._modalities.items()
        )
        return (
            f"{type(self).__name__}(sequences={len(self)}, {shapes}, "
            f"classes={self.num_classes}, subjects={sorted(set(self.subject.tolist()))}, "
            f"standardized={list(self._standardizers)})"
        )

    def _present(self, modality: object, error: type[Exception] = ValueError) -> str:
        if not isinstance(modality, str) or modality not in self._modalities:
            held = ", ".join(repr(name) for name in self._modalities)
            raise error(
                f"{type(self).__name__}: the dataset has no {modality!r} modality; it holds {held}"
            )
        return modality

    def _modality(self, modality: str) -> Tensor:
        return self._modalities[self._present(modality, AttributeError)]

    def _rebuild(
        self,
        cls: type[DatasetT],
        modalities: dict[str, Tensor],
        *,
        index: Tensor | None = None,
        standardizers: Mapping[str, Standardizer] | None = None,
    ) -> DatasetT:
        """A ``cls`` with new modality data, the rows at ``index`` of everything else."""

        def rows(value: Tensor) -> Tensor:
            return value if index is None else value[index]

        kept = self._standardizers if standardizers is None else standardizers
        dataset = cls.__new__(cls)
        MultimodalDataset.__init__(
            dataset,
            modalities=modalities,
            label=rows(self.label),
            subject=rows(self.subject),
            trial=rows(self.trial),
            masks={name: rows(self._masks[name]) for name in modalities},
            names=self.names if index is None else [self.names[i] for i in index.tolist()],
            classes=self.classes,
            extras={key: rows(value) for key, value in self.extras.items()},
            standardizers={name: kept[name] for name in modalities if name in kept},
        )
        return dataset


def __getattr__(name: str) -> object:
    """``PairedDataset`` moved to ``mmcontrast.data.paired``; the old import path still works."""
    if name == "PairedDataset":
        from mmcontrast.data.paired import PairedDataset

        return PairedDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
