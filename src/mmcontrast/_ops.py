"""Small tensor operations shared by several subpackages."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["l2_normalize"]


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
