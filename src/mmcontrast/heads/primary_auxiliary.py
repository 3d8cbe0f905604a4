"""Primary–auxiliary classification heads and their combined loss (project design)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcontrast._checks import (
    check_finite_number,
    check_int,
    check_modality_dims,
    check_modality_features,
    check_present,
    check_probability,
    check_tensor,
    checking,
)
from mmcontrast._ops import masked_mean
from mmcontrast.heads._mlp import build_mlp, check_hidden_layers, check_widths, layer_name
from mmcontrast.heads.linear_spec import LinearSpec

__all__ = ["PrimaryAuxiliaryHead", "PrimaryAuxiliaryLogits", "primary_auxiliary_loss"]


class PrimaryAuxiliaryLogits(NamedTuple):
    """What `PrimaryAuxiliaryHead` returns.

    Attributes:
        primary: ``"b num_classes"``, the logits used at inference.
        auxiliary: ``name -> "b num_classes"``, one entry per auxiliary stream, in the order
            of the head's ``auxiliary`` mapping.
    """

    primary: Tensor
    auxiliary: dict[str, Tensor]


class PrimaryAuxiliaryHead(nn.Module):
    """A primary classifier on the fused features plus one linear classifier per stream.

    **Project design, not from the CLMM paper; inferred from Cosmo and the abstract.** CLMM's
    abstract names a "primary–auxiliary collaborative training strategy" that fuses shared
    and modality-specific information; its definition is not public. Here the primary head
    is an MLP (``hidden_features``, 128 by default: ``512 -> 128 -> classes`` on
    ``[shared ; specific]``) and each auxiliary stream (e.g. ``"shared"`` and
    ``"specific"``, or one per modality branch) gets a linear classifier, so every stream
    receives a direct supervised signal. Train with `primary_auxiliary_loss`
    (``CE(primary) + alpha * mean_k CE(auxiliary_k)``); predict with ``.primary`` only.

    Args:
        in_features: size of the fused features fed to the primary head.
        auxiliary: ``stream name -> feature size`` of each auxiliary input.
        num_classes: number of classes.
        hidden_features: hidden widths of the primary MLP (``()`` for a linear primary).
        norm_layer: norm after each hidden ``Linear``, called as
            ``norm_layer(width, device=..., dtype=...)`` (``nn.BatchNorm1d``, ``nn.LayerNorm``),
            or ``None`` (the default).
        act_layer: activation after each hidden norm, called with no arguments (``nn.ReLU``,
            ``nn.GELU``, ``nn.Tanh``), or ``None``.
        dropout: dropout after each hidden activation, in ``[0, 1)``.

    Shapes:
        fused: ``"b in_features"``; auxiliary[k]: ``"b d_k"``; output: a
        `PrimaryAuxiliaryLogits` of ``"b num_classes"`` tensors.

    Examples:
        >>> import torch
        >>> from mmcontrast.heads import PrimaryAuxiliaryHead, primary_auxiliary_loss
        >>> head = PrimaryAuxiliaryHead(512, {"shared": 256, "specific": 256}, 27)
        >>> shared, specific = torch.randn(8, 256), torch.randn(8, 256)
        >>> streams = {"shared": shared, "specific": specific}
        >>> logits = head(torch.cat([shared, specific], 1), streams)
        >>> logits.primary.shape, sorted(logits.auxiliary)
        (torch.Size([8, 27]), ['shared', 'specific'])
        >>> loss = primary_auxiliary_loss(logits, torch.randint(0, 27, (8,)), alpha=0.5)
        >>> loss.backward()
    """

    def __init__(
        self,
        in_features: int,
        auxiliary: Mapping[str, int],
        num_classes: int,
        *,
        hidden_features: Sequence[int] = (128,),
        norm_layer: Callable[..., nn.Module] | None = None,
        act_layer: Callable[[], nn.Module] | None = nn.ReLU,
        dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("PrimaryAuxiliaryHead"):
            self.in_features = check_int("in_features", in_features, minimum=1)
            self.auxiliary_dims = check_modality_dims("auxiliary", auxiliary)
            self.num_classes = check_int("num_classes", num_classes, minimum=1)
            self.hidden_features = check_widths("hidden_features", hidden_features)
            self.norm_layer = norm_layer
            self.act_layer = act_layer
            self.dropout = check_hidden_layers(
                norm_layer=norm_layer, act_layer=act_layer, dropout=dropout
            )
        specs = [
            LinearSpec(width, norm_layer=norm_layer, act_layer=act_layer, dropout=dropout)
            for width in self.hidden_features
        ]
        specs.append(LinearSpec(num_classes))
        self.primary = build_mlp(in_features, specs, device=device, dtype=dtype)
        self.auxiliary = nn.ModuleDict(
            {
                name: nn.Linear(d, num_classes, device=device, dtype=dtype)
                for name, d in self.auxiliary_dims.items()
            }
        )

    def forward(self, fused: Tensor, auxiliary: Mapping[str, Tensor]) -> PrimaryAuxiliaryLogits:
        """Primary and auxiliary logits.

        Args:
            fused: input of the primary head.
            auxiliary: ``stream -> features``, exactly the streams of the constructor.

        Shapes:
            fused: ``"b in_features"``; auxiliary[k]: ``"b d_k"``; output fields:
            ``"b num_classes"``.
        """
        with checking("PrimaryAuxiliaryHead"):
            check_tensor("fused", fused, pattern="b d", sizes={"d": self.in_features})
            streams = check_modality_features("auxiliary", auxiliary, self.auxiliary_dims)
        for name, x in zip(self.auxiliary_dims, streams, strict=True):
            if x.ndim != 2 or x.shape[0] != fused.shape[0]:
                raise ValueError(
                    f'PrimaryAuxiliaryHead: auxiliary[{name!r}] must have shape "b d" with the '
                    f"batch size of fused {tuple(fused.shape)}, got {tuple(x.shape)}"
                )
        logits = {
            name: self.auxiliary[name](x)
            for name, x in zip(self.auxiliary_dims, streams, strict=True)
        }
        return PrimaryAuxiliaryLogits(self.primary(fused), logits)

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr``."""
        return (
            f"in_features={self.in_features}, auxiliary={self.auxiliary_dims!r}, "
            f"num_classes={self.num_classes}, hidden_features={self.hidden_features}, "
            f"norm_layer={layer_name(self.norm_layer)}, act_layer={layer_name(self.act_layer)}, "
            f"dropout={self.dropout}"
        )


def primary_auxiliary_loss(
    logits: PrimaryAuxiliaryLogits,
    labels: Tensor,
    *,
    alpha: float = 0.5,
    present: Mapping[str, Tensor] | None = None,
    label_smoothing: float = 0.0,
) -> Tensor:
    """``CE(primary) + alpha * mean_k CE(auxiliary_k)`` (project design, not from CLMM).

    Each cross-entropy is a mean over the batch. With ``present``, an auxiliary stream's
    cross-entropy averages only the samples that have it (a stream absent from the whole
    batch contributes 0); streams left out of ``present`` use every sample. ``alpha = 0``
    trains the primary head alone; the project default 0.5 can be decayed during training.

    Args:
        logits: the output of `PrimaryAuxiliaryHead`.
        labels: class indices.
        alpha: weight of the auxiliary term, ``>= 0``.
        present: ``stream -> "b"`` bool, for auxiliary streams that some samples lack.
        label_smoothing: as in ``F.cross_entropy``, in ``[0, 1]``.

    Shapes:
        logits fields: ``"b num_classes"``; labels: ``"b"``; present[k]: ``"b"``; output:
        ``""``.

    Examples:
        >>> logits = PrimaryAuxiliaryLogits(torch.zeros(2, 3), {"inertial": torch.zeros(2, 3)})
        >>> primary_auxiliary_loss(logits, torch.tensor([0, 2]), alpha=1.0)
        tensor(2.1972)
    """
    with checking("primary_auxiliary_loss"):
        alpha = check_finite_number("alpha", alpha, low=0.0)
        smoothing = check_probability("label_smoothing", label_smoothing)
        if not isinstance(logits, PrimaryAuxiliaryLogits):
            raise TypeError(f"logits must be PrimaryAuxiliaryLogits, got {type(logits).__name__}")
        primary = logits.primary
        if labels.ndim != 1 or labels.shape[0] != primary.shape[0]:
            raise ValueError(
                f'labels must have shape "b" = ({primary.shape[0]},), got {tuple(labels.shape)}'
            )
        loss = F.cross_entropy(primary, labels, label_smoothing=smoothing)
        names = list(logits.auxiliary)
        if not names or alpha == 0.0:
            return loss
        mask = check_present(present, names, batch=primary.shape[0], device=primary.device)
    terms = []
    for i, name in enumerate(names):
        per_sample = F.cross_entropy(
            logits.auxiliary[name], labels, reduction="none", label_smoothing=smoothing
        )
        terms.append(masked_mean(per_sample, None if mask is None else mask[:, i], dim=0))
    return loss + alpha * torch.stack(terms).mean()
