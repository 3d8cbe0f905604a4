"""The fast training path: bfloat16 autocast, channels-last convolutions, `FastDropout`.

``benchmarks/bench_training.py`` measures each piece on the UTD-MHAD pre-training step and
``docs/benchmarks.md`` has the figures; ``examples/utd_mhad.py`` trains this way unless given
``--no-fast``. Two calls make a pre-training model fast::

    model = ContrastivePretrainer(encoders, projections, criterion, autocast_dtype=torch.bfloat16)
    prepare_fast_training(model)  # channels-last 4-d weights, FastDropout
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TypeVar

import torch
from torch import Tensor, nn

from mmcontrast.encoders.dropout import use_fast_dropout

__all__ = ["prepare_fast_training"]

AUTOCAST_DTYPES = (torch.bfloat16, torch.float16)

M = TypeVar("M", bound=nn.Module)


def prepare_fast_training(module: M, *, channels_last: bool = True, fast_dropout: bool = True) -> M:
    """Make ``module`` cheaper to train without changing what it computes, in place.

    * ``channels_last``: every 4-d parameter and buffer (the 2-d convolutions of
      `mmcontrast.encoders.HCNEncoder`) in ``torch.channels_last``, so that those
      convolutions, their BatchNorms and pools run in NHWC, oneDNN's native layout on CPUs
      (and the layout tensor cores prefer on GPUs). Same values up to floating-point
      summation order. A module without 4-d weights is unchanged.
    * ``fast_dropout``: every `torch.nn.Dropout` becomes a `mmcontrast.encoders.FastDropout`
      of the same ``p``: the same independent element-wise dropout (``p`` rounded to a
      multiple of ``2**-16``) from a quarter of the random draws.

    Combine it with ``autocast_dtype=torch.bfloat16`` of
    `mmcontrast.recipes.ContrastivePretrainer` or `mmcontrast.recipes.SimCLRPretrainer` (or
    your own ``torch.autocast`` around the encoders). Parameters, gradients and optimiser
    state stay in their dtype, and state dicts keep their keys.

    Returns:
        ``module`` itself.

    Examples:
        >>> import torch
        >>> from mmcontrast.encoders import presets
        >>> from mmcontrast.recipes import prepare_fast_training
        >>> encoder = prepare_fast_training(presets.cmc_cmkm_skeleton())
        >>> weights = [p for p in encoder.parameters() if p.ndim == 4]
        >>> all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
        True
    """
    if not isinstance(module, nn.Module):
        got = type(module).__name__  # type: ignore[unreachable]  # checked for untyped callers
        raise TypeError(f"prepare_fast_training: module must be an nn.Module, got {got}")
    flags: tuple[tuple[str, object], ...] = (
        ("channels_last", channels_last),
        ("fast_dropout", fast_dropout),
    )
    for name, value in flags:
        if not isinstance(value, bool):
            raise TypeError(
                f"prepare_fast_training: {name} must be a bool, got {type(value).__name__}"
            )
    if channels_last:
        module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if fast_dropout:
        use_fast_dropout(module)
    return module


def check_autocast_dtype(dtype: object) -> torch.dtype | None:
    """``None`` or a dtype ``torch.autocast`` can compute in."""
    if dtype is None or isinstance(dtype, torch.dtype) and dtype in AUTOCAST_DTYPES:
        return dtype
    raise ValueError(f"autocast_dtype must be None, torch.bfloat16 or torch.float16, got {dtype!r}")


@contextlib.contextmanager
def autocast(dtype: torch.dtype | None, like: object) -> Iterator[None]:
    """``torch.autocast`` on ``like``'s device in ``dtype``.

    Nothing when ``dtype`` is None or ``like`` is not a tensor (the checks downstream then
    report the bad input).
    """
    if dtype is None or not isinstance(like, Tensor):
        yield
        return
    with torch.autocast(device_type=like.device.type, dtype=dtype):
        yield


def to_float32(dtype: torch.dtype | None, z: Tensor) -> Tensor:
    """Autocast output back in float32 (for the loss); untouched without autocast."""
    return z if dtype is None or z.dtype != dtype else z.float()
