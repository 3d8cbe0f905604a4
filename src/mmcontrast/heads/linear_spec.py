"""`LinearSpec`: the small typed description of one layer of a head."""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = ["ACTIVATIONS", "NORMS", "Activation", "LinearSpec", "Norm"]

Norm = Literal["batch", "layer", "none"]
Activation = Literal["relu", "gelu", "tanh", "none"]
NORMS: tuple[str, ...] = ("batch", "layer", "none")
ACTIVATIONS: tuple[str, ...] = ("relu", "gelu", "tanh", "none")


class LinearSpec(NamedTuple):
    """One ``Linear -> norm -> activation -> dropout`` layer of a head.

    Attributes:
        out_features: output width.
        norm: ``"batch"`` (``BatchNorm1d``), ``"layer"`` (``LayerNorm``) or ``"none"``.
        activation: ``"relu"``, ``"gelu"``, ``"tanh"`` or ``"none"``.
        dropout: dropout probability after the activation, in ``[0, 1)``.
    """

    out_features: int
    norm: Norm = "none"
    activation: Activation = "none"
    dropout: float = 0.0
