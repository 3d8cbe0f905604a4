"""Projection and classification heads.

`ProjectionHead` (the SimCLR / CMC MLP), `LinearClassifier`,
`MultimodalClassifier` (the hard-negative paper's fine-tuning head),
`LateFusionClassifier` with `late_fusion_loss` (one classifier per modality, trained apart,
fused by their mean log-probability) and
`PrimaryAuxiliaryHead` with `primary_auxiliary_loss` (this project's design for
CLMM's primary–auxiliary training, not a reproduction). Layers are described by
`LinearSpec`.
"""

from mmcontrast.heads.classifier import LinearClassifier, MultimodalClassifier
from mmcontrast.heads.late_fusion import LateFusionClassifier, LateFusionLogits, late_fusion_loss
from mmcontrast.heads.linear_spec import LinearSpec
from mmcontrast.heads.primary_auxiliary import (
    PrimaryAuxiliaryHead,
    PrimaryAuxiliaryLogits,
    primary_auxiliary_loss,
)
from mmcontrast.heads.projection import ProjectionHead

__all__ = [
    "LateFusionClassifier",
    "LateFusionLogits",
    "LinearClassifier",
    "LinearSpec",
    "MultimodalClassifier",
    "PrimaryAuxiliaryHead",
    "PrimaryAuxiliaryLogits",
    "ProjectionHead",
    "late_fusion_loss",
    "primary_auxiliary_loss",
]
