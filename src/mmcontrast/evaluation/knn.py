"""Weighted k-nearest-neighbour classifier on cosine similarity (Wu et al., 2018)."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from einops import einsum
from torch import Tensor
from typing_extensions import Self

from mmcontrast._checks import check_finite_number, check_int, check_optional_int, checking
from mmcontrast.evaluation._validate import check_class_labels, check_features

__all__ = ["KNNClassifier"]

_OWNER = "KNNClassifier"


class _Bank(NamedTuple):
    features: Tensor  # "n d", L2-normalised
    labels: Tensor  # "n", int64
    num_classes: int


class KNNClassifier:
    """Weighted k-nearest-neighbour vote on cosine similarity, the kNN monitor of SSL papers.

    `fit` stores the L2-normalised training features (the bank) and their labels. A query's
    ``k`` most cosine-similar bank entries vote for their labels with weights
    ``exp(similarity / temperature)``, the rule of Wu et al. (2018, "Unsupervised feature
    learning via non-parametric instance discrimination") that lightly's
    ``benchmarking.knn_predict`` and solo-learn use. `predict_proba` returns the votes
    normalised to sum to one (the weights are shifted by each query's best similarity first,
    which changes neither the probabilities nor the ranking but keeps a small ``temperature``
    finite); `predict` takes their argmax, ties going to the lower class index.

    The queries are processed ``chunk_size`` at a time, so only a ``"chunk_size n"`` block of
    similarities exists at once (100k queries against a 100k bank never build the full
    matrix). A ``k`` larger than the bank is clipped to the bank size (every training sample
    votes), so the same classifier runs on small few-label subsets.

    Classes: ``num_classes`` fixes the width of `predict_proba`; with ``None`` it is
    ``labels.max() + 1`` at `fit`. A class without bank entries gets probability 0.

    Args:
        k: neighbours per query, ``>= 1`` (clipped to the bank size).
        temperature: ``> 0``; lower values give the nearest neighbours more weight.
        chunk_size: queries per block of similarities, ``>= 1``.
        num_classes: the number of classes, or ``None`` to infer it from the training labels.

    Shapes:
        features: ``"b d"``; labels: ``"b"``; `predict_proba`: ``"b num_classes"``;
        `predict`: ``"b"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.evaluation import KNNClassifier
        >>> bank = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> knn = KNNClassifier(k=3).fit(bank, torch.tensor([0, 0, 1, 1]))
        >>> knn.predict(torch.tensor([[2.0, 0.3], [0.2, 5.0]]))
        tensor([0, 1])
        >>> knn.predict_proba(torch.tensor([[1.0, 0.2]]))  # "b num_classes"
        tensor([[9.9997e-01, 2.7866e-05]])
        >>> KNNClassifier(k=100).fit(bank, torch.tensor([0, 0, 1, 1]))  # k clipped to 4
        KNNClassifier(k=100, temperature=0.07, chunk_size=256, num_classes=None)
    """

    def __init__(
        self,
        *,
        k: int = 20,
        temperature: float = 0.07,
        chunk_size: int = 256,
        num_classes: int | None = None,
    ) -> None:
        with checking(_OWNER):
            self.k = check_int("k", k, minimum=1)
            self.temperature = check_finite_number(
                "temperature", temperature, low=0.0, low_open=True
            )
            self.chunk_size = check_int("chunk_size", chunk_size, minimum=1)
            self.num_classes = check_optional_int("num_classes", num_classes, minimum=1)
        self._bank: _Bank | None = None

    def fit(self, features: Tensor, labels: Tensor) -> Self:
        """Store the normalised training features and their labels (replacing any bank).

        Args:
            features: training features, finite.
            labels: their class indices, ``>= 0`` (and ``< num_classes`` when given).

        Returns:
            The classifier itself.

        Shapes:
            features: ``"b d"``; labels: ``"b"``.
        """
        with checking(_OWNER):
            x = check_features("features", features)
            y, num_classes = check_class_labels(labels, x, self.num_classes)
        self._bank = _Bank(F.normalize(x.detach(), dim=-1), y.detach().clone(), num_classes)
        return self

    def predict_proba(self, features: Tensor) -> Tensor:
        """The normalised weighted votes of the ``k`` nearest bank entries, in the bank's dtype.

        Shapes:
            features: ``"b d"``; output: ``"b num_classes"``.
        """
        bank = self._fitted()
        with checking(_OWNER):
            x = check_features("features", features, dim=bank.features.shape[1])
        if x.device != bank.features.device:
            raise ValueError(
                f"{_OWNER}: features must be on {bank.features.device} like the fitted bank, "
                f"got {x.device}"
            )
        k = min(self.k, bank.features.shape[0])
        queries = F.normalize(x.detach().to(bank.features.dtype), dim=-1)
        out = []
        for chunk in torch.split(queries, self.chunk_size):
            similarity = einsum(chunk, bank.features, "b d, n d -> b n")
            top, index = similarity.topk(k, dim=-1)  # "b k", sorted: top[:, 0] is the best
            weights = ((top - top[:, :1]) / self.temperature).exp()
            votes = torch.zeros(
                chunk.shape[0], bank.num_classes, dtype=weights.dtype, device=weights.device
            )
            votes.scatter_add_(1, bank.labels[index], weights)
            out.append(votes / votes.sum(dim=-1, keepdim=True))
        return torch.cat(out)

    def predict(self, features: Tensor) -> Tensor:
        """The class of the largest weighted vote (int64); ties go to the lower index.

        Shapes:
            features: ``"b d"``; output: ``"b"``.
        """
        return self.predict_proba(features).argmax(dim=-1)

    def _fitted(self) -> _Bank:
        if self._bank is None:
            raise RuntimeError(f"{_OWNER}: call fit(features, labels) first")
        return self._bank

    def __repr__(self) -> str:
        return (
            f"{_OWNER}(k={self.k}, temperature={self.temperature:g}, "
            f"chunk_size={self.chunk_size}, num_classes={self.num_classes})"
        )
