from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmcontrast.heads import PrimaryAuxiliaryLogits, primary_auxiliary_loss
from mmcontrast.recipes import classification_loss, finetune_step, predict, pretrain_step


class _Scalar(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(2.0))

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return (self.weight * inputs["x"]).square().mean()


class _Classifier(nn.Module):
    def __init__(self, *, auxiliary: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.auxiliary = auxiliary
        self.seen_present: object = "unset"

    def forward(
        self, inputs: dict[str, torch.Tensor], *, present: object = None
    ) -> torch.Tensor | PrimaryAuxiliaryLogits:
        self.seen_present = present
        logits = self.linear(inputs["x"])
        if self.auxiliary:
            return PrimaryAuxiliaryLogits(logits, {"x": 2 * logits})
        return logits


def test_pretrain_step() -> None:
    model = _Scalar()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = {"x": torch.ones(3)}
    loss = pretrain_step(model, x, optimizer)
    assert loss.shape == () and not loss.requires_grad and float(loss) == 4.0
    assert float(model.weight.detach()) == pytest.approx(2.0 - 0.1 * 4.0)  # d(w^2)/dw = 4


def test_classification_loss_dispatches_on_the_output_type() -> None:
    logits = torch.randn(4, 3)
    labels = torch.tensor([0, 1, 2, 0])
    torch.testing.assert_close(classification_loss(logits, labels), F.cross_entropy(logits, labels))
    out = PrimaryAuxiliaryLogits(logits, {"inertial": 2 * logits})
    present = {
        "inertial": torch.tensor([True, False, True, True]),
        "skeleton": torch.ones(4, dtype=torch.bool),
    }
    torch.testing.assert_close(
        classification_loss(out, labels, alpha=0.3, present=present),
        primary_auxiliary_loss(out, labels, alpha=0.3, present={"inertial": present["inertial"]}),
    )
    streams = PrimaryAuxiliaryLogits(logits, {"shared": logits})
    torch.testing.assert_close(
        classification_loss(streams, labels, present=present),
        primary_auxiliary_loss(streams, labels),
    )


def test_finetune_step_and_predict() -> None:
    for auxiliary in (False, True):
        model = _Classifier(auxiliary=auxiliary)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        x = {"x": torch.randn(6, 4)}
        labels = torch.tensor([0, 1, 2, 0, 1, 2])
        present = {"x": torch.ones(6, dtype=torch.bool)}
        first = finetune_step(model, x, labels, optimizer, present=present)
        assert model.seen_present is present
        for _ in range(20):
            last = finetune_step(model, x, labels, optimizer)
        assert float(last) < float(first)
        model.eval()
        predicted = predict(model, x)
        assert not model.training and predicted.dtype == torch.long and predicted.shape == (6,)
        model.train()
        assert torch.equal(predict(model, x), predicted) and model.training
        assert torch.equal(predicted, model.linear(x["x"]).argmax(1))


def test_masks_reach_mask_aware_encoders() -> None:
    from mmcontrast.encoders import CNNTransformerEncoder
    from mmcontrast.losses import InfoNCE
    from mmcontrast.recipes import ContrastivePretrainer, concat_classifier, predict

    torch.manual_seed(0)
    encoders = {
        "inertial": CNNTransformerEncoder(channels=(8, 8, 16), num_layers=1, dropout=0.0),
        "other": CNNTransformerEncoder(
            in_channels=3, channels=(8, 8, 16), num_layers=1, dropout=0.0
        ),
    }
    x = {"inertial": torch.randn(4, 30, 6), "other": torch.randn(4, 30, 3)}
    mask = torch.arange(30)[None, :] < torch.tensor([30, 20, 25, 10])[:, None]
    masks = {"inertial": mask, "other": mask}
    garbage = {m: torch.where(mask[..., None], v, torch.full_like(v, 1e6)) for m, v in x.items()}
    heads = {"inertial": torch.nn.Identity(), "other": torch.nn.Identity()}
    model = ContrastivePretrainer(encoders, heads, InfoNCE())
    model.eval()
    torch.testing.assert_close(model(x, masks=masks), model(garbage, masks=masks))
    assert not torch.allclose(model(x), model(garbage))  # without masks the padding leaks
    classifier = concat_classifier(model.encoders, {"inertial": 16, "other": 16}, 3)
    assert torch.equal(
        predict(classifier, x, masks=masks), predict(classifier, garbage, masks=masks)
    )


def test_mask_errors_name_the_modality() -> None:
    from mmcontrast.losses import InfoNCE
    from mmcontrast.recipes import ContrastivePretrainer

    model = ContrastivePretrainer(
        {"a": torch.nn.Linear(3, 4), "b": torch.nn.Linear(3, 4)},
        {"a": torch.nn.Identity(), "b": torch.nn.Identity()},
        InfoNCE(),
    )
    x = {"a": torch.randn(2, 3), "b": torch.randn(2, 3)}
    with pytest.raises(ValueError, match="masks has the unknown modality 'c'"):
        model(x, masks={"c": torch.ones(2, 3, dtype=torch.bool)})
    with pytest.raises(TypeError, match=r"masks\['a'\] must be a torch.bool tensor"):
        model(x, masks={"a": torch.ones(2, 3)})


def test_queue_criterion_is_refused_for_more_than_two_modalities() -> None:
    from mmcontrast.losses import EmbeddingQueue, InfoNCE
    from mmcontrast.recipes import ContrastivePretrainer

    linear = {m: torch.nn.Linear(3, 4) for m in "abc"}
    with pytest.raises(ValueError, match="EmbeddingQueue cannot serve 3 modalities"):
        ContrastivePretrainer(linear, {m: torch.nn.Identity() for m in "abc"},
                              InfoNCE(queue=EmbeddingQueue(8, 4)))  # fmt: skip
