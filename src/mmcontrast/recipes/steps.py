"""One optimisation step of each stage, and prediction: plain functions, no framework."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcontrast.heads import (
    LateFusionLogits,
    PrimaryAuxiliaryLogits,
    late_fusion_loss,
    primary_auxiliary_loss,
)

Logits = Tensor | PrimaryAuxiliaryLogits | LateFusionLogits  # what a classifier may return

__all__ = ["classification_loss", "finetune_step", "predict", "pretrain_step"]


def _call(model: nn.Module, inputs: Mapping[str, Tensor], **extras: object) -> object:
    """``model(inputs, **extras)`` without the extras that are ``None`` (older signatures)."""
    return model(inputs, **{key: value for key, value in extras.items() if value is not None})


def pretrain_step(
    model: nn.Module,
    inputs: Mapping[str, Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    masks: Mapping[str, Tensor] | None = None,
) -> Tensor:
    """One contrastive step: ``loss = model(inputs)``, backward, optimiser step.

    Args:
        model: e.g. `mmcontrast.recipes.ContrastivePretrainer` (returns a scalar).
        inputs: ``modality -> "b ..."``.
        optimizer: over the trainable parameters.
        masks: ``modality -> "b t"`` padding masks, passed on as ``model(inputs, masks=...)``.

    Returns:
        The detached loss (no host synchronisation; call ``float()`` to log it).

    Shapes:
        inputs[m]: ``"b ..."``; masks[m]: ``"b t"``; output: ``""``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from mmcontrast.losses import InfoNCE
        >>> from mmcontrast.recipes import ContrastivePretrainer, pretrain_step
        >>> encoders = {"a": nn.Linear(4, 8), "b": nn.Linear(3, 8)}
        >>> model = ContrastivePretrainer(encoders, {"a": nn.Identity(), "b": nn.Identity()},
        ...                               InfoNCE())
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> loss = pretrain_step(model, {"a": torch.randn(6, 4), "b": torch.randn(6, 3)}, optimizer)
        >>> loss.shape, loss.requires_grad
        (torch.Size([]), False)
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = _call(model, inputs, masks=masks)
    if not isinstance(loss, Tensor):
        raise TypeError(f"pretrain_step: the model must return a loss tensor, got {type(loss)}")
    torch.autograd.backward(loss)
    optimizer.step()
    return loss.detach()


def classification_loss(
    output: Logits,
    labels: Tensor,
    *,
    alpha: float = 0.5,
    present: Mapping[str, Tensor] | None = None,
) -> Tensor:
    """The training loss of a classifier's output, by its type.

    Cross-entropy for logits, `primary_auxiliary_loss` for `PrimaryAuxiliaryLogits`,
    `late_fusion_loss` (each modality's cross-entropy, averaged) for `LateFusionLogits`.

    ``present`` is passed on for the auxiliary streams it names (per-modality streams);
    other keys are ignored, since the ``"shared"`` and ``"specific"`` streams exist for
    every sample.

    Shapes:
        output: ``"b num_classes"`` (or its fields); labels: ``"b"``; output: ``""``.

    Examples:
        >>> classification_loss(torch.zeros(2, 4), torch.tensor([1, 3]))
        tensor(1.3863)
    """
    if isinstance(output, PrimaryAuxiliaryLogits):
        streams = None
        if present is not None:
            streams = {k: v for k, v in present.items() if k in output.auxiliary} or None
        return primary_auxiliary_loss(output, labels, alpha=alpha, present=streams)
    if isinstance(output, LateFusionLogits):
        return late_fusion_loss(output, labels, present=present)
    return F.cross_entropy(output, labels)


def finetune_step(
    model: nn.Module,
    inputs: Mapping[str, Tensor],
    labels: Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    alpha: float = 0.5,
    present: Mapping[str, Tensor] | None = None,
    masks: Mapping[str, Tensor] | None = None,
) -> Tensor:
    """One supervised step of a fine-tuning model (either stage-2 recipe).

    Args:
        model: `mmcontrast.recipes.FineTuneClassifier` or
            `mmcontrast.recipes.TwoStageClassifier` (called as
            ``model(inputs, present=present)``).
        inputs: ``modality -> "b ..."``.
        labels: class indices.
        optimizer: over the trainable parameters.
        alpha: weight of the auxiliary cross-entropies (primary–auxiliary models only).
        present: ``modality -> "b"`` bool for samples lacking a modality.
        masks: ``modality -> "b t"`` padding masks for the encoders.

    Returns:
        The detached loss.

    Shapes:
        inputs[m]: ``"b ..."``; labels: ``"b"``; output: ``""``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from mmcontrast.recipes import concat_classifier, finetune_step
        >>> model = concat_classifier({"a": nn.Linear(4, 8), "b": nn.Linear(3, 8)},
        ...                           {"a": 8, "b": 8}, num_classes=5, freeze_encoders=False)
        >>> optimizer = torch.optim.Adam(model.parameters())
        >>> inputs = {"a": torch.randn(6, 4), "b": torch.randn(6, 3)}
        >>> finetune_step(model, inputs, torch.tensor([0, 1, 2, 3, 4, 0]), optimizer).shape
        torch.Size([])
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    output = _call(model, inputs, present=present, masks=masks)
    if not isinstance(output, (Tensor, PrimaryAuxiliaryLogits, LateFusionLogits)):
        raise TypeError(f"finetune_step: the model must return logits, got {type(output)}")
    loss = classification_loss(output, labels, alpha=alpha, present=present)
    torch.autograd.backward(loss)
    optimizer.step()
    return loss.detach()


@torch.no_grad()
def predict(
    model: nn.Module,
    inputs: Mapping[str, Tensor],
    *,
    present: Mapping[str, Tensor] | None = None,
    masks: Mapping[str, Tensor] | None = None,
) -> Tensor:
    """Predicted classes in eval mode.

    The argmax of the logits; of the primary head of a primary–auxiliary model, of the fused
    scores of a late-fusion model.

    The model's training mode is restored afterwards.

    Shapes:
        inputs[m]: ``"b ..."``; masks[m]: ``"b t"``; output: ``"b"`` (long).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from mmcontrast.recipes import concat_classifier, predict
        >>> model = concat_classifier({"a": nn.Linear(4, 8), "b": nn.Linear(3, 8)},
        ...                           {"a": 8, "b": 8}, num_classes=5)
        >>> predict(model, {"a": torch.randn(6, 4), "b": torch.randn(6, 3)}).shape
        torch.Size([6])
    """
    was_training = model.training
    model.eval()
    try:
        output = _call(model, inputs, present=present, masks=masks)
    finally:
        model.train(was_training)
    if isinstance(output, PrimaryAuxiliaryLogits):
        output = output.primary
    elif isinstance(output, LateFusionLogits):
        output = output.fused
    if not isinstance(output, Tensor):
        raise TypeError(f"predict: the model must return logits, got {type(output)}")
    logits = output
    return logits.argmax(dim=-1)
