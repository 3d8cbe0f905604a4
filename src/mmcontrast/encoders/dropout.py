"""`FastDropout`: element-wise dropout drawing 16 random bits per element instead of a float."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["FastDropout", "use_fast_dropout"]

_LEVELS = 1 << 16  # the drop probability is a multiple of 2**-16


class FastDropout(nn.Dropout):
    """Element-wise dropout, as `torch.nn.Dropout`, from a quarter of the random draws.

    In training mode every element is kept independently with probability ``1 - p`` and
    scaled by ``1 / (1 - p)``, as in `torch.nn.Dropout`; in eval mode the input passes
    through. The difference is how the mask is drawn: ``torch.nn.Dropout`` asks the generator
    for a uniform float per element (``bernoulli_``), which made the dropout of a
    ``(64, 44, 2048)`` feed-forward hidden cost several matrix products on a CPU. Here one
    64-bit draw of torch's default generator (so ``torch.manual_seed`` still reproduces a run)
    gives the masks of four elements, each read from 16 bits: an element is kept when its 16
    bits, as a uniform integer in ``[0, 2**16)``, are at least ``p * 2**16``.

    The probability is therefore rounded to a multiple of ``2**-16``: the layer drops with
    probability ``p_eff = round(p * 2**16) / 2**16`` (``|p_eff - p| <= 7.7e-6``; p = 0.1
    gives 0.100006) and scales by ``1 / (1 - p_eff)``, so the output's expectation is the
    input exactly. ``p`` below ``2**-17`` drops nothing and ``p = 1`` returns zeros. The
    saved state for backward is a bool mask, as for ``torch.nn.Dropout``.

    Args:
        p: drop probability in ``[0, 1]``.
        inplace: accepted for `torch.nn.Dropout` compatibility; the output is always a new
            tensor.

    Shapes:
        x: any; output: the shape of ``x``.

    Examples:
        >>> import torch
        >>> from mmcontrast.encoders import FastDropout
        >>> layer = FastDropout(0.25)
        >>> _ = torch.manual_seed(0)
        >>> y = layer(torch.ones(1000, 100))
        >>> round(float((y == 0).double().mean()), 2), float(y.max())
        (0.25, 1.3333333730697632)
        >>> layer.eval()(torch.ones(2)).tolist()
        [1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise TypeError(f"FastDropout: p must be a number in [0, 1], got {type(p).__name__}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"FastDropout: p must be a number in [0, 1], got {p!r}")
        super().__init__(float(p), inplace)

    @property
    def effective_p(self) -> float:
        """The drop probability the layer applies: ``p`` rounded to a multiple of ``2**-16``."""
        return round(self.p * _LEVELS) / _LEVELS

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - nn.Dropout's argument name
        """``x * keep / (1 - p_eff)`` in training mode, ``x`` otherwise."""
        drops = round(self.p * _LEVELS)
        if not self.training or drops == 0:
            return input
        if drops == _LEVELS:
            return torch.zeros_like(input)
        n = input.numel()
        # The whole int64 range (but its largest value: a bias of 2**-64), so that all four
        # 16-bit words are uniform; random_() without bounds leaves the sign bit at 0.
        # Out of place, so that torch.compile traces it.
        bits = torch.randint(
            -(2**63), 2**63 - 1, (math.ceil(n / 4),), dtype=torch.int64, device=input.device
        )
        words = bits.view(torch.int16)[:n].view(input.shape)  # uniform in [-2**15, 2**15)
        keep = words >= drops - _LEVELS // 2
        return torch.where(keep, input * (_LEVELS / (_LEVELS - drops)), 0.0)

    def extra_repr(self) -> str:
        """The drop probability, for ``repr``."""
        return f"p={self.p}"


def use_fast_dropout(module: object) -> int:
    """Replace every `torch.nn.Dropout` inside ``module`` by a `FastDropout` of the same p.

    Only modules whose type is exactly ``nn.Dropout`` are replaced (not its subclasses, nor
    ``Dropout1d``/``2d``/``3d``, which drop whole channels); dropout applied functionally
    inside a layer, such as the attention dropout of `torch.nn.MultiheadAttention`, is not
    reached. The replacement happens in place and keeps each child's name and training mode,
    so state dicts and checkpoints are unchanged (dropout holds no state).

    Returns:
        How many layers were replaced.

    Examples:
        >>> from torch import nn
        >>> from mmcontrast.encoders import use_fast_dropout
        >>> layer = nn.TransformerEncoderLayer(d_model=16, nhead=2)
        >>> use_fast_dropout(layer), type(layer.dropout).__name__
        (3, 'FastDropout')
    """
    if not isinstance(module, nn.Module):
        got = type(module).__name__
        raise TypeError(f"use_fast_dropout: module must be an nn.Module, got {got}")
    replaced = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                setattr(parent, name, FastDropout(child.p).train(child.training))
                replaced += 1
    return replaced
