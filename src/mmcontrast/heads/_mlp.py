"""The small typed layer spec every head is built from, and its one resolver."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
from torch import nn

from mmcontrast._checks import check_choice, check_finite_number, check_int

__all__ = ["ACTIVATIONS", "NORMS", "Activation", "LinearSpec", "Norm", "build_mlp"]

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


def _norm(
    kind: str, features: int, device: torch.device | str | None, dtype: torch.dtype | None
) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(features, device=device, dtype=dtype)
    if kind == "layer":
        return nn.LayerNorm(features, device=device, dtype=dtype)
    return nn.Identity()


def _activation(kind: str) -> nn.Module:
    if kind == "relu":
        return nn.ReLU()
    if kind == "gelu":
        return nn.GELU()
    if kind == "tanh":
        return nn.Tanh()
    return nn.Identity()


def build_mlp(
    owner: str,
    in_features: int,
    specs: Sequence[LinearSpec],
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Sequential:
    """Validate ``specs`` and build the layers; identity modules are left out.

    A norm layer makes the preceding ``Linear``'s bias redundant, but it is kept so the
    parameter counts match the reference heads (CMC-CMKM's ``ProjectionMLP``).
    """
    check_int(owner, "in_features", in_features, minimum=1)
    layers: list[nn.Module] = []
    width = in_features
    for index, spec in enumerate(specs):
        where = f"layer {index}"
        out = check_int(owner, f"out_features of {where}", spec.out_features, minimum=1)
        check_choice(owner, f"norm of {where}", spec.norm, NORMS)
        check_choice(owner, f"activation of {where}", spec.activation, ACTIVATIONS)
        dropout = check_finite_number(owner, f"dropout of {where}", spec.dropout, low=0.0, high=1.0)
        layers.append(nn.Linear(width, out, device=device, dtype=dtype))
        if spec.norm != "none":
            layers.append(_norm(spec.norm, out, device, dtype))
        if spec.activation != "none":
            layers.append(_activation(spec.activation))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = out
    return nn.Sequential(*layers)
