"""Two-way gated multimodal units (after the GMU of Arevalo et al. 2017)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import torch
from torch import Tensor, nn

from mmcontrast._checks import (
    check_bool,
    check_int,
    check_modality_dims,
    check_modality_inputs,
    checking,
)
from mmcontrast._ops import masked_mean
from mmcontrast.fusion._projection import build_projections, project_features
from mmcontrast.fusion.functional import pool_tokens

__all__ = ["GatedMultimodalUnitFusion"]


class GatedMultimodalUnitFusion(nn.Module):
    r"""Cross-modal gating in every direction, after the Gated Multimodal Unit.

    **Project design, not from the CLMM paper; inferred from Cosmo and the abstract.** CLMM
    (Jing et al. 2026) names "bidirectional gated units" without a public definition; this is
    the gating reading (the Gated Multimodal Unit of Arevalo et al. 2017, in both directions).
    The literal reading, a Bi-GRU, is `BidirectionalGRUFusion` (``docs/fusion.md``).

    With ``h_m`` each modality's (projected, time-pooled) features,
    ``g_m = sigmoid(W_{g,m} [h_m ; h_others])``, ``c_m = mean_{k != m} tanh(W_{k->m} h_k)``
    and ``h_m' = h_m + g_m * c_m``; the output is ``[h_1' ; ... ; h_M']``. With two
    modalities this is exactly ``h_a' = h_a + g ⊙ tanh(W_b h_b)`` and symmetrically for ``b``.

    Missing modalities (``present``): their features get an exactly zero gradient and leave
    no trace. ``c_m`` averages the present other modalities only, a missing modality's output
    block is exactly zero and its slot in the gate input is zero. A sample with no modality
    gives zeros.

    Args:
        dims: ``modality -> d`` (at least two); fixes the output order.
        hidden: projection width.
        project: project each modality to ``hidden`` first. ``False`` uses the features as
            they are.
        device: device of the parameters.
        dtype: dtype of the parameters.

    Shapes:
        features[m]: ``"b d_m"`` or ``"b t d_m"``; present[m]: ``"b"``; output:
        ``"b out_features"`` (the sum of the per-modality widths).

    Examples:
        >>> import torch
        >>> from mmcontrast.fusion import GatedMultimodalUnitFusion
        >>> dims = {"inertial": 128, "skeleton": 128}
        >>> gmu = GatedMultimodalUnitFusion(dims, project=False)
        >>> sum(p.numel() for p in gmu.parameters())
        98816
        >>> gmu({"inertial": torch.randn(4, 128), "skeleton": torch.randn(4, 50, 128)}).shape
        torch.Size([4, 256])
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        *,
        hidden: int = 128,
        project: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("GatedMultimodalUnitFusion"):
            self.dims = check_modality_dims("dims", dims)
            self.modalities = tuple(self.dims)
            self.hidden = check_int("hidden", hidden, minimum=1)
            self.project = check_bool("project", project)
        if len(self.modalities) < 2:
            raise ValueError(
                "GatedMultimodalUnitFusion: gates one modality with the others and needs at "
                f"least two, got dims={self.dims!r}"
            )
        self.projections, widths = build_projections(
            self.dims, hidden, project, device=device, dtype=dtype
        )
        total = sum(widths.values())
        self.gates = nn.ModuleDict(
            {m: nn.Linear(total, widths[m], device=device, dtype=dtype) for m in self.modalities}
        )
        self.messages = nn.ModuleDict(
            {
                m: nn.ModuleDict(
                    {
                        k: nn.Linear(widths[k], widths[m], device=device, dtype=dtype)
                        for k in self.modalities
                        if k != m
                    }
                )
                for m in self.modalities
            }
        )
        self.out_features = total

    def forward(
        self, features: Mapping[str, Tensor], *, present: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        """Fuse the modalities.

        Args:
            features: ``modality -> tensor``, exactly the modalities of ``dims``, any order.
            present: ``modality -> "b"`` bool; modalities left out are present everywhere.

        Shapes:
            features[m]: ``"b d_m"`` or ``"b t d_m"``; present[m]: ``"b"``; output:
            ``"b out_features"``.
        """
        with checking("GatedMultimodalUnitFusion"):
            xs, mask = check_modality_inputs(features, present, self.dims)
        hs = project_features(self.projections, self.modalities, xs, mask)
        pooled = [pool_tokens(h) for h in hs]
        outputs = []
        for i, m in enumerate(self.modalities):
            others = [k for k in range(len(self.modalities)) if k != i]
            gate_in = torch.cat([pooled[i]] + [pooled[k] for k in others], dim=-1)
            gate = torch.sigmoid(self.gates[m](gate_in))
            senders = cast(nn.ModuleDict, self.messages[m])
            messages = torch.stack(
                [torch.tanh(senders[self.modalities[k]](pooled[k])) for k in others],
                dim=1,
            )
            message = masked_mean(messages, None if mask is None else mask[:, others], dim=1)
            fused = pooled[i] + gate * message
            if mask is not None:
                fused = torch.where(mask[:, i : i + 1], fused, fused.new_zeros(()))
            outputs.append(fused)
        return torch.cat(outputs, dim=-1)

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr``."""
        return f"dims={self.dims!r}, hidden={self.hidden}, project={self.project}"
