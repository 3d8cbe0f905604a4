"""Multi-head differential attention (Diff-Transformer V1, Ye et al. 2024, arXiv 2410.05258)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from mmcontrast._checks import check_bool, check_int, check_mask, check_tensor, checking
from mmcontrast.encoders._common import (
    Factory,
    attention_key_mask,
    check_input_dtype,
    rms_norm,
)

__all__ = ["DifferentialAttention", "lambda_init_for_depth"]


def lambda_init_for_depth(depth: int) -> float:
    """``lambda_init = 0.8 - 0.6 * exp(-0.3 * depth)`` for the 0-based layer index ``depth``.

    Examples:
        >>> round(lambda_init_for_depth(0), 4), round(lambda_init_for_depth(3), 4)
        (0.2, 0.5561)
    """
    with checking("lambda_init_for_depth"):
        check_int("depth", depth, minimum=0)
    return 0.8 - 0.6 * math.exp(-0.3 * depth)


class DifferentialAttention(nn.Module):
    """Multi-head differential attention (Diff-Transformer V1), bidirectional.

    For each of the ``num_heads`` differential heads, queries and keys are split into two
    sub-heads of size ``e = dim / (2 * num_heads)`` (interleaved: sub-heads ``2h`` and ``2h+1``
    belong to head ``h``) and the values have size ``2e``::

        A1 = softmax(Q1 K1^T / sqrt(e)),   A2 = softmax(Q2 K2^T / sqrt(e))
        lambda = exp(lq1 . lk1) - exp(lq2 . lk2) + lambda_init      (one scalar per layer)
        O_h = RMSNorm((A1 - lambda * A2) V_h) * (1 - lambda_init)
        out = concat_h(O_h) W_O

    ``lambda_init = 0.8 - 0.6 * exp(-0.3 * depth)``; the four ``lambda`` vectors are drawn
    from ``N(0, 0.1^2)`` and ``lambda`` is computed in at least float32. ``(A1 - lambda A2) V``
    is evaluated as ``A1 V - lambda A2 V`` with two ``F.scaled_dot_product_attention`` (SDPA)
    calls; the query and key sub-heads are zero-padded to size ``2e`` (the zeros add nothing
    to the dot products; the scale stays ``1 / sqrt(e)``), so all head sizes are equal and
    flash kernels apply. Of the equivalent layouts measured (``docs/benchmarks.md``: unequal
    query/value sizes, or four calls on the two value halves), this is the fastest.

    There is no dropout on the attention maps (independent dropout on ``A1`` and ``A2`` is not
    dropout on their difference); put dropout on the residual branch. The projections have no
    bias; ``num_heads`` counts differential heads, half the heads of a comparable Transformer.

    Args:
        dim: model width ``d``; must be divisible by ``2 * num_heads``.
        num_heads: differential heads.
        depth: 0-based index of the layer, which sets ``lambda_init``.
        norm_affine: learnable gain in the per-head RMSNorm (the fairseq release has none).
        rope: rotary position embedding (interleaved pairs, base 10000) on the query and key
            sub-heads, positions ``0 .. t-1``.
        device: device of the parameters.
        dtype: dtype of the parameters.

    Attributes:
        lambda_init: the constant ``lambda_init`` of this depth.

    Shapes:
        x: ``"b t d"``; mask: ``"b t"`` (``True`` at valid keys); output: ``"b t d"``.

    A row whose mask is all ``False`` attends to all its keys instead of none, so every output
    is finite; the encoders then drop such rows in pooling.

    Examples:
        >>> import torch
        >>> from mmcontrast.encoders import DifferentialAttention
        >>> attention = DifferentialAttention(128, num_heads=4, depth=1)
        >>> attention(torch.randn(2, 50, 128)).shape
        torch.Size([2, 50, 128])
        >>> round(attention.lambda_init, 4), sum(p.numel() for p in attention.parameters())
        (0.3555, 65600)
    """

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int,
        depth: int = 0,
        norm_affine: bool = False,
        rope: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("DifferentialAttention"):
            check_int("dim", dim, minimum=1)
            check_int("num_heads", num_heads, minimum=1)
            if dim % (2 * num_heads):
                raise ValueError(
                    f"dim must be divisible by 2 * num_heads = {2 * num_heads} "
                    f"(two query/key sub-heads per differential head), got dim={dim}"
                )
            check_int("depth", depth, minimum=0)
            self.dim = dim
            self.num_heads = num_heads
            self.head_dim = dim // (2 * num_heads)
            self.depth = depth
            self.lambda_init = lambda_init_for_depth(depth)
            self.norm_affine = check_bool("norm_affine", norm_affine)
            self.rope = check_bool("rope", rope)
        if rope and self.head_dim % 2:
            raise ValueError(
                "DifferentialAttention: rope needs an even sub-head size dim / (2 * num_heads), "
                f"got {self.head_dim}"
            )
        factory: Factory = {"device": device, "dtype": dtype}
        self.qkv_proj = nn.Linear(dim, 3 * dim, bias=False, **factory)
        self.out_proj = nn.Linear(dim, dim, bias=False, **factory)
        self.lambda_q1 = nn.Parameter(0.1 * torch.randn(self.head_dim, **factory))
        self.lambda_k1 = nn.Parameter(0.1 * torch.randn(self.head_dim, **factory))
        self.lambda_q2 = nn.Parameter(0.1 * torch.randn(self.head_dim, **factory))
        self.lambda_k2 = nn.Parameter(0.1 * torch.randn(self.head_dim, **factory))
        self.sub_norm = nn.RMSNorm(
            2 * self.head_dim, eps=1e-5, elementwise_affine=norm_affine, **factory
        )

    def compute_lambda(self) -> Tensor:
        """The current ``lambda`` (a 0-d tensor in at least float32), e.g. for logging."""
        work = torch.promote_types(self.lambda_q1.dtype, torch.float32)
        first = torch.exp(torch.dot(self.lambda_q1.to(work), self.lambda_k1.to(work)))
        second = torch.exp(torch.dot(self.lambda_q2.to(work), self.lambda_k2.to(work)))
        return first - second + self.lambda_init

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Attend over the sequence.

        Shapes:
            x: ``"b t d"``; mask: ``"b t"``; output: ``"b t d"``.
        """
        with checking("DifferentialAttention"):
            x = check_tensor("x", x, pattern="b t d", sizes={"d": self.dim})
            x = check_input_dtype(x, self.qkv_proj.weight)
            mask = check_mask(mask, x)
        return self._forward(x, mask)

    def _forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """`forward` without the input checks, for a caller that has made them."""
        length = x.shape[1]
        q, k, v = self.qkv_proj(x).chunk(3, dim=-1)
        # Sub-heads are interleaved: feature index ((h * 2) + s) * e + i.
        q1, q2 = rearrange(q, "b t (h s e) -> s b h t e", s=2, h=self.num_heads).unbind(0)
        k1, k2 = rearrange(k, "b t (h s e) -> s b h t e", s=2, h=self.num_heads).unbind(0)
        v = rearrange(v, "b t (h e) -> b h t e", h=self.num_heads)
        if self.rope:
            cos, sin = _rotary_tables(length, self.head_dim, device=x.device, dtype=q1.dtype)
            q1, q2, k1, k2 = (_rotate(z, cos, sin) for z in (q1, q2, k1, k2))
        attn_mask: Tensor | None = None
        if mask is not None:
            attn_mask = attention_key_mask(mask)[:, None, None, :]
        # Zero-padding the query/key sub-heads from e to 2e equalises the head sizes, so the
        # flash kernels apply; the scale stays 1 / sqrt(e).
        scale = self.head_dim**-0.5
        pad = (0, self.head_dim)
        o1 = F.scaled_dot_product_attention(
            F.pad(q1, pad), F.pad(k1, pad), v, attn_mask=attn_mask, scale=scale
        )
        o2 = F.scaled_dot_product_attention(
            F.pad(q2, pad), F.pad(k2, pad), v, attn_mask=attn_mask, scale=scale
        )
        out = o1 - self.compute_lambda().to(o1.dtype) * o2
        out = rms_norm(self.sub_norm, out) * (1.0 - self.lambda_init)
        projected: Tensor = self.out_proj(rearrange(out, "b h t e -> b t (h e)"))
        return projected

    def extra_repr(self) -> str:
        """The hyperparameters, for ``repr``."""
        return (
            f"dim={self.dim}, num_heads={self.num_heads}, depth={self.depth}, "
            f"lambda_init={self.lambda_init:.4f}, norm_affine={self.norm_affine}, rope={self.rope}"
        )


def _rotary_tables(
    length: int, dim: int, *, device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    work = torch.float64 if dtype == torch.float64 else torch.float32
    inv_freq = torch.exp(
        torch.arange(dim // 2, device=device, dtype=work) * (-2.0 * math.log(10000.0) / dim)
    )
    angles = torch.arange(length, device=device, dtype=work).unsqueeze(1) * inv_freq
    return angles.cos().to(dtype), angles.sin().to(dtype)


def _rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate the interleaved pairs ``(x[2i], x[2i+1])`` of ``x: "b h t e"`` by the angles."""
    even, odd = rearrange(x, "... (e two) -> two ... e", two=2).unbind(0)
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)
