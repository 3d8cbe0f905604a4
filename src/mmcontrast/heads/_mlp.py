"""Build the layers of a head from its `LinearSpec` list (a private helper of the heads)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_dropout, check_int
from mmcontrast.heads.linear_spec import LinearSpec

__all__ = ["build_mlp", "check_hidden_layers", "check_pooled", "check_widths", "layer_name"]


def check_widths(name: str, widths: object) -> tuple[int, ...]:
    """A sequence of layer widths, each an int ``>= 1``."""
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise TypeError(f"{name} must be a sequence of ints, got {type(widths).__name__}")
    return tuple(check_int(f"{name}[{i}]", width, minimum=1) for i, width in enumerate(widths))


def check_hidden_layers(*, norm_layer: object, act_layer: object, dropout: object) -> float:
    """The norm and activation classes (or ``None``) and the dropout of a head's hidden layers.

    Returns the dropout as a float.
    """
    for name, layer in (("norm_layer", norm_layer), ("act_layer", act_layer)):
        if layer is not None and not callable(layer):
            raise TypeError(
                f"{name} must be a module class such as nn.ReLU, or None, got {layer!r}"
            )
    return check_dropout(dropout)


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


def check_pooled(modalities: tuple[str, ...], xs: list[Tensor]) -> None:
    """Every modality's features are ``"b d"`` vectors (a head takes pooled features)."""
    for m, x in zip(modalities, xs, strict=True):
        if x.ndim != 2:
            raise ValueError(
                f'features[{m!r}] must have shape "b d" (pool the tokens first), got '
                f"{tuple(x.shape)}"
            )
