"""InfoNCE (CMC cross-modal) and NT-Xent (SimCLR) as a module."""

from __future__ import annotations

from mmcontrast.losses._base import PairwiseContrastiveLoss
from mmcontrast.losses._pairwise import Engine, LabelMode, Negatives, PairwiseOptions, Reduction
from mmcontrast.losses.queue import EmbeddingQueue
from mmcontrast.losses.temperature import LearnableTemperature

__all__ = ["InfoNCE"]


class InfoNCE(PairwiseContrastiveLoss):
    """InfoNCE between two modalities (``negatives="cross"``) or NT-Xent (``"all"``).

    See `mmcontrast.losses.functional.info_nce` for the definition. Call it as
    ``loss(a, b, labels=None)``; `terms` returns the per-anchor terms.

    Keywords: those of `HardNegativeLoss` without ``beta``, ``tau_plus`` and ``clamp``.
    ``negatives="cross"`` gives CMC's ``B - 1`` cross-modal negatives per anchor, ``"all"``
    SimCLR's ``2B - 2`` other rows of ``cat(a, b)``.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; labels: ``"b"``; output: ``""``, or ``"(2b)"`` / ``"b"``
        with ``reduction="none"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses import InfoNCE
        >>> criterion = InfoNCE(temperature=0.1)
        >>> a = torch.randn(64, 128, requires_grad=True)
        >>> loss = criterion(a, torch.randn(64, 128))
        >>> loss.backward()
        >>> criterion
        InfoNCE(temperature=0.1, negatives='cross', symmetric=True, reduction='mean',
                label_mode='exclude', chunk_size=None, gather_distributed=False)
    """

    def __init__(
        self,
        *,
        temperature: float | LearnableTemperature = 0.1,
        negatives: Negatives = "cross",
        symmetric: bool = True,
        reduction: Reduction = "mean",
        label_mode: LabelMode = "exclude",
        chunk_size: int | None = None,
        gather_distributed: bool = False,
        queue: EmbeddingQueue | None = None,
        engine: Engine = "tiled",
    ) -> None:
        options = PairwiseOptions(temperature, 0.0, 0.0, negatives, False, symmetric, reduction,
                                  label_mode, chunk_size, gather_distributed, engine)  # fmt: skip
        super().__init__(options, queue=queue)

    def _repr_fields(self) -> dict[str, object]:
        fields = super()._repr_fields()
        for hidden in ("beta", "tau_plus", "clamp"):
            del fields[hidden]
        return fields
