"""Weighting and reduction of per-anchor loss terms (shared by every loss)."""

from __future__ import annotations

from torch import Tensor

from mmcontrast._checks import check_choice

__all__ = ["REDUCTIONS", "reduce_values"]

REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")


def reduce_values(
    values: Tensor, reduction: str, weights: Tensor | None, valid: Tensor | None, owner: str
) -> Tensor:
    """Weight, then reduce; the mean is over the ``valid`` anchors (all when ``None``)."""
    check_choice(owner, "reduction", reduction, REDUCTIONS)
    if weights is not None:
        values = values * _expand_weights(owner, weights, values)
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if valid is None:
        return values.mean()
    return values.sum() / valid.sum().clamp(min=1).to(values.dtype)


def _expand_weights(owner: str, weights: object, values: Tensor) -> Tensor:
    if not isinstance(weights, Tensor) or not weights.is_floating_point():
        got = weights.dtype if isinstance(weights, Tensor) else type(weights).__name__
        raise TypeError(f"{owner}: weights must be a floating-point tensor, got {got}")
    n = values.shape[0]
    if weights.ndim == 1 and weights.shape[0] == n:
        return weights.to(values.dtype)
    if weights.ndim == 1 and weights.shape[0] * 2 == n:
        return weights.to(values.dtype).repeat(2)
    raise ValueError(
        f'{owner}: weights must have shape "b" or "(2b)" matching the {n} anchor terms, got '
        f"{tuple(weights.shape)}"
    )
