"""Decision-level (late) fusion: one classifier per modality, trained apart, fused at the end."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcontrast._checks import (
    check_int,
    check_modality_dims,
    check_modality_inputs,
    check_present,
    check_probability,
    check_tensor,
    checking,
)
from mmcontrast._ops import masked_mean
from mmcontrast.heads._mlp import check_hidden_layers, check_pooled
from mmcontrast.heads.classifier import MultimodalClassifier

__all__ = ["LateFusionClassifier", "LateFusionLogits", "late_fusion_loss"]


class LateFusionLogits(NamedTuple):
    """What `LateFusionClassifier` returns.

    Attributes:
        fused: ``"b num_classes"`` float32, the mean log-probability over the modalities each
            sample has (the log of a geometric mean of the per-modality experts, not itself
            normalised); predictions are its argmax. A sample with no modality scores every
            class 0, so its prediction (class 0) carries no information.
        per_modality: ``modality -> "b num_classes"`` logits, in the order of ``dims``; each
            is trained on its own cross-entropy (`late_fusion_loss`).
    """

    fused: Tensor
    per_modality: dict[str, Tensor]


class LateFusionClassifier(nn.Module):
    """One `MultimodalClassifier` per modality, fused by averaging their log-probabilities.

    Each modality gets the hard-negative paper's head on its own features (``Linear(d_m,
    256) -> BatchNorm1d -> ReLU -> Linear(256, num_classes)``), trained with its own
    cross-entropy (`late_fusion_loss`, which `mmcontrast.recipes.finetune_step` uses for this
    output), so no modality can leave the learning to another: in a concatenated head the
    easier modality (on UTD-MHAD the skeleton) fits the training labels alone and the other's
    branch stops receiving a useful gradient. At inference the classes are scored by the mean
    log-probability over the modalities a sample has (decision-level fusion, as in the
    UTD-MHAD paper's fusion of its depth and inertial classifiers). With one modality it is
    that modality's `MultimodalClassifier`.

    With ``present``, a missing modality's logits are those of an all-zero block (as in
    `MultimodalClassifier`, whose rows still pass through BatchNorm in training mode, as
    zeros), and they leave both the fused score and `late_fusion_loss`.

    Args:
        dims: ``modality -> d`` (the encoders' output sizes).
        num_classes: number of classes.
        hidden: per-modality width (256), or ``None`` for a linear classifier per modality.
        norm_layer: norm in each head's hidden layer (``nn.BatchNorm1d``), as in
            `MultimodalClassifier`, or ``None``.
        act_layer: activation in each head's hidden layer (``nn.ReLU``), or ``None``.
        dropout: dropout after each hidden layer, in ``[0, 1)``.
        device: where the parameters are created.
        dtype: the parameter dtype.

    Shapes:
        features[m]: ``"b d_m"``; present[m]: ``"b"``; output fields: ``"b num_classes"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.heads import LateFusionClassifier
        >>> head = LateFusionClassifier({"inertial": 5632, "skeleton": 256}, 27)
        >>> out = head({"inertial": torch.randn(8, 5632), "skeleton": torch.randn(8, 256)})
        >>> out.fused.shape, list(out.per_modality)
        (torch.Size([8, 27]), ['inertial', 'skeleton'])
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        num_classes: int,
        *,
        hidden: int | None = 256,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm1d,
        act_layer: Callable[[], nn.Module] | None = nn.ReLU,
        dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("LateFusionClassifier"):
            self.dims = check_modality_dims("dims", dims)
            self.modalities = tuple(self.dims)
            self.num_classes = check_int("num_classes", num_classes, minimum=1)
            self.hidden = None if hidden is None else check_int("hidden", hidden, minimum=1)
            self.dropout = check_hidden_layers(
                norm_layer=norm_layer, act_layer=act_layer, dropout=dropout
            )
        self.classifiers = nn.ModuleDict(
            {
                m: MultimodalClassifier(
                    {m: d},
                    num_classes,
                    hidden=hidden,
                    norm_layer=norm_layer,
                    act_layer=act_layer,
                    dropout=dropout,
                    device=device,
                    dtype=dtype,
                )
                for m, d in self.dims.items()
            }
        )

    def forward(
        self, features: Mapping[str, Tensor], *, present: Mapping[str, Tensor] | None = None
    ) -> LateFusionLogits:
        """Per-modality logits and their fusion.

        Args:
            features: ``modality -> "b d_m"``, exactly the modalities of ``dims``, any order.
            present: ``modality -> "b"`` bool; modalities left out are present everywhere. A
                sample's fused score averages only the modalities it has (a sample with none
                scores every class 0).

        Shapes:
            features[m]: ``"b d_m"``; present[m]: ``"b"``; output fields: ``"b num_classes"``.
        """
        with checking("LateFusionClassifier"):
            xs, mask = check_modality_inputs(features, present, self.dims)
            check_pooled(self.modalities, xs)
        logits = {}
        for i, (m, x) in enumerate(zip(self.modalities, xs, strict=True)):
            own = None if mask is None else {m: mask[:, i]}
            logits[m] = self.classifiers[m]({m: x}, present=own)
        # float32 scores: averaged bfloat16 log-probabilities (CPU autocast) would tie classes
        log_probs = torch.stack([F.log_softmax(z.float(), dim=-1) for z in logits.values()], 1)
        # "b m c" averaged over the present modalities ("b m" mask); none present gives 0
        return LateFusionLogits(masked_mean(log_probs, mask, dim=1), logits)

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr`` (each classifier prints its own)."""
        return f"dims={self.dims!r}, num_classes={self.num_classes}, hidden={self.hidden}"


def late_fusion_loss(
    logits: LateFusionLogits,
    labels: Tensor,
    *,
    present: Mapping[str, Tensor] | None = None,
    label_smoothing: float = 0.0,
) -> Tensor:
    """``mean_m CE(per_modality_m)``: each modality's classifier learns on its own.

    The fused scores take no part: the classifiers are trained apart and only combined at
    inference. With ``present``, a modality's cross-entropy averages the samples that have it
    (a modality absent from the whole batch contributes 0).

    Args:
        logits: the output of `LateFusionClassifier`.
        labels: class indices.
        present: ``modality -> "b"`` bool, for modalities that some samples lack.
        label_smoothing: as in ``F.cross_entropy``, in ``[0, 1]``.

    Shapes:
        logits fields: ``"b num_classes"``; labels: ``"b"``; present[m]: ``"b"``; output:
        ``""``.

    Examples:
        >>> import torch
        >>> zeros = torch.zeros(2, 3)
        >>> logits = LateFusionLogits(zeros, {"inertial": zeros, "skeleton": zeros})
        >>> late_fusion_loss(logits, torch.tensor([0, 2]))
        tensor(1.0986)
    """
    with checking("late_fusion_loss"):
        smoothing = check_probability("label_smoothing", label_smoothing)
        if not isinstance(logits, LateFusionLogits):
            raise TypeError(f"logits must be LateFusionLogits, got {type(logits).__name__}")
        names = list(logits.per_modality)
        if not names:
            raise ValueError("logits.per_modality must name at least one modality, got {}")
        batch, classes = logits.fused.shape
        for name in names:
            check_tensor(
                f"logits.per_modality[{name!r}]",
                logits.per_modality[name],
                pattern="b c",
                sizes={"b": batch, "c": classes},
            )
        if not isinstance(labels, Tensor) or labels.ndim != 1 or labels.shape[0] != batch:
            got = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
            raise ValueError(f'labels must have shape "b" = ({batch},), got {got}')
        mask = check_present(present, names, batch=batch, device=logits.fused.device)
    terms = []
    for i, name in enumerate(names):
        z = logits.per_modality[name]
        if mask is None:  # F.cross_entropy's own mean: one modality is exactly its CE
            terms.append(F.cross_entropy(z, labels, label_smoothing=smoothing))
            continue
        per_sample = F.cross_entropy(z, labels, reduction="none", label_smoothing=smoothing)
        terms.append(masked_mean(per_sample, mask[:, i], dim=0))
    return torch.stack(terms).mean()
