"""Functional forms of the contrastive losses.

Every loss here is one call of a shared, tiled estimator (see ``reference`` in the docs,
"Losses"): for an anchor with positive logit ``p`` and ``K`` negative logits ``l_j``
(logit = cosine similarity / ``temperature``)::

    q_j  = softmax_j(beta * l_j)                      over the negatives only
    R    = K * sum_j q_j * exp(l_j)
    Ng   = (R - tau_plus * K * exp(p)) / (1 - tau_plus),  clamped below at K * exp(-1/temperature)
    loss = -log(exp(p) / (exp(p) + Ng))

``beta = 0`` gives the debiased loss (Chuang et al. 2020); ``beta = 0, tau_plus = 0`` gives
InfoNCE / NT-Xent exactly. ``K`` is the anchor's real number of negatives: ``B - 1`` in the
cross-modal geometry, ``2B - 2`` in the SimCLR geometry, fewer when ``labels`` remove
same-label pairs.

Geometries (``negatives``):

* ``"cross"`` (CMC): anchor ``a_i`` has the positive ``b_i`` and the negatives ``b_j, j != i``.
  With ``symmetric=True`` the ``b -> a`` direction is added: ``2B`` anchors, ordered
  ``[a -> b, b -> a]``.
* ``"all"`` (SimCLR / NT-Xent): the ``2B`` rows of ``cat(a, b)`` are anchors; the positive is
  the other view and the negatives are the ``2B - 2`` other rows.

Embeddings are L2-normalised inside (the eps depends on the input dtype, so an all-zero row
gives finite values and gradients even in float16) and the loss is computed in float32 for
float16 / bfloat16 inputs (float64 stays float64); autocast is disabled inside.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import Tensor

from mmcontrast._checks import (
    check_bool,
    check_choice,
    check_chunk_size,
    check_finite_number,
    check_labels,
    check_pair,
    check_temperature,
)
from mmcontrast._ops import l2_normalize
from mmcontrast.losses._cmkm import cmkm_loss, cmkm_terms
from mmcontrast.losses._distributed import gather_with_grad, gather_without_grad, rank_and_world
from mmcontrast.losses._geometry import Candidates, kernel_calls
from mmcontrast.losses._kernel import KernelConfig, contrastive_kernel, fixed_shift_is_safe
from mmcontrast.losses._reduction import REDUCTIONS, reduce_values
from mmcontrast.losses.queue import QueueState
from mmcontrast.losses.temperature import LearnableTemperature

__all__ = [
    "ContrastiveTerms",
    "cmkm_loss",
    "cmkm_terms",
    "LabelMode",
    "Negatives",
    "Reduction",
    "contrastive_terms",
    "debiased_loss",
    "hard_negative_loss",
    "info_nce",
    "reduce_terms",
]

Negatives = Literal["cross", "all"]
Reduction = Literal["mean", "sum", "none"]
LabelMode = Literal["exclude", "positive"]
NEGATIVES: tuple[str, ...] = ("cross", "all")
LABEL_MODES: tuple[str, ...] = ("exclude", "positive")


class ContrastiveTerms(NamedTuple):
    """Per-anchor results of a contrastive loss, before reduction.

    Attributes:
        loss: ``"(2b)"`` (symmetric or ``negatives="all"``) or ``"b"``: each anchor's term.
        clamped: bool, same shape: anchors whose negative estimate hit the clamp floor (their
            negatives receive no gradient), or, with ``clamp=False``, whose debiased estimate
            was not positive (their term is 0). ``clamped.float().mean()`` is the clamped
            fraction, computed on the device without a host synchronisation.
        num_negatives: long, same shape: ``K`` for each anchor. An anchor with ``K = 0``
            (every candidate removed by ``labels``) has a term of exactly 0.
        num_positives: long, same shape: the anchor's positives (1 unless ``pos_mask`` or
            ``label_mode="positive"``). An anchor without positives has a term of 0 and is left
            out of ``reduction="mean"``.
    """

    loss: Tensor
    clamped: Tensor
    num_negatives: Tensor
    num_positives: Tensor


def _check_mask(
    owner: str, name: str, mask: object, shape: tuple[int, int], device: torch.device
) -> Tensor | None:
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(
            f"{owner}: {name} must be a torch.Tensor or None, got {type(mask).__name__}"
        )
    if mask.dtype != torch.bool:
        raise TypeError(f"{owner}: {name} must be a bool tensor, got dtype {mask.dtype}")
    if tuple(mask.shape) != shape:
        raise ValueError(
            f'{owner}: {name} must have shape "b b" = {shape} (local anchors x candidates), '
            f"got {tuple(mask.shape)}"
        )
    if mask.device != device:
        raise ValueError(f"{owner}: {name} must be on {device} like a and b, got {mask.device}")
    return mask


def contrastive_terms(
    a: Tensor,
    b: Tensor,
    *,
    temperature: float | Tensor | LearnableTemperature = 0.1,
    beta: float = 0.0,
    tau_plus: float = 0.0,
    negatives: Negatives = "cross",
    clamp: bool = True,
    symmetric: bool = True,
    labels: Tensor | None = None,
    label_mode: LabelMode = "exclude",
    groups: Tensor | None = None,
    pos_mask: Tensor | None = None,
    neg_mask: Tensor | None = None,
    queue: QueueState | None = None,
    chunk_size: int | None = None,
    gather_distributed: bool = False,
) -> ContrastiveTerms:
    """Per-anchor terms of the hard-negative / debiased / InfoNCE family.

    This is the common core of `info_nce`, `debiased_loss` and
    `hard_negative_loss`; use it to weight, mask or log anchors yourself, or to read
    the clamped fraction without a host synchronisation.

    Args:
        a: embeddings of the first modality or view (not necessarily normalised).
        b: embeddings of the second modality or view, row ``i`` paired with ``a[i]``.
        temperature: ``tau > 0``: a float, a `LearnableTemperature` (clamped, learned) or a
            0-d floating tensor (it receives a gradient; keeping it positive is then the
            caller's job).
        beta: hardness concentration ``>= 0`` (``0``: no reweighting).
        tau_plus: class prior of the debiasing term, in ``[0, 1)`` (``0``: no debiasing).
        negatives: ``"cross"`` (CMC) or ``"all"`` (SimCLR 2B-view), see the module docs.
        clamp: floor the negative estimate at ``K * exp(-1/temperature)`` (Chuang et al.).
        symmetric: with ``"cross"``, add the ``b -> a`` direction. Must be ``True`` with
            ``"all"``, whose anchors are the rows of both views by definition.
        labels: optional class ids ``"b"``.
        label_mode: ``"exclude"``: pairs with equal labels are removed from the negatives;
            ``"positive"``: they are positives (supervised-contrastive style, each positive
            forms a term against the anchor's negatives; the terms are averaged).
        groups: optional ids ``"b"`` (recording, subject, ...): pairs with equal ids are never
            negatives (and, with a queue, neither are stored entries with that id).
        pos_mask: optional bool ``"b b"``: the complete set of positives, ``[i, j]`` meaning
            "sample ``j`` is a positive of anchor ``i``" (so ``[i, i]`` keeps the pair itself).
            An anchor left without positives is excluded from the mean and counted in
            ``num_positives``.
        neg_mask: optional bool ``"b b"``: ``False`` at ``[i, j]`` removes sample ``j`` from
            anchor ``i``'s negatives. Masks apply to both directions of a symmetric loss.
        queue: extra negatives from an `mmcontrast.losses.EmbeddingQueue` state.
        chunk_size: ``None`` keeps the similarity matrix for backward; an int recomputes it in
            tiles of at most ``chunk_size`` rows, so memory is ``O(B * chunk_size)``; the value
            and gradients are the same.
        gather_distributed: use the samples of every ``torch.distributed`` rank as candidates
            (with gradients); each rank computes its own anchors. Every rank must pass the same
            batch size; masks are then ``(b_local, world * b_local)``.

    Returns:
        `ContrastiveTerms` with one entry per local anchor.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; labels, groups: ``"b"``; pos_mask, neg_mask: ``"b b"``;
        output fields: ``"(2b)"``, or ``"b"`` for ``negatives="cross", symmetric=False``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses.functional import contrastive_terms
        >>> g = torch.Generator().manual_seed(0)
        >>> a, b = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
        >>> terms = contrastive_terms(a, b, beta=1.0, tau_plus=0.1)
        >>> terms.loss.shape, terms.clamped.dtype, terms.num_negatives[:3].tolist()
        (torch.Size([16]), torch.bool, [7, 7, 7])
        >>> labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
        >>> contrastive_terms(a, b, labels=labels, label_mode="positive").num_positives[:4].tolist()
        [2, 2, 2, 2]
    """
    return _terms(
        a, b, temperature=temperature, beta=beta, tau_plus=tau_plus, negatives=negatives,
        clamp=clamp, symmetric=symmetric, labels=labels, label_mode=label_mode, groups=groups,
        pos_mask=pos_mask, neg_mask=neg_mask, queue=queue, chunk_size=chunk_size,
        gather_distributed=gather_distributed, owner="contrastive_terms",
    )  # fmt: skip


def _terms(
    a: Tensor,
    b: Tensor,
    *,
    temperature: float | Tensor | LearnableTemperature,
    beta: float = 0.0,
    tau_plus: float = 0.0,
    negatives: Negatives,
    clamp: bool,
    symmetric: bool,
    labels: Tensor | None,
    label_mode: LabelMode,
    groups: Tensor | None = None,
    pos_mask: Tensor | None = None,
    neg_mask: Tensor | None = None,
    queue: QueueState | None = None,
    chunk_size: int | None,
    gather_distributed: bool,
    owner: str,
) -> ContrastiveTerms:
    """`contrastive_terms` with the caller's name in the error messages."""
    a, b = check_pair(owner, a, b)
    inv_tau = _inverse_temperature(owner, temperature, a)
    beta = check_finite_number(owner, "beta", beta, low=0.0)
    tau_plus = check_finite_number(owner, "tau_plus", tau_plus, low=0.0, high=1.0)
    check_choice(owner, "negatives", negatives, NEGATIVES)
    check_choice(owner, "label_mode", label_mode, LABEL_MODES)
    check_bool(owner, "clamp", clamp)
    check_bool(owner, "symmetric", symmetric)
    check_bool(owner, "gather_distributed", gather_distributed)
    if negatives == "all" and not symmetric:
        raise ValueError(
            f"{owner}: symmetric=False is only defined for negatives='cross'; with "
            "negatives='all' every row of cat(a, b) is an anchor"
        )
    chunk_size = check_chunk_size(owner, chunk_size)
    batch = a.shape[0]
    labels = check_labels(owner, labels, batch, a.device)
    groups = check_labels(owner, groups, batch, a.device, name="groups")
    rank, world = rank_and_world(owner) if gather_distributed else (0, 1)
    shape = (batch, batch * world)
    pos_mask = _check_mask(owner, "pos_mask", pos_mask, shape, a.device)
    neg_mask = _check_mask(owner, "neg_mask", neg_mask, shape, a.device)
    if queue is not None and not isinstance(queue, QueueState):
        raise TypeError(f"{owner}: queue must be a QueueState, got {type(queue).__name__}")

    compute = torch.promote_types(a.dtype, torch.float32)
    static_inv_tau = (
        None
        if isinstance(temperature, (Tensor, LearnableTemperature))
        else 1.0 / float(temperature)
    )
    multi = pos_mask is not None or (labels is not None and label_mode == "positive")
    cfg = KernelConfig(
        beta=beta,
        tau_plus=tau_plus,
        clamp=clamp,
        dual=False,
        store=chunk_size is None,
        chunk_size=chunk_size,
        # A constant temperature bounds every logit, so one shift can serve rows and columns.
        fixed_shift=static_inv_tau is not None and fixed_shift_is_safe(static_inv_tau, beta),
        inv_tau=static_inv_tau,
        multi_positive=multi,
        labels_positive=label_mode == "positive",
    )
    with torch.autocast(device_type=a.device.type, enabled=False):
        za, zb = l2_normalize(a, compute), l2_normalize(b, compute)
        if gather_distributed:
            cand = Candidates(
                za, zb, gather_with_grad(za), gather_with_grad(zb), rank * batch, labels,
                None if labels is None else gather_without_grad(labels), groups,
                None if groups is None else gather_without_grad(groups),
            )  # fmt: skip
        else:
            cand = Candidates(za, zb, za, zb, 0, labels, labels, groups, groups)
        calls = kernel_calls(
            cand,
            negatives=negatives,
            symmetric=symmetric,
            dual_allowed=not (multi or gather_distributed or neg_mask is not None),
            pos_mask=pos_mask,
            neg_mask=neg_mask,
            queue=queue,
        )
        outputs = [
            contrastive_kernel(
                call.q,
                call.k,
                inv_tau.to(compute),
                KernelConfig(**{**cfg.__dict__, "dual": call.dual}),
                pos_idx=call.pos_idx,
                pos_mask=call.pos_mask,
                self_idx=call.self_idx,
                row_labels=call.row_labels,
                col_labels=call.col_labels,
                row_groups=call.row_groups,
                col_groups=call.col_groups,
                neg_mask=call.neg_mask,
            )
            for call in calls
        ]
    if len(outputs) == 1:
        return ContrastiveTerms(*outputs[0])
    return ContrastiveTerms(*(torch.cat(parts) for parts in zip(*outputs, strict=True)))


def _inverse_temperature(owner: str, temperature: object, ref: Tensor) -> Tensor:
    """``1 / tau`` as a tensor (a `LearnableTemperature` gives its clamped inverse directly)."""
    if isinstance(temperature, LearnableTemperature):
        return temperature.inverse()
    checked = check_temperature(owner, temperature)
    if isinstance(checked, Tensor):
        return checked.reciprocal()
    return torch.tensor(1.0 / checked, dtype=torch.float64, device=ref.device)


def reduce_terms(
    terms: ContrastiveTerms, reduction: Reduction, *, weights: Tensor | None = None
) -> Tensor:
    """Weight and reduce per-anchor terms.

    ``weights`` (per anchor, ``"b"`` broadcast to both directions / views, or the full
    ``"(2b)"``) multiply the terms first. ``"mean"`` divides by the number of anchors that
    have a positive (all of them unless a ``pos_mask`` or label positives leave some without),
    ``"sum"`` adds, ``"none"`` returns the weighted terms.

    Shapes:
        terms fields: ``"n"``; weights: ``"n"`` or ``"b"`` with ``n = 2b``; output: ``""``
        (``"mean"``, ``"sum"``) or ``"n"`` (``"none"``).

    Examples:
        >>> import torch
        >>> from mmcontrast.losses.functional import ContrastiveTerms, reduce_terms
        >>> one = torch.ones(2, dtype=torch.long)
        >>> terms = ContrastiveTerms(torch.tensor([1.0, 3.0]), one == 0, one, one)
        >>> reduce_terms(terms, "mean"), reduce_terms(terms, "sum", weights=torch.tensor([2.0, 0]))
        (tensor(2.), tensor(2.))
    """
    return reduce_values(terms.loss, reduction, weights, terms.num_positives > 0, "reduce_terms")


def info_nce(
    a: Tensor,
    b: Tensor,
    *,
    temperature: float | Tensor | LearnableTemperature = 0.1,
    negatives: Negatives = "cross",
    symmetric: bool = True,
    reduction: Reduction = "mean",
    labels: Tensor | None = None,
    label_mode: LabelMode = "exclude",
    groups: Tensor | None = None,
    pos_mask: Tensor | None = None,
    neg_mask: Tensor | None = None,
    weights: Tensor | None = None,
    chunk_size: int | None = None,
    gather_distributed: bool = False,
) -> Tensor:
    """InfoNCE (CMC, ``negatives="cross"``) or NT-Xent (SimCLR, ``negatives="all"``).

    Per anchor: ``-log(exp(p) / (exp(p) + sum_j exp(l_j)))`` with ``l = cos / temperature``;
    the positive is in the denominator, self-similarity is not.

    Args:
        a: first modality or view.
        b: second modality or view, paired row by row with ``a``.
        temperature: ``tau > 0`` (float or 0-d tensor).
        negatives: ``"cross"`` or ``"all"``.
        symmetric: add the ``b -> a`` direction (``"cross"`` only).
        reduction: ``"mean"`` over anchors, ``"sum"``, or ``"none"``.
        labels: optional class ids ``"b"``; see ``label_mode``.
        label_mode: ``"exclude"`` (same-label pairs are not negatives) or ``"positive"``
            (they are positives).
        groups: optional ids ``"b"``; equal ids are never negatives (recording, subject).
        pos_mask: optional bool ``"b b"``: the complete positive set of each anchor.
        neg_mask: optional bool ``"b b"``: ``False`` removes a pair from the negatives.
        weights: optional per-anchor weights ``"b"`` or ``"(2b)"`` (e.g. hard-positive weights).
        chunk_size: tile rows for the ``O(B * chunk_size)`` memory path (same value, grads).
        gather_distributed: use every rank's samples as candidates (with gradients).

    Returns:
        The loss (``""``), or the per-anchor terms with ``reduction="none"``.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; labels: ``"b"``; output: ``""``, or ``"(2b)"`` /
        ``"b"`` with ``reduction="none"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses.functional import info_nce
        >>> g = torch.Generator().manual_seed(0)
        >>> a, b = torch.randn(32, 64, generator=g), torch.randn(32, 64, generator=g)
        >>> loss = info_nce(a, b, temperature=0.1)
        >>> same = info_nce(a, b, temperature=0.1, chunk_size=5)  # same value, O(B*5) memory
        >>> bool(torch.allclose(loss, same)), loss.shape
        (True, torch.Size([]))
    """
    check_choice("info_nce", "reduction", reduction, REDUCTIONS)
    terms = _terms(
        a, b, temperature=temperature, negatives=negatives, clamp=False, symmetric=symmetric,
        labels=labels, label_mode=label_mode, groups=groups, pos_mask=pos_mask,
        neg_mask=neg_mask, chunk_size=chunk_size, gather_distributed=gather_distributed,
        owner="info_nce",
    )  # fmt: skip
    return reduce_values(terms.loss, reduction, weights, terms.num_positives > 0, "info_nce")


def debiased_loss(
    a: Tensor,
    b: Tensor,
    *,
    temperature: float | Tensor | LearnableTemperature = 0.1,
    tau_plus: float = 0.1,
    negatives: Negatives = "cross",
    clamp: bool = True,
    symmetric: bool = True,
    reduction: Reduction = "mean",
    labels: Tensor | None = None,
    label_mode: LabelMode = "exclude",
    groups: Tensor | None = None,
    pos_mask: Tensor | None = None,
    neg_mask: Tensor | None = None,
    weights: Tensor | None = None,
    chunk_size: int | None = None,
    gather_distributed: bool = False,
) -> Tensor:
    """Debiased contrastive loss (Chuang et al. 2020): the hard-negative loss at ``beta = 0``.

    Args:
        a: first modality or view.
        b: second modality or view, paired row by row with ``a``.
        temperature: ``tau > 0``.
        tau_plus: class prior in ``[0, 1)``; ``0`` gives InfoNCE.
        negatives: ``"cross"`` or ``"all"``.
        clamp: floor the negative estimate at ``K * exp(-1/temperature)``.
        symmetric: add the ``b -> a`` direction (``"cross"`` only).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        labels: optional class ids ``"b"``; see ``label_mode``.
        label_mode: ``"exclude"`` (same-label pairs are not negatives) or ``"positive"``
            (they are positives).
        groups: optional ids ``"b"``; equal ids are never negatives (recording, subject).
        pos_mask: optional bool ``"b b"``: the complete positive set of each anchor.
        neg_mask: optional bool ``"b b"``: ``False`` removes a pair from the negatives.
        weights: optional per-anchor weights ``"b"`` or ``"(2b)"`` (e.g. hard-positive weights).
        chunk_size: tile rows for the ``O(B * chunk_size)`` memory path (same value, grads).
        gather_distributed: use every rank's samples as candidates (with gradients).

    Returns:
        The loss (``""``) or the per-anchor terms.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; labels: ``"b"``; output: ``""``, or ``"(2b)"`` /
        ``"b"`` with ``reduction="none"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses.functional import debiased_loss, info_nce
        >>> g = torch.Generator().manual_seed(0)
        >>> a, b = torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)
        >>> bool(torch.allclose(debiased_loss(a, b, tau_plus=0.0), info_nce(a, b)))
        True
    """
    check_choice("debiased_loss", "reduction", reduction, REDUCTIONS)
    terms = _terms(
        a, b, temperature=temperature, tau_plus=tau_plus, negatives=negatives, clamp=clamp,
        symmetric=symmetric, labels=labels, label_mode=label_mode, groups=groups,
        pos_mask=pos_mask, neg_mask=neg_mask, chunk_size=chunk_size,
        gather_distributed=gather_distributed, owner="debiased_loss",
    )  # fmt: skip
    return reduce_values(terms.loss, reduction, weights, terms.num_positives > 0, "debiased_loss")


def hard_negative_loss(
    a: Tensor,
    b: Tensor,
    *,
    temperature: float | Tensor | LearnableTemperature = 0.1,
    beta: float = 1.0,
    tau_plus: float = 0.1,
    negatives: Negatives = "cross",
    clamp: bool = True,
    symmetric: bool = True,
    reduction: Reduction = "mean",
    labels: Tensor | None = None,
    label_mode: LabelMode = "exclude",
    groups: Tensor | None = None,
    pos_mask: Tensor | None = None,
    neg_mask: Tensor | None = None,
    weights: Tensor | None = None,
    chunk_size: int | None = None,
    gather_distributed: bool = False,
) -> Tensor:
    """Hard-negative contrastive loss (Robinson et al. 2021), cross-modal by default.

    The negatives are importance-weighted by ``softmax(beta * l)`` (weights not detached),
    debiased with ``tau_plus`` and clamped as in Chuang et al.; ``K`` is the real negative
    count (``B - 1`` cross-modal), not the ``2B - 2`` of the released multimodal code.

    Args:
        a: first modality or view.
        b: second modality or view, paired row by row with ``a``.
        temperature: ``tau > 0``. The hardness weight uses ``beta * cos / tau``, so ``beta``
            is portable only to implementations that put ``tau`` in the same place.
        beta: hardness concentration ``>= 0``; ``0`` gives `debiased_loss`.
        tau_plus: class prior in ``[0, 1)``.
        negatives: ``"cross"`` or ``"all"``.
        clamp: floor the negative estimate at ``K * exp(-1/temperature)``.
        symmetric: add the ``b -> a`` direction (``"cross"`` only).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        labels: optional class ids ``"b"``; see ``label_mode``.
        label_mode: ``"exclude"`` (same-label pairs are not negatives) or ``"positive"``
            (they are positives).
        groups: optional ids ``"b"``; equal ids are never negatives (recording, subject).
        pos_mask: optional bool ``"b b"``: the complete positive set of each anchor.
        neg_mask: optional bool ``"b b"``: ``False`` removes a pair from the negatives.
        weights: optional per-anchor weights ``"b"`` or ``"(2b)"`` (e.g. hard-positive weights).
        chunk_size: tile rows for the ``O(B * chunk_size)`` memory path (same value, grads).
        gather_distributed: use every rank's samples as candidates (with gradients).

    Returns:
        The loss (``""``) or the per-anchor terms.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; labels: ``"b"``; output: ``""``, or ``"(2b)"`` /
        ``"b"`` with ``reduction="none"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses.functional import hard_negative_loss, info_nce
        >>> g = torch.Generator().manual_seed(0)
        >>> imu, skel = torch.randn(64, 128, generator=g), torch.randn(64, 128, generator=g)
        >>> loss = hard_negative_loss(imu, skel, temperature=0.1, beta=1.0, tau_plus=0.037)
        >>> exact = hard_negative_loss(imu, skel, beta=0.0, tau_plus=0.0)
        >>> bool(torch.allclose(exact, info_nce(imu, skel)))
        True
    """
    check_choice("hard_negative_loss", "reduction", reduction, REDUCTIONS)
    terms = _terms(
        a, b, temperature=temperature, beta=beta, tau_plus=tau_plus, negatives=negatives,
        clamp=clamp, symmetric=symmetric, labels=labels, label_mode=label_mode, groups=groups,
        pos_mask=pos_mask, neg_mask=neg_mask, chunk_size=chunk_size,
        gather_distributed=gather_distributed, owner="hard_negative_loss",
    )  # fmt: skip
    return reduce_values(
        terms.loss, reduction, weights, terms.num_positives > 0, "hard_negative_loss"
    )
