"""The mask-aware Conv1d -> norm -> activation stem of the inertial encoders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch
from torch import Tensor, nn

__all__ = ["ConvStem"]


class ConvStem(nn.Module):
    """Blocks of ``Conv1d -> norm_layer -> act_layer`` with stride 1 that respect a padding mask.

    Padded steps are set to zero before every convolution, so a padded step acts exactly like
    the convolution's own zero padding: the valid outputs of a right-padded sample equal those
    of the same sample alone. With ``padding = kernel_size // 2`` (odd kernels) the length and
    the mask are unchanged; otherwise every block shortens the sequence by
    ``shift = kernel_size - 1 - 2 * padding`` steps and the mask is moved with it (output step
    ``i`` is valid when input step ``i + shift`` is).

    ``norm_layer`` is called as ``norm_layer(channels, device=..., dtype=...)``. A norm that
    pools over time (GroupNorm, InstanceNorm) sees the padded zeros and breaks the padded-batch
    equivalence; BatchNorm in eval mode does not (in train mode its batch statistics include the
    padded zeros).

    Shapes:
        x: ``"b c t"``; mask: ``"b t"``; output: ``("b d t'", "b t'")``.
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int],
        *,
        kernel_size: int,
        padding: int,
        act_layer: Callable[[], nn.Module],
        norm_layer: Callable[..., nn.Module],
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.channels = tuple(channels)
        self.kernel_size = kernel_size
        self.padding = padding
        self.shift = kernel_size - 1 - 2 * padding
        blocks: list[nn.Module] = []
        width_in = in_channels
        for width in self.channels:
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(
                        width_in, width, kernel_size, padding=padding, device=device, dtype=dtype
                    ),
                    norm_layer(width, device=device, dtype=dtype),
                    act_layer(),
                )
            )
            width_in = width
        self.blocks = nn.ModuleList(blocks)

    @property
    def first_weight(self) -> Tensor:
        """The first convolution's weight: the stem takes inputs of its dtype."""
        return cast("nn.Conv1d", cast("nn.Sequential", self.blocks[0])[0]).weight

    @property
    def min_length(self) -> int:
        """The shortest input that leaves at least one output step."""
        return max(1, 1 + len(self.channels) * self.shift)

    def output_length(self, length: int) -> int:
        """Output steps for an input of ``length`` steps."""
        return length - len(self.channels) * self.shift

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Run the blocks, zeroing padded steps before each convolution.

        Shapes:
            x: ``"b c t"``; mask: ``"b t"``; output: ``("b d t'", "b t'")``.
        """
        for block in self.blocks:
            if mask is not None:
                x = x.masked_fill(~mask.unsqueeze(1), 0.0)
                mask = self._shift_mask(mask)
            x = block(x)
        if mask is not None:
            x = x.masked_fill(~mask.unsqueeze(1), 0.0)
        return x, mask

    def _shift_mask(self, mask: Tensor) -> Tensor:
        if self.shift >= 0:
            return mask[:, self.shift :]
        return torch.cat((mask[:, :1].expand(-1, -self.shift), mask), dim=1)
