"""Classification scores of the papers' tables: accuracy and macro-F1, from one confusion matrix."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from mmcontrast._checks import check_int, checking

__all__ = ["ClassificationScores", "classification_scores"]


class ClassificationScores(NamedTuple):
    """Scores of a set of predictions (0-d float tensors and the confusion matrix).

    Attributes:
        accuracy: fraction of correct predictions, in ``[0, 1]``.
        macro_f1: unweighted mean of the per-class F1 over the classes that occur in the
            targets or the predictions, in ``[0, 1]``.
        confusion: ``"k k"`` counts (int64); row = true class, column = predicted class.
    """

    accuracy: Tensor
    macro_f1: Tensor
    confusion: Tensor


def classification_scores(
    predicted: Tensor, target: Tensor, *, num_classes: int
) -> ClassificationScores:
    """Accuracy, macro-F1 and the confusion matrix of class predictions.

    The per-class F1 is ``2 TP / (2 TP + FP + FN)``; the macro average runs over the classes
    that occur in ``target`` or ``predicted``, the convention of scikit-learn's
    ``f1_score(average="macro")``, so a class absent from a small test side does not count
    as a zero. Accuracy is what the UTD-MHAD papers report; macro-F1 is the main metric of
    the MMAct protocols. The scores are tensors on the input's device (call ``float()`` to
    log them); checking that every index lies in ``[0, k)`` costs one host synchronisation.

    Args:
        predicted: predicted class indices.
        target: true class indices, same length.
        num_classes: ``k``; every index must lie in ``[0, k)``.

    Returns:
        `ClassificationScores`.

    Shapes:
        predicted: ``"n"``; target: ``"n"``; output: ``""``, ``""`` and ``"k k"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.evaluation import classification_scores
        >>> scores = classification_scores(
        ...     torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), num_classes=4)
        >>> round(float(scores.accuracy), 4), round(float(scores.macro_f1), 4)
        (0.75, 0.7778)
    """
    with checking("classification_scores"):
        k = check_int("num_classes", num_classes, minimum=1)
    for name, value in (("predicted", predicted), ("target", target)):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"classification_scores: {name} must be a torch.Tensor, got {type(value).__name__}"
            )
        if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
            raise TypeError(
                f"classification_scores: {name} must hold integer class indices, got {value.dtype}"
            )
        if value.ndim != 1:
            raise ValueError(
                f'classification_scores: {name} must have shape "n", got {tuple(value.shape)}'
            )
    if predicted.shape != target.shape or predicted.numel() == 0:
        raise ValueError(
            "classification_scores: predicted and target must be non-empty and of equal length, "
            f"got predicted: {tuple(predicted.shape)} and target: {tuple(target.shape)}"
        )
    if predicted.device != target.device:
        raise ValueError(
            "classification_scores: predicted and target must be on one device, got "
            f"{predicted.device} and {target.device}"
        )
    pairs = target.long() * k + predicted.long()
    # An index outside [0, k) would silently land in another cell of the confusion matrix.
    indices = torch.cat([predicted, target])
    outside = (indices < 0) | (indices >= k)
    if bool(outside.any()):
        bad = indices[outside]
        raise ValueError(
            f"classification_scores: class indices must lie in [0, {k}) for num_classes={k}, got "
            f"values {sorted(set(bad.tolist()))[:10]}"
        )
    confusion = torch.bincount(pairs, minlength=k * k).reshape(k, k)
    true_positive = confusion.diagonal().double()
    support = confusion.sum(dim=1).double()  # TP + FN
    claimed = confusion.sum(dim=0).double()  # TP + FP
    denominator = support + claimed  # 2 TP + FP + FN
    occurs = denominator > 0
    f1 = torch.where(occurs, 2.0 * true_positive / denominator.clamp(min=1.0), 0.0)
    macro_f1 = f1.sum() / occurs.sum()
    accuracy = true_positive.sum() / predicted.numel()
    dtype = torch.get_default_dtype()
    return ClassificationScores(accuracy.to(dtype), macro_f1.to(dtype), confusion)
