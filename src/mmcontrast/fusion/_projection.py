"""The per-modality input projection shared by the gated fusion modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from mmcontrast.fusion.functional import mask_features


def build_projections(
    dims: Mapping[str, int],
    hidden: int,
    project: bool,
    *,
    device: torch.device | str | None,
    dtype: torch.dtype | None,
) -> tuple[nn.ModuleDict | None, dict[str, int]]:
    """One ``Linear(d_m, hidden)`` per modality (or none), and the widths they leave."""
    if not project:
        return None, dict(dims)
    projections = nn.ModuleDict(
        {m: nn.Linear(d, hidden, device=device, dtype=dtype) for m, d in dims.items()}
    )
    return projections, dict.fromkeys(dims, hidden)


def project_features(
    projections: nn.ModuleDict | None,
    modalities: Sequence[str],
    features: Sequence[Tensor],
    present: Tensor | None,
) -> list[Tensor]:
    """Zero the missing modalities, project, and zero them again (no trace, no gradient)."""
    hs = mask_features(features, present)
    if projections is None:
        return hs
    projected = [projections[m](h) for m, h in zip(modalities, hs, strict=True)]
    return mask_features(projected, present)
