"""Encoder configurations of published systems (exact) and a CLMM-style design (our own).

| preset | input | output | parameters |
|---|---|---|---|
| `cmc_cmkm_inertial()` | `(b, 50, 6)` | `(b, 5632)` | 1,238,880 |
| `cmc_cmkm_skeleton()` | `(b, 50, 20, 3)` (t = 48 .. 63) | `(b, 256)` | 432,000 |
| `clmm_style_inertial()` | `(b, t, 6)`, any t, optional mask | `(b, 128)` | 448,864 |
| `clmm_style_skeleton()` | `(b, t, 20, 3)`, any t, optional mask | `(b, 128)` | 457,504 |

The CMC-CMKM presets reproduce the released encoders of Brinzea et al. 2022 (repository
``razzu/cmc-cmkm`` at commit 8881fdb, also used by the hard-negative CMC paper of Choi et
al. 2023) layer by layer, without the unused template layer that the released inertial model
keeps registered (593,024 dead parameters). Their inputs are resampled to 50 steps, as in the
papers.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn

from mmcontrast._checks import check_int, check_tensor, checking
from mmcontrast.encoders._common import check_input_dtype
from mmcontrast.encoders.cnn_transformer import CNNTransformerEncoder
from mmcontrast.encoders.diff_transformer import CNNDiffTransformerEncoder
from mmcontrast.encoders.hcn import HCNEncoder

__all__ = ["clmm_style_inertial", "clmm_style_skeleton", "cmc_cmkm_inertial", "cmc_cmkm_skeleton"]


def cmc_cmkm_inertial(
    *, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> CNNTransformerEncoder:
    """The CMC-CMKM UTD-MHAD inertial encoder: 1,238,880 parameters, ``(b, 50, 6) -> (b, 5632)``.

    Three ``Conv1d(k=5, padding=1) -> BatchNorm1d -> ReLU`` blocks (32, 64, 128 channels; each
    removes 2 steps: 50 -> 44), the sine/cosine table and Dropout(0.1), two post-norm
    ``nn.TransformerEncoderLayer(d_model=128, nhead=2)`` with PyTorch's defaults (feed-forward
    2048, dropout 0.1, ReLU), and a channel-major flatten of the ``(128, 44)`` map. The input
    must have exactly 50 steps and no mask.

    Shapes:
        x: ``"b t c"`` with ``t = 50``, ``c = 6``; output: ``"b d"`` with ``d = 5632``.

    Examples:
        >>> import torch
        >>> from mmcontrast.encoders.presets import cmc_cmkm_inertial
        >>> encoder = cmc_cmkm_inertial()
        >>> encoder(torch.randn(2, 50, 6)).shape
        torch.Size([2, 5632])
        >>> sum(p.numel() for p in encoder.parameters())
        1238880
    """
    return CNNTransformerEncoder(
        in_channels=6,
        channels=(32, 64, 128),
        kernel_size=5,
        padding=1,
        num_heads=2,
        num_layers=2,
        dim_feedforward=2048,
        dropout=0.1,
        norm_first=False,
        ff_act_layer=nn.ReLU,
        pooling="flatten",
        seq_len=50,
        device=device,
        dtype=dtype,
    )


def cmc_cmkm_skeleton(
    *, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> HCNEncoder:
    """The CMC-CMKM UTD-MHAD skeleton HCN: 432,000 parameters, ``(b, 50, 20, 3) -> (b, 256)``.

    Unpadded convolutions with BatchNorm after each (ReLU only after the first, fifth and sixth),
    floor max-pools, the position and motion streams (first frame difference zero) stacked on
    the feature axis, and a flatten of the final ``(256, 1, 1)`` map. It needs ``t >= 48``;
    every ``t`` from 48 to 63 gives the same 256 features (the released code resamples to 50).

    Shapes:
        x: ``"b t j c"`` with ``t = 48 .. 63``, ``j = 20``, ``c = 3``; output: ``"b d"`` with
        ``d = 256``.

    Examples:
        >>> import torch
        >>> from mmcontrast.encoders.presets import cmc_cmkm_skeleton
        >>> encoder = cmc_cmkm_skeleton()
        >>> encoder(torch.randn(2, 50, 20, 3)).shape
        torch.Size([2, 256])
        >>> sum(p.numel() for p in encoder.parameters())
        432000
    """
    return HCNEncoder(
        in_channels=3,
        num_joints=20,
        channels=(64, 32, 32, 64, 128, 256),
        padding="valid",
        fusion="height",
        pooling="flatten",
        seq_len=50,
        dropout=0.0,
        device=device,
        dtype=dtype,
    )


def clmm_style_inertial(
    *,
    in_channels: int = 6,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> CNNDiffTransformerEncoder:
    """A CNN-DiffTransformer for CLMM-style experiments: 448,864 parameters, any length -> 128.

    Not from the CLMM paper (Jing et al. 2026; only its abstract is public): our own design,
    inferred from the abstract, CSSHAR/CMC-CMKM and the Diff-Transformer. Three
    ``Conv1d(k=5, "same") -> BatchNorm1d -> ReLU`` blocks (32, 64, 128), sine/cosine positions,
    two pre-RMSNorm differential layers (4 differential heads of sub-head size 16,
    ``lambda_init`` 0.2 and 0.3555, SwiGLU width 344, non-affine per-head norm), a final
    RMSNorm and a masked mean. `clmm_style_skeleton` is the same design on skeletons.

    Args:
        in_channels: input channels ``c``: 6 for a 3-axis accelerometer and gyroscope (the
            default, UTD-MHAD's wrist IMU); another count for IMUs with other channels, e.g. 3
            for an accelerometer alone or 9 with a magnetometer.
        device: device of the parameters.
        dtype: dtype of the parameters.

    Shapes:
        x: ``"b t c"``; mask: ``"b t"``; output: ``"b d"`` with ``d = 128``.

    Examples:
        >>> import torch
        >>> from mmcontrast.encoders.presets import clmm_style_inertial
        >>> encoder = clmm_style_inertial()
        >>> encoder(torch.randn(2, 150, 6)).shape
        torch.Size([2, 128])
        >>> sum(p.numel() for p in encoder.parameters())
        448864
    """
    return CNNDiffTransformerEncoder(
        in_channels=in_channels,
        channels=(32, 64, 128),
        kernel_size=5,
        num_heads=4,
        num_layers=2,
        hidden_dim=344,
        dropout=0.1,
        positions="sinusoidal",
        pooling="mean",
        norm_affine=False,
        device=device,
        dtype=dtype,
    )


class _FlattenedSkeleton(nn.Module):
    """A ``"b t c"`` sequence encoder run on skeletons, the joints' coordinates as channels."""

    def __init__(
        self, encoder: CNNDiffTransformerEncoder, *, num_joints: int, in_channels: int
    ) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.in_channels = in_channels
        self.encoder = encoder
        self.out_features = encoder.out_features
        self.min_length = encoder.min_length

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Encode a batch of skeleton sequences.

        Shapes:
            x: ``"b t j c"``; mask: ``"b t"``; output: ``"b d"``.
        """
        sizes = {"j": self.num_joints, "c": self.in_channels}
        with checking("clmm_style_skeleton"):
            x = check_tensor("x", x, pattern="b t j c", sizes=sizes)
            x = check_input_dtype(x, self.encoder.stem.first_weight)
        # the encoder checks the rest (length, mask) but not the dtype again
        out: Tensor = self.encoder._forward(
            rearrange(x, "b t j c -> b t (j c)"), mask, check_dtype=False
        )
        return out

    def extra_repr(self) -> str:
        return f"num_joints={self.num_joints}, in_channels={self.in_channels}"


def clmm_style_skeleton(
    *,
    num_joints: int = 20,
    in_channels: int = 3,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """`clmm_style_inertial` on skeletons: 457,504 parameters, ``(b, t, 20, 3) -> (b, 128)``.

    Each frame's joints are flattened to ``j * c`` channels (``"b t j c -> b t (j c)"``, 60
    for UTD-MHAD's 20 Kinect joints) and encoded by the same CNN-DiffTransformer as
    `clmm_style_inertial` (our own design, not from the CLMM paper). Any length; an optional
    ``"b t"`` padding mask is passed on to the encoder. The returned module's ``encoder``
    attribute is the `CNNDiffTransformerEncoder` of the flattened ``"b t (j c)"`` input.

    Args:
        num_joints: joints per frame ``j``.
        in_channels: coordinates per joint ``c``.
        device: device of the parameters.
        dtype: dtype of the parameters.

    Shapes:
        x: ``"b t j c"``; mask: ``"b t"``; output: ``"b d"`` with ``d = 128``.

    Examples:
        >>> import torch
        >>> from mmcontrast.encoders.presets import clmm_style_skeleton
        >>> encoder = clmm_style_skeleton()
        >>> encoder(torch.randn(2, 50, 20, 3)).shape
        torch.Size([2, 128])
        >>> sum(p.numel() for p in encoder.parameters())
        457504
    """
    with checking("clmm_style_skeleton"):
        num_joints = check_int("num_joints", num_joints, minimum=1)
        in_channels = check_int("in_channels", in_channels, minimum=1)
    encoder = clmm_style_inertial(in_channels=num_joints * in_channels, device=device, dtype=dtype)
    return _FlattenedSkeleton(encoder, num_joints=num_joints, in_channels=in_channels)
