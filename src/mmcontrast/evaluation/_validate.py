"""Input checks shared by the classifiers of `mmcontrast.evaluation` (one message style)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_class_labels", "check_features"]


def check_features(
    name: str, features: object, *, dim: int | None = None, finite: bool = True
) -> Tensor:
    """A non-empty floating ``"b d"`` tensor, ``d == dim`` when given, finite when asked."""
    if not isinstance(features, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(features).__name__}")
    if not features.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {features.dtype}")
    if features.ndim != 2 or features.shape[0] == 0 or features.shape[1] == 0:
        expected = "b d" if dim is None else f"b d with d={dim}"
        raise ValueError(
            f'{name} must have shape "{expected}" with at least one sample and one '
            f"feature, got {tuple(features.shape)}"
        )
    if dim is not None and features.shape[1] != dim:
        raise ValueError(
            f'{name} must have shape "b d" with d={dim} (the feature size seen by '
            f"fit), got {tuple(features.shape)}"
        )
    if finite and not bool(torch.isfinite(features).all()):
        raise ValueError(f"{name} must be finite, got NaN or infinite values")
    return features


def check_class_labels(
    labels: object, features: Tensor, num_classes: int | None
) -> tuple[Tensor, int]:
    """Integer class indices ``"b"`` matching ``features``; returns them (int64) and ``k``.

    ``k`` is ``num_classes`` when given (every label must lie in ``[0, k)``), else
    ``labels.max() + 1``.
    """
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"labels must hold integer class indices, got {labels.dtype}")
    batch = features.shape[0]
    if labels.ndim != 1 or labels.shape[0] != batch:
        raise ValueError(
            f'labels must have shape "b" = ({batch},) to match the features, got '
            f"{tuple(labels.shape)}"
        )
    if labels.device != features.device:
        raise ValueError(
            f"labels must be on {features.device} like the features, got {labels.device}"
        )
    low, high = int(labels.min()), int(labels.max())
    if low < 0:
        raise ValueError(f"labels must be class indices >= 0, got the minimum {low}")
    if num_classes is not None and high >= num_classes:
        raise ValueError(
            f"labels must lie in [0, {num_classes}) for num_classes={num_classes}, "
            f"got the maximum {high}"
        )
    return labels.long(), high + 1 if num_classes is None else num_classes
