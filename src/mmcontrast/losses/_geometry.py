"""Turn two embedding batches (plus labels, masks, a queue, other ranks) into engine calls.

Masks are relations between *samples*: entry ``[i, j]`` concerns anchor sample ``i`` (in
either modality or view) and candidate sample ``j``; the ``b -> a`` direction uses the same
entry. With ``gather_distributed`` the candidates are the samples of every rank, in rank
order, so masks are ``(b_local, world * b_local)``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.distributed as dist
from torch import Tensor

from mmcontrast.losses._engine import Masks
from mmcontrast.losses.queue import QueueState


class Candidates(NamedTuple):
    """Both sides of the batch as seen by the local anchors (after gathering, if any)."""

    za: Tensor  # local, normalised
    zb: Tensor
    za_all: Tensor  # every rank's samples, rank order (``za`` itself without gathering)
    zb_all: Tensor
    offset: int  # index of the local samples within ``*_all``
    labels: Tensor | None
    labels_all: Tensor | None
    groups: Tensor | None
    groups_all: Tensor | None


def candidates(
    za: Tensor, zb: Tensor, labels: Tensor | None, groups: Tensor | None, *, rank: int, gather: bool
) -> Candidates:
    """The candidates of the local anchors: every rank's samples when ``gather``."""
    if not gather:
        return Candidates(za, zb, za, zb, 0, labels, labels, groups, groups)
    return Candidates(
        za, zb, gather_with_grad(za), gather_with_grad(zb), rank * za.shape[0], labels,
        None if labels is None else gather_without_grad(labels), groups,
        None if groups is None else gather_without_grad(groups),
    )  # fmt: skip


class KernelCall(NamedTuple):
    """The operands of one kernel call (one anchor set against one candidate set)."""

    q: Tensor
    k: Tensor
    dual: bool
    masks: Masks


def _cat(parts: list[Tensor | None]) -> Tensor | None:
    if parts[0] is None:
        return None
    return torch.cat([p for p in parts if p is not None])


def _with_queue(
    pos_mask: Tensor | None, neg_mask: Tensor | None, filled: Tensor | None, copies: int
) -> tuple[Tensor | None, Tensor | None]:
    """Extend sample masks with ``copies`` blocks of queue columns (never positives)."""
    if filled is None:
        return pos_mask, neg_mask
    if pos_mask is not None:
        pad = pos_mask.new_zeros(pos_mask.shape[0], copies * filled.shape[0])
        pos_mask = torch.cat([pos_mask, pad], dim=1)
    if neg_mask is not None:
        queue_cols = filled.repeat(copies).expand(neg_mask.shape[0], -1)
        neg_mask = torch.cat([neg_mask, queue_cols], dim=1)
    return pos_mask, neg_mask


def kernel_calls(
    cand: Candidates,
    *,
    negatives: str,
    symmetric: bool,
    dual_allowed: bool,
    pos_mask: Tensor | None,
    neg_mask: Tensor | None,
    queue: QueueState | None,
) -> list[KernelCall]:
    """The kernel calls whose per-anchor outputs, concatenated, are the loss terms."""
    n = cand.za.shape[0]
    m = cand.za_all.shape[0]
    device = cand.za.device
    local = cand.offset + torch.arange(n, device=device)
    filled = None if queue is None else queue.filled
    if queue is not None and neg_mask is None:
        neg_mask = torch.ones(n, m, dtype=torch.bool, device=device)
    q_labels = None if queue is None or cand.labels is None else queue.labels
    q_groups = None if queue is None or cand.groups is None else queue.groups

    if negatives == "cross":
        if dual_allowed and queue is None and m == n:
            masks = Masks(pos_idx=local, row_labels=cand.labels, row_groups=cand.groups,
                          pos_mask=pos_mask, neg_mask=neg_mask)  # fmt: skip
            return [KernelCall(cand.za, cand.zb, symmetric, masks)]
        pos_q, neg_q = _with_queue(pos_mask, neg_mask, filled, 1)
        masks = Masks(pos_idx=local, pos_mask=pos_q, neg_mask=neg_q, row_labels=cand.labels,
                      col_labels=_cat([cand.labels_all, q_labels]), row_groups=cand.groups,
                      col_groups=_cat([cand.groups_all, q_groups]))  # fmt: skip
        directions = [(cand.za, cand.zb_all, None if queue is None else queue.keys_b)]
        if symmetric:
            directions.append((cand.zb, cand.za_all, None if queue is None else queue.keys_a))
        return [
            KernelCall(q, k if extra is None else torch.cat([k, extra.to(k)]), False, masks)
            for q, k, extra in directions
        ]

    # SimCLR geometry: anchors cat(a, b) against cat(a_all, b_all) (+ both queue sides).
    q = torch.cat([cand.za, cand.zb])
    if queue is None and m == n:
        k = q
    else:
        extra = [] if queue is None else [queue.keys_a.to(q), queue.keys_b.to(q)]
        k = torch.cat([cand.za_all, cand.zb_all, *extra])

    def twice(x: Tensor | None, extra: Tensor | None = None) -> Tensor | None:
        return None if x is None else torch.cat([x, x] + ([] if extra is None else [extra, extra]))

    pos2 = None if pos_mask is None else pos_mask.repeat(2, 2)
    neg2 = None if neg_mask is None else neg_mask.repeat(2, 2)
    pos2, neg2 = _with_queue(pos2, neg2, filled, 2)
    masks = Masks(pos_idx=torch.cat([local + m, local]), self_idx=torch.cat([local, local + m]),
                  row_labels=twice(cand.labels), col_labels=twice(cand.labels_all, q_labels),
                  row_groups=twice(cand.groups), col_groups=twice(cand.groups_all, q_groups),
                  pos_mask=pos2, neg_mask=neg2)  # fmt: skip
    return [KernelCall(q, k, False, masks)]


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the world size; a clear error without a process group."""
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError(
            "gather_distributed=True needs an initialised torch.distributed process "
            "group (call torch.distributed.init_process_group first), or use "
            "gather_distributed=False"
        )
    return dist.get_rank(), dist.get_world_size()


def _wait(x: Tensor) -> Tensor:
    wait = getattr(x, "wait", None)
    return wait() if callable(wait) else x  # AsyncCollectiveTensor outside compile


def gather_with_grad(x: Tensor) -> Tensor:
    """``cat`` of ``x`` over the ranks (rank order); the backward sums the gradients.

    Every rank must pass the same shape. The gradient of rank ``r``'s slice is the sum over
    ranks of the gradients they computed for it, so that the mean of the ranks' losses has
    the single-process gradient once DDP averages.
    """
    from torch.distributed import _functional_collectives as fc

    gather = getattr(fc, "all_gather_single_autograd", None) or fc.all_gather_tensor_autograd
    return _wait(gather(x.contiguous(), 0, _world_group()))


def gather_without_grad(x: Tensor) -> Tensor:
    """``cat`` of ``x`` (ids, labels, masks) over the ranks, in rank order."""
    from torch.distributed import _functional_collectives as fc

    gather = getattr(fc, "all_gather_single", None) or fc.all_gather_tensor
    return _wait(gather(x.contiguous(), 0, _world_group()))


def _world_group() -> dist.ProcessGroup:
    group = dist.group.WORLD
    if group is None:
        raise RuntimeError("torch.distributed has no default process group")
    return group
