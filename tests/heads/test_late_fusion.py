from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmcontrast.heads import (
    LateFusionClassifier,
    LateFusionLogits,
    MultimodalClassifier,
    late_fusion_loss,
)
from mmcontrast.recipes import FineTuneClassifier, classification_loss, finetune_step, predict
from tests.helpers import assert_roundtrip, compiled_matches_eager

DIMS = {"inertial": 6, "skeleton": 4}


def _features(batch: int = 5) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {m: torch.randn(batch, d, generator=g) for m, d in DIMS.items()}


def test_each_modality_has_the_concat_head_and_the_fusion_is_the_mean_log_probability() -> None:
    torch.manual_seed(0)
    head = LateFusionClassifier(DIMS, 3, hidden=7).eval()
    torch.manual_seed(0)
    alone = {m: MultimodalClassifier({m: d}, 3, hidden=7).eval() for m, d in DIMS.items()}
    features = _features()
    out = head(features)
    assert isinstance(out, LateFusionLogits) and list(out.per_modality) == list(DIMS)
    for m, classifier in alone.items():  # same construction order: the same initial weights
        torch.testing.assert_close(out.per_modality[m], classifier({m: features[m]}))
    log_probs = [F.log_softmax(z, dim=-1) for z in out.per_modality.values()]
    torch.testing.assert_close(out.fused, (log_probs[0] + log_probs[1]) / 2)
    assert out.fused.shape == (5, 3)


def test_missing_modalities_leave_the_fusion() -> None:
    head = LateFusionClassifier(DIMS, 3).eval()
    features = _features()
    present = {"inertial": torch.tensor([True, False, True, False, True])}
    present["skeleton"] = torch.tensor([True, True, False, False, True])
    out = head(features, present=present)
    log_probs = {m: F.log_softmax(z, dim=-1) for m, z in out.per_modality.items()}
    torch.testing.assert_close(out.fused[1], log_probs["skeleton"][1])
    torch.testing.assert_close(out.fused[2], log_probs["inertial"][2])
    assert torch.equal(out.fused[3], torch.zeros(3))  # nothing present: no preference
    torch.testing.assert_close(
        out.fused[0], (log_probs["inertial"][0] + log_probs["skeleton"][0]) / 2
    )


def test_loss_trains_each_modality_on_its_own_cross_entropy() -> None:
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 3, (5,), generator=g)
    per = {m: torch.randn(5, 3, generator=g, requires_grad=True) for m in DIMS}
    fused = torch.randn(5, 3, generator=g, requires_grad=True)
    logits = LateFusionLogits(fused, per)
    loss = late_fusion_loss(logits, labels)
    expected = F.cross_entropy(per["inertial"], labels) + F.cross_entropy(per["skeleton"], labels)
    torch.testing.assert_close(loss, expected / 2)
    loss.backward()
    assert fused.grad is None  # the fusion takes no part in training
    torch.testing.assert_close(classification_loss(logits, labels), loss.detach())
    present = {"skeleton": torch.tensor([True, True, False, False, False])}
    masked = late_fusion_loss(logits, labels, present=present)
    own = F.cross_entropy(per["skeleton"][:2], labels[:2])
    torch.testing.assert_close(masked, (F.cross_entropy(per["inertial"], labels) + own) / 2)


def test_finetune_step_and_predict_through_fine_tune_classifier() -> None:
    torch.manual_seed(0)
    encoders = {m: nn.Linear(d, d) for m, d in DIMS.items()}
    model = FineTuneClassifier(encoders, LateFusionClassifier(DIMS, 3), freeze_encoders=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    features, labels = _features(8), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    losses = [float(finetune_step(model, features, labels, optimizer)) for _ in range(30)]
    assert losses[-1] < losses[0] / 2
    expected = model.eval()(features).fused.argmax(dim=-1)
    assert torch.equal(predict(model, features), expected)
    for name, p in model.named_parameters():  # every head and encoder learned
        assert not torch.equal(p, initial[name]), name


def test_finetune_step_with_a_missing_modality_trains_only_where_it_is_present() -> None:
    torch.manual_seed(0)
    model = FineTuneClassifier({m: nn.Identity() for m in DIMS}, LateFusionClassifier(DIMS, 3))
    labels = torch.tensor([0, 1, 2, 0, 1])
    present = {"skeleton": torch.zeros(5, dtype=torch.bool)}  # no skeleton in this batch
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    branch = model.head.classifiers["skeleton"]
    before = {name: p.detach().clone() for name, p in branch.named_parameters()}
    loss = finetune_step(model, _features(), labels, optimizer, present=present)
    for name, p in branch.named_parameters():
        assert torch.equal(p, before[name]), name  # its cross-entropy left the loss
    assert float(loss) > 0
    out = model.eval()(_features(), present=present)
    torch.testing.assert_close(out.fused, F.log_softmax(out.per_modality["inertial"], dim=-1))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="^LateFusionClassifier: hidden must be >= 1, got 0"):
        LateFusionClassifier(DIMS, 3, hidden=0)
    with pytest.raises(ValueError, match="^LateFusionClassifier: num_classes must be >= 1"):
        LateFusionClassifier(DIMS, 0)
    with pytest.raises(ValueError, match="^LateFusionClassifier: dropout"):
        LateFusionClassifier(DIMS, 3, dropout=1.5)
    head = LateFusionClassifier(DIMS, 3)
    with pytest.raises(ValueError, match="^LateFusionClassifier: features"):
        head({"inertial": torch.randn(5, 6)})
    logits = head(_features())
    with pytest.raises(TypeError, match="^late_fusion_loss: logits must be LateFusionLogits"):
        late_fusion_loss(logits.fused, torch.zeros(5, dtype=torch.long))  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match='^late_fusion_loss: labels must have shape "b" = \\(5,\\)'
    ):
        late_fusion_loss(logits, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="^late_fusion_loss: logits.per_modality must name"):
        late_fusion_loss(LateFusionLogits(logits.fused, {}), torch.zeros(5, dtype=torch.long))
    wrong = LateFusionLogits(logits.fused, {"inertial": torch.zeros(5, 4)})
    with pytest.raises(ValueError, match=r"^late_fusion_loss: logits.per_modality\['inertial'\]"):
        late_fusion_loss(wrong, torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"^LateFusionClassifier: features\['inertial'\] must"):
        head({"inertial": torch.randn(5, 2, 3), "skeleton": torch.randn(5, 4)})


def test_roundtrip_and_repr() -> None:
    def make() -> LateFusionClassifier:
        return LateFusionClassifier(DIMS, 3)

    assert_roundtrip(make(), make, [_features()])
    assert repr(make()).splitlines()[1] == (
        "  dims={'inertial': 6, 'skeleton': 4}, num_classes=3, hidden=256"
    )


@pytest.mark.compile
def test_compiles_without_graph_breaks() -> None:
    head = LateFusionClassifier(DIMS, 3)
    labels = torch.tensor([0, 1, 2, 0, 1])

    def loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        present = {"skeleton": torch.tensor([True, False, True, True, True])}
        out = head({"inertial": a, "skeleton": b}, present=present)
        return late_fusion_loss(out, labels, present=present) + out.fused.sum()

    features = _features()
    compiled_matches_eager(loss, [features["inertial"], features["skeleton"]])
