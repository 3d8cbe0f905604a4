"""CMC-CMKM (cross-modal knowledge mining) as a module."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from mmcontrast._checks import checking
from mmcontrast.losses._cmkm import CMKM_OPTION_NAMES, CMKMOptions, check_cmkm_batch, cmkm_values
from mmcontrast.losses.temperature import LearnableTemperature

__all__ = ["CMKMLoss"]


class CMKMLoss(nn.Module):
    """CMC-CMKM loss (Brinzea, Khaertdinov, Asteriadis 2022): teacher-guided contrastive learning.

    Frozen unimodal teachers mine extra positives (their top-``k`` neighbours), intra-modal
    negatives join the denominator, and optionally the teachers' connectivity prunes likely
    false negatives and weights the terms; see `mmcontrast.losses.functional.cmkm_loss`
    for every option (the constructor takes the same keywords, less ``training`` and
    ``weights``). In ``eval()`` mode the module computes plain CMC InfoNCE, as the
    released code does for validation (so training and validation losses differ in kind).

    Shapes:
        a, b: ``"b d"``; teacher_a: ``"b e"``; teacher_b: ``"b f"``; output: ``""`` or
        ``"(2b)"`` with ``reduction="none"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses import CMKMLoss
        >>> criterion = CMKMLoss(temperature=0.1, k=1)
        >>> imu, skel = torch.randn(16, 32), torch.randn(16, 32)
        >>> teachers = torch.randn(16, 5632), torch.randn(16, 256)
        >>> criterion(imu, skel, *teachers).shape
        torch.Size([])
    """

    def __init__(
        self,
        *,
        temperature: float | LearnableTemperature = 0.1,
        k: int = 1,
        positive_mining: bool = True,
        symmetric_mining: bool = False,
        intra_negatives: bool = True,
        intra_weight: float = 1.0,
        intra_temperature: float | None = None,
        negative_pruning: bool = False,
        pruning_threshold: float = 0.6,
        loss_term_weighting: bool = False,
        weighting_scale: float = 0.25,
        reduction: Literal["mean", "sum", "none"] = "mean",
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        options = CMKMOptions(temperature, k, positive_mining, symmetric_mining, intra_negatives,
                              intra_weight, intra_temperature, negative_pruning, pruning_threshold,
                              loss_term_weighting, weighting_scale, reduction,
                              gather_distributed)  # fmt: skip
        with checking(type(self).__name__):
            checked = options.checked()
        for name in CMKM_OPTION_NAMES:
            setattr(self, name, getattr(checked, name))

    def forward(
        self,
        a: Tensor,
        b: Tensor,
        teacher_a: Tensor,
        teacher_b: Tensor,
        *,
        weights: Tensor | None = None,
    ) -> Tensor:
        """The loss (mining in training mode, plain CMC in eval mode).

        Shapes:
            a, b: ``"b d"``; teacher_a: ``"b e"``; teacher_b: ``"b f"``; weights: ``"b"`` or
            ``"(2b)"``; output: ``""`` or ``"(2b)"``.
        """
        options = CMKMOptions(**{name: getattr(self, name) for name in CMKM_OPTION_NAMES})
        with checking(type(self).__name__):
            inputs = check_cmkm_batch(a, b, teacher_a, teacher_b, options,
                                      training=self.training, weights=weights)  # fmt: skip
        return cmkm_values(inputs, options, training=self.training)

    def extra_repr(self) -> str:
        """The hyperparameters."""
        values = {name: getattr(self, name) for name in CMKM_OPTION_NAMES}
        if isinstance(self.temperature, LearnableTemperature):
            values["temperature"] = "learnable"
        return ", ".join(f"{name}={value!r}" for name, value in values.items())
