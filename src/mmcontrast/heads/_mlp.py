"""Build the layers of a head from its `LinearSpec` list (a private helper of the heads)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mmcontrast._checks import check_choice, check_finite_number, check_int
from mmcontrast.heads.linear_spec import ACTIVATIONS, NORMS, LinearSpec

__all__ = ["build_mlp"]


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
