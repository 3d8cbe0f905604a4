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
    out = PrimaryAuxiliaryLogits(logits, {"imu": 2 * logits})
    present = {
        "imu": torch.tensor([True, False, True, True]),
        "skeleton": torch.ones(4, dtype=torch.bool),
    }
    torch.testing.assert_close(
        classification_loss(out, labels, alpha=0.3, present=present),
        primary_auxiliary_loss(out, labels, alpha=0.3, present={"imu": present["imu"]}),
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
