"""Functional core of the fusion modules: masking, concatenation, guided weights, Hopkins.

Every function works on tensors ordered like the modalities of the calling module (a list of
``"b d"`` / ``"b t d"`` tensors and a ``"b m"`` mask) and never synchronises with the host, so
each one runs under ``torch.compile(fullgraph=True)``.

Missing modalities. A ``"b m"`` bool mask ``present`` marks which modality each sample has.
`mask_features` replaces a missing modality's features by exact zeros with
``torch.where``, so they contribute nothing and receive an exactly zero gradient even when
the placeholder holds NaN; `masked_softmax` and `guided_weights` give a missing
modality exactly zero weight and renormalise the others.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import torch
from einops import pack, rearrange
from torch import Tensor

from mmcontrast._checks import (
    check_choice,
    check_fraction,
    check_int,
    check_probability,
    checking,
)
from mmcontrast._ops import unsqueeze_as

__all__ = [
    "Axis",
    "concat_features",
    "guided_weights",
    "hopkins_statistic",
    "mask_features",
    "masked_softmax",
    "pool_tokens",
    "quality_prior",
    "scale_features",
]

Axis = Literal["feature", "token"]
AXES: tuple[str, ...] = ("feature", "token")


def mask_features(features: Sequence[Tensor], present: Tensor | None) -> list[Tensor]:
    """Zero the features of missing modalities (exact zeros and exactly zero gradient).

    Args:
        features: one tensor per modality, ``"b d"`` or ``"b t d"``.
        present: ``"b m"`` bool, column ``i`` for ``features[i]``; ``None`` keeps everything.

    Shapes:
        features[i]: ``"b d"`` or ``"b t d"``; present: ``"b m"``; output: like ``features``.

    Examples:
        >>> import torch
        >>> x = [torch.ones(2, 3), torch.full((2, 4, 3), float("nan"))]
        >>> present = torch.tensor([[True, True], [True, False]])
        >>> out = mask_features(x, present)
        >>> out[1][1].abs().sum()
        tensor(0.)
    """
    if present is None:
        return list(features)
    return [
        torch.where(unsqueeze_as(present[:, i], x), x, x.new_zeros(()))
        for i, x in enumerate(features)
    ]


def pool_tokens(x: Tensor) -> Tensor:
    """Mean over the token axis of ``"b t d"``; ``"b d"`` is returned unchanged.

    Shapes:
        x: ``"b d"`` or ``"b t d"``; output: ``"b d"``.

    Examples:
        >>> pool_tokens(torch.arange(6.0).reshape(1, 3, 2))
        tensor([[2., 3.]])
    """
    return x.mean(dim=1) if x.ndim == 3 else x


def _concat_problem(features: Sequence[Tensor], axis: str, names: Sequence[str]) -> str | None:
    """Why ``features`` cannot be concatenated along ``axis`` (``None`` if they can)."""
    received = ", ".join(f"{n}: {tuple(x.shape)}" for n, x in zip(names, features, strict=True))
    first = features[0]
    if axis == "feature" and any(
        x.ndim != first.ndim or (x.ndim == 3 and x.shape[1] != first.shape[1]) for x in features
    ):
        return (
            'axis="feature" needs every modality to be "b d", or every modality to be "b t d" '
            f'with one t; got {received} (use axis="token")'
        )
    if axis == "token" and any(x.shape[-1] != first.shape[-1] for x in features):
        return (
            f'axis="token" needs every modality to have the same d, got {received} '
            '(use axis="feature")'
        )
    return None


def _concat(features: Sequence[Tensor], axis: str) -> Tensor:
    """`concat_features` for checked input."""
    if axis == "feature":
        return torch.cat(list(features), dim=-1)
    packed, _ = pack(list(features), "b * d")
    return packed


def concat_features(
    features: Sequence[Tensor], *, axis: Axis = "feature", names: Sequence[str] | None = None
) -> Tensor:
    """Concatenate per-modality features along the feature or the token axis.

    ``axis="feature"``: every input must have the same rank (all ``"b d_m"``, or all
    ``"b t d_m"`` with one ``t``); the output is ``"b (sum d_m)"`` or ``"b t (sum d_m)"``.
    ``axis="token"``: every input must have the same ``d``; ``"b d"`` counts as one token and
    the inputs are packed with ``einops.pack(..., "b * d")`` to ``"b n d"``, ``n = sum t_m``.

    Args:
        features: one tensor per modality, in a fixed modality order.
        axis: ``"feature"`` or ``"token"``.
        names: modality names, used in error messages.

    Shapes:
        features[i]: ``"b d"`` or ``"b t d"``; output: ``"b d"``/``"b t d"`` (feature) or
        ``"b n d"`` (token).

    Examples:
        >>> a, b = torch.randn(4, 3), torch.randn(4, 5)
        >>> concat_features([a, b]).shape
        torch.Size([4, 8])
        >>> concat_features([torch.randn(4, 3), torch.randn(4, 7, 3)], axis="token").shape
        torch.Size([4, 8, 3])
    """
    with checking("concat_features"):
        check_choice("axis", axis, AXES)
    labels = list(names) if names is not None else [str(i) for i in range(len(features))]
    problem = _concat_problem(features, axis, labels)
    if problem is not None:
        raise ValueError(f"concat_features: {problem}")
    return _concat(features, axis)


def masked_softmax(scores: Tensor, support: Tensor | None) -> Tensor:
    """Softmax over the last axis restricted to ``support``; exactly 0 outside it.

    A row with an empty support gets all zeros (not NaN). The softmax is computed in float32
    for half-precision scores and cast back.

    Shapes:
        scores: ``"b m"``; support: ``"b m"`` bool; output: ``"b m"``.

    Examples:
        >>> masked_softmax(torch.zeros(2, 3), torch.tensor([[True, True, False], [False] * 3]))
        tensor([[0.5000, 0.5000, 0.0000],
                [0.0000, 0.0000, 0.0000]])
    """
    work = scores.float() if scores.dtype in (torch.float16, torch.bfloat16) else scores
    if support is None:
        return torch.softmax(work, dim=-1).to(scores.dtype)
    filled = work.masked_fill(~support, torch.finfo(work.dtype).min)
    weights = torch.softmax(filled, dim=-1) * support
    return weights.to(scores.dtype)


def guided_weights(
    scores: Tensor,
    quality: Tensor,
    *,
    mix: float = 0.8,
    present: Tensor | None = None,
) -> Tensor:
    """Quality-guided attention weights ``w = (1 - mix) * a + mix * q`` on the support.

    The support of a sample is the set of modalities that are present and have a positive
    quality; ``a = softmax(scores)`` and ``q = quality / sum(quality)`` are both taken over
    the support only, so ``w`` is a probability vector over it and exactly 0 elsewhere. A
    zero quality therefore removes a modality, and a sample with an empty support gets all
    zeros. With a full support this is Cosmo's ``L1-normalise((1 - mix) * a + mix * q)``
    (the normalisation is then the identity). Our design, not from the CLMM paper.

    Args:
        scores: attention logits.
        quality: non-negative quality prior per modality (``"m"``) or per sample (``"b m"``).
        mix: weight ``lambda`` of the prior, in ``[0, 1]`` (Cosmo uses 0.8).
        present: ``"b m"`` bool mask of the modalities each sample has, or ``None``.

    Shapes:
        scores: ``"b m"``; quality: ``"m"`` or ``"b m"``; present: ``"b m"``; output:
        ``"b m"``.

    Examples:
        >>> scores = torch.tensor([[0.0, 0.0]])
        >>> guided_weights(scores, torch.tensor([0.3, 0.7]), mix=0.8)
        tensor([[0.3400, 0.6600]])
        >>> guided_weights(scores, torch.tensor([0.0, 1.0]), mix=0.5)
        tensor([[0., 1.]])
    """
    with checking("guided_weights"):
        mix = check_probability("mix", mix)
    quality = quality.to(scores.dtype).expand_as(scores)
    support = quality > 0 if present is None else present & (quality > 0)
    attention = masked_softmax(scores, support)
    prior = torch.where(support, quality, quality.new_zeros(()))
    total = prior.sum(dim=-1, keepdim=True)
    prior = prior / total.clamp_min(torch.finfo(prior.dtype).tiny)
    return (1.0 - mix) * attention + mix * prior


def scale_features(
    features: Mapping[str, Tensor], weights: Tensor, modalities: Sequence[str]
) -> dict[str, Tensor]:
    """Multiply each modality's features by its weight (broadcast over tokens and features).

    Args:
        features: ``modality -> "b d"`` or ``"b t d"``.
        weights: one column per modality, in the order of ``modalities``.
        modalities: the column order of ``weights``.

    Shapes:
        features[m]: ``"b d"`` or ``"b t d"``; weights: ``"b m"``; output: like ``features``.

    Examples:
        >>> features = {"inertial": torch.ones(1, 2)}
        >>> out = scale_features(features, torch.tensor([[0.25]]), ["inertial"])
        >>> out["inertial"]
        tensor([[0.2500, 0.2500]])
    """
    if weights.ndim != 2 or weights.shape[1] != len(modalities):
        raise ValueError(
            f'scale_features: weights must have shape "b m" with m={len(modalities)}, got '
            f"{tuple(weights.shape)}"
        )
    return {
        m: features[m] * unsqueeze_as(weights[:, i], features[m]).to(features[m].dtype)
        for i, m in enumerate(modalities)
    }


def hopkins_statistic(
    x: Tensor,
    *,
    num_probes: int,
    mask: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Hopkins statistic of a point cloud (clusterability; 0.5 random, towards 1 clustered).

    ``H = sum(u) / (sum(u) + sum(w))``: ``u_i`` is the distance from a point drawn uniformly
    in the bounding box of the (valid) rows to its nearest row; ``w_i`` is the distance from a
    row sampled without replacement to its nearest other row; ``num_probes`` of each. With
    a ``mask``, only valid rows are points, probes and bounding box; if fewer than
    ``num_probes`` rows are valid, as many probes as valid rows are used. Fewer than two valid
    rows, or all rows equal, give 0.5 (no evidence either way). Vectorised: two ``cdist``
    calls and a ``topk``, no host synchronisation; the result carries no gradient. Computed
    in float32 for half-precision inputs.

    Args:
        x: the points (e.g. one modality's embeddings of a batch or a data set).
        num_probes: probes of each kind, ``1 <= num_probes <= n`` (about 10 % of ``n``).
        mask: ``"n"`` bool, the valid rows; ``None`` for all.
        generator: draws the probes (``None``: the global generator of ``x.device``).

    Shapes:
        x: ``"n d"``; mask: ``"n"``; output: ``""``.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> blobs = torch.cat([torch.randn(100, 2) * 0.05, torch.randn(100, 2) * 0.05 + 3])
        >>> bool(hopkins_statistic(blobs, num_probes=20, generator=g) > 0.8)
        True
    """
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.ndim != 2:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(
            f'hopkins_statistic: x must be a floating-point tensor of shape "n d", got {got}'
        )
    n = x.shape[0]
    with checking("hopkins_statistic"):
        num_probes = check_int("num_probes", num_probes, minimum=1)
    if num_probes > n:
        raise ValueError(f"hopkins_statistic: num_probes must be <= n = {n}, got {num_probes}")
    work = x.detach()
    work = work.float() if work.dtype in (torch.float16, torch.bfloat16) else work
    valid = torch.ones(n, dtype=torch.bool, device=x.device) if mask is None else mask.to(x.device)
    rows = rearrange(valid, "n -> n 1")
    any_valid = valid.any()
    low = torch.where(any_valid, work.masked_fill(~rows, math.inf).amin(0), 0.0)
    high = torch.where(any_valid, work.masked_fill(~rows, -math.inf).amax(0), 0.0)
    device = x.device if generator is None else generator.device
    uniform = torch.rand(num_probes, x.shape[1], generator=generator, device=device)
    probes = low + uniform.to(x.device, work.dtype) * (high - low)
    keys = torch.rand(n, generator=generator, device=device).to(x.device)
    keys = keys.masked_fill(~valid, 2.0)
    picked = keys.topk(num_probes, largest=False).indices
    # A probe pair counts when its sampled row is valid and has at least one other valid row.
    counted = valid[picked] & (valid.sum() >= 2)
    columns = rearrange(valid, "n -> 1 n")
    to_probe = torch.cdist(probes, work).masked_fill(~columns, math.inf).amin(1)
    is_self = rearrange(picked, "k -> k 1") == torch.arange(n, device=x.device)
    to_other = torch.cdist(work[picked], work).masked_fill(~columns | is_self, math.inf)
    u = torch.where(counted, to_probe, 0.0).sum()
    w = torch.where(counted, to_other.amin(1), 0.0).sum()
    total = u + w
    h = torch.where(total > 0, u / total.clamp_min(torch.finfo(total.dtype).tiny), 0.5)
    return h.to(x.dtype)


def quality_prior(
    embeddings: Mapping[str, Tensor],
    *,
    probe_fraction: float = 0.1,
    draws: int = 5,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Per-modality quality prior ``q = H / sum(H)`` from the Hopkins statistic.

    Meant to run once after contrastive pre-training, on each modality's embeddings of the
    unlabeled training set (our design, not from the CLMM paper; the measure is the one a
    reading note attributes to Cosmo, whose released code hard-codes ``q``). ``H`` is averaged
    over ``draws`` independent draws with ``max(1, round(probe_fraction * n))`` probes each.
    Pass the result to `QualityGuidedAttention.set_quality`.

    Args:
        embeddings: ``modality -> "n d_m"`` (one row per sample; ``n`` may differ).
        probe_fraction: fraction of the rows used as probes, in ``(0, 1]``.
        draws: number of independent draws to average, ``>= 1``.
        generator: the random draws (``None``: the global generator).

    Shapes:
        embeddings[m]: ``"n d"``; output: ``"m"``, in the order of ``embeddings``.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> clustered = torch.cat([torch.randn(50, 4) * 0.1, torch.randn(50, 4) * 0.1 + 2])
        >>> q = quality_prior({"inertial": torch.rand(100, 4), "skeleton": clustered}, generator=g)
        >>> bool(q[1] > q[0]), round(float(q.sum()), 6)
        (True, 1.0)
    """
    with checking("quality_prior"):
        fraction = check_fraction("probe_fraction", probe_fraction)
        draws = check_int("draws", draws, minimum=1)
    if not isinstance(embeddings, Mapping) or len(embeddings) == 0:
        raise ValueError("quality_prior: embeddings must be a non-empty mapping of tensors")
    values = []
    for name, x in embeddings.items():
        if not isinstance(x, Tensor) or x.ndim != 2:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f'quality_prior: embeddings[{name!r}] must have shape "n d", got {got}'
            )
        probes = max(1, round(fraction * x.shape[0]))
        stats = [hopkins_statistic(x, num_probes=probes, generator=generator) for _ in range(draws)]
        values.append(torch.stack(stats).float().mean())
    h = torch.stack([v.to(values[0].device) for v in values])
    return h / h.sum()
