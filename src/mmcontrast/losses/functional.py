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

``engine="reference"`` computes the same terms with plain autograd on the full similarity
matrix instead of the tiled kernel with its closed-form gradient: slower and ``O(B^2)`` in
memory, for debugging (see "How the loss engine works" in the losses guide).
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from mmcontrast._checks import check_choice, checking
from mmcontrast.losses._cmkm import cmkm_loss, cmkm_terms
from mmcontrast.losses._pairwise import (
    REDUCTIONS,
    Batch,
    Engine,
    LabelMode,
    Negatives,
    PairwiseOptions,
    Reduction,
    check_batch,
    check_weights,
    compute_terms,
    num_terms,
    reduce_values,
)
from mmcontrast.losses.queue import QueueState
from mmcontrast.losses.temperature import LearnableTemperature

__all__ = [
    "ContrastiveTerms",
    "Engine",
    "LabelMode",
    "Negatives",
    "Reduction",
    "cmkm_loss",
    "cmkm_terms",
    "contrastive_terms",
    "debiased_loss",
    "hard_negative_loss",
    "info_nce",
    "reduce_terms",
]


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
    engine: Engine = "tiled",
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
        engine: ``"tiled"`` (the fast kernel) or ``"reference"`` (plain autograd on the full
            matrix, same values and gradients; for debugging).

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
    options = PairwiseOptions(temperature, beta, tau_plus, negatives, clamp, symmetric, "none",
                              label_mode, chunk_size, gather_distributed, engine)  # fmt: skip
    with checking("contrastive_terms"):
        options = options.checked(tensor_temperature=True)
        batch = check_batch(a, b, labels=labels, groups=groups,
                            pos_mask=pos_mask, neg_mask=neg_mask, queue=queue,
                            gather_distributed=gather_distributed)  # fmt: skip
    return ContrastiveTerms(*compute_terms(batch, options))


class _LossCall(NamedTuple):
    batch: Batch
    options: PairwiseOptions
    weights: Tensor | None


def _check_loss(
    a: Tensor,
    b: Tensor,
    options: PairwiseOptions,
    labels: Tensor | None,
    groups: Tensor | None,
    pos_mask: Tensor | None,
    neg_mask: Tensor | None,
    weights: Tensor | None,
) -> _LossCall:
    """Every check of the three losses below, run in their `checking` block."""
    options = options.checked(tensor_temperature=True)
    batch = check_batch(a, b, labels=labels, groups=groups, pos_mask=pos_mask,
                        neg_mask=neg_mask, queue=None,
                        gather_distributed=options.gather_distributed)  # fmt: skip
    return _LossCall(batch, options, check_weights(weights, num_terms(batch, options)))


def _loss(call: _LossCall) -> Tensor:
    """The three losses below on checked inputs: the terms, reduced."""
    terms = compute_terms(call.batch, call.options)
    return reduce_values(terms.loss, call.options.reduction, call.weights, terms.num_positives > 0)


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
    with checking("reduce_terms"):
        check_choice("reduction", reduction, REDUCTIONS)
        weights = check_weights(weights, terms.loss.shape[0])
    return reduce_values(terms.loss, reduction, weights, terms.num_positives > 0)


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
    engine: Engine = "tiled",
) -> Tensor:
    """InfoNCE (CMC, ``negatives="cross"``) or NT-Xent (SimCLR, ``negatives="all"``).

    Per anchor: ``-log(exp(p) / (exp(p) + sum_j exp(l_j)))`` with ``l = cos / temperature``;
    the positive is in the denominator, self-similarity is not.

    Arguments: those of `contrastive_terms` (without ``beta``, ``tau_plus``, ``clamp``),
    plus ``reduction`` (``"mean"`` over the anchors that have a positive, ``"sum"`` or
    ``"none"``) and ``weights`` (optional per-anchor weights ``"b"`` or ``"(2b)"``, e.g.
    hard-positive weights).

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
    options = PairwiseOptions(temperature, 0.0, 0.0, negatives, False, symmetric, reduction,
                              label_mode, chunk_size, gather_distributed, engine)  # fmt: skip
    with checking("info_nce"):
        call = _check_loss(a, b, options, labels, groups, pos_mask, neg_mask, weights)
    return _loss(call)


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
    engine: Engine = "tiled",
) -> Tensor:
    """Debiased contrastive loss (Chuang et al. 2020): the hard-negative loss at ``beta = 0``.

    Arguments: those of `contrastive_terms` (without ``beta``), plus ``reduction``
    (``"mean"`` over the anchors that have a positive, ``"sum"`` or ``"none"``) and
    ``weights`` (optional per-anchor weights ``"b"`` or ``"(2b)"``, e.g. hard-positive
    weights).

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
    options = PairwiseOptions(temperature, 0.0, tau_plus, negatives, clamp, symmetric, reduction,
                              label_mode, chunk_size, gather_distributed, engine)  # fmt: skip
    with checking("debiased_loss"):
        call = _check_loss(a, b, options, labels, groups, pos_mask, neg_mask, weights)
    return _loss(call)


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
    engine: Engine = "tiled",
) -> Tensor:
    """Hard-negative contrastive loss (Robinson et al. 2021), cross-modal by default.

    The negatives are importance-weighted by ``softmax(beta * l)`` (weights not detached),
    debiased with ``tau_plus`` and clamped as in Chuang et al.; ``K`` is the real negative
    count (``B - 1`` cross-modal), not the ``2B - 2`` of the released multimodal code.

    The ``temperature`` sits inside the hardness weight too (``beta * cos / tau``), so
    ``beta`` is portable only to implementations that put ``tau`` in the same place.
    Arguments: those of `contrastive_terms`, plus ``reduction``
    (``"mean"`` over the anchors that have a positive, ``"sum"`` or ``"none"``) and
    ``weights`` (optional per-anchor weights ``"b"`` or ``"(2b)"``, e.g. hard-positive
    weights).

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
    options = PairwiseOptions(temperature, beta, tau_plus, negatives, clamp, symmetric, reduction,
                              label_mode, chunk_size, gather_distributed, engine)  # fmt: skip
    with checking("hard_negative_loss"):
        call = _check_loss(a, b, options, labels, groups, pos_mask, neg_mask, weights)
    return _loss(call)
