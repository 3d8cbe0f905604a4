"""CNN-Transformer encoder for inertial sequences (the CSSHAR / CMC-CMKM lineage)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_bool, check_int, checking
from mmcontrast.encoders._common import Factory, SequenceEncoder, attention_key_mask, pool
from mmcontrast.encoders.types import Pooling

__all__ = ["CNNTransformerEncoder"]


class CNNTransformerEncoder(SequenceEncoder):
    """Conv1d stem, sinusoidal positions and ``nn.TransformerEncoderLayer`` blocks, pooled.

    The inertial encoder of CSSHAR (Khaertdinov et al. 2021), used by CMC-CMKM and the
    hard-negative CMC paper: ``Conv1d -> BatchNorm1d -> ReLU`` blocks, the sine/cosine position
    table (computed for any length), dropout, then PyTorch transformer encoder layers
    (``batch_first``). The defaults are length-agnostic: "same" convolution padding, pre-norm
    layers with a final ``LayerNorm``, and a masked mean over the valid steps.
    `mmcontrast.encoders.presets.cmc_cmkm_inertial` builds the exact CMC-CMKM encoder.

    With a padding ``mask``, padded steps are zeroed before every convolution, ignored as
    attention keys and left out of the mean, so in eval mode each sample's features equal
    those of the sample run alone without padding. In train mode BatchNorm's batch statistics
    include the padded zeros, so there they differ slightly.

    Args:
        in_channels: input channels ``c`` (6 for 3-axis accelerometer + gyroscope).
        channels: output channels of the convolution blocks; the last is the model width ``d``.
        kernel_size: temporal kernel of every convolution.
        padding: convolution padding; ``None`` means ``kernel_size // 2`` ("same" for odd
            kernels). CMC-CMKM uses 1 with ``kernel_size=5``, which removes 2 steps per block.
        num_heads: attention heads; must divide ``d``.
        num_layers: transformer layers.
        dim_feedforward: feed-forward width; ``None`` means ``4 * d``. PyTorch's default
            (and CMC-CMKM's) is 2048.
        dropout: after the positions, in attention and on the residual branches.
        norm_first: pre-norm layers plus a final ``LayerNorm`` (``True``), or post-norm layers
            without a final norm as in ``nn.TransformerEncoderLayer``'s default (``False``).
        ff_act_layer: activation of the transformer feed-forward blocks, called with no
            arguments (``nn.GELU`` or ``nn.ReLU`` keep PyTorch's fused fast path in eval mode).
        pooling: ``"mean"`` (masked mean over valid steps), ``"cls"`` (a learned token,
            prepended after the positions), or ``"flatten"`` (every step kept, channel-major, as
            CMC-CMKM; fixed length only, no mask).
        seq_len: the input length, required with ``pooling="flatten"`` (the output size
            depends on it) and rejected otherwise.
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
        >>> from mmcontrast.encoders import CNNTransformerEncoder
        >>> encoder = CNNTransformerEncoder(in_channels=6).eval()
        >>> x = torch.randn(4, 120, 6)
        >>> mask = torch.arange(120) < torch.tensor([[120], [107], [90], [64]])
        >>> encoder(x, mask=mask).shape
        torch.Size([4, 128])
        >>> encoder.out_features, sum(p.numel() for p in encoder.parameters())
        (128, 449632)
    """

    def __init__(
        self,
        *,
        in_channels: int = 6,
        channels: Sequence[int] = (32, 64, 128),
        kernel_size: int = 5,
        padding: int | None = None,
        num_heads: int = 2,
        num_layers: int = 2,
        dim_feedforward: int | None = None,
        dropout: float = 0.1,
        norm_first: bool = True,
        pooling: Pooling = "mean",
        seq_len: int | None = None,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm1d,
        ff_act_layer: Callable[[], nn.Module] = nn.GELU,
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
        with checking("CNNTransformerEncoder"):
            check_int("num_heads", num_heads, minimum=1)
            if width % num_heads:
                raise ValueError(
                    f"num_heads must divide the model width channels[-1] = {width}, got {num_heads}"
                )
            self.build_embedding(
                num_layers=num_layers,
                dropout=dropout,
                pooling=pooling,
                seq_len=seq_len,
                factory=factory,
            )
            ff = 4 * width if dim_feedforward is None else dim_feedforward
            check_int("dim_feedforward", ff, minimum=1)
            self.norm_first = check_bool("norm_first", norm_first)
        if not callable(ff_act_layer):
            raise TypeError(
                "CNNTransformerEncoder: ff_act_layer must be a module class or factory such as "
                f"nn.GELU, got {ff_act_layer!r}"
            )
        self.num_heads = num_heads
        self.dim_feedforward = ff
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                width,
                num_heads,
                dim_feedforward=ff,
                dropout=self.dropout,
                activation=ff_act_layer(),
                batch_first=True,
                norm_first=norm_first,
                **factory,
            )
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(width, **factory) if norm_first else nn.Identity()

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Encode a batch of sequences.

        Shapes:
            x: ``"b t c"``; mask: ``"b t"``; output: ``"b d"`` (``"b (d t')"`` with
            ``pooling="flatten"``).
        """
        h, mask = self.embed_inputs(x, mask, sinusoidal=True)
        key_padding = None if mask is None else ~attention_key_mask(mask)
        for layer in self.layers:
            h = layer(h, src_key_padding_mask=key_padding)
        return pool(self.norm(h), mask, self.pooling)

    def extra_repr(self) -> str:
        """The hyperparameters, for ``repr``."""
        return (
            f"in_channels={self.in_channels}, channels={self.stem.channels}, "
            f"kernel_size={self.stem.kernel_size}, padding={self.stem.padding}, "
            f"num_heads={self.num_heads}, num_layers={self.num_layers}, "
            f"dim_feedforward={self.dim_feedforward}, dropout={self.dropout}, "
            f"norm_first={self.norm_first}, pooling={self.pooling!r}, seq_len={self.seq_len}, "
            f"out_features={self.out_features}"
        )
