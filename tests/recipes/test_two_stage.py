from __future__ import annotations

import copy
from itertools import combinations

import pytest
import torch
from torch import nn

from mmcontrast.fusion import (
    BidirectionalGRUFusion,
    GatedMultimodalUnitFusion,
    QualityGuidedAttention,
)
from mmcontrast.heads import PrimaryAuxiliaryHead, ProjectionHead
from mmcontrast.losses import HardNegativeLoss, InfoNCE
from mmcontrast.recipes import (
    ContrastivePretrainer,
    TwoStageClassifier,
    build_two_stage_classifier,
    finetune_step,
    freeze,
    predict,
    pretrain_step,
)
from tests.helpers import assert_roundtrip, compiled_matches_eager
from tests.recipes.common import encoders, synthetic

DIMS = {"inertial": 16, "skeleton": 16}
PRESENT = {"inertial": torch.tensor([True, False, True, False, True, True])}


def _pretrainer(seed: int = 0) -> ContrastivePretrainer:
    torch.manual_seed(seed)
    heads = {m: ProjectionHead(16, hidden_features=(16,), out_features=8) for m in DIMS}
    return ContrastivePretrainer(encoders(seed=seed), heads, InfoNCE(temperature=0.2))


def test_pretrainer_loss_is_the_criterion_on_the_projections() -> None:
    model = _pretrainer().eval()
    inputs, _ = synthetic(8, seed=0)
    z = {m: model.projections[m](model.encoders[m](x)) for m, x in inputs.items()}
    torch.testing.assert_close(
        model(inputs), InfoNCE(temperature=0.2)(z["inertial"], z["skeleton"])
    )
    assert list(model.embed(inputs)) == ["inertial", "skeleton"]


def test_pretrainer_averages_the_pairs_of_three_views() -> None:
    def criterion(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a - b).square().mean()

    views = {m: nn.Linear(3, 2) for m in ("a", "b", "c")}
    model = ContrastivePretrainer(views, {m: nn.Identity() for m in views}, criterion)
    x = {m: torch.randn(4, 3) for m in views}
    z = {m: views[m](x[m]) for m in views}
    expected = torch.stack([criterion(z[p], z[q]) for p, q in combinations("abc", 2)]).mean()
    torch.testing.assert_close(model(x), expected)


def test_stage_one_lowers_the_contrastive_loss() -> None:
    model = _pretrainer()
    model.criterion = HardNegativeLoss(temperature=0.2, beta=1.0, tau_plus=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    inputs, _ = synthetic(32, seed=0)
    losses = [float(pretrain_step(model, inputs, optimizer)) for _ in range(15)]
    assert sum(losses[-3:]) < 0.8 * sum(losses[:3])


def test_pretrainer_bad_arguments() -> None:
    owner = "ContrastivePretrainer"
    with pytest.raises(ValueError, match=f"^{owner}: projections must name the modalities"):
        ContrastivePretrainer(encoders(), {"inertial": nn.Identity()}, InfoNCE())
    with pytest.raises(ValueError, match=f"^{owner}: contrastive pre-training needs at least two"):
        ContrastivePretrainer({"inertial": nn.Identity()}, {"inertial": nn.Identity()}, InfoNCE())
    with pytest.raises(TypeError, match=f"^{owner}: criterion must be callable"):
        ContrastivePretrainer(encoders(), {m: nn.Identity() for m in DIMS}, 0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("gate", [BidirectionalGRUFusion, GatedMultimodalUnitFusion])
@pytest.mark.parametrize("auxiliary", ["streams", "modalities"])
def test_stage_two_shapes(gate: type[nn.Module], auxiliary: str) -> None:
    model = build_two_stage_classifier(
        encoders(),
        DIMS,
        3,
        hidden=8,
        gate=gate,  # type: ignore[arg-type]
        auxiliary=auxiliary,  # type: ignore[arg-type]
    )
    inputs, _ = synthetic(6, seed=0)
    out = model(inputs, present=PRESENT)
    assert out.primary.shape == (6, 3)
    names = ["shared", "specific"] if auxiliary == "streams" else ["inertial", "skeleton"]
    assert list(out.auxiliary) == names
    assert all(v.shape == (6, 3) for v in out.auxiliary.values())


def test_branches_with_tokens() -> None:
    class Tokens(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.linear = nn.Linear(channels, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x.flatten(2))  # "b t ..." -> "b t d"

    branches = {"inertial": Tokens(3), "skeleton": Tokens(12)}
    model = build_two_stage_classifier(
        encoders(), DIMS, 3, branches=branches, branch_dims={"inertial": 8, "skeleton": 8}, hidden=8
    )
    inputs, _ = synthetic(6, seed=0)
    assert model(inputs, present=PRESENT).primary.shape == (6, 3)


def test_stage_two_trains_only_the_specific_parts() -> None:
    torch.manual_seed(0)
    model = build_two_stage_classifier(encoders(), DIMS, 3, hidden=8)
    frozen = copy.deepcopy(model.shared.state_dict())
    trainable = {n: p.clone() for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and not any(n.startswith("shared.") for n in trainable)
    optimizer = torch.optim.Adam(model.parameter_groups(1e-2))
    inputs, labels = synthetic(6, seed=0)
    finetune_step(model, inputs, labels, optimizer, alpha=0.5, present=PRESENT)
    assert model.training and not model.shared.training
    for key, value in model.shared.state_dict().items():
        torch.testing.assert_close(value, frozen[key], rtol=0, atol=0)  # incl. BN statistics
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            assert not torch.equal(parameter, trainable[name]), name


def test_branches_copied_from_frozen_encoders_are_trainable() -> None:
    shared = {m: freeze(e) for m, e in encoders().items()}
    model = build_two_stage_classifier(shared, DIMS, 3, hidden=8)
    assert all(p.requires_grad for p in model.branches.parameters())
    assert not any(p.requires_grad for p in model.shared.parameters())
    assert model.branches["inertial"] is not model.shared["inertial"]
    model.train()
    assert model.branches.training and not model.shared.training


def test_gradients_reach_every_trainable_parameter() -> None:
    for auxiliary in ("streams", "modalities"):
        model = build_two_stage_classifier(encoders(), DIMS, 3, hidden=8, auxiliary=auxiliary)  # type: ignore[arg-type]
        inputs, _ = synthetic(6, seed=0)
        out = model(inputs, present=PRESENT)
        (
            out.primary.square().sum() + sum(v.square().sum() for v in out.auxiliary.values())
        ).backward()
        for name, parameter in model.named_parameters():
            if parameter.requires_grad:
                assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
            else:
                assert parameter.grad is None, name


def test_missing_modality_has_zero_gradient_and_no_influence() -> None:
    model = build_two_stage_classifier(encoders(), DIMS, 3, hidden=8, freeze_shared=False).eval()
    inputs, _ = synthetic(6, seed=0)
    x = {m: v.clone().requires_grad_(True) for m, v in inputs.items()}
    out = model(x, present=PRESENT)
    (out.primary.sum() + sum(v.sum() for v in out.auxiliary.values())).backward()
    missing = ~PRESENT["inertial"]
    assert x["inertial"].grad is not None
    assert torch.equal(x["inertial"].grad[missing], torch.zeros_like(x["inertial"].grad[missing]))
    assert x["inertial"].grad[~missing].abs().sum() > 0
    garbage = {**inputs, "inertial": inputs["inertial"].clone()}
    garbage["inertial"][missing] = float("nan")
    again = model(garbage, present=PRESENT)
    torch.testing.assert_close(again.primary, out.primary, rtol=0, atol=0)


def test_two_stage_recipe_end_to_end() -> None:
    pretrainer = _pretrainer()
    optimizer = torch.optim.Adam(pretrainer.parameters(), lr=1e-2)
    unlabeled, _ = synthetic(48, seed=3)
    for _ in range(10):
        pretrain_step(pretrainer, unlabeled, optimizer)
    torch.manual_seed(0)
    model = build_two_stage_classifier(pretrainer.encoders, DIMS, 3, hidden=16)
    assert model.shared["inertial"] is pretrainer.encoders["inertial"]
    optimizer = torch.optim.Adam(model.parameter_groups(1e-2))
    train, train_labels = synthetic(30, seed=1)  # few labels
    test, test_labels = synthetic(90, seed=2)
    for _ in range(25):
        finetune_step(model, train, train_labels, optimizer, alpha=0.5)
    accuracy = (predict(model, test) == test_labels).float().mean()
    assert accuracy > 0.9


def test_parameter_groups_when_fine_tuning_the_shared_encoders() -> None:
    model = build_two_stage_classifier(encoders(), DIMS, 3, hidden=8, freeze_shared=False)
    groups = model.parameter_groups(1e-3, encoder_scale=0.1)
    assert [g["lr"] for g in groups] == [1e-3, pytest.approx(1e-4)]
    assert len(groups[1]["params"]) == len(list(model.shared.parameters()))
    total = sum(len(g["params"]) for g in groups)
    assert total == len(list(model.parameters()))
    assert model.shared.training  # not frozen: follows .train()
    with pytest.raises(ValueError, match=r"^TwoStageClassifier: lr must be in \(0, inf\)"):
        model.parameter_groups(0.0)
    with pytest.raises(ValueError, match=r"^TwoStageClassifier: encoder_scale must be in"):
        model.parameter_groups(1e-3, encoder_scale=-1.0)


def test_bad_assembly() -> None:
    owner = "TwoStageClassifier"
    attention = QualityGuidedAttention(DIMS, hidden=4)
    gate = BidirectionalGRUFusion(DIMS, hidden=4)
    head = PrimaryAuxiliaryHead(40, {"shared": 32, "specific": 8}, 3)
    shared, branches = encoders(), encoders(seed=1)
    TwoStageClassifier(shared, branches, attention, gate, head)  # a valid assembly
    with pytest.raises(ValueError, match=f"^{owner}: branches must name the modalities"):
        TwoStageClassifier(shared, {"inertial": branches["inertial"]}, attention, gate, head)
    with pytest.raises(ValueError, match=f"^{owner}: attention.dims and gate.dims must"):
        TwoStageClassifier(
            shared,
            branches,
            attention,
            BidirectionalGRUFusion({"inertial": 16, "skeleton": 8}),
            head,
        )
    with pytest.raises(ValueError, match=f"^{owner}: with auxiliary='modalities' the head's"):
        TwoStageClassifier(shared, branches, attention, gate, head, auxiliary="modalities")
    with pytest.raises(ValueError, match=f"^{owner}: with auxiliary='streams' the head's"):
        wrong = PrimaryAuxiliaryHead(40, {"shared": 32, "specific": 9}, 3)
        TwoStageClassifier(shared, branches, attention, gate, wrong)
    with pytest.raises(TypeError, match=f"^{owner}: gate must be a BidirectionalGRUFusion or"):
        TwoStageClassifier(shared, branches, attention, attention, head)  # type: ignore[arg-type]
    narrow = PrimaryAuxiliaryHead(41, {"shared": 32, "specific": 8}, 3)
    model = TwoStageClassifier(shared, branches, attention, gate, narrow)
    inputs, _ = synthetic(6, seed=0)
    with pytest.raises(ValueError, match=f"^{owner}: the head expects 41 fused features, got 32"):
        model(inputs)
    with pytest.raises(ValueError, match="^build_two_stage_classifier: branches need branch_dims"):
        build_two_stage_classifier(encoders(), DIMS, 3, branches=encoders())
    with pytest.raises(ValueError, match="^build_two_stage_classifier: shared_dims must name"):
        build_two_stage_classifier(encoders(), {"inertial": 16}, 3)
    with pytest.raises(TypeError, match="^build_two_stage_classifier: gate must be a fusion class"):
        build_two_stage_classifier(encoders(), DIMS, 3, gate="gru")  # type: ignore[arg-type]


def test_roundtrip_and_repr() -> None:
    def make(seed: int) -> TwoStageClassifier:
        torch.manual_seed(seed)
        return build_two_stage_classifier(
            encoders(seed=seed), DIMS, 3, hidden=8, gate=GatedMultimodalUnitFusion
        )

    inputs, _ = synthetic(6, seed=0)
    assert_roundtrip(make(0), lambda: make(1), [inputs], present=PRESENT)
    assert "auxiliary='streams', freeze_shared=True" in repr(make(0)).splitlines()[1]


@pytest.mark.compile
def test_compiles_without_graph_breaks() -> None:
    model = build_two_stage_classifier(encoders(), DIMS, 3, hidden=8).eval()
    inputs, _ = synthetic(6, seed=0)
    compiled_matches_eager(
        lambda a, b: model({"inertial": a, "skeleton": b}, present=PRESENT).primary,
        [inputs["inertial"], inputs["skeleton"]],
    )
