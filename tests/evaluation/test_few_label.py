from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import Tensor

from mmcontrast.data import label_fraction_subset
from mmcontrast.evaluation import (
    FewLabelSummary,
    KNNClassifier,
    LinearProbe,
    classification_scores,
    few_label_curve,
)

T_975_2 = 4.302652729749462  # t(0.975, df=2): 95 % interval from 3 seeds


def _split(seed: int = 0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(160) % 4
    features = torch.randn(160, 6, generator=g) + 1.5 * torch.eye(6)[labels]
    return features[:100], labels[:100], features[100:], labels[100:]


def test_matches_a_plain_loop_over_fractions_and_seeds() -> None:
    x, y, x_test, y_test = _split()
    fractions, seeds = (0.1, 0.5, 1.0), (0, 3, 7)
    curve = few_label_curve(
        KNNClassifier(k=5), x, y, x_test, y_test, fractions=fractions, seeds=seeds
    )
    assert curve.fractions == fractions and curve.seeds == seeds
    assert curve.num_labels == (8, 48, 100)  # 25 per class: floor(2.5) = 2, floor(12.5) = 12
    for i, fraction in enumerate(fractions):
        for j, seed in enumerate(seeds):
            subset = torch.from_numpy(label_fraction_subset(y, fraction=fraction, seed=seed))
            predicted = KNNClassifier(k=5).fit(x[subset], y[subset]).predict(x_test)
            scores = classification_scores(predicted, y_test, num_classes=4)
            assert curve.accuracy[i, j] == float(scores.accuracy)
            assert curve.macro_f1[i, j] == float(scores.macro_f1)
    assert curve.accuracy.dtype == torch.float64 and curve.accuracy.shape == (3, 3)


def test_summary_mean_std_and_t_interval() -> None:
    x, y, x_test, y_test = _split(1)
    curve = few_label_curve(KNNClassifier(k=3), x, y, x_test, y_test, fractions=(0.1, 0.25))
    for metric in ("accuracy", "macro_f1"):
        scores = getattr(curve, metric)
        for row, item in zip(scores.tolist(), curve.summary(metric), strict=True):
            mean = sum(row) / 3
            std = math.sqrt(sum((v - mean) ** 2 for v in row) / 2)
            half = T_975_2 * std / math.sqrt(3)
            assert item.mean == pytest.approx(mean) and item.std == pytest.approx(std)
            assert item.low == pytest.approx(max(0.0, mean - half))
            assert item.high == pytest.approx(min(1.0, mean + half))
    item = curve.summary("accuracy", confidence=0.9)[0]
    narrower = 2.919985580353724 * item.std / math.sqrt(3)  # t(0.95, 2)
    assert item.high - item.mean == pytest.approx(min(narrower, 1.0 - item.mean))


def test_interval_is_clipped_to_the_score_range() -> None:
    from mmcontrast.evaluation.few_label import FewLabelCurve

    scores = torch.tensor([[0.9, 1.0, 1.0]], dtype=torch.float64)
    curve = FewLabelCurve((0.1,), (0, 1, 2), (5,), scores, scores)
    (item,) = curve.summary()
    assert item == FewLabelSummary(0.1, 5, pytest.approx(29 / 30), item.std, item.low, 1.0)
    assert item.low == pytest.approx(29 / 30 - T_975_2 * item.std / math.sqrt(3))


def test_rows_and_table() -> None:
    x, y, x_test, y_test = _split(2)
    curve = few_label_curve(KNNClassifier(), x, y, x_test, y_test, fractions=(0.05, 1.0))
    rows = curve.to_rows()
    assert [r["fraction"] for r in rows] == [0.05, 1.0] and rows[1]["num_labels"] == 100
    assert set(rows[0]) == {
        "fraction", "num_labels", "seeds",
        "accuracy_mean", "accuracy_std", "accuracy_low", "accuracy_high",
        "macro_f1_mean", "macro_f1_std", "macro_f1_low", "macro_f1_high",
    }  # fmt: skip
    summary = curve.summary("macro_f1")[0]
    assert rows[0]["macro_f1_mean"] == summary.mean and rows[0]["macro_f1_low"] == summary.low
    lines = curve.as_table().splitlines()
    assert lines[0] == (
        "| label fraction | labels | accuracy (%) | 95 % CI | macro-F1 (%) | 95 % CI |"
    )
    accuracy = curve.summary()[1]
    assert lines[3].startswith(
        f"| 100 % | 100 | {100 * accuracy.mean:.1f} ± {100 * accuracy.std:.1f} | "
    )
    assert len(lines) == 4


def test_one_seed_has_no_spread() -> None:
    x, y, x_test, y_test = _split(3)
    curve = few_label_curve(KNNClassifier(), x, y, x_test, y_test, fractions=(0.5,), seeds=(4,))
    (item,) = curve.summary()
    assert math.isnan(item.std) and math.isnan(item.low) and math.isnan(item.high)
    row = curve.as_table().splitlines()[2]
    assert row == f"| 50 % | 48 | {100 * item.mean:.1f} | – | {row.split(' | ')[4]} | – |"


class _ConcatProbe:
    """A classifier on a mapping of modalities (concatenates them for a LinearProbe)."""

    def __init__(self) -> None:
        self.probe = LinearProbe()
        self.fitted_sizes: list[int] = []

    def fit(self, features: dict[str, Tensor], labels: Tensor) -> None:
        self.fitted_sizes.append(len(labels))
        self.probe.fit(torch.cat([features["inertial"], features["skeleton"]], 1), labels)

    def predict(self, features: dict[str, Tensor]) -> Any:
        joined = torch.cat([features["inertial"], features["skeleton"]], 1)
        return self.probe.predict(joined).numpy()  # anything torch.as_tensor takes


def test_mapping_features_and_a_custom_classifier() -> None:
    x, y, x_test, y_test = _split(4)
    classifier = _ConcatProbe()
    curve = few_label_curve(
        classifier,
        {"inertial": x[:, :3], "skeleton": x[:, 3:]},
        y,
        {"inertial": x_test[:, :3], "skeleton": x_test[:, 3:]},
        y_test,
        fractions=(0.25,),
        seeds=(0, 1),
    )
    assert classifier.fitted_sizes == [24, 24]
    plain = few_label_curve(LinearProbe(), x, y, x_test, y_test, fractions=(0.25,), seeds=(0, 1))
    torch.testing.assert_close(curve.accuracy, plain.accuracy)


def test_a_scikit_learn_estimator() -> None:
    neighbors = pytest.importorskip("sklearn.neighbors")
    x, y, x_test, y_test = _split(5)
    curve = few_label_curve(
        neighbors.KNeighborsClassifier(n_neighbors=1), x, y, x_test, y_test, fractions=(1.0,)
    )
    assert 0.0 < float(curve.accuracy.mean()) <= 1.0


def test_bad_arguments() -> None:
    x, y, x_test, y_test = _split()
    knn = KNNClassifier()
    with pytest.raises(
        TypeError, match="^few_label_curve: classifier must have fit.*got object without fit"
    ):
        few_label_curve(object(), x, y, x_test, y_test)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"^few_label_curve: fractions\[0\] must be in \(0, 1\], got 0"
    ):
        few_label_curve(knn, x, y, x_test, y_test, fractions=(0, 0.5))
    with pytest.raises(
        ValueError, match=r"^few_label_curve: fractions\[1\] must be in \(0, 1\], got 1.5"
    ):
        few_label_curve(knn, x, y, x_test, y_test, fractions=(0.5, 1.5))
    with pytest.raises(
        ValueError, match="^few_label_curve: fractions must hold at least one value"
    ):
        few_label_curve(knn, x, y, x_test, y_test, fractions=())
    with pytest.raises(ValueError, match=r"^few_label_curve: seeds must be distinct, got \[1, 1\]"):
        few_label_curve(knn, x, y, x_test, y_test, seeds=(1, 1))
    with pytest.raises(ValueError, match=r"^few_label_curve: seeds\[0\] must be >= 0, got -1"):
        few_label_curve(knn, x, y, x_test, y_test, seeds=(-1,))
    with pytest.raises(
        ValueError,
        match=r'^few_label_curve: train_labels must have shape "b" with one label per sample '
        r"\(b=100",
    ):
        few_label_curve(knn, x, y[:99], x_test, y_test)
    with pytest.raises(
        TypeError, match="^few_label_curve: test_labels must hold integer class indices"
    ):
        few_label_curve(knn, x, y, x_test, y_test.float())
    with pytest.raises(
        ValueError, match=r"^few_label_curve: labels must lie in \[0, 3\) for num_classes=3"
    ):
        few_label_curve(knn, x, y, x_test, y_test, num_classes=3)
    with pytest.raises(
        ValueError,
        match="^few_label_curve: every modality of train_features must hold the same number",
    ):
        few_label_curve(knn, {"inertial": x, "skeleton": x[:50]}, y, x_test, y_test)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match="^few_label_curve: train_features must be a torch.Tensor or a mapping"
    ):
        few_label_curve(knn, x.tolist(), y, x_test, y_test)  # type: ignore[arg-type]
    curve = few_label_curve(knn, x, y, x_test, y_test, fractions=(1.0,), seeds=(0,))
    with pytest.raises(
        ValueError,
        match="^FewLabelCurve.summary: metric must be one of 'accuracy', 'macro_f1', got 'f1'",
    ):
        curve.summary("f1")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"^FewLabelCurve.summary: confidence must be in \(0, 1\), got 1"
    ):
        curve.summary(confidence=1)


def test_bad_predictions() -> None:
    x, y, x_test, y_test = _split()

    class Short:
        def fit(self, features: Tensor, labels: Tensor) -> None:
            pass

        def predict(self, features: Tensor) -> Tensor:
            return torch.zeros(len(features) - 1, dtype=torch.long)

    class Scores(Short):
        def predict(self, features: Tensor) -> Tensor:
            return torch.zeros(len(features))

    with pytest.raises(
        ValueError,
        match=r'^few_label_curve: classifier.predict must return "b" class indices, one per test '
        r"sample \(60\), got shape \(59,\)",
    ):
        few_label_curve(Short(), x, y, x_test, y_test)
    with pytest.raises(
        TypeError,
        match="^few_label_curve: classifier.predict must return integer class indices, got "
        "torch.float32",
    ):
        few_label_curve(Scores(), x, y, x_test, y_test)


def test_metric_is_exported() -> None:
    from typing import get_args

    from mmcontrast.evaluation import Metric

    assert get_args(Metric) == ("accuracy", "macro_f1")
