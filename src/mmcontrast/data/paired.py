"""The paired inertial + skeleton dataset every loader returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor

from mmcontrast._checks import checking
from mmcontrast.data._dataset_checks import index_tensor, paired_tensor, statistic
from mmcontrast.data.dataset import MultimodalDataset
from mmcontrast.data.standardize import Standardizer

__all__ = ["PairedDataset"]


class PairedDataset(MultimodalDataset):
    """Paired inertial and skeleton sequences: the `MultimodalDataset` every loader returns.

    Item ``i`` is a dict of tensors: ``inertial`` ``"t c"``, ``skeleton`` ``"t j c"``,
    ``inertial_mask`` and ``skeleton_mask`` ``"t"`` (bool, ``True`` on real steps; all
    ``True`` for fixed-length data), and 0-d int64 ``label`` (0-based), ``subject``, ``trial``
    plus any ``extras`` (e.g. MMAct's ``session`` and ``scene``). ``torch.utils.data``'s
    default collate batches them into ``"b t c"``, ``"b t j c"``, ``"b t"`` and ``"b"``.
    The whole arrays are attributes too (``dataset.inertial`` etc.), for full-batch work.
    Data with one modality only is a `MultimodalDataset` (``data.select("inertial")``
    makes one from paired data).

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
        >>> data.select("inertial")
        MultimodalDataset(sequences=4, inertial=(50, 6), classes=2, subjects=[1, 2],
                          standardized=[])
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
        with checking("PairedDataset"):
            inertial = paired_tensor("inertial", inertial)
            skeleton = paired_tensor("skeleton", skeleton)
            if inertial.shape[0] != skeleton.shape[0]:
                raise ValueError(
                    f"inertial and skeleton must hold the same number of sequences, got "
                    f"inertial: {tuple(inertial.shape)} and skeleton: {tuple(skeleton.shape)}"
                )
            if (inertial_mean is None) != (inertial_std is None):
                raise ValueError("give both inertial_mean and inertial_std, or neither")
            standardizers = {}
            if inertial_mean is not None and inertial_std is not None:
                channels = inertial.shape[-1]
                standardizers["inertial"] = Standardizer(
                    statistic("inertial_mean", inertial_mean, channels),
                    statistic("inertial_std", inertial_std, channels),
                )
            masks = {"inertial": inertial_mask, "skeleton": skeleton_mask}
            super().__init__(
                modalities={"inertial": inertial, "skeleton": skeleton},
                label=label,
                subject=subject,
                trial=index_tensor("trial", trial, inertial.shape[0]),
                masks={name: mask for name, mask in masks.items() if mask is not None},
                names=names,
                classes=classes,
                extras=extras,
                standardizers=standardizers,
            )

    def __repr__(self) -> str:
        subjects = sorted(set(self.subject.tolist()))
        return (
            f"{type(self).__name__}(sequences={len(self)}, "
            f"inertial={tuple(self.inertial.shape[1:])}, "
            f"skeleton={tuple(self.skeleton.shape[1:])}, classes={self.num_classes}, "
            f"subjects={subjects}, normalized={self.normalized})"
        )
