"""Encoders for inertial (``"b t c"``) and skeleton (``"b t j c"``) sequences.

Modules: `CNNTransformerEncoder`, `CNNDiffTransformerEncoder` (with
`DifferentialAttention` and `DifferentialTransformerLayer`) and
`HCNEncoder`. Exact configurations of published systems are in
`mmcontrast.encoders.presets`.
"""

from mmcontrast.encoders import presets
from mmcontrast.encoders.cnn_transformer import CNNTransformerEncoder
from mmcontrast.encoders.diff_attention import DifferentialAttention, lambda_init_for_depth
from mmcontrast.encoders.diff_transformer import (
    CNNDiffTransformerEncoder,
    DifferentialTransformerLayer,
)
from mmcontrast.encoders.hcn import HCNEncoder

__all__ = [
    "CNNDiffTransformerEncoder",
    "CNNTransformerEncoder",
    "DifferentialAttention",
    "DifferentialTransformerLayer",
    "HCNEncoder",
    "lambda_init_for_depth",
    "presets",
]
