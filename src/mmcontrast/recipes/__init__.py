"""Worked recipes as plain modules and functions (no training framework).

* Stage 1, `ContrastivePretrainer` + `pretrain_step`: shared encoders and
  projection heads trained with any pairwise contrastive loss.
* Single-modality SimCLR, `SimCLRPretrainer`: one encoder and projection head, both
  augmented views in one forward (BatchNorm sees them together).
* Fine-tuning of the hard-negative paper, `concat_classifier`
  (`FineTuneClassifier`): frozen encoders, per-modality ``Linear -> BN -> ReLU``,
  concatenation, linear classifier; ``hidden=None`` gives a linear probe.
* Stage 2 of the project's CLMM-inspired design, `build_two_stage_classifier`
  (`TwoStageClassifier`): frozen shared encoders, trainable modality-specific branches,
  quality-guided attention, bidirectional gated fusion and primary–auxiliary heads. Not from
  the CLMM paper; inferred from Cosmo and the abstract.
* The fast training path: ``autocast_dtype=torch.bfloat16`` of either pre-trainer and
  `prepare_fast_training` (channels-last convolutions, `mmcontrast.encoders.FastDropout`).
* `finetune_step` and `predict` for either stage-2 model; score the predictions with
  `mmcontrast.evaluation.classification_scores`.
"""

from mmcontrast.recipes.fast import prepare_fast_training
from mmcontrast.recipes.fine_tune import FineTuneClassifier, concat_classifier, freeze
from mmcontrast.recipes.simclr import SimCLRPretrainer
from mmcontrast.recipes.steps import classification_loss, finetune_step, predict, pretrain_step
from mmcontrast.recipes.two_stage import (
    ContrastivePretrainer,
    TwoStageClassifier,
    build_two_stage_classifier,
)

__all__ = [
    "ContrastivePretrainer",
    "FineTuneClassifier",
    "SimCLRPretrainer",
    "TwoStageClassifier",
    "build_two_stage_classifier",
    "classification_loss",
    "concat_classifier",
    "finetune_step",
    "freeze",
    "predict",
    "prepare_fast_training",
    "pretrain_step",
]
