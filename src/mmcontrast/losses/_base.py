"""The one thin base shared by the pairwise contrastive loss modules."""

from __future__ import annotations

from torch import Tensor, nn

from mmcontrast._checks import (
    check_bool,
    check_choice,
    check_chunk_size,
    check_finite_number,
    check_temperature,
)
from mmcontrast.losses._reduction import REDUCTIONS, reduce_values
from mmcontrast.losses.functional import (
    LABEL_MODES,
    NEGATIVES,
    ContrastiveTerms,
    LabelMode,
    Negatives,
    Reduction,
    _terms,
)
from mmcontrast.losses.queue import EmbeddingQueue
from mmcontrast.losses.temperature import LearnableTemperature

__all__ = ["PairwiseContrastiveLoss"]


class PairwiseContrastiveLoss(nn.Module):
    """Stores validated hyperparameters and calls the functional core.

    Subclasses only choose which hyperparameters a user may set; the math lives in
    `mmcontrast.losses.functional`. Collaborators are injected: a
    `LearnableTemperature` instead of a float, an `EmbeddingQueue` for extra
    negatives (pushed after each training-mode forward).
    """

    def __init__(
        self,
        *,
        temperature: float | LearnableTemperature,
        beta: float,
        tau_plus: float,
        negatives: Negatives,
        clamp: bool,
        symmetric: bool,
        reduction: Reduction,
        label_mode: LabelMode,
        chunk_size: int | None,
        gather_distributed: bool,
        queue: EmbeddingQueue | None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.temperature: float | LearnableTemperature
        if isinstance(temperature, LearnableTemperature):
            self.temperature = temperature
        else:
            checked = check_temperature(owner, temperature)
            if isinstance(checked, Tensor):
                raise TypeError(
                    f"{owner}: temperature must be a float or a LearnableTemperature; pass a "
                    "tensor to the functional form"
                )
            self.temperature = checked
        self.beta = check_finite_number(owner, "beta", beta, low=0.0)
        self.tau_plus = check_finite_number(owner, "tau_plus", tau_plus, low=0.0, high=1.0)
        self.negatives: Negatives = negatives
        check_choice(owner, "negatives", negatives, NEGATIVES)
        self.clamp = check_bool(owner, "clamp", clamp)
        self.symmetric = check_bool(owner, "symmetric", symmetric)
        if negatives == "all" and not symmetric:
            raise ValueError(
                f"{owner}: symmetric=False is only defined for negatives='cross'; with "
                "negatives='all' every row of cat(a, b) is an anchor"
            )
        self.reduction: Reduction = reduction
        check_choice(owner, "reduction", reduction, REDUCTIONS)
        self.label_mode: LabelMode = label_mode
        check_choice(owner, "label_mode", label_mode, LABEL_MODES)
        self.chunk_size = check_chunk_size(owner, chunk_size)
        self.gather_distributed = check_bool(owner, "gather_distributed", gather_distributed)
        if queue is not None and not isinstance(queue, EmbeddingQueue):
            raise TypeError(f"{owner}: queue must be an EmbeddingQueue, got {type(queue).__name__}")
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
        return _terms(
            a,
            b,
            temperature=self.temperature,
            beta=self.beta,
            tau_plus=self.tau_plus,
            negatives=self.negatives,
            clamp=self.clamp,
            symmetric=self.symmetric,
            labels=labels,
            label_mode=self.label_mode,
            groups=groups,
            pos_mask=pos_mask,
            neg_mask=neg_mask,
            queue=None if self.queue is None else self.queue.state(),
            chunk_size=self.chunk_size,
            gather_distributed=self.gather_distributed,
            owner=type(self).__name__,
        )

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
        terms = self.terms(a, b, labels=labels, groups=groups, pos_mask=pos_mask, neg_mask=neg_mask)
        owner = type(self).__name__
        loss = reduce_values(terms.loss, self.reduction, weights, terms.num_positives > 0, owner)
        if self.queue is not None and self.training:
            self._push(a, b, labels, groups)
        return loss

    def _push(self, a: Tensor, b: Tensor, labels: Tensor | None, groups: Tensor | None) -> None:
        if self.queue is None:
            return
        if self.gather_distributed:
            # Every rank stores the whole global batch, so the queues stay identical.
            from mmcontrast.losses._distributed import gather_without_grad

            a, b = gather_without_grad(a.detach()), gather_without_grad(b.detach())
            labels = None if labels is None else gather_without_grad(labels)
            groups = None if groups is None else gather_without_grad(groups)
        self.queue.push(a.detach(), b.detach(), labels=labels, groups=groups)

    def _repr_fields(self) -> dict[str, object]:
        temperature = self.temperature
        return {
            "temperature": temperature if isinstance(temperature, float) else "learnable",
            "beta": self.beta,
            "tau_plus": self.tau_plus,
            "negatives": self.negatives,
            "clamp": self.clamp,
            "symmetric": self.symmetric,
            "reduction": self.reduction,
            "label_mode": self.label_mode,
            "chunk_size": self.chunk_size,
            "gather_distributed": self.gather_distributed,
        }

    def extra_repr(self) -> str:
        """The hyperparameters, as keyword arguments."""
        return ", ".join(f"{key}={value!r}" for key, value in self._repr_fields().items())
