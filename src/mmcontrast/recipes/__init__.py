"""Worked recipes as plain modules and functions (no training framework).

* Stage 1, `ContrastivePretrainer` + `pretrain_step`: shared encoders and
  projection heads trained with any pairwise contrastive loss.
* Fine-tuning of the hard-negative paper, `concat_classifier`
  (`FineTuneClassifier`): frozen encoders, per-modality ``Linear -> BN -> ReLU``,
  concatenation, linear classifier; ``hidden=None`` gives a linear probe.
* Stage 2 of the project's CLMM-inspired design, `build_two_stage_classifier`
  (`TwoStageClassifier`): frozen shared encoders, trainable modality-specific branches,
  quality-guided attention, bidirectional gated fusion and primary–auxiliary heads. Not from
  the CLMM paper; inferred from Cosmo and the abstract.
* `finetune_step` and `predict` for either stage-2 model; `classification_scores`
  (accuracy, macro-F1, confusion matrix) for the papers' tables.
"""

from mmcontrast.recipes.fine_tune import FineTuneClassifier, concat_classifier, freeze
from mmcontrast.recipes.metrics import ClassificationScores, classification_scores
from mmcontrast.recipes.simclr import SimCLRPretrainer
from mmcontrast.recipes.steps import classification_loss, finetune_step, predict, pretrain_step
from mmcontrast.recipes.two_stage import (
    ContrastivePretrainer,
    TwoStageClassifier,
    build_two_stage_classifier,
)

__all__ = [
    "ClassificationScores",
    "ContrastivePretrainer",
    "FineTuneClassifier",
    "SimCLRPretrainer",
    "TwoStageClassifier",
    "build_two_stage_classifier",
    "classification_loss",
    "classification_scores",
    "concat_classifier",
    "finetune_step",
    "freeze",
    "predict",
    "pretrain_step",
]
