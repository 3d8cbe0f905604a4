"""Few-label curves: scores over label fractions and seeds, with means, stds and t intervals."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

import torch
from torch import Tensor

from mmcontrast._checks import (
    check_choice,
    check_finite_number,
    check_fraction,
    check_int,
    check_optional_int,
    checking,
)
from mmcontrast.data import label_fraction_subset
from mmcontrast.evaluation._stats import mean_interval
from mmcontrast.evaluation.metrics import classification_scores

__all__ = ["Classifier", "FewLabelCurve", "FewLabelSummary", "Metric", "few_label_curve"]

_OWNER = "few_label_curve"
Metric = Literal["accuracy", "macro_f1"]
"""The score that `FewLabelCurve.summary` summarises: ``"accuracy"`` or ``"macro_f1"``."""
_METRICS: tuple[Metric, ...] = ("accuracy", "macro_f1")
_TITLES = {"accuracy": "accuracy", "macro_f1": "macro-F1"}


class Classifier(Protocol):
    """What `few_label_curve` needs: `LinearProbe`, `KNNClassifier` or your own.

    ``fit`` must start from scratch on every call (the same object is refitted for every
    fraction and seed); ``predict`` returns class indices as a tensor or anything
    `torch.as_tensor` takes (a scikit-learn estimator works on CPU tensors).
    """

    def fit(self, features: Any, labels: Tensor) -> object:
        """Fit on ``features`` (a tensor, or a mapping of them) and their labels."""

    def predict(self, features: Any) -> Any:
        """Class indices ``"b"``."""


class FewLabelSummary(NamedTuple):
    """One label fraction of a `FewLabelCurve`, for one metric, over the seeds.

    Attributes:
        fraction: the label fraction.
        num_labels: the labelled training samples it keeps (the same for every seed).
        mean: the mean score over the seeds.
        std: the sample standard deviation (``n - 1``); NaN for one seed.
        low: lower end of the two-sided t interval of the mean, clipped at 0; NaN for one
            seed.
        high: upper end of that interval, clipped at 1; NaN for one seed.
    """

    fraction: float
    num_labels: int
    mean: float
    std: float
    low: float
    high: float


@dataclass(frozen=True)
class FewLabelCurve:
    """Scores of one classifier over label fractions and seeds (from `few_label_curve`).

    The interval of a fraction is ``mean ± t(0.5 + confidence / 2, s - 1) * std / sqrt(s)``
    over its ``s`` seeds (Student's t, ``df = s - 1``), clipped to ``[0, 1]``, the range of
    the scores: with 3 seeds the 95 % half-width is 4.30 standard errors. It describes the
    spread over label subsets and classifier runs for this one set of features, not over
    pre-training runs.

    Attributes:
        fractions: the label fractions, in the order given.
        seeds: the subset seeds, in the order given.
        num_labels: the labelled training samples each fraction keeps.
        accuracy: test accuracy, ``(len(fractions), len(seeds))``, float64.
        macro_f1: test macro-F1 (see `classification_scores`), same layout.
    """

    fractions: tuple[float, ...]
    seeds: tuple[int, ...]
    num_labels: tuple[int, ...]
    accuracy: Tensor
    macro_f1: Tensor

    def summary(
        self, metric: Metric = "accuracy", *, confidence: float = 0.95
    ) -> list[FewLabelSummary]:
        """Mean, std and interval of ``metric`` per fraction, in the order of ``fractions``."""
        with checking("FewLabelCurve.summary"):
            check_choice("metric", metric, _METRICS)
            level = check_finite_number("confidence", confidence, low=0.0, high=1.0, low_open=True)
        scores = self.accuracy if metric == "accuracy" else self.macro_f1
        out = []
        for fraction, count, row in zip(self.fractions, self.num_labels, scores, strict=True):
            mean, std, low, high = mean_interval(row.tolist(), level)
            # NaN (one seed) passes through max/min unchanged only as the first argument.
            low, high = max(low, 0.0), min(high, 1.0)
            out.append(FewLabelSummary(fraction, count, mean, std, low, high))
        return out

    def to_rows(self, *, confidence: float = 0.95) -> list[dict[str, float]]:
        """One flat dict per fraction, both metrics (for `csv.DictWriter`, JSON, pandas).

        Keys: ``fraction``, ``num_labels``, ``seeds`` and, for ``accuracy`` and
        ``macro_f1``, ``<metric>_mean``, ``_std``, ``_low`` and ``_high``.
        """
        rows: list[dict[str, float]] = [
            {"fraction": f, "num_labels": n, "seeds": len(self.seeds)}
            for f, n in zip(self.fractions, self.num_labels, strict=True)
        ]
        for metric in _METRICS:
            for row, item in zip(rows, self.summary(metric, confidence=confidence), strict=True):
                row.update(
                    {
                        f"{metric}_mean": item.mean,
                        f"{metric}_std": item.std,
                        f"{metric}_low": item.low,
                        f"{metric}_high": item.high,
                    }
                )
        return rows

    def as_table(self, *, confidence: float = 0.95) -> str:
        """A markdown table: per fraction, both metrics in % as mean ± std and the interval."""
        level = f"{100 * confidence:g} % CI"
        header = ["label fraction", "labels"]
        for metric in _METRICS:
            header += [f"{_TITLES[metric]} (%)", level]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        summaries = [self.summary(metric, confidence=confidence) for metric in _METRICS]
        for index, fraction in enumerate(self.fractions):
            cells = [f"{100 * fraction:g} %", str(self.num_labels[index])]
            for per_metric in summaries:
                item = per_metric[index]
                spread = "" if math.isnan(item.std) else f" ± {100 * item.std:.1f}"
                interval = (
                    "–"
                    if math.isnan(item.low)
                    else f"[{100 * item.low:.1f}, {100 * item.high:.1f}]"
                )
                cells += [f"{100 * item.mean:.1f}{spread}", interval]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def few_label_curve(
    classifier: Classifier,
    train_features: Tensor | Mapping[str, Tensor],
    train_labels: Tensor,
    test_features: Tensor | Mapping[str, Tensor],
    test_labels: Tensor,
    *,
    fractions: Sequence[float] = (0.05, 0.1, 0.25, 0.5, 1.0),
    seeds: Sequence[int] = (0, 1, 2),
    num_classes: int | None = None,
) -> FewLabelCurve:
    """Fit and score a classifier on stratified label subsets, over fractions and seeds.

    For every fraction and seed, `mmcontrast.data.label_fraction_subset` keeps
    ``max(1, floor(fraction * n_c))`` training samples of every class ``c`` (nested subsets for
    one seed), ``classifier.fit`` runs on them, ``classifier.predict`` on the whole test side,
    and `classification_scores` gives the accuracy and macro-F1. ``classifier`` is any object
    with ``fit(features, labels)`` and ``predict(features)``, refitted from scratch each time:
    a `LinearProbe` or a `KNNClassifier` directly. The features may also be mappings from
    modality name to tensor (for a classifier that takes several modalities); the training
    subset then indexes every modality.

    Args:
        classifier: the classifier to refit.
        train_features: the labelled side's features (or inputs).
        train_labels: their class indices.
        test_features: the test side's features.
        test_labels: their class indices.
        fractions: label fractions, each in ``(0, 1]``.
        seeds: subset seeds, each ``>= 0``; several give the std and the interval.
        num_classes: classes scored; ``None`` means ``max(labels) + 1`` over both sides.

    Returns:
        `FewLabelCurve`, with `FewLabelCurve.as_table` and `FewLabelCurve.to_rows`.

    Shapes:
        train_features: ``"b d"`` (or a mapping of ``"b ..."``); train_labels: ``"b"``;
        test_features and test_labels likewise with their own ``b``.

    Examples:
        >>> import torch
        >>> from mmcontrast.evaluation import KNNClassifier, LinearProbe, few_label_curve
        >>> g = torch.Generator().manual_seed(0)
        >>> labels = torch.arange(400) % 4
        >>> features = torch.randn(400, 8, generator=g) + 3.0 * torch.eye(8)[labels]
        >>> curve = few_label_curve(
        ...     LinearProbe(), features[:200], labels[:200], features[200:], labels[200:],
        ...     fractions=(0.1, 1.0))
        >>> curve.num_labels, tuple(curve.accuracy.shape)  # fractions x seeds
        ((20, 200), (2, 3))
        >>> print(curve.as_table())
        | label fraction | labels | accuracy (%) | 95 % CI | macro-F1 (%) | 95 % CI |
        |---|---|---|---|---|---|
        | 10 % | 20 | 88.7 ± 0.6 | [87.2, 90.1] | 88.7 ± 0.6 | [87.1, 90.3] |
        | 100 % | 200 | 95.0 ± 0.0 | [95.0, 95.0] | 95.0 ± 0.0 | [95.0, 95.0] |
        >>> knn = few_label_curve(KNNClassifier(k=10), features[:200], labels[:200],
        ...                       features[200:], labels[200:], seeds=(0,))
        >>> knn.summary("accuracy")[-1].std  # one seed: no spread to estimate
        nan
    """
    for method in ("fit", "predict"):
        if not callable(getattr(classifier, method, None)):
            raise TypeError(
                f"{_OWNER}: classifier must have fit(features, labels) and predict(features) "
                f"methods, got {type(classifier).__name__} without {method}"
            )
    train_y = _check_labels("train_labels", train_labels, _length("train_features", train_features))
    test_y = _check_labels("test_labels", test_labels, _length("test_features", test_features))
    fraction_values = _check_fractions(fractions)
    seed_values = _check_seeds(seeds)
    with checking(_OWNER):
        k = check_optional_int("num_classes", num_classes, minimum=1)
    highest = max(int(train_y.max()), int(test_y.max()))
    if k is None:
        k = highest + 1
    elif highest >= k:
        raise ValueError(
            f"{_OWNER}: labels must lie in [0, {k}) for num_classes={k}, got the maximum {highest}"
        )
    accuracy = torch.zeros(len(fraction_values), len(seed_values), dtype=torch.float64)
    macro_f1 = torch.zeros_like(accuracy)
    counts: list[int] = []
    for i, fraction in enumerate(fraction_values):
        for j, seed in enumerate(seed_values):
            positions = label_fraction_subset(train_y, fraction=fraction, seed=seed)
            index = torch.from_numpy(positions).to(train_y.device)
            if j == 0:
                counts.append(len(positions))
            classifier.fit(_take(train_features, index), train_y[index])
            predicted = _as_predictions(classifier.predict(test_features), test_y)
            scores = classification_scores(predicted, test_y, num_classes=k)
            accuracy[i, j] = float(scores.accuracy)
            macro_f1[i, j] = float(scores.macro_f1)
    return FewLabelCurve(fraction_values, seed_values, tuple(counts), accuracy, macro_f1)


def _length(name: str, features: object) -> int:
    if isinstance(features, Tensor):
        if features.ndim == 0:
            raise ValueError(f'{_OWNER}: {name} must have shape "b ...", got a 0-d tensor')
        return features.shape[0]
    if isinstance(features, Mapping):
        if len(features) == 0:
            raise ValueError(f"{_OWNER}: {name} must name at least one modality, got {{}}")
        lengths = {}
        for modality, x in features.items():
            if not isinstance(x, Tensor) or x.ndim == 0:
                got = type(x).__name__ if not isinstance(x, Tensor) else "a 0-d tensor"
                raise TypeError(
                    f'{_OWNER}: {name}[{modality!r}] must be a "b ..." tensor, got {got}'
                )
            lengths[modality] = x.shape[0]
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"{_OWNER}: every modality of {name} must hold the same number of samples, got "
                f"{lengths}"
            )
        return next(iter(lengths.values()))
    raise TypeError(
        f"{_OWNER}: {name} must be a torch.Tensor or a mapping from modality name to tensor, "
        f"got {type(features).__name__}"
    )


def _check_labels(name: str, labels: object, length: int) -> Tensor:
    if not isinstance(labels, Tensor):
        raise TypeError(f"{_OWNER}: {name} must be a torch.Tensor, got {type(labels).__name__}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"{_OWNER}: {name} must hold integer class indices, got {labels.dtype}")
    if labels.ndim != 1 or labels.shape[0] != length or length == 0:
        raise ValueError(
            f'{_OWNER}: {name} must have shape "b" with one label per sample (b={length} '
            f"samples, at least one), got {tuple(labels.shape)}"
        )
    if int(labels.min()) < 0:
        raise ValueError(
            f"{_OWNER}: {name} must be class indices >= 0, got the minimum {int(labels.min())}"
        )
    return labels.long()


def _check_fractions(fractions: object) -> tuple[float, ...]:
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, Sequence):
        raise TypeError(
            f"{_OWNER}: fractions must be a sequence of numbers, got {type(fractions).__name__}"
        )
    if len(fractions) == 0:
        raise ValueError(f"{_OWNER}: fractions must hold at least one value, got {fractions!r}")
    with checking(_OWNER):
        return tuple(check_fraction(f"fractions[{i}]", f) for i, f in enumerate(fractions))


def _check_seeds(seeds: object) -> tuple[int, ...]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence):
        raise TypeError(f"{_OWNER}: seeds must be a sequence of ints, got {type(seeds).__name__}")
    if len(seeds) == 0:
        raise ValueError(f"{_OWNER}: seeds must hold at least one seed, got {seeds!r}")
    with checking(_OWNER):
        values = tuple(check_int(f"seeds[{i}]", s, minimum=0) for i, s in enumerate(seeds))
    if len(set(values)) != len(values):
        raise ValueError(f"{_OWNER}: seeds must be distinct, got {list(values)}")
    return values


def _take(features: Tensor | Mapping[str, Tensor], index: Tensor) -> Tensor | dict[str, Tensor]:
    if isinstance(features, Tensor):
        return features[index.to(features.device)]
    return {m: x[index.to(x.device)] for m, x in features.items()}


def _as_predictions(predicted: object, target: Tensor) -> Tensor:
    try:
        values = torch.as_tensor(predicted)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(
            f"{_OWNER}: classifier.predict must return class indices, got "
            f"{type(predicted).__name__}"
        ) from error
    if values.ndim != 1 or values.shape[0] != target.shape[0]:
        raise ValueError(
            f'{_OWNER}: classifier.predict must return "b" class indices, one per test sample '
            f"({target.shape[0]}), got shape {tuple(values.shape)}"
        )
    if values.is_floating_point() or values.is_complex() or values.dtype == torch.bool:
        raise TypeError(
            f"{_OWNER}: classifier.predict must return integer class indices, got {values.dtype}"
        )
    return values.to(device=target.device, dtype=torch.long)
