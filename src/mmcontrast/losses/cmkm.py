"""CMC-CMKM (cross-modal knowledge mining) as a module."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from mmcontrast._checks import (
    check_bool,
    check_choice,
    check_finite_number,
    check_int,
    check_temperature,
)
from mmcontrast.losses._cmkm import _cmkm_terms
from mmcontrast.losses._reduction import reduce_values
from mmcontrast.losses.temperature import LearnableTemperature

__all__ = ["CMKMLoss"]


class CMKMLoss(nn.Module):
    """CMC-CMKM loss (Brinzea, Khaertdinov, Asteriadis 2022): teacher-guided contrastive learning.

    Frozen unimodal teachers mine extra positives (their top-``k`` neighbours), intra-modal
    negatives join the denominator, and optionally the teachers' connectivity prunes likely
    false negatives and weights the terms; see `mmcontrast.losses.functional.cmkm_loss`
    for every option. In ``eval()`` mode the module computes plain CMC InfoNCE, as the
    released code does for validation (so training and validation losses differ in kind).

    Args:
        temperature: ``tau > 0``, or a `LearnableTemperature`.
        k: neighbours mined per sample.
        positive_mining: use the teachers' neighbours as positives.
        symmetric_mining: both modalities use both teachers' neighbours.
        intra_negatives: add intra-modal negatives.
        intra_weight: their weight ``lambda``.
        intra_temperature: temperature of the intra block (``None``: ``temperature``; ``1.0``:
            the released code's behaviour).
        negative_pruning: prune candidates with high teacher connectivity.
        pruning_threshold: ``gamma`` (0.6 UTD-MHAD, 0.7 MMAct in the released configs).
        loss_term_weighting: weight terms by ``exp(weighting_scale * connectivity)``.
        weighting_scale: 0.25 UTD-MHAD, 0.05 MMAct in the released configs.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        gather_distributed: candidates and teacher features from every rank.

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
        owner = type(self).__name__
        self.temperature: float | LearnableTemperature
        if isinstance(temperature, LearnableTemperature):
            self.temperature = temperature
        else:
            checked = check_temperature(owner, temperature)
            if isinstance(checked, Tensor):
                raise TypeError(f"{owner}: temperature must be a float or a LearnableTemperature")
            self.temperature = checked
        self.k = check_int(owner, "k", k, minimum=1)
        self.positive_mining = check_bool(owner, "positive_mining", positive_mining)
        self.symmetric_mining = check_bool(owner, "symmetric_mining", symmetric_mining)
        self.intra_negatives = check_bool(owner, "intra_negatives", intra_negatives)
        self.intra_weight = check_finite_number(owner, "intra_weight", intra_weight, low=0.0)
        self.intra_temperature = (
            None
            if intra_temperature is None
            else check_finite_number(
                owner, "intra_temperature", intra_temperature, low=0.0, low_open=True
            )
        )
        self.negative_pruning = check_bool(owner, "negative_pruning", negative_pruning)
        self.pruning_threshold = check_finite_number(
            owner, "pruning_threshold", pruning_threshold, low=-1.0
        )
        self.loss_term_weighting = check_bool(owner, "loss_term_weighting", loss_term_weighting)
        self.weighting_scale = check_finite_number(
            owner, "weighting_scale", weighting_scale, low=float("-inf")
        )
        self.reduction = check_choice(owner, "reduction", reduction, ("mean", "sum", "none"))
        self.gather_distributed = check_bool(owner, "gather_distributed", gather_distributed)

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
        terms = _cmkm_terms(
            a, b, teacher_a, teacher_b, temperature=self.temperature, k=self.k,
            positive_mining=self.positive_mining, symmetric_mining=self.symmetric_mining,
            intra_negatives=self.intra_negatives, intra_weight=self.intra_weight,
            intra_temperature=self.intra_temperature, negative_pruning=self.negative_pruning,
            pruning_threshold=self.pruning_threshold,
            loss_term_weighting=self.loss_term_weighting, weighting_scale=self.weighting_scale,
            training=self.training, gather_distributed=self.gather_distributed,
            owner=type(self).__name__,
        )  # fmt: skip
        return reduce_values(terms, self.reduction, weights, None, type(self).__name__)

    def extra_repr(self) -> str:
        """The hyperparameters."""
        fields = (
            "temperature", "k", "positive_mining", "symmetric_mining", "intra_negatives",
            "intra_weight", "intra_temperature", "negative_pruning", "pruning_threshold",
            "loss_term_weighting", "weighting_scale", "reduction", "gather_distributed",
        )  # fmt: skip
        values = {name: getattr(self, name) for name in fields}
        if isinstance(self.temperature, LearnableTemperature):
            values["temperature"] = "learnable"
        return ", ".join(f"{name}={value!r}" for name, value in values.items())
