from __future__ import annotations

import pytest
import torch
from torch import nn

from mmcontrast.heads import MultimodalClassifier
from mmcontrast.recipes import FineTuneClassifier, concat_classifier, finetune_step, freeze, predict
from tests.helpers import assert_roundtrip, compiled_matches_eager
from tests.recipes.common import encoders, synthetic

DIMS = {"inertial": 16, "skeleton": 16}


def test_freeze() -> None:
    module = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    assert freeze(module) is module
    assert not module.training and not any(p.requires_grad for p in module.parameters())


def test_frozen_encoders_stay_frozen_and_in_eval_mode() -> None:
    model = concat_classifier(encoders(), DIMS, 3)
    before = {k: v.clone() for k, v in model.encoders.state_dict().items()}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    inputs, labels = synthetic(24, seed=0)
    for _ in range(3):
        finetune_step(model, inputs, labels, optimizer)
    assert model.training and not model.encoders.training
    for key, value in model.encoders.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)  # BN statistics too
    assert all(p.requires_grad for p in model.head.parameters())


def test_fine_tuning_the_encoders() -> None:
    model = concat_classifier(encoders(), DIMS, 3, freeze_encoders=False)
    before = model.encoders["inertial"][1].weight.clone()  # type: ignore[index]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    inputs, labels = synthetic(24, seed=0)
    finetune_step(model, inputs, labels, optimizer)
    assert not torch.equal(model.encoders["inertial"][1].weight, before)  # type: ignore[index]
    assert model.encoders.training


@pytest.mark.parametrize("hidden", [256, None])
def test_learns_the_synthetic_task(hidden: int | None) -> None:
    torch.manual_seed(0)
    model = concat_classifier(encoders(), DIMS, 3, hidden=hidden, freeze_encoders=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    train, train_labels = synthetic(96, seed=1)
    test, test_labels = synthetic(96, seed=2)
    for step in range(24):
        batch = slice((step % 3) * 32, (step % 3 + 1) * 32)
        finetune_step(
            model, {k: v[batch] for k, v in train.items()}, train_labels[batch], optimizer
        )
    accuracy = (predict(model, test) == test_labels).float().mean()
    assert accuracy > 0.9
    assert model.training  # predict restored the mode


def test_missing_modality_placeholders_never_matter() -> None:
    model = concat_classifier(encoders(), DIMS, 3).eval()
    inputs, _ = synthetic(6, seed=0)
    present = {"inertial": torch.tensor([True, False, True, False, True, True])}
    logits = model(inputs, present=present)
    inputs["inertial"][~present["inertial"]] = float("nan")
    torch.testing.assert_close(model(inputs, present=present), logits, rtol=0, atol=0)


def test_bad_inputs_name_the_modality() -> None:
    model = concat_classifier(encoders(), DIMS, 3)
    inputs, _ = synthetic(6, seed=0)
    owner = "FineTuneClassifier"
    with pytest.raises(ValueError, match=f"^{owner}: inputs is missing the modality 'skeleton'"):
        model({"inertial": inputs["inertial"]})
    with pytest.raises(ValueError, match=f"^{owner}: inputs has the unknown modality 'depth'"):
        model({**inputs, "depth": inputs["inertial"]})
    with pytest.raises(ValueError, match=f"^{owner}: every modality in inputs .* 'skeleton'"):
        model({"inertial": inputs["inertial"], "skeleton": inputs["skeleton"][:5]})
    with pytest.raises(TypeError, match=rf"^{owner}: inputs\['inertial'\] must be a torch.Tensor"):
        model({"inertial": [0.0], "skeleton": inputs["skeleton"]})  # type: ignore[dict-item]
    sequence = FineTuneClassifier(
        {"inertial": nn.Identity()}, MultimodalClassifier({"inertial": 3}, 2)
    )
    with pytest.raises(
        ValueError, match=f"^{owner}: the encoder of 'inertial' must return \"b d\""
    ):
        sequence({"inertial": torch.randn(2, 5, 3)})


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="^concat_classifier: dims must name the modalities"):
        concat_classifier(encoders(), {"inertial": 16}, 3)
    with pytest.raises(
        TypeError, match=r"^FineTuneClassifier: encoders\['inertial'\] must be an nn"
    ):
        FineTuneClassifier({"inertial": lambda x: x}, nn.Identity())  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="^FineTuneClassifier: head must be an nn.Module"):
        FineTuneClassifier(encoders(), "head")  # type: ignore[arg-type]


def test_roundtrip() -> None:
    inputs, _ = synthetic(6, seed=0)
    assert_roundtrip(
        concat_classifier(encoders(seed=0), DIMS, 3),
        lambda: concat_classifier(encoders(seed=1), DIMS, 3),
        [inputs],
    )


@pytest.mark.compile
def test_compiles_without_graph_breaks() -> None:
    model = concat_classifier(encoders(), DIMS, 3).eval()
    inputs, _ = synthetic(6, seed=0)
    present = {"skeleton": torch.tensor([True, False, True, True, True, True])}
    compiled_matches_eager(
        lambda a, b: model({"inertial": a, "skeleton": b}, present=present),
        [inputs["inertial"], inputs["skeleton"]],
    )


def test_parameter_groups_give_the_encoders_a_smaller_rate() -> None:
    model = concat_classifier(encoders(), DIMS, 3, freeze_encoders=False)
    head, encoder = model.parameter_groups(1e-3, encoder_scale=0.25)
    assert head["lr"] == 1e-3 and encoder["lr"] == 2.5e-4
    assert {id(p) for p in encoder["params"]} == {id(p) for p in model.encoders.parameters()}
    assert {id(p) for p in head["params"]} == {id(p) for p in model.head.parameters()}
    # One step of Adam moves each group by about its own rate.
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.Adam(model.parameter_groups(1e-3, encoder_scale=0.25))
    inputs, labels = synthetic(24, seed=0)
    finetune_step(model, inputs, labels, optimizer)
    moved = {
        id(p): (p.detach() - b).abs().max().item()
        for p, b in zip(model.parameters(), before, strict=True)
    }
    assert max(moved[id(p)] for p in encoder["params"]) <= 2.5e-4 * 1.01
    assert max(moved[id(p)] for p in head["params"]) > 2.5e-4 * 1.01


def test_parameter_groups_leave_frozen_encoders_out() -> None:
    model = concat_classifier(encoders(), DIMS, 3)
    groups = model.parameter_groups(1e-3)
    assert len(groups) == 1
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.head.parameters()}
    with pytest.raises(ValueError, match="lr"):
        model.parameter_groups(0.0)
    with pytest.raises(ValueError, match="encoder_scale"):
        model.parameter_groups(1e-3, encoder_scale=-1.0)
