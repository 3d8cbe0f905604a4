"""One optimisation step of each stage, and prediction: plain functions, no framework."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcontrast.heads import PrimaryAuxiliaryLogits, primary_auxiliary_loss

__all__ = ["classification_loss", "finetune_step", "predict", "pretrain_step"]


def pretrain_step(
    model: nn.Module, inputs: Mapping[str, Tensor], optimizer: torch.optim.Optimizer
) -> Tensor:
    """One contrastive step: ``loss = model(inputs)``, backward, optimiser step.

    Args:
        model: e.g. `mmcontrast.recipes.ContrastivePretrainer` (returns a scalar).
        inputs: ``modality -> "b ..."``.
        optimizer: over the trainable parameters.

    Returns:
        The detached loss (no host synchronisation; call ``float()`` to log it).

    Shapes:
        inputs[m]: ``"b ..."``; output: ``""``.
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss: Tensor = model(inputs)
    torch.autograd.backward(loss)
    optimizer.step()
    return loss.detach()


def classification_loss(
    output: Tensor | PrimaryAuxiliaryLogits,
    labels: Tensor,
    *,
    alpha: float = 0.5,
    present: Mapping[str, Tensor] | None = None,
) -> Tensor:
    """Cross-entropy for logits, the primary–auxiliary loss for `PrimaryAuxiliaryLogits`.

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
    return F.cross_entropy(output, labels)


def finetune_step(
    model: nn.Module,
    inputs: Mapping[str, Tensor],
    labels: Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    alpha: float = 0.5,
    present: Mapping[str, Tensor] | None = None,
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

    Returns:
        The detached loss.

    Shapes:
        inputs[m]: ``"b ..."``; labels: ``"b"``; output: ``""``.
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    output = model(inputs, present=present)
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
) -> Tensor:
    """Predicted classes in eval mode (the primary head of a primary–auxiliary model).

    The model's training mode is restored afterwards.

    Shapes:
        inputs[m]: ``"b ..."``; output: ``"b"`` (long).
    """
    was_training = model.training
    model.eval()
    try:
        output = model(inputs, present=present)
    finally:
        model.train(was_training)
    logits = output.primary if isinstance(output, PrimaryAuxiliaryLogits) else output
    return logits.argmax(dim=-1)
