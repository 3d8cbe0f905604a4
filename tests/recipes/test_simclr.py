"""SimCLRPretrainer: one forward on both views, the loss, BatchNorm, gradients, compile."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from torch import Tensor, nn

from mmcontrast.augment import presets
from mmcontrast.encoders import CNNTransformerEncoder
from mmcontrast.heads import ProjectionHead
from mmcontrast.losses import HardNegativeLoss, InfoNCE
from mmcontrast.recipes import ContrastivePretrainer, SimCLRPretrainer
from tests.encoders._support import padded_batch
from tests.helpers import assert_roundtrip, compiled_matches_eager


def _model(*, joint_batch: bool = True, seed: int = 0) -> SimCLRPretrainer:
    """A BatchNorm encoder and head, so joint and per-view batches differ in train mode."""
    torch.manual_seed(seed)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(30, 16), nn.BatchNorm1d(16), nn.ReLU())
    head = ProjectionHead(16, hidden_features=(16,), out_features=8)
    return SimCLRPretrainer(encoder, head, InfoNCE(negatives="all"), joint_batch=joint_batch)


def _views(b: int = 8, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, 10, 3, generator=g)
    return x + 0.1 * torch.randn(b, 10, 3, generator=g), x + 0.1 * torch.randn(
        b, 10, 3, generator=g
    )


def test_joint_batch_is_one_forward_on_the_concatenated_views() -> None:
    model = _model().train()
    view1, view2 = _views()
    reference = copy.deepcopy(model)
    z = reference.projection(reference.encoder(torch.cat((view1, view2))))
    want = InfoNCE(negatives="all")(z[:8], z[8:])
    torch.testing.assert_close(model(view1, view2), want, rtol=0, atol=0)
    # BatchNorm's running statistics: one update with the mean over the 2B rows
    bn, ref_bn = model.encoder[2], reference.encoder[2]
    torch.testing.assert_close(bn.running_mean, ref_bn.running_mean, rtol=0, atol=0)
    assert int(bn.num_batches_tracked) == 1


def test_per_view_forwards_match_the_two_entry_pretrainer() -> None:
    model = _model(joint_batch=False).train()
    view1, view2 = _views()
    reference = copy.deepcopy(model)
    z1 = reference.projection(reference.encoder(view1))
    z2 = reference.projection(reference.encoder(view2))
    torch.testing.assert_close(model(view1, view2), InfoNCE(negatives="all")(z1, z2))
    assert int(model.encoder[2].num_batches_tracked) == 2
    # the same computation as ContrastivePretrainer with two entries sharing one encoder
    shared = copy.deepcopy(reference)
    two_keys = ContrastivePretrainer(
        {"view1": shared.encoder, "view2": shared.encoder},
        {"view1": shared.projection, "view2": shared.projection},
        InfoNCE(negatives="all"),
    ).train()
    torch.testing.assert_close(
        two_keys({"view1": view1, "view2": view2}), InfoNCE(negatives="all")(z1, z2)
    )


def test_batchnorm_makes_the_difference_in_train_mode_only() -> None:
    joint, per_view = _model(), _model(joint_batch=False)
    view1, view2 = _views()
    assert not torch.allclose(joint.train()(view1, view2), per_view.train()(view1, view2))
    joint.eval()
    per_view.load_state_dict(joint.state_dict())
    per_view.eval()
    torch.testing.assert_close(joint(view1, view2), per_view(view1, view2))
    with torch.no_grad():  # no batch statistics: one forward equals two
        z1, z2 = joint.embed_views(view1, view2)
        torch.testing.assert_close(z1, joint.embed(view1))
        torch.testing.assert_close(z2, joint.embed(view2))


def test_default_criterion_is_nt_xent() -> None:
    model = SimCLRPretrainer(nn.Flatten(), nn.Identity())
    assert isinstance(model.criterion, InfoNCE) and model.criterion.negatives == "all"
    view1, view2 = _views(6)
    want = InfoNCE(negatives="all")(view1.flatten(1), view2.flatten(1))
    torch.testing.assert_close(model(view1, view2), want)
    # aligned views, other rows orthogonal: -log(e^(1/t) / (e^(1/t) + (2B - 2) e^0)), B = 6
    loss = SimCLRPretrainer(nn.Identity(), nn.Identity())(torch.eye(6), torch.eye(6))
    positive = torch.tensor(1 / 0.1)
    torch.testing.assert_close(loss, -torch.log(positive.exp() / (positive.exp() + 10)))


def test_any_pairwise_criterion() -> None:
    criterion = HardNegativeLoss(negatives="all", temperature=0.2, beta=1.0, tau_plus=0.1)
    model = _model()
    model.criterion = criterion
    view1, view2 = _views()
    z1, z2 = copy.deepcopy(model).embed_views(view1, view2)
    torch.testing.assert_close(model(view1, view2), criterion(z1, z2))


def test_every_parameter_gets_a_gradient_and_training_lowers_the_loss() -> None:
    model = _model().train()
    view1, view2 = _views(16)
    model(view1, view2).backward()
    dead = [name for name, p in model.named_parameters() if p.grad is None]
    assert not dead, dead
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(20):
        view1, view2 = _views(16, seed=step % 4)
        optimizer.zero_grad()
        loss = model(view1, view2)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert sum(losses[-4:]) < sum(losses[:4])


def test_inputs_reach_the_gradient() -> None:
    model = _model().train()
    view1, view2 = (v.requires_grad_() for v in _views())
    model(view1, view2).backward()
    assert view1.grad is not None and view2.grad is not None
    assert view1.grad.abs().sum() > 0 and view2.grad.abs().sum() > 0


@pytest.mark.parametrize("joint_batch", [True, False])
def test_masks_reach_a_mask_aware_encoder(joint_batch: bool) -> None:
    torch.manual_seed(0)
    encoder = CNNTransformerEncoder(channels=(8, 16), num_heads=2, num_layers=1, dropout=0.0)
    model = SimCLRPretrainer(encoder, nn.Identity(), joint_batch=joint_batch).eval()
    view1, mask1 = padded_batch([12, 9, 5], 6, torch.Generator().manual_seed(0), fill=0.0)
    view2, mask2 = padded_batch([12, 7, 12], 6, torch.Generator().manual_seed(1), fill=0.0)
    with torch.no_grad():
        z1, z2 = model.embed_views(view1, view2, masks=(mask1, mask2))
        torch.testing.assert_close(z1, encoder(view1, mask=mask1), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(z2, encoder(view2, mask=mask2), rtol=1e-5, atol=1e-6)
        assert model(view1, view2, masks=(mask1, mask2)).shape == ()


def test_with_an_augmentation_pipeline() -> None:
    augment = presets.standardized_inertial_augment()
    model = SimCLRPretrainer(nn.Sequential(nn.Flatten(), nn.Linear(300, 16)), nn.Identity())
    x = torch.randn(8, 50, 6)
    view1, view2 = augment(torch.cat((x, x)), generator=torch.Generator().manual_seed(0)).chunk(2)
    assert not torch.equal(view1, view2)  # independent draws per row
    assert torch.isfinite(model(view1, view2))


def test_different_view_shapes_need_per_view_forwards() -> None:
    encoder = CNNTransformerEncoder(channels=(8, 16), num_heads=2, num_layers=1)
    view1, view2 = torch.randn(4, 12, 6), torch.randn(4, 9, 6)
    with pytest.raises(
        ValueError, match=r"joint_batch=True .* same shape, got view1: \(4, 12, 6\)"
    ):
        SimCLRPretrainer(encoder, nn.Identity())(view1, view2)
    loss = SimCLRPretrainer(encoder, nn.Identity(), joint_batch=False)(view1, view2)
    assert loss.shape == ()


def test_extra_repr_and_roundtrip() -> None:
    model = _model()
    assert "joint_batch=True" in repr(model) and "InfoNCE" in repr(model)
    assert repr(_model(joint_batch=False)).startswith("SimCLRPretrainer(\n  joint_batch=False")
    view1, view2 = _views()
    assert_roundtrip(model, _model, [view1, view2])
    clone = pickle.loads(pickle.dumps(model))
    assert clone.joint_batch is True


@pytest.mark.compile
@pytest.mark.parametrize("joint_batch", [True, False])
def test_compiles_without_graph_breaks(joint_batch: bool) -> None:
    model = _model(joint_batch=joint_batch).train()
    compiled_matches_eager(model, list(_views()))


def test_bad_arguments() -> None:
    owner = "^SimCLRPretrainer: "
    with pytest.raises(TypeError, match=owner + "encoder must be an nn.Module, got function"):
        SimCLRPretrainer(lambda x: x, nn.Identity())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=owner + "projection must be an nn.Module, got NoneType"):
        SimCLRPretrainer(nn.Identity(), None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=owner + "criterion must be callable, got float"):
        SimCLRPretrainer(nn.Identity(), nn.Identity(), 0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=owner + "joint_batch must be a bool, got int"):
        SimCLRPretrainer(nn.Identity(), nn.Identity(), joint_batch=1)  # type: ignore[arg-type]


def test_bad_inputs() -> None:
    owner = "^SimCLRPretrainer: "
    model = SimCLRPretrainer(nn.Flatten(), nn.Identity())
    x = torch.randn(4, 5)
    with pytest.raises(TypeError, match=owner + "view2 must be a torch.Tensor, got list"):
        model(x, [1.0])  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=owner + r".* with one batch size, got view1: \(4, 5\) and view2: \(3, 5\)"
    ):
        model(x, torch.randn(3, 5))
    with pytest.raises(
        TypeError, match=owner + "the views must have one dtype, got view1: torch.float32"
    ):
        model(x, x.double())
    with pytest.raises(TypeError, match=owner + "masks must be None or a tuple of two"):
        model(x, x, masks=torch.ones(4, 5, dtype=torch.bool))  # type: ignore[arg-type]
    flat = SimCLRPretrainer(nn.Identity(), nn.Identity())
    with pytest.raises(
        ValueError, match=owner + r'the encoder must return "b d" features, got \(8, 5, 2\)'
    ):
        flat(torch.randn(4, 5, 2), torch.randn(4, 5, 2))
