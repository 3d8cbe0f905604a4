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
from mmcontrast.losses.functional import (
    NEGATIVES,
    REDUCTIONS,
    ContrastiveTerms,
    Negatives,
    Reduction,
    contrastive_terms,
    reduce_terms,
)

__all__ = ["PairwiseContrastiveLoss"]


class PairwiseContrastiveLoss(nn.Module):
    """Stores validated hyperparameters and calls :func:`contrastive_terms`.

    Subclasses only choose which hyperparameters a user may set; the math lives in
    :mod:`mmcontrast.losses.functional`.
    """

    def __init__(
        self,
        *,
        temperature: float,
        beta: float,
        tau_plus: float,
        negatives: Negatives,
        clamp: bool,
        symmetric: bool,
        reduction: Reduction,
        chunk_size: int | None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        checked = check_temperature(owner, temperature)
        if isinstance(checked, Tensor):
            raise TypeError(
                f"{owner}: temperature must be a float; pass a tensor to the functional form"
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
        self.chunk_size = check_chunk_size(owner, chunk_size)

    def terms(self, a: Tensor, b: Tensor, *, labels: Tensor | None = None) -> ContrastiveTerms:
        """Per-anchor loss terms, clamp mask and negative counts (no reduction).

        Shapes:
            a: ``"b d"``; b: ``"b d"``; labels: ``"b"``; each output field: ``"(2b)"``, or
            ``"b"`` for ``negatives="cross", symmetric=False``.
        """
        return contrastive_terms(
            a,
            b,
            temperature=self.temperature,
            beta=self.beta,
            tau_plus=self.tau_plus,
            negatives=self.negatives,
            clamp=self.clamp,
            symmetric=self.symmetric,
            labels=labels,
            chunk_size=self.chunk_size,
            owner=type(self).__name__,
        )

    def forward(self, a: Tensor, b: Tensor, *, labels: Tensor | None = None) -> Tensor:
        """The reduced loss.

        Shapes:
            a: ``"b d"``; b: ``"b d"``; labels: ``"b"``; output: ``""``, or ``"(2b)"`` /
            ``"b"`` with ``reduction="none"``.
        """
        return reduce_terms(self.terms(a, b, labels=labels).loss, self.reduction)

    def _repr_fields(self) -> dict[str, object]:
        return {
            "temperature": self.temperature,
            "beta": self.beta,
            "tau_plus": self.tau_plus,
            "negatives": self.negatives,
            "clamp": self.clamp,
            "symmetric": self.symmetric,
            "reduction": self.reduction,
            "chunk_size": self.chunk_size,
        }

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value!r}" for key, value in self._repr_fields().items())
