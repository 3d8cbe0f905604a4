"""Pieces shared by the sequence encoders: input checks, positions, masks and pooling.

Private helpers for the encoder modules; the option types of the public signatures
(`Pooling`, `Positions`) are in the public `mmcontrast.encoders.types`.

Mask convention (every mask-aware encoder): ``mask: "b t"`` is a ``torch.bool`` tensor that is
``True`` at valid (observed) steps and ``False`` at padding. Variable-length clips are padded at
the end, so each row's valid steps come first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypedDict, get_args

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn
from torch.amp import is_autocast_available

from mmcontrast._checks import (
    check_choice,
    check_dropout,
    check_int,
    check_mask,
    check_tensor,
    checking,
)
from mmcontrast._ops import masked_mean
from mmcontrast.encoders._stem import ConvStem
from mmcontrast.encoders.types import Pooling, Positions


class Factory(TypedDict):
    """The ``device`` / ``dtype`` factory keywords passed to every parameterised layer."""

    device: torch.device | str | None
    dtype: torch.dtype | None


POOLINGS: tuple[Pooling, ...] = get_args(Pooling)
POSITIONS: tuple[Positions, ...] = get_args(Positions)


def check_input_dtype(x: Tensor, parameter: Tensor, *, name: str = "x") -> Tensor:
    """``x`` in a dtype the module's parameters (represented by ``parameter``) can take.

    Outside autocast that is the parameters' own dtype. Under ``torch.autocast`` on ``x``'s
    device, the parameters must be float32 or in the autocast dtype (the layers autocast does
    not cast, such as the norms, need them so), and then float32 inputs and inputs in the
    autocast dtype are accepted (autocast casts them); float64 parameters, which autocast never
    casts, take only float64 inputs. Any other combination (a float64 batch to a float32
    encoder, float16 to bfloat16 parameters, a float16 encoder under bfloat16 autocast...)
    raises a ``TypeError`` naming the dtypes, instead of PyTorch's error from deep inside the
    first layer. Nothing synchronises with the host; under ``torch.compile`` the dtypes are
    guards, so the check costs nothing in the graph.
    """
    expected = parameter.dtype
    device = x.device.type
    autocast = is_autocast_available(device) and torch.is_autocast_enabled(device)
    if autocast and expected != torch.float64:
        autocast_dtype = torch.get_autocast_dtype(device)
        if expected not in (torch.float32, autocast_dtype):
            raise TypeError(
                f"{name} has dtype {x.dtype} but its parameters are {expected} and the "
                f"{device} autocast dtype is {autocast_dtype}; under autocast the parameters "
                f"must be float32 (encoder.float()) or {autocast_dtype}"
            )
        if x.dtype in (torch.float32, autocast_dtype):
            return x
        raise TypeError(
            f"{name} has dtype {x.dtype} but its parameters are {expected} and the "
            f"{device} autocast dtype is {autocast_dtype}; under autocast pass float32 "
            f"({name}.float()) or {autocast_dtype}"
        )
    if x.dtype == expected:
        return x
    hint = f"{name}.float()" if expected == torch.float32 else f"{name}.to({expected})"
    half = x.dtype in (torch.float16, torch.bfloat16) and expected == torch.float32
    raise TypeError(
        f"{name} has dtype {x.dtype} but its parameters are {expected}; convert the "
        f"input ({hint}) or the encoder (encoder.to({x.dtype}))"
        + ("; or run it under torch.autocast" if half else "")
    )


def sinusoidal_positions(
    length: int, dim: int, *, device: torch.device, dtype: torch.dtype
) -> Tensor:
    """The sine/cosine table ``pe[t, 2i] = sin(t / 10000^(2i/dim))``, ``pe[t, 2i+1] = cos(...)``.

    Computed for any ``length`` (no fixed table), in float32 or float64, then cast.

    Shapes:
        output: ``"t d"``.
    """
    work = torch.float64 if dtype == torch.float64 else torch.float32
    position = torch.arange(length, device=device, dtype=work).unsqueeze(1)
    half = (dim + 1) // 2
    inv_freq = torch.exp(
        torch.arange(half, device=device, dtype=work) * (-2.0 * math.log(10000.0) / dim)
    )
    angles = position * inv_freq
    table = torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(1)
    return table[:, :dim].to(dtype)


def attention_key_mask(mask: Tensor) -> Tensor:
    """Keys a query may attend to: ``mask``, except that an all-padding row attends to all.

    An all-padding row would otherwise give a softmax over no keys (NaN). Letting it attend to
    its own (zeroed, meaningless) steps keeps every value finite; the pooling then ignores them.

    Shapes:
        mask: ``"b t"``; output: ``"b t"``.
    """
    return mask | ~mask.any(dim=-1, keepdim=True)


def embed(
    stem: ConvStem,
    x: Tensor,
    mask: Tensor | None,
    *,
    sinusoidal: bool,
    dropout: nn.Module,
    cls_token: Tensor | None,
) -> tuple[Tensor, Tensor | None]:
    """Stem, optional sine/cosine positions, dropout, optional CLS token in front.

    Shapes:
        x: ``"b t c"``; mask: ``"b t"``; output: ``("b n d", "b n")``.
    """
    h, mask = stem(rearrange(x, "b t c -> b c t"), mask)
    h = rearrange(h, "b d t -> b t d")
    if sinusoidal:
        h = h + sinusoidal_positions(h.shape[1], h.shape[2], device=h.device, dtype=h.dtype)
    h = dropout(h)
    if cls_token is not None:
        h = torch.cat((cls_token.expand(h.shape[0], -1, -1).to(h.dtype), h), dim=1)
        if mask is not None:
            mask = torch.cat((mask.new_ones(mask.shape[0], 1), mask), dim=1)
    return h, mask


def pool(h: Tensor, mask: Tensor | None, pooling: Pooling) -> Tensor:
    """Reduce the tokens to one feature vector per sample.

    Shapes:
        h: ``"b n d"``; mask: ``"b n"``; output: ``"b d"`` (``"b (d n)"`` for ``"flatten"``).
    """
    if pooling == "cls":
        return h[:, 0]
    if pooling == "flatten":
        return rearrange(h, "b t d -> b (d t)")
    return masked_mean(h, mask, dim=1)


def rms_norm(norm: nn.RMSNorm, x: Tensor) -> Tensor:
    """Apply ``norm`` in at least float32 (gain cast alike); return ``x.dtype``.

    Under autocast, or with half-precision parameters, the normalisation still runs in float32
    (fused, more accurate, and without mixing input and gain dtypes).

    Shapes:
        x: ``"... d"``; output: ``"... d"``.
    """
    work = torch.promote_types(x.dtype, torch.float32)
    weight = None if norm.weight is None else norm.weight.to(work)
    out = F.rms_norm(x.to(work), norm.normalized_shape, weight, norm.eps)
    return out.to(x.dtype)


class SequenceEncoder(nn.Module):
    """The front shared by the convolution-then-attention encoders.

    A `ConvStem`, then positions, dropout and an optional CLS token (`embed`), and the pooling
    settings; subclasses add their attention layers between ``build_stem`` and
    ``build_embedding`` and call ``embed_inputs`` at the start of ``forward``.
    """

    stem: ConvStem
    cls_token: nn.Parameter | None

    def build_stem(
        self,
        in_channels: int,
        channels: Sequence[int],
        *,
        kernel_size: int,
        padding: int | None,
        act_layer: Callable[[], nn.Module],
        norm_layer: Callable[..., nn.Module],
        factory: Factory,
    ) -> int:
        """Check the stem's settings and create ``self.stem`` (``padding`` defaults to "same").

        Returns the model width.
        """
        with checking(type(self).__name__):
            check_int("in_channels", in_channels, minimum=1)
            if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence):
                raise TypeError(
                    f"channels must be a sequence of ints, got {type(channels).__name__}"
                )
            if len(channels) == 0:
                raise ValueError(f"channels must name at least one block, got {channels!r}")
            for width in channels:
                check_int("every entry of channels", width, minimum=1)
            check_int("kernel_size", kernel_size, minimum=1)
            padding = kernel_size // 2 if padding is None else padding
            check_int("padding", padding, minimum=0)
        self.stem = ConvStem(
            in_channels,
            tuple(channels),
            kernel_size=kernel_size,
            padding=padding,
            act_layer=act_layer,
            norm_layer=norm_layer,
            **factory,
        )
        self.in_channels = in_channels
        return self.stem.channels[-1]

    def build_embedding(
        self,
        *,
        num_layers: int,
        dropout: float,
        pooling: Pooling,
        seq_len: int | None,
        factory: Factory,
    ) -> None:
        """Check the shared settings; create the position dropout and the CLS token.

        ``seq_len`` is required with ``pooling="flatten"`` and rejected otherwise.
        """
        with checking(type(self).__name__):
            self.num_layers = check_int("num_layers", num_layers, minimum=1)
            self.dropout = check_dropout(dropout)
            self.pooling: Pooling = pooling
            check_choice("pooling", pooling, POOLINGS)
            width = self.stem.channels[-1]
            self.min_length = self.stem.min_length
            if pooling != "flatten" and seq_len is not None:
                raise ValueError(
                    f'seq_len is only used with pooling="flatten" (any length '
                    f"works with {pooling!r}), got seq_len={seq_len!r}"
                )
            if pooling == "flatten" and seq_len is None:
                raise ValueError(
                    'pooling="flatten" needs seq_len (the output size depends on it), got None'
                )
            self.seq_len = (
                None if seq_len is None else check_int("seq_len", seq_len, minimum=self.min_length)
            )
        self.out_features = (
            width * self.stem.output_length(self.seq_len) if self.seq_len is not None else width
        )
        self.position_dropout = nn.Dropout(self.dropout)
        self.cls_token = (
            nn.Parameter(0.02 * torch.randn(1, 1, width, **factory)) if pooling == "cls" else None
        )

    def embed_inputs(
        self, x: Tensor, mask: Tensor | None, *, sinusoidal: bool, check_dtype: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        """Validate the ``forward`` inputs, then `embed` them: ``("b n d", "b n")``.

        ``check_dtype=False`` leaves out the dtype check, for a wrapper that has made it.
        """
        with checking(type(self).__name__):
            x = check_tensor("x", x, pattern="b t c", sizes={"c": self.in_channels})
            if x.shape[1] < self.min_length:
                raise ValueError(
                    f'x must have shape "b t c" with t >= {self.min_length} '
                    f"(the convolution stem needs it), got {tuple(x.shape)}"
                )
            if check_dtype:
                x = check_input_dtype(x, self.stem.first_weight)
            mask = check_mask(mask, x)
        if self.pooling == "flatten":
            if x.shape[1] != self.seq_len:
                raise ValueError(
                    f'{type(self).__name__}: with pooling="flatten" x must have shape "b t c" with '
                    f"t = seq_len = {self.seq_len}, got {tuple(x.shape)}"
                )
            if mask is not None:
                raise ValueError(
                    f'{type(self).__name__}: pooling="flatten" keeps every step and takes no '
                    'mask; use pooling="mean" or "cls" for padded batches'
                )
        return embed(
            self.stem,
            x,
            mask,
            sinusoidal=sinusoidal,
            dropout=self.position_dropout,
            cls_token=self.cls_token,
        )
