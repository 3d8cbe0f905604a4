"""Debiased contrastive loss (Chuang et al. 2020) as a module."""

from __future__ import annotations

from mmcontrast.losses._base import PairwiseContrastiveLoss
from mmcontrast.losses._pairwise import Engine, LabelMode, Negatives, PairwiseOptions, Reduction
from mmcontrast.losses.queue import EmbeddingQueue
from mmcontrast.losses.temperature import LearnableTemperature

__all__ = ["DebiasedContrastiveLoss"]


class DebiasedContrastiveLoss(PairwiseContrastiveLoss):
    """Debiased contrastive loss: corrects the negatives for false negatives with ``tau_plus``.

    Per anchor, ``Ng = (sum_j exp(l_j) - tau_plus * K * exp(p)) / (1 - tau_plus)``, clamped
    below at ``K * exp(-1/temperature)``; the loss is ``-log(exp(p) / (exp(p) + Ng))``. It is
    `HardNegativeLoss` with ``beta = 0``. Not to be confused with the *decoupled*
    contrastive loss (Yeh et al.), which some libraries also call "DCL".

    Keywords: those of `HardNegativeLoss` without ``beta`` (Chuang et al. used
    ``temperature=0.5`` on images; ``tau_plus=0`` gives InfoNCE).

    Shapes:
        a: ``"b d"``; b: ``"b d"``; labels: ``"b"``; output: ``""``, or ``"(2b)"`` / ``"b"``
        with ``reduction="none"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses import DebiasedContrastiveLoss
        >>> criterion = DebiasedContrastiveLoss(temperature=0.5, tau_plus=0.1, negatives="all")
        >>> criterion(torch.randn(32, 16), torch.randn(32, 16)).shape
        torch.Size([])
    """

    def __init__(
        self,
        *,
        temperature: float | LearnableTemperature = 0.1,
        tau_plus: float = 0.1,
        negatives: Negatives = "cross",
        clamp: bool = True,
        symmetric: bool = True,
        reduction: Reduction = "mean",
        label_mode: LabelMode = "exclude",
        chunk_size: int | None = None,
        gather_distributed: bool = False,
        queue: EmbeddingQueue | None = None,
        engine: Engine = "tiled",
    ) -> None:
        options = PairwiseOptions(temperature, 0.0, tau_plus, negatives, clamp, symmetric,
                                  reduction, label_mode, chunk_size, gather_distributed,
                                  engine)  # fmt: skip
        super().__init__(options, queue=queue)

    def _repr_fields(self) -> dict[str, object]:
        fields = super()._repr_fields()
        del fields["beta"]
        return fields
