"""`LinearSpec`: the small typed description of one layer of a head."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from torch import nn

__all__ = ["LinearSpec"]


class LinearSpec(NamedTuple):
    """One ``Linear -> norm -> activation -> dropout`` layer of a head.

    Layers are injected as classes (or factories), as timm's ``norm_layer`` / ``act_layer``;
    ``None`` leaves the layer out.

    Attributes:
        out_features: output width.
        norm_layer: called as ``norm_layer(out_features, device=..., dtype=...)``, e.g.
            ``nn.BatchNorm1d`` or ``nn.LayerNorm``; ``None`` for no norm.
        act_layer: called with no arguments, e.g. ``nn.ReLU``, ``nn.GELU`` or ``nn.Tanh``;
            ``None`` for no activation.
        dropout: dropout probability after the activation, in ``[0, 1)``.
    """

    out_features: int
    norm_layer: Callable[..., nn.Module] | None = None
    act_layer: Callable[[], nn.Module] | None = None
    dropout: float = 0.0
