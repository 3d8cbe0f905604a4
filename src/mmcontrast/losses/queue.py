"""A MoCo-style memory of past paired embeddings, used as extra negatives."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_int, check_labels, check_tensor, checking
from mmcontrast._ops import l2_normalize

__all__ = ["NO_ID", "EmbeddingQueue", "QueueState"]

NO_ID = torch.iinfo(torch.int64).min
"""The label / group stored for entries pushed without one: it never equals a real id."""


class QueueState(NamedTuple):
    """What a loss reads from an `EmbeddingQueue` (``k`` = queue size).

    Attributes:
        keys_a: ``"k d"`` L2-normalised past embeddings of the first modality or view.
        keys_b: ``"k d"`` the paired past embeddings of the second.
        labels: ``"k"`` their labels (``NO_ID`` when pushed without labels).
        groups: ``"k"`` their group ids (``NO_ID`` when pushed without groups).
        filled: ``"k"`` bool: which slots hold an embedding yet.
    """

    keys_a: Tensor
    keys_b: Tensor
    labels: Tensor
    groups: Tensor
    filled: Tensor


class EmbeddingQueue(nn.Module):
    """A fixed-size first-in first-out memory of past (``a``, ``b``) embedding pairs.

    Pass it to a loss (``HardNegativeLoss(queue=EmbeddingQueue(4096, 128))``): the stored
    embeddings become extra negatives for every anchor (``b``-side keys for ``a`` anchors and
    vice versa in the cross-modal geometry, both sides in the SimCLR geometry), and in training
    mode the loss pushes the current batch after computing itself. Labels and group ids are
    stored with the embeddings so that ``labels`` / ``groups`` exclusions (and label positives)
    apply to queue entries too. Everything lives in buffers: it moves with ``.to()``, is saved
    in ``state_dict`` and pushing never synchronises with the host.

    Args:
        size: number of stored pairs.
        dim: embedding dimension.
        device: where to allocate the buffers.
        dtype: dtype of the stored keys (default float32).

    Shapes:
        push: a, b: ``"b d"``; labels, groups: ``"b"``.

    Examples:
        >>> import torch
        >>> queue = EmbeddingQueue(size=6, dim=4)
        >>> queue.push(torch.randn(4, 4), torch.randn(4, 4), labels=torch.arange(4))
        >>> queue.state().filled.tolist()
        [True, True, True, True, False, False]
        >>> queue.push(torch.randn(4, 4), torch.randn(4, 4))  # wraps around
        >>> queue.state().filled.all().item(), int(queue.pointer)
        (True, 2)
    """

    keys_a: Tensor
    keys_b: Tensor
    labels: Tensor
    groups: Tensor
    filled: Tensor
    pointer: Tensor

    def __init__(
        self,
        size: int,
        dim: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("EmbeddingQueue"):
            self.size = check_int("size", size, minimum=1)
            self.dim = check_int("dim", dim, minimum=1)
        kwargs = {"device": device, "dtype": dtype or torch.float32}
        self.register_buffer("keys_a", torch.zeros(size, dim, **kwargs))  # type: ignore[arg-type]
        self.register_buffer("keys_b", torch.zeros(size, dim, **kwargs))  # type: ignore[arg-type]
        self.register_buffer("labels", torch.full((size,), NO_ID, device=device))
        self.register_buffer("groups", torch.full((size,), NO_ID, device=device))
        self.register_buffer("filled", torch.zeros(size, dtype=torch.bool, device=device))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long, device=device))

    def state(self) -> QueueState:
        """The current contents (the buffers themselves; `push` writes into them)."""
        return QueueState(self.keys_a, self.keys_b, self.labels, self.groups, self.filled)

    @torch.no_grad()
    def push(
        self,
        a: Tensor,
        b: Tensor,
        *,
        labels: Tensor | None = None,
        groups: Tensor | None = None,
    ) -> None:
        """Store a batch of pairs (normalised, detached), overwriting the oldest entries."""
        with checking("EmbeddingQueue.push"):
            a = check_tensor("a", a, pattern="b d", sizes={"d": self.dim})
            b = check_tensor("b", b, pattern="b d", sizes={"d": self.dim})
            if a.shape != b.shape:
                raise ValueError(
                    f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
                )
            ids = []
            for name, value in (("labels", labels), ("groups", groups)):
                ids.append(check_labels(value, a.shape[0], a.device, name=name))
        count = min(a.shape[0], self.size)  # a batch larger than the queue keeps its last rows
        index = (self.pointer + torch.arange(count, device=self.pointer.device)) % self.size
        self.keys_a.index_copy_(0, index, l2_normalize(a[-count:], self.keys_a.dtype))
        self.keys_b.index_copy_(0, index, l2_normalize(b[-count:], self.keys_b.dtype))
        for buffer, value in zip((self.labels, self.groups), ids, strict=True):
            fill = (
                torch.full((count,), NO_ID, device=buffer.device)
                if value is None
                else value[-count:].to(buffer)
            )
            buffer.index_copy_(0, index, fill)
        self.filled.index_fill_(0, index, True)
        self.pointer.copy_((self.pointer + count) % self.size)

    def reset(self) -> None:
        """Empty the queue."""
        self.filled.zero_()
        self.pointer.zero_()
        self.labels.fill_(NO_ID)
        self.groups.fill_(NO_ID)

    def extra_repr(self) -> str:
        """Size and dimension."""
        return f"size={self.size}, dim={self.dim}"
