"""The one thin base shared by the pairwise contrastive loss modules."""

from __future__ import annotations

from torch import Tensor, nn

from mmcontrast._checks import checking
from mmcontrast.losses._geometry import gather_without_grad
from mmcontrast.losses._pairwise import (
    OPTION_NAMES,
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
from mmcontrast.losses.functional import ContrastiveTerms
from mmcontrast.losses.queue import EmbeddingQueue
from mmcontrast.losses.temperature import LearnableTemperature


class PairwiseContrastiveLoss(nn.Module):
    """Stores validated hyperparameters and calls the functional core.

    Subclasses only choose which hyperparameters a user may set; the math lives in
    `mmcontrast.losses.functional`. Collaborators are injected: a
    `LearnableTemperature` instead of a float, an `EmbeddingQueue` for extra
    negatives (pushed after each training-mode forward). Hyperparameters are checked here,
    inputs at the top of `terms` / `forward`, both with the class name in the message.
    """

    temperature: float | LearnableTemperature
    beta: float
    tau_plus: float
    negatives: Negatives
    clamp: bool
    symmetric: bool
    reduction: Reduction
    label_mode: LabelMode
    chunk_size: int | None
    gather_distributed: bool
    engine: Engine

    def __init__(self, options: PairwiseOptions, *, queue: EmbeddingQueue | None) -> None:
        super().__init__()
        with checking(type(self).__name__):
            checked = options.checked(tensor_temperature=False)
            if queue is not None and not isinstance(queue, EmbeddingQueue):
                raise TypeError(f"queue must be an EmbeddingQueue, got {type(queue).__name__}")
        for option in OPTION_NAMES:
            setattr(self, option, getattr(checked, option))
        self.queue = queue

    def terms(
        self,
        a: Tensor,
        b: Tensor,
        *,
        labels: Tensor | None = None,
        groups: Tensor | None = None,
        pos_mask: Tensor | None = None,
        neg_mask: Tensor | None = None,
    ) -> ContrastiveTerms:
        """Per-anchor loss terms, clamp mask and counts (no reduction; the queue is not pushed).

        Shapes:
            a: ``"b d"``; b: ``"b d"``; labels, groups: ``"b"``; pos_mask, neg_mask: ``"b b"``;
            each output field: ``"(2b)"``, or ``"b"`` for ``negatives="cross",
            symmetric=False``.
        """
        with checking(type(self).__name__):
            batch = self._batch(a, b, labels, groups, pos_mask, neg_mask)
        return ContrastiveTerms(*compute_terms(batch, self._options()))

    def forward(
        self,
        a: Tensor,
        b: Tensor,
        *,
        labels: Tensor | None = None,
        groups: Tensor | None = None,
        pos_mask: Tensor | None = None,
        neg_mask: Tensor | None = None,
        weights: Tensor | None = None,
    ) -> Tensor:
        """The reduced loss; in training mode the batch is then pushed to the queue, if any.

        Shapes:
            a: ``"b d"``; b: ``"b d"``; labels, groups: ``"b"``; pos_mask, neg_mask: ``"b b"``;
            weights: ``"b"`` or ``"(2b)"``; output: ``""``, or ``"(2b)"`` / ``"b"`` with
            ``reduction="none"``.
        """
        options = self._options()
        with checking(type(self).__name__):  # one block for every check of the call
            batch = self._batch(a, b, labels, groups, pos_mask, neg_mask)
            weights = check_weights(weights, num_terms(batch, options))
        terms = compute_terms(batch, options)
        loss = reduce_values(terms.loss, self.reduction, weights, terms.num_positives > 0)
        if self.queue is not None and self.training:
            self._push(a, b, labels, groups)
        return loss

    def _batch(
        self,
        a: Tensor,
        b: Tensor,
        labels: Tensor | None,
        groups: Tensor | None,
        pos_mask: Tensor | None,
        neg_mask: Tensor | None,
    ) -> Batch:
        """`check_batch` with this loss's queue and options; run in the caller's block."""
        return check_batch(
            a, b, labels=labels, groups=groups, pos_mask=pos_mask,
            neg_mask=neg_mask, queue=None if self.queue is None else self.queue.state(),
            gather_distributed=self.gather_distributed,
        )  # fmt: skip

    def _options(self) -> PairwiseOptions:
        return PairwiseOptions(**{option: getattr(self, option) for option in OPTION_NAMES})

    def _push(self, a: Tensor, b: Tensor, labels: Tensor | None, groups: Tensor | None) -> None:
        if self.queue is None:
            return
        if self.gather_distributed:
            # Every rank stores the whole global batch, so the queues stay identical.
            a, b = gather_without_grad(a.detach()), gather_without_grad(b.detach())
            labels = None if labels is None else gather_without_grad(labels)
            groups = None if groups is None else gather_without_grad(groups)
        self.queue.push(a.detach(), b.detach(), labels=labels, groups=groups)

    def _repr_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {option: getattr(self, option) for option in OPTION_NAMES}
        if not isinstance(self.temperature, float):
            fields["temperature"] = "learnable"
        if self.engine == "tiled":
            del fields["engine"]  # the default
        return fields

    def extra_repr(self) -> str:
        """The hyperparameters, as keyword arguments."""
        return ", ".join(f"{key}={value!r}" for key, value in self._repr_fields().items())
