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
import torch.nn.functional as F
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
from mmcontrast.losses._kernel import KernelConfig, contrastive_kernel, fixed_shift_is_safe

__all__ = [
    "ContrastiveTerms",
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
NEGATIVES: tuple[str, ...] = ("cross", "all")
REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")


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
    """

    loss: Tensor
    clamped: Tensor
    num_negatives: Tensor


def _normalize(x: Tensor, dtype: torch.dtype) -> Tensor:
    # eps from the *input* dtype: 1/eps bounds the gradient of an all-zero row, so it stays
    # finite when cast back to float16 (float16's eps is ~1e-3; F.normalize's 1e-12 is not).
    eps = torch.finfo(x.dtype).eps
    return F.normalize(x.to(dtype), dim=1, eps=eps)


def contrastive_terms(
    a: Tensor,
    b: Tensor,
    *,
    temperature: float | Tensor = 0.1,
    beta: float = 0.0,
    tau_plus: float = 0.0,
    negatives: Negatives = "cross",
    clamp: bool = True,
    symmetric: bool = True,
    labels: Tensor | None = None,
    chunk_size: int | None = None,
    owner: str = "contrastive_terms",
) -> ContrastiveTerms:
    """Per-anchor terms of the hard-negative / debiased / InfoNCE family.

    This is the common core of :func:`info_nce`, :func:`debiased_loss` and
    :func:`hard_negative_loss`; use it to weight, mask or log anchors yourself, or to read
    the clamped fraction without a host synchronisation.

    Args:
        a: embeddings of the first modality or view (not necessarily normalised).
        b: embeddings of the second modality or view, row ``i`` paired with ``a[i]``.
        temperature: ``tau > 0``, a float or a 0-d floating tensor (the tensor receives a
            gradient; keeping it positive is the caller's job, see ``LearnableTemperature``).
        beta: hardness concentration ``>= 0`` (``0``: no reweighting).
        tau_plus: class prior of the debiasing term, in ``[0, 1)`` (``0``: no debiasing).
        negatives: ``"cross"`` (CMC) or ``"all"`` (SimCLR 2B-view), see the module docs.
        clamp: floor the negative estimate at ``K * exp(-1/temperature)`` (Chuang et al.).
        symmetric: with ``"cross"``, add the ``b -> a`` direction. Must be ``True`` with
            ``"all"``, whose anchors are the rows of both views by definition.
        labels: optional class ids ``"b"``; pairs with equal labels are removed from the
            negatives (the positive itself is never a negative).
        chunk_size: ``None`` keeps the ``n x n`` similarity matrix for backward; an int
            recomputes it in tiles of at most ``chunk_size`` rows, so memory is
            ``O(B * chunk_size)``; the value and gradients are the same.
        owner: the name used in error messages.

    Returns:
        :class:`ContrastiveTerms` with one entry per anchor.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; labels: ``"b"``;
        output fields: ``"(2b)"``, or ``"b"`` for ``negatives="cross", symmetric=False``.

    Example:
        >>> import torch
        >>> from mmcontrast.losses.functional import contrastive_terms
        >>> g = torch.Generator().manual_seed(0)
        >>> a, b = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
        >>> terms = contrastive_terms(a, b, beta=1.0, tau_plus=0.1)
        >>> terms.loss.shape, terms.clamped.dtype, terms.num_negatives[:3].tolist()
        (torch.Size([16]), torch.bool, [7, 7, 7])
    """
    a, b = check_pair(owner, a, b)
    inv_tau = _inverse_temperature(owner, temperature, a)
    beta = check_finite_number(owner, "beta", beta, low=0.0)
    tau_plus = check_finite_number(owner, "tau_plus", tau_plus, low=0.0, high=1.0)
    check_choice(owner, "negatives", negatives, NEGATIVES)
    check_bool(owner, "clamp", clamp)
    check_bool(owner, "symmetric", symmetric)
    if negatives == "all" and not symmetric:
        raise ValueError(
            f"{owner}: symmetric=False is only defined for negatives='cross'; with "
            "negatives='all' every row of cat(a, b) is an anchor"
        )
    chunk_size = check_chunk_size(owner, chunk_size)
    batch = a.shape[0]
    labels = check_labels(owner, labels, batch, a.device)

    compute = torch.promote_types(a.dtype, torch.float32)
    static_inv_tau = None if isinstance(temperature, Tensor) else 1.0 / float(temperature)
    cfg = KernelConfig(
        beta=beta,
        tau_plus=tau_plus,
        clamp=clamp,
        dual=negatives == "cross" and symmetric,
        store=chunk_size is None,
        chunk_size=chunk_size,
        # A constant temperature bounds every logit, so one shift can serve rows and columns.
        fixed_shift=static_inv_tau is not None and fixed_shift_is_safe(static_inv_tau, beta),
        inv_tau=static_inv_tau,
    )
    with torch.autocast(device_type=a.device.type, enabled=False):
        za = _normalize(a, compute)
        zb = _normalize(b, compute)
        index = torch.arange(batch, device=a.device)
        if negatives == "cross":
            out = contrastive_kernel(
                za, zb, inv_tau.to(compute), index, cfg, row_labels=labels, col_labels=labels
            )
        else:
            z = torch.cat([za, zb])
            both = None if labels is None else torch.cat([labels, labels])
            out = contrastive_kernel(
                z,
                z,
                inv_tau.to(compute),
                torch.cat([index + batch, index]),
                cfg,
                self_idx=torch.arange(2 * batch, device=a.device),
                row_labels=both,
                col_labels=both,
            )
    return ContrastiveTerms(*out)


def _inverse_temperature(owner: str, temperature: object, ref: Tensor) -> Tensor:
    checked = check_temperature(owner, temperature)
    if isinstance(checked, Tensor):
        return checked.reciprocal()
    return torch.tensor(1.0 / checked, dtype=torch.float64, device=ref.device)


def reduce_terms(terms: Tensor, reduction: Reduction, owner: str = "reduce_terms") -> Tensor:
    """Apply ``reduction`` (``"mean"``, ``"sum"`` or ``"none"``) to per-anchor terms.

    Shapes:
        terms: ``"n"``; output: ``""`` (``"mean"``, ``"sum"``) or ``"n"`` (``"none"``).

    Example:
        >>> import torch
        >>> reduce_terms(torch.tensor([1.0, 3.0]), "mean")
        tensor(2.)
    """
    check_choice(owner, "reduction", reduction, REDUCTIONS)
    if reduction == "mean":
        return terms.mean()
    if reduction == "sum":
        return terms.sum()
    return terms


def info_nce(
    a: Tensor,
    b: Tensor,
    *,
    temperature: float | Tensor = 0.1,
    negatives: Negatives = "cross",
    symmetric: bool = True,
    reduction: Reduction = "mean",
    labels: Tensor | None = None,
    chunk_size: int | None = None,
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
        labels: optional class ids; same-label pairs are not negatives.
        chunk_size: tile rows for the memory-bounded path (``None``: plain path).

    Returns:
        The loss (``""``), or the per-anchor terms with ``reduction="none"``.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; labels: ``"b"``; output: ``""``, or ``"(2b)"`` /
        ``"b"`` with ``reduction="none"``.

    Example:
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
    terms = contrastive_terms(
        a,
        b,
        temperature=temperature,
        negatives=negatives,
        clamp=False,
        symmetric=symmetric,
        labels=labels,
        chunk_size=chunk_size,
        owner="info_nce",
    )
    return reduce_terms(terms.loss, reduction, "info_nce")


def debiased_loss(
    a: Tensor,
    b: Tensor,
    *,
    temperature: float | Tensor = 0.1,
    tau_plus: float = 0.1,
    negatives: Negatives = "cross",
    clamp: bool = True,
    symmetric: bool = True,
    reduction: Reduction = "mean",
    labels: Tensor | None = None,
    chunk_size: int | None = None,
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
        labels: optional class ids; same-label pairs are not negatives.
        chunk_size: tile rows for the memory-bounded path.

    Returns:
        The loss (``""``) or the per-anchor terms.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; labels: ``"b"``; output: ``""``, or ``"(2b)"`` /
        ``"b"`` with ``reduction="none"``.

    Example:
        >>> import torch
        >>> from mmcontrast.losses.functional import debiased_loss, info_nce
        >>> g = torch.Generator().manual_seed(0)
        >>> a, b = torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)
        >>> bool(torch.allclose(debiased_loss(a, b, tau_plus=0.0), info_nce(a, b)))
        True
    """
    check_choice("debiased_loss", "reduction", reduction, REDUCTIONS)
    terms = contrastive_terms(
        a,
        b,
        temperature=temperature,
        tau_plus=tau_plus,
        negatives=negatives,
        clamp=clamp,
        symmetric=symmetric,
        labels=labels,
        chunk_size=chunk_size,
        owner="debiased_loss",
    )
    return reduce_terms(terms.loss, reduction, "debiased_loss")


def hard_negative_loss(
    a: Tensor,
    b: Tensor,
    *,
    temperature: float | Tensor = 0.1,
    beta: float = 1.0,
    tau_plus: float = 0.1,
    negatives: Negatives = "cross",
    clamp: bool = True,
    symmetric: bool = True,
    reduction: Reduction = "mean",
    labels: Tensor | None = None,
    chunk_size: int | None = None,
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
        beta: hardness concentration ``>= 0``; ``0`` gives :func:`debiased_loss`.
        tau_plus: class prior in ``[0, 1)``.
        negatives: ``"cross"`` or ``"all"``.
        clamp: floor the negative estimate at ``K * exp(-1/temperature)``.
        symmetric: add the ``b -> a`` direction (``"cross"`` only).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        labels: optional class ids; same-label pairs are not negatives.
        chunk_size: tile rows for the memory-bounded path.

    Returns:
        The loss (``""``) or the per-anchor terms.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; labels: ``"b"``; output: ``""``, or ``"(2b)"`` /
        ``"b"`` with ``reduction="none"``.

    Example:
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
    terms = contrastive_terms(
        a,
        b,
        temperature=temperature,
        beta=beta,
        tau_plus=tau_plus,
        negatives=negatives,
        clamp=clamp,
        symmetric=symmetric,
        labels=labels,
        chunk_size=chunk_size,
        owner="hard_negative_loss",
    )
    return reduce_terms(terms.loss, reduction, "hard_negative_loss")
