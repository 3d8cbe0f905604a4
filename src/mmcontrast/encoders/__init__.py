"""Encoders for inertial (``"b t c"``) and skeleton (``"b t j c"``) sequences.

Modules: `CNNTransformerEncoder`, `CNNDiffTransformerEncoder` (with
`DifferentialAttention` and `DifferentialTransformerLayer`) and
`HCNEncoder`; `FastDropout` (and `use_fast_dropout`) is element-wise dropout from fewer
random draws. Exact configurations of published systems are in
`mmcontrast.encoders.presets`; the option types of their signatures (`Pooling`, `Positions`,
`HCNPadding`, `HCNFusion`, `HCNPooling`) are in `mmcontrast.encoders.types`.
"""

from mmcontrast.encoders import presets
from mmcontrast.encoders.cnn_transformer import CNNTransformerEncoder
from mmcontrast.encoders.diff_attention import DifferentialAttention, lambda_init_for_depth
from mmcontrast.encoders.diff_transformer import (
    CNNDiffTransformerEncoder,
    DifferentialTransformerLayer,
)
from mmcontrast.encoders.dropout import FastDropout, use_fast_dropout
from mmcontrast.encoders.hcn import HCNEncoder
from mmcontrast.encoders.types import HCNFusion, HCNPadding, HCNPooling, Pooling, Positions

__all__ = [
    "CNNDiffTransformerEncoder",
    "CNNTransformerEncoder",
    "DifferentialAttention",
    "DifferentialTransformerLayer",
    "FastDropout",
    "HCNEncoder",
    "HCNFusion",
    "HCNPadding",
    "HCNPooling",
    "Pooling",
    "Positions",
    "lambda_init_for_depth",
    "presets",
    "use_fast_dropout",
]
