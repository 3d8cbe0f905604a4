"""Evaluation of frozen encoders: features, linear probe, kNN, few-label curves, scores.

* `extract_features`: an encoder (or one per modality) over a whole tensor of inputs, in eval
  mode, without gradients, in chunks, the previous train/eval modes restored.
* `LinearProbe`: multinomial logistic regression with L2 on standardised features, solved
  full-batch with L-BFGS (``l2="auto"`` picks the strength by cross-validation).
* `KNNClassifier`: the ``exp(similarity / temperature)``-weighted top-k vote on cosine
  similarity, chunked over the queries.
* `few_label_curve` (`FewLabelCurve`): any of them refitted over label fractions and seeds,
  with means, standard deviations and t intervals, as rows or a markdown table.
* `classification_scores` (`ClassificationScores`): accuracy, macro-F1 and the confusion
  matrix, for the papers' tables.

Everything runs on the features' device with torch only.
"""

from mmcontrast.evaluation.features import extract_features
from mmcontrast.evaluation.few_label import (
    Classifier,
    FewLabelCurve,
    FewLabelSummary,
    Metric,
    few_label_curve,
)
from mmcontrast.evaluation.knn import KNNClassifier
from mmcontrast.evaluation.linear_probe import L2_GRID, LinearProbe, LinearProbeInfo
from mmcontrast.evaluation.metrics import ClassificationScores, classification_scores

__all__ = [
    "L2_GRID",
    "ClassificationScores",
    "Classifier",
    "FewLabelCurve",
    "FewLabelSummary",
    "KNNClassifier",
    "LinearProbe",
    "LinearProbeInfo",
    "Metric",
    "classification_scores",
    "extract_features",
    "few_label_curve",
]
