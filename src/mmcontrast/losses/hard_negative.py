"""Hard-negative contrastive loss (Robinson et al. 2021) as a module."""

from __future__ import annotations

from mmcontrast.losses._base import PairwiseContrastiveLoss
from mmcontrast.losses._pairwise import Engine, LabelMode, Negatives, PairwiseOptions, Reduction
from mmcontrast.losses.queue import EmbeddingQueue
from mmcontrast.losses.temperature import LearnableTemperature

__all__ = ["HardNegativeLoss"]


class HardNegativeLoss(PairwiseContrastiveLoss):
    """Hard-negative contrastive loss: negatives importance-weighted by ``softmax(beta * l)``.

    The drop-in replacement for an InfoNCE / NT-Xent line. Per anchor with positive logit
    ``p`` and ``K`` negative logits ``l_j`` (``l = cos / temperature``)::

        R    = K * sum_j softmax(beta * l)_j * exp(l_j)
        Ng   = max((R - tau_plus * K * exp(p)) / (1 - tau_plus), K * exp(-1/temperature))
        loss = -log(exp(p) / (exp(p) + Ng))

    ``beta = 0`` is `DebiasedContrastiveLoss`; ``beta = 0, tau_plus = 0`` is
    `InfoNCE`. The weights are not detached, as in the reference implementation.
    ``K`` is each anchor's real negative count; the released multimodal code of Choi et al.
    uses ``2B - 2`` in the cross-modal loss and broadcasts a ``(2B, 1)`` tensor against a
    ``(2B,)`` one; neither deviation is reproduced (see the losses guide).

    The paper's UTD-MHAD setting (Choi, Beedu, Essa 2023, Table 1) is ``temperature=0.1,
    beta=1.0, tau_plus=0.037`` with batches of 64. With ``tau_plus > 0`` and a small
    temperature the clamp can catch most anchors once positives align, which silences the
    negatives; `terms` exposes the clamp mask to monitor it.

    Args:
        temperature: ``tau > 0``, or a `LearnableTemperature`.
        beta: hardness concentration ``>= 0``.
        tau_plus: class prior in ``[0, 1)``.
        negatives: ``"cross"`` (CMC) or ``"all"`` (SimCLR 2B-view).
        clamp: floor the negative estimate at ``K * exp(-1/temperature)``.
        symmetric: add the ``b -> a`` direction (``"cross"`` only).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        label_mode: what equal ``labels`` mean: ``"exclude"`` (not negatives) or
            ``"positive"`` (supervised-contrastive positives).
        chunk_size: tile rows for the ``O(B * chunk_size)`` memory path.
        gather_distributed: candidates from every ``torch.distributed`` rank, with gradients.
        queue: an `EmbeddingQueue` of extra negatives.
        engine: ``"tiled"`` or ``"reference"`` (plain autograd, for debugging; see
            `mmcontrast.losses.functional.contrastive_terms`).

    Shapes:
        a: ``"b d"``; b: ``"b d"``; labels: ``"b"``; output: ``""``, or ``"(2b)"`` / ``"b"``
        with ``reduction="none"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses import HardNegativeLoss
        >>> criterion = HardNegativeLoss(temperature=0.1, beta=1.0, tau_plus=0.037)
        >>> imu, skeleton = torch.randn(64, 128), torch.randn(64, 128)
        >>> terms = criterion.terms(imu, skeleton)
        >>> terms.loss.shape, terms.clamped.float().mean().shape
        (torch.Size([128]), torch.Size([]))
    """

    def __init__(
        self,
        *,
        temperature: float | LearnableTemperature = 0.1,
        beta: float = 1.0,
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
        options = PairwiseOptions(temperature, beta, tau_plus, negatives, clamp, symmetric,
                                  reduction, label_mode, chunk_size, gather_distributed,
                                  engine)  # fmt: skip
        super().__init__(options, queue=queue)
