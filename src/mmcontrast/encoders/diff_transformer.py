"""The differential transformer layer (Ye et al. 2024) and the CNN-DiffTransformer encoder.

`DifferentialAttention` lives in `mmcontrast.encoders.diff_attention` and is
re-exported here.

The CNN-DiffTransformer encoder follows the CLMM abstract (Jing et al. 2026: "CNN for local,
DiffTransformer for global features"); the paper's full text is not available, so the
configuration is our own design (see ``docs/encoders.md``) and is not a CLMM reproduction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcontrast._checks import (
    check_choice,
    check_dropout,
    check_int,
    check_mask,
    check_tensor,
    checking,
)
from mmcontrast.encoders._common import (
    POSITIONS,
    Factory,
    SequenceEncoder,
    check_input_dtype,
    pool,
    rms_norm,
)
from mmcontrast.encoders.diff_attention import DifferentialAttention
from mmcontrast.encoders.types import Pooling, Positions

__all__ = [
    "CNNDiffTransformerEncoder",
    "DifferentialAttention",
    "DifferentialTransformerLayer",
    "swiglu_hidden",
]


class _SwiGLU(nn.Module):
    """``(silu(x W_gate) * x W_up) W_down`` without biases (gate and up fused in one matmul)."""

    def __init__(
        self, dim: int, hidden: int, *, device: torch.device | str | None, dtype: torch.dtype | None
    ) -> None:
        super().__init__()
        self.gate_up = nn.Linear(dim, 2 * hidden, bias=False, device=device, dtype=dtype)
        self.down = nn.Linear(hidden, dim, bias=False, device=device, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        out: Tensor = self.down(F.silu(gate) * up)
        return out


def swiglu_hidden(dim: int) -> int:
    """The SwiGLU width ``8/3 * dim`` rounded up to a multiple of 8 (344 for 128)."""
    return 8 * math.ceil(dim / 3)


class DifferentialTransformerLayer(nn.Module):
    """Pre-norm layer: ``x + DiffAttn(RMSNorm(x))``, then ``x + SwiGLU(RMSNorm(x))``.

    The layer of the Diff-Transformer paper (section 2.3), bidirectional. Dropout, if any, is
    applied to the two residual branches, never to the attention maps.

    Args:
        dim: model width.
        num_heads: differential heads (see `DifferentialAttention`).
        depth: 0-based layer index (sets ``lambda_init``).
        hidden_dim: SwiGLU width; ``None`` means ``8/3 * dim`` rounded up to a multiple of 8.
        dropout: on the residual branches.
        norm_affine: learnable gain in the per-head RMSNorm of the attention.
        rope: see `DifferentialAttention`.
        device: device of the parameters.
        dtype: dtype of the parameters.

    Shapes:
        x: ``"b t d"``; mask: ``"b t"``; output: ``"b t d"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.encoders import DifferentialTransformerLayer
        >>> layer = DifferentialTransformerLayer(128, num_heads=4)
        >>> layer(torch.randn(2, 50, 128)).shape
        torch.Size([2, 50, 128])
        >>> sum(p.numel() for p in layer.parameters())
        197952
    """

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int,
        depth: int = 0,
        hidden_dim: int | None = None,
        dropout: float = 0.0,
        norm_affine: bool = False,
        rope: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.attn_norm = nn.RMSNorm(dim, eps=1e-5, **factory)
        self.attn = DifferentialAttention(
            dim,
            num_heads=num_heads,
            depth=depth,
            norm_affine=norm_affine,
            rope=rope,
            **factory,
        )
        self.hidden_dim = swiglu_hidden(dim) if hidden_dim is None else hidden_dim
        with checking("DifferentialTransformerLayer"):
            check_int("hidden_dim", self.hidden_dim, minimum=1)
            self.ffn_norm = nn.RMSNorm(dim, eps=1e-5, **factory)
            self.ffn = _SwiGLU(dim, self.hidden_dim, **factory)
            self.dropout = nn.Dropout(check_dropout(dropout))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Apply the layer.

        Shapes:
            x: ``"b t d"``; mask: ``"b t"``; output: ``"b t d"``.
        """
        with checking("DifferentialTransformerLayer"):
            x = check_tensor("x", x, pattern="b t d", sizes={"d": self.attn.dim})
            x = check_input_dtype(x, self.attn.qkv_proj.weight)
            mask = check_mask(mask, x)
        return self._forward(x, mask)

    def _forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """`forward` without the input checks, for a caller that has made them."""
        x = x + self.dropout(self.attn._forward(rms_norm(self.attn_norm, x), mask))
        out: Tensor = x + self.dropout(self.ffn(rms_norm(self.ffn_norm, x)))
        return out

    def extra_repr(self) -> str:
        """The hyperparameters, for ``repr``."""
        return f"hidden_dim={self.hidden_dim}, dropout={self.dropout.p}"


class CNNDiffTransformerEncoder(SequenceEncoder):
    """Conv1d stem and differential-attention layers, pooled: a CLMM-style encoder.

    The CLMM abstract (Jing et al. 2026) names a "CNN-DiffTransformer" encoder; its layers are
    not published, so this is our own design, not a CLMM reproduction: the CSSHAR stem
    (``Conv1d -> BatchNorm1d -> ReLU``, "same" padding), sine/cosine positions (or RoPE),
    `DifferentialTransformerLayer` blocks with ``lambda_init`` by depth, a final RMSNorm
    and a masked mean. `mmcontrast.encoders.presets.clmm_style_inertial` is the
    documented configuration.

    With a padding ``mask``, padded steps are zeroed before every convolution, ignored as
    attention keys and left out of the mean, so in eval mode each sample's features equal
    those of the sample run alone without padding (BatchNorm's batch statistics in train mode
    include the padded zeros).

    Args:
        in_channels: input channels ``c``.
        channels: output channels of the convolution blocks; the last is the model width ``d``.
        kernel_size: temporal kernel of every convolution.
        padding: convolution padding; ``None`` means ``kernel_size // 2``.
        num_heads: differential heads (half a plain Transformer's); ``2 * num_heads`` must
            divide ``d``.
        num_layers: differential transformer layers (layer ``i`` has depth ``i``).
        hidden_dim: SwiGLU width; ``None`` means ``8/3 * d`` rounded up to a multiple of 8.
        dropout: after the positions and on the residual branches (never on attention maps).
        positions: ``"sinusoidal"`` (added after the stem) or ``"rope"`` (rotary, on the
            query and key sub-heads of every layer).
        pooling: ``"mean"`` (masked), ``"cls"`` or ``"flatten"`` (fixed length, no mask).
        seq_len: the input length, required with ``pooling="flatten"``, rejected otherwise.
        norm_affine: learnable gain in the per-head RMSNorm of the attention.
        act_layer: activation of the convolution blocks, called with no arguments.
        norm_layer: norm of the convolution blocks, called as
            ``norm_layer(channels, device=..., dtype=...)``.
        device: device of the parameters.
        dtype: dtype of the parameters.

    Attributes:
        out_features: size of the output features.
        min_length: the shortest accepted input.

    Shapes:
        x: ``"b t c"``; mask: ``"b t"`` (``True`` at valid steps, padding at the end);
        output: ``"b d"`` (``"b (d t')"`` with ``pooling="flatten"``).

    Examples:
        >>> import torch
        >>> from mmcontrast.encoders import CNNDiffTransformerEncoder
        >>> encoder = CNNDiffTransformerEncoder(in_channels=6).eval()
        >>> x = torch.randn(3, 100, 6)
        >>> mask = torch.arange(100) < torch.tensor([[100], [80], [55]])
        >>> encoder(x, mask=mask).shape
        torch.Size([3, 128])
        >>> sum(p.numel() for p in encoder.parameters())
        448864
    """

    def __init__(
        self,
        *,
        in_channels: int = 6,
        channels: Sequence[int] = (32, 64, 128),
        kernel_size: int = 5,
        padding: int | None = None,
        num_heads: int = 4,
        num_layers: int = 2,
        hidden_dim: int | None = None,
        dropout: float = 0.1,
        positions: Positions = "sinusoidal",
        pooling: Pooling = "mean",
        seq_len: int | None = None,
        norm_affine: bool = False,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm1d,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        width = self.build_stem(
            in_channels,
            channels,
            kernel_size=kernel_size,
            padding=padding,
            act_layer=act_layer,
            norm_layer=norm_layer,
            factory=factory,
        )
        with checking("CNNDiffTransformerEncoder"):
            check_int("num_heads", num_heads, minimum=1)
            if width % (2 * num_heads):
                raise ValueError(
                    f"2 * num_heads = {2 * num_heads} must divide the "
                    f"model width channels[-1] = {width}, got num_heads={num_heads}"
                )
            self.build_embedding(
                num_layers=num_layers,
                dropout=dropout,
                pooling=pooling,
                seq_len=seq_len,
                factory=factory,
            )
            self.positions: Positions = positions
            check_choice("positions", positions, POSITIONS)
        self.layers = nn.ModuleList(
            DifferentialTransformerLayer(
                width,
                num_heads=num_heads,
                depth=depth,
                hidden_dim=hidden_dim,
                dropout=self.dropout,
                norm_affine=norm_affine,
                rope=positions == "rope",
                **factory,
            )
            for depth in range(num_layers)
        )
        self.norm = nn.RMSNorm(width, eps=1e-5, **factory)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Encode a batch of sequences.

        Shapes:
            x: ``"b t c"``; mask: ``"b t"``; output: ``"b d"`` (``"b (d t')"`` with
            ``pooling="flatten"``).
        """
        return self._forward(x, mask)

    def _forward(self, x: Tensor, mask: Tensor | None, *, check_dtype: bool = True) -> Tensor:
        """`forward`; ``check_dtype=False`` for a wrapper that has checked the dtype itself.

        The layers run unchecked (`DifferentialTransformerLayer._forward`): ``embed_inputs``
        has validated ``x`` and ``mask``.
        """
        h, mask = self.embed_inputs(
            x, mask, sinusoidal=self.positions == "sinusoidal", check_dtype=check_dtype
        )
        for layer in self.layers:
            h = cast("DifferentialTransformerLayer", layer)._forward(h, mask)
        return pool(rms_norm(self.norm, h), mask, self.pooling)

    def extra_repr(self) -> str:
        """The hyperparameters, for ``repr``."""
        return (
            f"in_channels={self.in_channels}, channels={self.stem.channels}, "
            f"kernel_size={self.stem.kernel_size}, padding={self.stem.padding}, "
            f"num_layers={self.num_layers}, dropout={self.dropout}, positions={self.positions!r}, "
            f"pooling={self.pooling!r}, seq_len={self.seq_len}, out_features={self.out_features}"
        )
