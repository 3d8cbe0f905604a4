"""The per-modality input projection shared by the gated fusion modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_modality_features, check_present
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


def checked_projections(
    owner: str,
    projections: nn.ModuleDict | None,
    dims: Mapping[str, int],
    features: Mapping[str, Tensor],
    present: Mapping[str, Tensor] | None,
) -> tuple[list[Tensor], Tensor | None]:
    """Check a gated fusion's inputs, then project them (`project_features`).

    Returns the projected features in the order of ``dims`` and the ``"b m"`` presence mask
    (``None`` when every modality is present).
    """
    modalities = list(dims)
    xs = check_modality_features(owner, "features", features, dims)
    mask = check_present(owner, present, modalities, batch=xs[0].shape[0], device=xs[0].device)
    return project_features(projections, modalities, xs, mask), mask
