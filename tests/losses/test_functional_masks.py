"""Positives and negatives under the user's control: label positives, masks, groups, queue."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import Tensor

from mmcontrast.losses import EmbeddingQueue
from mmcontrast.losses.functional import contrastive_terms, hard_negative_loss, info_nce


# --------------------------------------------------------------------------------------------
# Reference: one anchor at a time from the documented semantics (float64). Each anchor has a
# positive set P and a negative set N; every positive forms a term against the negatives:
#   Ng = (K * sum_j q_j e^{l_j} - tau_plus * K * mean_p e^{l_p}) / (1 - tau_plus), clamped,
#   loss = mean_p -log(e^{l_p} / (e^{l_p} + Ng)).
# --------------------------------------------------------------------------------------------
def _reference_anchor(
    logits: Tensor, pos: Tensor, neg: Tensor, tau: float, beta: float, tau_plus: float, clamp: bool
) -> Tensor:
    positives, negatives = logits[pos], logits[neg]
    count = negatives.numel()
    if positives.numel() == 0:
        return logits.sum() * 0.0
    if count == 0:
        return positives.sum() * 0.0
    importance = torch.exp(beta * negatives)
    reweighted = count * (importance * torch.exp(negatives)).sum() / importance.sum()
    ng = (reweighted - tau_plus * count * torch.exp(positives).mean()) / (1.0 - tau_plus)
    if clamp:
        ng = torch.maximum(ng, count * torch.exp(torch.tensor(-1.0 / tau, dtype=logits.dtype)))
    elif ng <= 0:
        return positives.sum() * 0.0
    return (-torch.log(torch.exp(positives) / (torch.exp(positives) + ng))).mean()


def _reference(
    a: Tensor,
    b: Tensor,
    *,
    tau: float,
    beta: float,
    tau_plus: float,
    negatives: str,
    clamp: bool = True,
    labels: Tensor | None = None,
    label_mode: str = "exclude",
    groups: Tensor | None = None,
    pos_mask: Tensor | None = None,
    neg_mask: Tensor | None = None,
    queue: tuple[Tensor, Tensor, Tensor | None, Tensor | None] | None = None,
) -> Tensor:
    """Per-anchor terms; anchors in the order [a -> b, b -> a] or rows of cat(a, b)."""
    a = a / a.norm(dim=1, keepdim=True)
    b = b / b.norm(dim=1, keepdim=True)
    n = a.shape[0]
    pos_mask = torch.eye(n, dtype=torch.bool) if pos_mask is None else pos_mask
    neg_mask = torch.ones(n, n, dtype=torch.bool) if neg_mask is None else neg_mask
    keys_a = keys_b = torch.zeros(0, a.shape[1], dtype=a.dtype)
    q_labels = q_groups = torch.zeros(0, dtype=torch.long)
    if queue is not None:
        keys_a, keys_b = queue[0], queue[1]
        q_labels = queue[2] if queue[2] is not None else torch.full((len(keys_a),), -(10**9))
        q_groups = queue[3] if queue[3] is not None else torch.full((len(keys_a),), -(10**9))

    def candidate_rel(i: int, j_sample: int | None, j_label, j_group) -> tuple[bool, bool]:
        """(positive, negative) for anchor sample i and a candidate."""
        same_label = labels is not None and j_label is not None and bool(labels[i] == j_label)
        same_group = groups is not None and j_group is not None and bool(groups[i] == j_group)
        if j_sample is None:  # queue entry
            is_pos = same_label and label_mode == "positive"
            return is_pos, not is_pos and not same_label and not same_group
        is_pos = bool(pos_mask[i, j_sample]) or (same_label and label_mode == "positive")
        is_neg = not is_pos and bool(neg_mask[i, j_sample]) and not same_group
        is_neg = is_neg and not (same_label and label_mode == "exclude")
        return is_pos, is_neg

    terms = []
    if negatives == "cross":
        for anchors, cands, extra in ((a, b, keys_b), (b, a, keys_a)):
            for i in range(n):
                rel = [
                    candidate_rel(
                        i,
                        j,
                        None if labels is None else labels[j],
                        None if groups is None else groups[j],
                    )
                    for j in range(n)
                ]
                rel += [candidate_rel(i, None, q_labels[t], q_groups[t]) for t in range(len(extra))]
                keys = torch.cat([cands, extra])
                logits = keys @ anchors[i] / tau
                pos = torch.tensor([r[0] for r in rel])
                neg = torch.tensor([r[1] for r in rel])
                terms.append(_reference_anchor(logits, pos, neg, tau, beta, tau_plus, clamp))
    else:
        views = torch.cat([a, b])
        keys = torch.cat([views, keys_a, keys_b])
        for k in range(2 * n):
            i = k % n
            rel = []
            for col in range(2 * n):
                j = col % n
                if col == k:
                    rel.append((False, False))
                    continue
                rel.append(
                    candidate_rel(
                        i,
                        j,
                        None if labels is None else labels[j],
                        None if groups is None else groups[j],
                    )
                )
            for t in range(2 * len(keys_a)):
                rel.append(
                    candidate_rel(i, None, q_labels[t % len(keys_a)], q_groups[t % len(keys_a)])
                )
            logits = keys @ views[k] / tau
            pos = torch.tensor([r[0] for r in rel])
            neg = torch.tensor([r[1] for r in rel])
            terms.append(_reference_anchor(logits, pos, neg, tau, beta, tau_plus, clamp))
    return torch.stack(terms)


def _pair(batch: int, dim: int, seed: int) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(batch, dim, generator=g, dtype=torch.float64)
    b = 0.8 * a + torch.randn(batch, dim, generator=g, dtype=torch.float64)
    return a.requires_grad_(), b.requires_grad_()


def _compare(kw_ref: dict, kw_ours: dict, a: Tensor, b: Tensor) -> None:
    ref = _reference(a, b, **kw_ref)
    ours = contrastive_terms(a, b, **kw_ours)
    weights = torch.rand(ref.shape[0], generator=torch.Generator().manual_seed(1),
                         dtype=torch.float64)  # fmt: skip
    torch.testing.assert_close(ours.loss, ref, rtol=1e-10, atol=1e-10)
    want = torch.autograd.grad((ref * weights).sum(), [a, b], allow_unused=True)
    got = torch.autograd.grad((ours.loss * weights).sum(), [a, b], allow_unused=True)
    for g_, w_ in zip(got, want, strict=True):
        torch.testing.assert_close(g_, w_, rtol=1e-10, atol=1e-10)


CASES = list(itertools.product(["cross", "all"], [0.0, 1.0], [0.0, 0.1], [None, 3]))


@pytest.mark.parametrize(("negatives", "beta", "tau_plus", "chunk"), CASES)
def test_label_positives(negatives: str, beta: float, tau_plus: float, chunk: int | None) -> None:
    a, b = _pair(10, 6, 0)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 3, 3, 4, 0])
    hyper = dict(tau=0.2, beta=beta, tau_plus=tau_plus, negatives=negatives)
    _compare(
        dict(**hyper, labels=labels, label_mode="positive"),
        dict(
            temperature=0.2,
            beta=beta,
            tau_plus=tau_plus,
            negatives=negatives,
            labels=labels,
            label_mode="positive",
            chunk_size=chunk,
        ),  # fmt: skip
        a,
        b,
    )


@pytest.mark.parametrize(("negatives", "beta", "tau_plus", "chunk"), CASES)
def test_explicit_masks_and_groups(
    negatives: str, beta: float, tau_plus: float, chunk: int | None
) -> None:
    a, b = _pair(9, 5, 1)
    g = torch.Generator().manual_seed(4)
    pos_mask = torch.eye(9, dtype=torch.bool) | (torch.rand(9, 9, generator=g) < 0.15)
    pos_mask[3, 3] = False  # anchor 3 keeps only its extra positives ...
    pos_mask[5] = False  # ... and anchor 5 has none: excluded from the mean, counted
    neg_mask = torch.rand(9, 9, generator=g) > 0.2
    groups = torch.tensor([0, 1, 2, 0, 1, 2, 3, 4, 5])
    _compare(
        dict(
            tau=0.3,
            beta=beta,
            tau_plus=tau_plus,
            negatives=negatives,
            groups=groups,
            pos_mask=pos_mask,
            neg_mask=neg_mask,
        ),  # fmt: skip
        dict(
            temperature=0.3,
            beta=beta,
            tau_plus=tau_plus,
            negatives=negatives,
            groups=groups,
            pos_mask=pos_mask,
            neg_mask=neg_mask,
            chunk_size=chunk,
        ),  # fmt: skip
        a,
        b,
    )
    terms = contrastive_terms(a, b, negatives=negatives, pos_mask=pos_mask, neg_mask=neg_mask)
    assert terms.num_positives[5].item() == 0
    assert terms.loss[5].item() == 0.0


@pytest.mark.parametrize("negatives", ["cross", "all"])
@pytest.mark.parametrize("label_mode", ["exclude", "positive"])
def test_pos_mask_with_labels_matches_reference(negatives: str, label_mode: str) -> None:
    # A same-label positive of pos_mask stays a positive in either label mode.
    a, b = _pair(8, 4, 12)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    pos_mask = torch.eye(8, dtype=torch.bool)
    pos_mask[0, 1] = pos_mask[4, 2] = True
    kw = dict(beta=1.0, tau_plus=0.05, negatives=negatives, labels=labels, label_mode=label_mode,
              pos_mask=pos_mask)  # fmt: skip
    _compare(dict(tau=0.2, **kw), dict(temperature=0.2, **kw), a, b)
    terms = contrastive_terms(a, b, temperature=0.2, **kw)
    assert (terms.num_positives > 0).all()


@pytest.mark.parametrize("negatives", ["cross", "all"])
@pytest.mark.parametrize("label_mode", ["exclude", "positive"])
def test_groups_and_labels_without_masks_match_reference(negatives: str, label_mode: str) -> None:
    a, b = _pair(8, 4, 2)
    labels = torch.tensor([0, 1, 1, 2, 2, 2, 3, 0])
    groups = torch.tensor([5, 5, 6, 6, 7, 7, 8, 8])
    _compare(
        dict(
            tau=0.1,
            beta=1.0,
            tau_plus=0.05,
            negatives=negatives,
            labels=labels,
            label_mode=label_mode,
            groups=groups,
        ),  # fmt: skip
        dict(
            temperature=0.1,
            beta=1.0,
            tau_plus=0.05,
            negatives=negatives,
            labels=labels,
            label_mode=label_mode,
            groups=groups,
        ),  # fmt: skip
        a,
        b,
    )


@pytest.mark.parametrize("negatives", ["cross", "all"])
@pytest.mark.parametrize("with_labels", [False, True])
def test_queue_entries_are_extra_negatives(negatives: str, with_labels: bool) -> None:
    a, b = _pair(6, 4, 3)
    queue = EmbeddingQueue(size=5, dim=4, dtype=torch.float64)
    g = torch.Generator().manual_seed(7)
    stored_a, stored_b = torch.randn(4, 4, generator=g), torch.randn(4, 4, generator=g)
    stored_labels = torch.tensor([0, 1, 2, 3])
    queue.push(stored_a, stored_b, labels=stored_labels if with_labels else None)
    labels = torch.tensor([0, 1, 1, 2, 5, 5]) if with_labels else None
    norm = lambda x: x.double() / x.double().norm(dim=1, keepdim=True)  # noqa: E731
    _compare(
        dict(
            tau=0.2,
            beta=1.0,
            tau_plus=0.1,
            negatives=negatives,
            labels=labels,
            queue=(norm(stored_a), norm(stored_b), stored_labels if with_labels else None, None),
        ),  # fmt: skip
        dict(
            temperature=0.2,
            beta=1.0,
            tau_plus=0.1,
            negatives=negatives,
            labels=labels,
            queue=queue.state(),
        ),  # fmt: skip
        a,
        b,
    )
    terms = contrastive_terms(a, b, negatives=negatives, queue=queue.state())
    per_sample = 5 if negatives == "cross" else 10
    extra = 4 if negatives == "cross" else 8  # only the 4 filled slots (one or both sides)
    assert terms.num_negatives.tolist() == [per_sample + extra] * 12


def test_label_positives_reduce_to_info_nce_with_unique_labels() -> None:
    a, b = _pair(7, 3, 5)
    unique = torch.arange(7)
    for negatives in ("cross", "all"):
        torch.testing.assert_close(
            info_nce(a, b, labels=unique, label_mode="positive", negatives=negatives),
            info_nce(a, b, negatives=negatives),
            rtol=1e-12,
            atol=1e-12,
        )


def test_mean_leaves_out_anchors_without_positives() -> None:
    a, b = _pair(6, 3, 6)
    pos_mask = torch.eye(6, dtype=torch.bool)
    pos_mask[0, 0] = pos_mask[4, 4] = False
    terms = contrastive_terms(a, b, pos_mask=pos_mask)
    valid = terms.num_positives > 0
    assert valid.sum().item() == 8  # two anchors per direction lost their positive
    torch.testing.assert_close(
        info_nce(a, b, pos_mask=pos_mask), terms.loss[valid].mean(), rtol=1e-12, atol=1e-12
    )
    nothing = torch.zeros(6, 6, dtype=torch.bool)
    loss = info_nce(a, b, pos_mask=nothing)
    assert loss.item() == 0.0  # documented: no anchor has a positive, the mean is 0
    (grad,) = torch.autograd.grad(loss, [a])
    assert grad.eq(0).all()


def test_asymmetric_masks_index_anchor_then_candidate() -> None:
    a, b = _pair(5, 3, 8)
    neg_mask = torch.ones(5, 5, dtype=torch.bool)
    neg_mask[0, 1] = False  # anchor sample 0 must not use sample 1 as a negative
    terms = contrastive_terms(a, b, neg_mask=neg_mask)
    assert terms.num_negatives[0].item() == 3  # a_0 -> b: lost b_1
    assert terms.num_negatives[5].item() == 3  # b_0 -> a: lost a_1
    assert terms.num_negatives[1].item() == 4  # a_1 keeps b_0


def test_mask_errors() -> None:
    a, b = _pair(4, 3, 0)
    with pytest.raises(TypeError, match="pos_mask must be a bool tensor, got dtype torch.int64"):
        info_nce(a, b, pos_mask=torch.eye(4, dtype=torch.long))
    with pytest.raises(
        ValueError, match=r'neg_mask must have shape "b b" = \(4, 4\).*got \(4, 5\)'
    ):
        info_nce(a, b, neg_mask=torch.ones(4, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r'groups must have shape "b" = \(4,\)'):
        info_nce(a, b, groups=torch.arange(3))
    with pytest.raises(ValueError, match="label_mode must be one of 'exclude', 'positive'"):
        info_nce(a, b, label_mode="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r'weights must have shape "b" or "\(2b\)"'):
        info_nce(a, b, weights=torch.ones(3))
    with pytest.raises(TypeError, match="weights must be a floating-point tensor"):
        info_nce(a, b, weights=torch.ones(4, dtype=torch.long))
    with pytest.raises(RuntimeError, match="gather_distributed=True needs an initialised"):
        hard_negative_loss(a, b, gather_distributed=True)


@pytest.mark.compile
def test_multi_positive_mode_compiles() -> None:
    from tests.helpers import compiled_matches_eager

    a, b = (x.detach().float() for x in _pair(8, 4, 9))
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    neg_mask = torch.ones(8, 8, dtype=torch.bool).triu()
    compiled_matches_eager(
        lambda x, y: hard_negative_loss(
            x, y, labels=labels, label_mode="positive", neg_mask=neg_mask, chunk_size=3
        ),  # fmt: skip
        [a, b],
    )
