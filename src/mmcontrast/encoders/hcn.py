"""Hierarchical co-occurrence network (HCN, Li et al. 2018) as a skeleton sequence encoder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast, get_args

import torch
from einops import rearrange
from einops.layers.torch import Rearrange
from torch import Tensor, nn

from mmcontrast._checks import (
    check_choice,
    check_dropout,
    check_int,
    check_tensor,
    checking,
)
from mmcontrast.encoders._common import Factory, check_input_dtype
from mmcontrast.encoders.types import HCNFusion, HCNPadding, HCNPooling

__all__ = ["HCNEncoder"]

# One axis of the feature map through conv/pool stages: ("conv", kernel) or ("pool", 2).
_Stage = tuple[str, int]


class HCNEncoder(nn.Module):
    """Two-stream (position + motion) HCN with joints moved to channels, pooled to ``"b d"``.

    Each stream (separate weights) runs, on ``"b c t j"``: a 1x1 convolution (per-joint
    embedding) with norm and activation, a (3, 1) temporal convolution with norm, a transpose
    that makes the joints the channels (spatial axes: features x time), then two 3x3
    convolutions with norm and a 2x2 max-pool. The motion stream sees the frame differences
    ``x[t] - x[t-1]`` with the first frame's set to zero. The streams are concatenated and
    pass two more 3x3 convolutions with norm, activation and max-pool. As in the paper, there
    is no activation after the second, third and fourth convolutions.

    Defaults are length-agnostic: "same" padding and ceil-mode pooling accept any ``t >= 1``,
    the streams are fused on channels (as in the paper) and a global mean gives the feature.
    `mmcontrast.encoders.presets.cmc_cmkm_skeleton` builds CMC-CMKM's variant exactly:
    ``padding="valid"`` (needs ``t >= 48``), ``fusion="height"`` (streams stacked along the
    feature axis) and ``pooling="flatten"``.

    Args:
        in_channels: coordinates per joint ``c`` (3 for Kinect, 2 for 2-D poses).
        num_joints: joints ``j``; they become the input channels of the third convolution.
        channels: output channels of the six convolutions.
        padding: ``"same"`` (sizes kept by the convolutions, ceil-mode pools) or ``"valid"``
            (no padding, floor pools: CMC-CMKM).
        fusion: concatenate the streams on ``"channels"`` (the paper) or on the ``"height"``
            (feature) axis (CMC-CMKM; the fifth convolution then has half the inputs).
        pooling: ``"mean"`` or ``"max"`` over the final map, or ``"flatten"`` it (fixed
            length; CMC-CMKM).
        seq_len: the input length, required with ``pooling="flatten"`` (the output size
            depends on it) and rejected otherwise. Any ``t`` giving the same final map is
            accepted (``t = 48 .. 63`` for the CMC-CMKM preset).
        dropout: ``Dropout2d`` after the fourth, fifth and sixth convolutions (the paper: 0.5;
            CMC-CMKM: none).
        act_layer: activation after the first, fifth and sixth convolutions.
        norm_layer: after every convolution, called as
            ``norm_layer(channels, device=..., dtype=...)``.
        device: device of the parameters.
        dtype: dtype of the parameters.

    Attributes:
        out_features: size of the output features.
        min_length: the shortest accepted input.

    Shapes:
        x: ``"b t j c"``; output: ``"b d"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.encoders import HCNEncoder
        >>> encoder = HCNEncoder(num_joints=20).eval()
        >>> encoder(torch.randn(2, 37, 20, 3)).shape
        torch.Size([2, 256])
        >>> sum(p.numel() for p in encoder.parameters())
        505728
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        num_joints: int = 20,
        channels: Sequence[int] = (64, 32, 32, 64, 128, 256),
        padding: HCNPadding = "same",
        fusion: HCNFusion = "channels",
        pooling: HCNPooling = "mean",
        seq_len: int | None = None,
        dropout: float = 0.0,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("HCNEncoder"):
            self.in_channels = check_int("in_channels", in_channels, minimum=1)
            self.num_joints = check_int("num_joints", num_joints, minimum=1)
            if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence):
                raise TypeError(
                    f"channels must be a sequence of 6 ints, got {type(channels).__name__}"
                )
            if len(channels) != 6:
                raise ValueError(f"channels must have 6 entries, got {channels!r}")
            for width in channels:
                check_int("every entry of channels", width, minimum=1)
            self.channels = tuple(channels)
            self.padding: HCNPadding = padding
            check_choice("padding", padding, get_args(HCNPadding))
            self.fusion: HCNFusion = fusion
            check_choice("fusion", fusion, get_args(HCNFusion))
            self.pooling: HCNPooling = pooling
            check_choice("pooling", pooling, get_args(HCNPooling))
            self.dropout = check_dropout(dropout)

            pad = 1 if padding == "same" else 0
            ceil = padding == "same"
            # Height (feature axis) after the streams: it does not depend on t.
            stream_height = _propagate(self.channels[1], _STREAM_STAGES, pad, ceil)
            fused_height = 2 * stream_height if fusion == "height" else stream_height
            self._final_height = _propagate(fused_height, _TRUNK_STAGES, pad, ceil)
            if stream_height < 1 or self._final_height < 1:
                raise ValueError(
                    f"the feature axis (channels[1] = {self.channels[1]}) is too small for "
                    f'padding={padding!r} and fusion={fusion!r}; use padding="same" or a larger '
                    "channels[1]"
                )
            self.min_length = _min_input(_TIME_STAGES, pad, ceil)
            if pooling == "flatten":
                if seq_len is None:
                    raise ValueError(
                        'pooling="flatten" needs seq_len (the output size depends on it), got None'
                    )
                self.seq_len: int | None = check_int("seq_len", seq_len, minimum=self.min_length)
                self._final_width: int | None = _propagate(seq_len, _TIME_STAGES, pad, ceil)
                self.out_features = self.channels[5] * self._final_height * self._final_width
            else:
                if seq_len is not None:
                    raise ValueError(
                        f'seq_len is only used with pooling="flatten" (any length works '
                        f"with {pooling!r}), got seq_len={seq_len!r}"
                    )
                self.seq_len = None
                self._final_width = None
                self.out_features = self.channels[5]

        factory: Factory = {"device": device, "dtype": dtype}
        c1, c2, c3, c4, c5, c6 = self.channels

        def stream() -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(in_channels, c1, 1, **factory),
                norm_layer(c1, **factory),
                act_layer(),
                nn.Conv2d(c1, c2, (3, 1), padding=(pad, 0), **factory),
                norm_layer(c2, **factory),
                Rearrange("b c t j -> b j c t"),
                nn.Conv2d(num_joints, c3, 3, padding=pad, **factory),
                norm_layer(c3, **factory),
                nn.MaxPool2d(2, ceil_mode=ceil),
                nn.Conv2d(c3, c4, 3, padding=pad, **factory),
                norm_layer(c4, **factory),
                nn.Dropout2d(self.dropout),
                nn.MaxPool2d(2, ceil_mode=ceil),
            )

        self.position_stream = stream()
        self.motion_stream = stream()
        fused = 2 * c4 if fusion == "channels" else c4
        self.trunk = nn.Sequential(
            nn.Conv2d(fused, c5, 3, padding=pad, **factory),
            norm_layer(c5, **factory),
            act_layer(),
            nn.Dropout2d(self.dropout),
            nn.MaxPool2d(2, ceil_mode=ceil),
            nn.Conv2d(c5, c6, 3, padding=pad, **factory),
            norm_layer(c6, **factory),
            act_layer(),
            nn.Dropout2d(self.dropout),
            nn.MaxPool2d(2, ceil_mode=ceil),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Encode a batch of skeleton sequences.

        Shapes:
            x: ``"b t j c"``; output: ``"b d"``.
        """
        with checking("HCNEncoder"):
            x = check_tensor(
                "x",
                x,
                pattern="b t j c",
                sizes={"j": self.num_joints, "c": self.in_channels},
            )
            x = check_input_dtype(x, cast("nn.Conv2d", self.position_stream[0]).weight)
        if x.shape[1] < self.min_length:
            raise ValueError(
                f'HCNEncoder: x must have shape "b t j c" with t >= {self.min_length} (the '
                f"unpadded convolutions and pools need it), got {tuple(x.shape)}"
            )
        if self._final_width is not None:
            pad = 1 if self.padding == "same" else 0
            width = _propagate(x.shape[1], _TIME_STAGES, pad, self.padding == "same")
            if width != self._final_width:
                raise ValueError(
                    f'HCNEncoder: with pooling="flatten" and seq_len={self.seq_len} the input must '
                    f"give a final map of width {self._final_width}, but x of shape "
                    f"{tuple(x.shape)} gives {width}; resample to t = {self.seq_len}"
                )
        position = rearrange(x, "b t j c -> b c t j")
        motion = torch.cat(
            (torch.zeros_like(position[:, :, :1]), position[:, :, 1:] - position[:, :, :-1]),
            dim=2,
        )
        h = torch.cat(
            (self.position_stream(position), self.motion_stream(motion)),
            dim=1 if self.fusion == "channels" else 2,
        )
        h = self.trunk(h)
        out: Tensor
        if self.pooling == "flatten":
            out = rearrange(h, "b c h w -> b (c h w)")
        elif self.pooling == "max":
            out = h.amax(dim=(2, 3))
        else:
            out = h.mean(dim=(2, 3))
        return out

    def extra_repr(self) -> str:
        """The hyperparameters, for ``repr``."""
        return (
            f"in_channels={self.in_channels}, num_joints={self.num_joints}, "
            f"channels={self.channels}, padding={self.padding!r}, fusion={self.fusion!r}, "
            f"pooling={self.pooling!r}, seq_len={self.seq_len}, dropout={self.dropout}, "
            f"out_features={self.out_features}"
        )


# Stages each spatial axis goes through (3x3 convolutions, 2x2 pools). The time axis also
# passes the (3, 1) temporal convolution; the feature axis starts after it.
_STREAM_STAGES: tuple[_Stage, ...] = (("conv", 3), ("pool", 2), ("conv", 3), ("pool", 2))
_TRUNK_STAGES: tuple[_Stage, ...] = (("conv", 3), ("pool", 2), ("conv", 3), ("pool", 2))
_TIME_STAGES: tuple[_Stage, ...] = (("conv", 3), *_STREAM_STAGES, *_TRUNK_STAGES)


def _propagate(size: int, stages: Sequence[_Stage], pad: int, ceil: bool) -> int:
    """Size of one axis after the stages; 0 or less when a stage has no valid output."""
    for kind, k in stages:
        if size < 1:
            return size
        size = size + 2 * pad - k + 1 if kind == "conv" else (size + (k - 1) * ceil) // k
    return size


def _min_input(stages: Sequence[_Stage], pad: int, ceil: bool) -> int:
    """The smallest input size whose output through ``stages`` is at least 1."""
    need = 1
    for kind, k in reversed(stages):
        need = need - 2 * pad + k - 1 if kind == "conv" else k * need - (k - 1) * ceil
        need = max(need, 1)
    return need
