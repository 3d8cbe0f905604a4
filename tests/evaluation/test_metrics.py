from __future__ import annotations

import pytest
import torch

from mmcontrast.evaluation import ClassificationScores, classification_scores


def _reference(predicted: list[int], target: list[int], num_classes: int) -> tuple[float, float]:
    """Accuracy and macro-F1 from the definitions, one class at a time."""
    accuracy = sum(p == t for p, t in zip(predicted, target, strict=True)) / len(target)
    scores = []
    for c in range(num_classes):
        tp = sum(p == c and t == c for p, t in zip(predicted, target, strict=True))
        fp = sum(p == c and t != c for p, t in zip(predicted, target, strict=True))
        fn = sum(p != c and t == c for p, t in zip(predicted, target, strict=True))
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return accuracy, sum(scores) / len(scores)


@pytest.mark.parametrize("seed", range(5))
def test_matches_the_definition(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    k = 7
    target = torch.randint(0, k - 1, (40,), generator=g)  # class k - 1 never occurs
    predicted = torch.where(torch.rand(40, generator=g) < 0.6, target, torch.randint(0, k, (40,)))
    scores = classification_scores(predicted, target, num_classes=k)
    accuracy, macro_f1 = _reference(predicted.tolist(), target.tolist(), k)
    assert isinstance(scores, ClassificationScores)
    assert float(scores.accuracy) == pytest.approx(accuracy, abs=1e-6)
    assert float(scores.macro_f1) == pytest.approx(macro_f1, abs=1e-6)
    assert scores.confusion.shape == (k, k) and int(scores.confusion.sum()) == 40
    assert torch.equal(scores.confusion.sum(1), torch.bincount(target, minlength=k))
    assert torch.equal(scores.confusion.sum(0), torch.bincount(predicted, minlength=k))


def test_matches_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    g = torch.Generator().manual_seed(3)
    target = torch.randint(0, 5, (60,), generator=g)
    predicted = torch.randint(0, 6, (60,), generator=g)
    scores = classification_scores(predicted, target, num_classes=6)
    assert float(scores.accuracy) == pytest.approx(metrics.accuracy_score(target, predicted))
    expected = metrics.f1_score(target, predicted, average="macro")
    assert float(scores.macro_f1) == pytest.approx(expected, abs=1e-6)


def test_perfect_and_wrong_predictions() -> None:
    labels = torch.tensor([0, 1, 2, 2])
    perfect = classification_scores(labels, labels, num_classes=3)
    assert float(perfect.accuracy) == 1.0 and float(perfect.macro_f1) == 1.0
    wrong = classification_scores((labels + 1) % 3, labels, num_classes=3)
    assert float(wrong.accuracy) == 0.0 and float(wrong.macro_f1) == 0.0
    assert perfect.accuracy.dtype == torch.get_default_dtype()


def test_bad_inputs() -> None:
    good = torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 2\).*\[2\]"):
        classification_scores(torch.tensor([0, 2]), good, num_classes=2)
    with pytest.raises(ValueError, match=r"\[-1\]"):
        classification_scores(good, torch.tensor([-1, 0]), num_classes=2)
    with pytest.raises(ValueError, match="equal length"):
        classification_scores(good, torch.tensor([0]), num_classes=2)
    with pytest.raises(ValueError, match="non-empty"):
        empty = torch.zeros(0, dtype=torch.long)
        classification_scores(empty, empty, num_classes=2)
    with pytest.raises(TypeError, match="integer class indices"):
        classification_scores(good.float(), good, num_classes=2)
    with pytest.raises(TypeError, match="torch.Tensor"):
        classification_scores([0, 1], good, num_classes=2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='shape "n"'):
        classification_scores(good[None], good[None], num_classes=2)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        classification_scores(good, good, num_classes=0)
