"""Contrastive losses for paired modalities or views.

Pairwise losses: `InfoNCE`, `DebiasedContrastiveLoss`, `HardNegativeLoss`
(with `LearnableTemperature` and `EmbeddingQueue` as injectable collaborators),
`CMKMLoss` (teacher-guided mining) and `MultiModalLoss` for more than two
modalities. Per-anchor weighting: `dclw_weights`, `HardPositiveWeighting`.
Masks for HAR false negatives: `negative_mask`, `overlap_mask`. Functional twins
live in `mmcontrast.losses.functional`.
"""

from mmcontrast.losses import functional
from mmcontrast.losses.cmkm import CMKMLoss
from mmcontrast.losses.debiased import DebiasedContrastiveLoss
from mmcontrast.losses.functional import ContrastiveTerms
from mmcontrast.losses.hard_negative import HardNegativeLoss
from mmcontrast.losses.info_nce import InfoNCE
from mmcontrast.losses.masks import negative_mask, overlap_mask
from mmcontrast.losses.multimodal import MultiModalLoss
from mmcontrast.losses.queue import EmbeddingQueue, QueueState
from mmcontrast.losses.temperature import LearnableTemperature
from mmcontrast.losses.weighting import (
    HardPositiveWeighting,
    dclw_weights,
    hard_positive_weights,
    linear_warmup,
)

__all__ = [
    "CMKMLoss",
    "ContrastiveTerms",
    "DebiasedContrastiveLoss",
    "EmbeddingQueue",
    "HardNegativeLoss",
    "HardPositiveWeighting",
    "InfoNCE",
    "LearnableTemperature",
    "MultiModalLoss",
    "QueueState",
    "dclw_weights",
    "functional",
    "hard_positive_weights",
    "linear_warmup",
    "negative_mask",
    "overlap_mask",
]
