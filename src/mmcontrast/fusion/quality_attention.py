"""Quality-guided attention over modalities (project design after Cosmo, MobiCom 2022)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn

from mmcontrast._checks import (
    check_choice,
    check_finite_number,
    check_fraction,
    check_int,
    check_modality_dims,
    check_modality_inputs,
    check_probability,
    checking,
)
from mmcontrast.fusion.functional import (
    AXES,
    Axis,
    _concat,
    _concat_problem,
    guided_weights,
    hopkins_statistic,
    mask_features,
    pool_tokens,
    scale_features,
)

__all__ = ["AttentionOutput", "Prior", "QualityGuidedAttention"]

Prior = Literal["fixed", "batch"]
PRIORS: tuple[str, ...] = ("fixed", "batch")


class AttentionOutput(NamedTuple):
    """What `QualityGuidedAttention` returns.

    Attributes:
        fused: the weighted features, concatenated (see ``axis``).
        weights: ``"b m"``, one column per modality in the order of ``dims``; each row sums to
            1 over the modalities the sample has (all zeros if it has none).
    """

    fused: Tensor
    weights: Tensor


class QualityGuidedAttention(nn.Module):
    r"""Attention weights over modalities, mixed with a per-modality data-quality prior.

    **Project design, not from the CLMM paper; inferred from Cosmo and the abstract.** CLMM
    (Jing et al. 2026) names "quality-guided attention" but only its abstract is public; this
    follows Cosmo (Ouyang et al., MobiCom 2022), its closest published ancestor, as described
    in ``docs/fusion.md``:

    1. pool each modality over tokens, concatenate: ``r = [r_1; ...; r_M]``;
    2. scores ``s = W_2 tanh(W_1 r + b_1) + b_2`` (one per modality);
    3. ``w = (1 - mix) * softmax(s) + mix * q`` over the *support* of each sample (modalities
       present and with quality ``q_m > 0``), exactly 0 elsewhere (`guided_weights`);
    4. ``fused = concat_m(w_m * x_m)`` (Cosmo concatenates the weighted feature maps).

    The prior ``q`` is the ``quality`` buffer (uniform unless given), normalised to sum 1.
    With ``prior="fixed"`` it is constant: e.g. Cosmo's ``[0.3, 0.7]`` for [IMU, skeleton] on
    UTD-MHAD, or `mmcontrast.fusion.quality_prior` computed once after pre-training
    and loaded with `set_quality`. With ``prior="batch"`` it is estimated from each
    training batch: the Hopkins statistic of each modality's pooled features over the samples
    that have it, normalised to sum 1 (random probes from the global generator, no gradient);
    like BatchNorm, training also updates the buffer as a running average
    (``q <- (1 - momentum) q + momentum q_batch``) and evaluation uses the buffer, so
    predictions do not depend on the rest of the batch.

    Missing modalities (``present``) and zero-quality modalities get exactly zero weight and
    their features an exactly zero gradient; the other weights renormalise to sum 1.

    Args:
        dims: ``modality -> d``; its order is the column order of ``weights`` and the
            concatenation order.
        hidden: width of the scoring MLP (Cosmo: 128 after a 1280-d reduction).
        prior: ``"fixed"`` or ``"batch"``.
        quality: ``modality -> q_m >= 0`` (not all zero; normalised to sum 1), the fixed
            prior or the initial running value; ``None`` for uniform.
        mix: weight of the prior, ``lambda`` in ``[0, 1]`` (Cosmo: 0.8).
        axis: how ``fused`` concatenates, as in `ConcatFusion`.
        probe_fraction: with ``prior="batch"``, the fraction of the batch used as Hopkins
            probes (at least 1).
        momentum: with ``prior="batch"``, the running-average rate, in ``[0, 1]``.

    Shapes:
        features[m]: ``"b d_m"`` or ``"b t d_m"``; present[m]: ``"b"``; fused: as
        `ConcatFusion`; weights: ``"b m"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.fusion import QualityGuidedAttention
        >>> attention = QualityGuidedAttention(
        ...     {"inertial": 128, "skeleton": 128}, quality={"inertial": 0.3, "skeleton": 0.7}
        ... )
        >>> features = {"inertial": torch.randn(4, 50, 128), "skeleton": torch.randn(4, 50, 128)}
        >>> has_imu = torch.tensor([True, True, False, True])
        >>> fused, weights = attention(features, present={"inertial": has_imu})
        >>> fused.shape, weights.shape
        (torch.Size([4, 50, 256]), torch.Size([4, 2]))
        >>> weights[2].tolist()
        [0.0, 1.0]
        >>> sum(p.numel() for p in attention.parameters())
        33154
    """

    quality: Tensor

    def __init__(
        self,
        dims: Mapping[str, int],
        *,
        hidden: int = 128,
        prior: Prior = "fixed",
        quality: Mapping[str, float] | None = None,
        mix: float = 0.8,
        axis: Axis = "feature",
        probe_fraction: float = 0.1,
        momentum: float = 0.1,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("QualityGuidedAttention"):
            self.dims = check_modality_dims("dims", dims)
            self.modalities = tuple(self.dims)
            self.hidden = check_int("hidden", hidden, minimum=1)
            self.prior: Prior = prior
            check_choice("prior", prior, PRIORS)
            self.mix = check_probability("mix", mix)
            self.axis: Axis = axis
            check_choice("axis", axis, AXES)
            if axis == "token" and len(set(self.dims.values())) != 1:
                raise ValueError(
                    f"axis='token' needs every modality to have the same d, got dims={self.dims!r}"
                )
            self.probe_fraction = check_fraction("probe_fraction", probe_fraction)
            self.scorer = nn.Sequential(
                nn.Linear(sum(self.dims.values()), self.hidden, device=device, dtype=dtype),
                nn.Tanh(),
                nn.Linear(self.hidden, len(self.modalities), device=device, dtype=dtype),
            )
            self.momentum = check_probability("momentum", momentum)
        self.register_buffer(
            "quality", torch.empty(len(self.modalities), device=device, dtype=torch.float32)
        )
        self.set_quality(dict.fromkeys(self.modalities, 1.0) if quality is None else quality)

    def set_quality(self, quality: Mapping[str, float] | Tensor) -> None:
        """Replace the prior (normalised to sum 1), e.g. with `quality_prior`.

        Args:
            quality: ``modality -> q_m``, or a ``"m"`` tensor in the order of ``dims``; every
                value finite and ``>= 0``, not all zero.
        """
        with checking("QualityGuidedAttention"):
            if isinstance(quality, Tensor):
                if quality.shape != (len(self.modalities),):
                    raise ValueError(
                        'a quality tensor must have shape "m" = '
                        f"({len(self.modalities)},)"
                        f" in the order {self.modalities}, got {tuple(quality.shape)}"
                    )
                values = [float(v) for v in quality.detach().cpu().tolist()]
            elif isinstance(quality, Mapping):
                unknown = [m for m in quality if m not in self.dims]
                missing = [m for m in self.modalities if m not in quality]
                if unknown or missing:
                    raise ValueError(
                        "quality must name exactly the modalities "
                        f"{self.modalities}; unknown {unknown}, missing {missing}"
                    )
                values = [
                    check_finite_number(f"quality[{m!r}]", quality[m], low=0.0)
                    for m in self.modalities
                ]
            else:
                raise TypeError(
                    f"quality must be a mapping or a tensor, got {type(quality).__name__}"
                )
            for m, v in zip(self.modalities, values, strict=True):
                check_finite_number(f"quality[{m!r}]", v, low=0.0)
        if sum(values) <= 0:
            raise ValueError(f"QualityGuidedAttention: quality must not be all zero, got {values}")
        total = sum(values)
        with torch.no_grad():
            self.quality.copy_(torch.tensor([v / total for v in values]))

    def _batch_quality(self, pooled: list[Tensor], present: Tensor | None) -> Tensor:
        # The Hopkins prior of one batch, "m", normalised to sum 1.
        batch = pooled[0].shape[0]
        probes = max(1, round(self.probe_fraction * batch))
        stats = [
            hopkins_statistic(
                x, num_probes=probes, mask=None if present is None else present[:, i]
            ).float()
            for i, x in enumerate(pooled)
        ]
        h = torch.stack(stats)
        return h / h.sum()

    def weights(
        self, features: Mapping[str, Tensor], *, present: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        """The guided weights only (no fusion), e.g. to scale features fed to another module.

        Shapes:
            features[m]: ``"b d_m"`` or ``"b t d_m"``; present[m]: ``"b"``; output: ``"b m"``.
        """
        return self._weights(*self._prepare(features, present))

    def forward(
        self, features: Mapping[str, Tensor], *, present: Mapping[str, Tensor] | None = None
    ) -> AttentionOutput:
        """Weigh the modalities and concatenate the weighted features.

        Args:
            features: ``modality -> tensor``, exactly the modalities of ``dims``, any order.
            present: ``modality -> "b"`` bool; modalities left out are present everywhere.

        Shapes:
            features[m]: ``"b d_m"`` or ``"b t d_m"``; present[m]: ``"b"``; fused: see the
            class docstring; weights: ``"b m"``.
        """
        xs, mask = self._prepare(features, present)
        weights = self._weights(xs, mask)
        scaled = scale_features(
            dict(zip(self.modalities, xs, strict=True)), weights, self.modalities
        )
        ordered = [scaled[m] for m in self.modalities]
        problem = _concat_problem(ordered, self.axis, self.modalities)
        if problem is not None:
            raise ValueError(f"QualityGuidedAttention: {problem}")
        fused = _concat(ordered, self.axis)
        return AttentionOutput(fused, weights)

    def _prepare(
        self, features: Mapping[str, Tensor], present: Mapping[str, Tensor] | None
    ) -> tuple[list[Tensor], Tensor | None]:
        with checking("QualityGuidedAttention"):
            xs, mask = check_modality_inputs(features, present, self.dims)
        return mask_features(xs, mask), mask

    def _weights(self, xs: list[Tensor], mask: Tensor | None) -> Tensor:
        pooled = [pool_tokens(x) for x in xs]
        scores = self.scorer(torch.cat(pooled, dim=-1))
        quality = self.quality
        if self.prior == "batch" and self.training:
            quality = self._batch_quality(pooled, mask)
            with torch.no_grad():
                self.quality.lerp_(quality.to(self.quality.dtype), self.momentum)
        return guided_weights(scores, quality, mix=self.mix, present=mask)

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr``."""
        return (
            f"dims={self.dims!r}, hidden={self.hidden}, prior={self.prior!r}, mix={self.mix}, "
            f"axis={self.axis!r}, probe_fraction={self.probe_fraction}, momentum={self.momentum}"
        )
