"""Concatenation fusion (the hard-negative and CMC-CMKM fine-tuning baseline)."""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from mmcontrast._checks import (
    check_bool,
    check_choice,
    check_modality_dims,
    check_modality_inputs,
    checking,
)
from mmcontrast._ops import unsqueeze_as
from mmcontrast.fusion.functional import AXES, Axis, _concat, _concat_problem, mask_features

__all__ = ["ConcatFusion"]


class ConcatFusion(nn.Module):
    """Concatenate the modalities' features, in the order of ``dims``.

    The fusion of the hard-negative paper (Choi, Beedu, Essa 2023) and CMC-CMKM fine-tuning,
    where the per-modality features (each after its own Linear -> BN -> ReLU, see
    `mmcontrast.heads.MultimodalClassifier`) are concatenated before a linear
    classifier. It has no parameters.

    With ``present``, a missing modality's block is exactly zero and its features get an
    exactly zero gradient. ``renormalize=True`` then scales the present blocks by
    ``m / m_present`` (inverse-probability scaling, as in modality dropout), so the expected
    magnitude of the fused vector does not depend on how many modalities a sample has.

    Args:
        dims: ``modality -> d``; its order is the concatenation order.
        axis: ``"feature"`` (``"b d"`` inputs, or ``"b t d"`` with one ``t``: concatenate the
            features) or ``"token"`` (inputs with one ``d``: pack the tokens, ``"b d"``
            counting as one token, with ``einops.pack(..., "b * d")``).
        renormalize: rescale the present modalities when some are missing.

    Shapes:
        features[m]: ``"b d_m"`` or ``"b t d_m"``; present[m]: ``"b"``; output:
        ``"b (sum d_m)"`` or ``"b t (sum d_m)"`` (feature), ``"b (sum t_m) d"`` (token).

    Examples:
        >>> import torch
        >>> from mmcontrast.fusion import ConcatFusion
        >>> fusion = ConcatFusion({"inertial": 5632, "skeleton": 256})
        >>> fused = fusion({"inertial": torch.randn(8, 5632), "skeleton": torch.randn(8, 256)})
        >>> fused.shape
        torch.Size([8, 5888])
        >>> fusion
        ConcatFusion(dims={'inertial': 5632, 'skeleton': 256}, axis='feature', renormalize=False)
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        *,
        axis: Axis = "feature",
        renormalize: bool = False,
    ) -> None:
        super().__init__()
        with checking("ConcatFusion"):
            self.dims = check_modality_dims("dims", dims)
            self.modalities = tuple(self.dims)
            self.axis: Axis = axis
            check_choice("axis", axis, AXES)
            if axis == "token" and len(set(self.dims.values())) != 1:
                raise ValueError(
                    f"axis='token' needs every modality to have the same d, got dims={self.dims!r}"
                )
            self.renormalize = check_bool("renormalize", renormalize)

    @property
    def out_features(self) -> int:
        """Size of the last axis of the output."""
        if self.axis == "token":
            return next(iter(self.dims.values()))
        return sum(self.dims.values())

    def forward(
        self, features: Mapping[str, Tensor], *, present: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        """Fuse by concatenation.

        Args:
            features: ``modality -> tensor``, exactly the modalities of ``dims``, any order.
            present: ``modality -> "b"`` bool (``True`` = the sample has it); modalities left
                out are present everywhere. ``None``: all present.

        Shapes:
            features[m]: ``"b d_m"`` or ``"b t d_m"``; present[m]: ``"b"``; output: see the
            class docstring.
        """
        with checking("ConcatFusion"):
            xs, mask = check_modality_inputs(features, present, self.dims)
        xs = mask_features(xs, mask)
        if self.renormalize and mask is not None:
            count = mask.sum(dim=1, keepdim=True).clamp_min(1)
            scale = (len(self.modalities) / count).to(xs[0].dtype)
            xs = [x * unsqueeze_as(scale, x) for x in xs]
        problem = _concat_problem(xs, self.axis, self.modalities)
        if problem is not None:
            raise ValueError(f"ConcatFusion: {problem}")
        return _concat(xs, self.axis)

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr``."""
        return f"dims={self.dims!r}, axis={self.axis!r}, renormalize={self.renormalize}"
