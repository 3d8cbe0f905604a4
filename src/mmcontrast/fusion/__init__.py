"""Multimodal fusion: concatenation, quality-guided attention, a Bi-GRU, gated units.

Every module takes ``forward(features, *, present=None)`` with ``features`` a mapping
``modality -> "b d" | "b t d"`` and ``present`` an optional mapping ``modality -> "b"`` bool
(a missing modality gets exactly zero weight and zero gradient). Functional pieces live in
`mmcontrast.fusion.functional`. `QualityGuidedAttention`, `BidirectionalGRUFusion` and
`GatedMultimodalUnitFusion` are this project's design (after Cosmo and the GMU), not a
reproduction of the CLMM paper; see ``docs/fusion.md``.
"""

from mmcontrast.fusion import functional
from mmcontrast.fusion.concat import ConcatFusion
from mmcontrast.fusion.functional import quality_prior
from mmcontrast.fusion.gmu import GatedMultimodalUnitFusion
from mmcontrast.fusion.gru import BidirectionalGRUFusion, masked_bigru
from mmcontrast.fusion.quality_attention import AttentionOutput, QualityGuidedAttention

__all__ = [
    "AttentionOutput",
    "BidirectionalGRUFusion",
    "ConcatFusion",
    "GatedMultimodalUnitFusion",
    "QualityGuidedAttention",
    "functional",
    "masked_bigru",
    "quality_prior",
]
