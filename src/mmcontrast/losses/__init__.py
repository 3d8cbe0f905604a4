"""Contrastive losses for paired modalities or views.

Modules: :class:`InfoNCE`, :class:`DebiasedContrastiveLoss`, :class:`HardNegativeLoss`.
Functional twins live in :mod:`mmcontrast.losses.functional`.
"""

from mmcontrast.losses import functional
from mmcontrast.losses.debiased import DebiasedContrastiveLoss
from mmcontrast.losses.functional import ContrastiveTerms
from mmcontrast.losses.hard_negative import HardNegativeLoss
from mmcontrast.losses.info_nce import InfoNCE

__all__ = [
    "ContrastiveTerms",
    "DebiasedContrastiveLoss",
    "HardNegativeLoss",
    "InfoNCE",
    "functional",
]
