"""Build the layers of a head from its `LinearSpec` list (a private helper of the heads)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mmcontrast._checks import check_finite_number, check_int
from mmcontrast.heads.linear_spec import LinearSpec

__all__ = ["build_mlp", "check_layer", "layer_name"]


def check_layer(owner: str, name: str, layer: object) -> None:
    """``layer`` must be ``None`` or a module class / factory (``TypeError`` otherwise)."""
    if layer is not None and not callable(layer):
        raise TypeError(
            f"{owner}: {name} must be a module class such as nn.ReLU, or None, got {layer!r}"
        )


def layer_name(layer: object) -> str:
    """``"BatchNorm1d"`` for a class, ``"None"`` for none, the ``repr`` otherwise."""
    return str(getattr(layer, "__name__", repr(layer)))


def build_mlp(
    owner: str,
    in_features: int,
    specs: Sequence[LinearSpec],
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Sequential:
    """Validate ``specs`` and build the layers; absent norm and activation layers are left out.

    A norm layer makes the preceding ``Linear``'s bias redundant, but it is kept so the
    parameter counts match the reference heads (CMC-CMKM's ``ProjectionMLP``).
    """
    check_int(owner, "in_features", in_features, minimum=1)
    layers: list[nn.Module] = []
    width = in_features
    for index, spec in enumerate(specs):
        where = f"layer {index}"
        out = check_int(owner, f"out_features of {where}", spec.out_features, minimum=1)
        check_layer(owner, f"norm_layer of {where}", spec.norm_layer)
        check_layer(owner, f"act_layer of {where}", spec.act_layer)
        dropout = check_finite_number(owner, f"dropout of {where}", spec.dropout, low=0.0, high=1.0)
        layers.append(nn.Linear(width, out, device=device, dtype=dtype))
        if spec.norm_layer is not None:
            layers.append(spec.norm_layer(out, device=device, dtype=dtype))
        if spec.act_layer is not None:
            layers.append(spec.act_layer())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = out
    return nn.Sequential(*layers)
