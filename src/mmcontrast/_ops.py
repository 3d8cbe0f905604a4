"""Small tensor operations shared by several subpackages."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["l2_normalize", "masked_mean", "unsqueeze_as"]


def l2_normalize(x: Tensor, dtype: torch.dtype | None = None, dim: int = -1) -> Tensor:
    """L2-normalise ``x`` along ``dim``, optionally in another dtype, with a dtype-aware eps.

    The eps is the *input* dtype's machine epsilon rather than ``F.normalize``'s 1e-12 (which
    is 0 in float16): ``1 / eps`` bounds the gradient of an all-zero row, so it stays finite
    when cast back to float16, and an all-zero row maps to zeros, not ``NaN``.

    Shapes:
        x: ``"... d"``; output: same.

    Examples:
        >>> import torch
        >>> l2_normalize(torch.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=torch.float16), torch.float32)
        tensor([[0.6000, 0.8000],
                [0.0000, 0.0000]])
    """
    eps = torch.finfo(x.dtype).eps if x.is_floating_point() else torch.finfo(torch.float32).eps
    return F.normalize(x if dtype is None else x.to(dtype), dim=dim, eps=eps)


def unsqueeze_as(values: Tensor, like: Tensor) -> Tensor:
    """``values`` with size-1 axes appended until it has as many axes as ``like``.

    A per-sample ``"b"`` vector (or a ``"b t"`` mask) then broadcasts against ``like``.

    Shapes:
        values: the leading axes of ``like``; output: ``values`` then ``1`` per missing axis.

    Examples:
        >>> import torch
        >>> unsqueeze_as(torch.ones(4), torch.zeros(4, 50, 6)).shape
        torch.Size([4, 1, 1])
    """
    return values.reshape(*values.shape, *([1] * (like.ndim - values.ndim)))


def masked_mean(x: Tensor, mask: Tensor | None, dim: int) -> Tensor:
    """Mean of ``x`` over ``dim`` where the bool ``mask`` holds; ``None`` is a plain mean.

    ``mask`` has the leading axes of ``x`` (up to ``dim`` at least). Masked-out entries never
    leak, not even NaN, and get an exactly zero gradient; an all-false slice gives exactly 0.

    Shapes:
        x: ``"b t ..."`` (``dim=1``); mask: ``"b t"``; output: ``x`` without axis ``dim``.

    Examples:
        >>> import torch
        >>> x = torch.tensor([[1.0, 3.0, float("nan")], [5.0, 7.0, 9.0]])
        >>> masked_mean(x, torch.tensor([[True, True, False], [False, False, False]]), dim=1)
        tensor([2., 0.])
    """
    if mask is None:
        return x.mean(dim=dim)
    keep = unsqueeze_as(mask, x)
    total = x.masked_fill(~keep, 0.0).sum(dim=dim)
    return total / keep.sum(dim=dim).clamp(min=1).to(total.dtype)
