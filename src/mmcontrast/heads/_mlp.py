"""Build the layers of a head from its `LinearSpec` list (a private helper of the heads)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mmcontrast._checks import prefixed
from mmcontrast.heads.linear_spec import LinearSpec

__all__ = ["build_mlp", "check_layer", "layer_name"]


@prefixed
def check_layer(owner: str, name: str, layer: object) -> None:
    """``layer`` must be ``None`` or a module class / factory (``TypeError`` otherwise)."""
    if layer is not None and not callable(layer):
        raise TypeError(f"{name} must be a module class such as nn.ReLU, or None, got {layer!r}")


def layer_name(layer: object) -> str:
    """``"BatchNorm1d"`` for a class, ``"None"`` for none, the ``repr`` otherwise."""
    return str(getattr(layer, "__name__", repr(layer)))


def build_mlp(
    in_features: int,
    specs: Sequence[LinearSpec],
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Sequential:
    """The layers of checked ``specs``; absent norm and activation layers are left out.

    The public heads check every argument a spec is built from. A norm layer makes the
    preceding ``Linear``'s bias redundant, but it is kept so the parameter counts match the
    reference heads (CMC-CMKM's ``ProjectionMLP``).
    """
    layers: list[nn.Module] = []
    width = in_features
    for spec in specs:
        layers.append(nn.Linear(width, spec.out_features, device=device, dtype=dtype))
        if spec.norm_layer is not None:
            layers.append(spec.norm_layer(spec.out_features, device=device, dtype=dtype))
        if spec.act_layer is not None:
            layers.append(spec.act_layer())
        if spec.dropout > 0:
            layers.append(nn.Dropout(spec.dropout))
        width = spec.out_features
    return nn.Sequential(*layers)
