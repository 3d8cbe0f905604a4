from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmcontrast.heads import PrimaryAuxiliaryHead, PrimaryAuxiliaryLogits, primary_auxiliary_loss
from tests.helpers import assert_roundtrip, compiled_matches_eager

STREAMS = {"shared": 6, "specific": 4}


def _inputs(batch: int = 5) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    streams = {k: torch.randn(batch, d, generator=g) for k, d in STREAMS.items()}
    return torch.cat(list(streams.values()), dim=1), streams


def test_logits_shapes_and_definition() -> None:
    head = PrimaryAuxiliaryHead(10, STREAMS, 3, hidden_features=(7,))
    fused, streams = _inputs()
    out = head(fused, streams)
    assert isinstance(out, PrimaryAuxiliaryLogits)
    assert out.primary.shape == (5, 3) and list(out.auxiliary) == ["shared", "specific"]
    linear1, _, linear2 = head.primary
    torch.testing.assert_close(out.primary, linear2(torch.relu(linear1(fused))))
    for name, x in streams.items():
        torch.testing.assert_close(out.auxiliary[name], head.auxiliary[name](x))
    assert sum(p.numel() for p in PrimaryAuxiliaryHead(512, {"a": 256}, 27).parameters()) == (
        512 * 128 + 128 + 128 * 27 + 27 + 256 * 27 + 27
    )


def test_loss_is_primary_plus_alpha_mean_auxiliary() -> None:
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 3, (5,), generator=g)
    logits = PrimaryAuxiliaryLogits(
        torch.randn(5, 3, generator=g),
        {"a": torch.randn(5, 3, generator=g), "b": torch.randn(5, 3, generator=g)},
    )
    ce = [F.cross_entropy(x, labels) for x in (logits.primary, *logits.auxiliary.values())]
    torch.testing.assert_close(
        primary_auxiliary_loss(logits, labels, alpha=0.3), ce[0] + 0.3 * (ce[1] + ce[2]) / 2
    )
    torch.testing.assert_close(primary_auxiliary_loss(logits, labels, alpha=0.0), ce[0])
    smoothed = primary_auxiliary_loss(logits, labels, alpha=0.0, label_smoothing=0.1)
    torch.testing.assert_close(
        smoothed, F.cross_entropy(logits.primary, labels, label_smoothing=0.1)
    )


def test_loss_with_present_streams() -> None:
    labels = torch.tensor([0, 1, 2, 1])
    logits = PrimaryAuxiliaryLogits(
        torch.randn(4, 3), {"inertial": torch.randn(4, 3), "skeleton": torch.randn(4, 3)}
    )
    logits.auxiliary["inertial"][1] = float("nan")
    present = {"inertial": torch.tensor([True, False, True, False])}
    got = primary_auxiliary_loss(logits, labels, alpha=1.0, present=present)
    keep = present["inertial"]
    imu = F.cross_entropy(logits.auxiliary["inertial"][keep], labels[keep])
    skeleton = F.cross_entropy(logits.auxiliary["skeleton"], labels)
    expected = F.cross_entropy(logits.primary, labels) + (imu + skeleton) / 2
    torch.testing.assert_close(got, expected)
    nobody = {"inertial": torch.zeros(4, dtype=torch.bool)}
    alone = primary_auxiliary_loss(logits, labels, alpha=1.0, present=nobody)
    torch.testing.assert_close(alone, F.cross_entropy(logits.primary, labels) + skeleton / 2)


def test_gradients_reach_every_parameter() -> None:
    head = PrimaryAuxiliaryHead(10, STREAMS, 3, norm_layer=nn.BatchNorm1d, hidden_features=(7, 5))
    fused, streams = _inputs()
    primary_auxiliary_loss(head(fused, streams), torch.tensor([0, 1, 2, 0, 1])).backward()
    for name, parameter in head.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_bad_arguments() -> None:
    head = PrimaryAuxiliaryHead(10, STREAMS, 3)
    fused, streams = _inputs()
    owner = "PrimaryAuxiliaryHead"
    with pytest.raises(ValueError, match=f'^{owner}: fused must have shape "b d" with d=10'):
        head(fused[:, :9], streams)
    with pytest.raises(ValueError, match=f"^{owner}: auxiliary is missing the modality 'specific'"):
        head(fused, {"shared": streams["shared"]})
    with pytest.raises(
        ValueError,
        match=rf"^{owner}: auxiliary\['shared'\] must have shape \"b d\" with the batch size",
    ):
        head(fused, {"shared": streams["shared"][:4], "specific": streams["specific"][:4]})
    with pytest.raises(ValueError, match=rf"^{owner}: auxiliary\['specific'\] must have shape"):
        head(fused, {"shared": streams["shared"], "specific": torch.randn(5, 5)})
    logits = head(fused, streams)
    with pytest.raises(ValueError, match=r"^primary_auxiliary_loss: alpha must be in \[0, inf\)"):
        primary_auxiliary_loss(logits, torch.zeros(5, dtype=torch.long), alpha=-1.0)
    with pytest.raises(ValueError, match='^primary_auxiliary_loss: labels must have shape "b"'):
        primary_auxiliary_loss(logits, torch.zeros(4, dtype=torch.long))
    with pytest.raises(TypeError, match="^primary_auxiliary_loss: logits must be"):
        primary_auxiliary_loss(logits.primary, torch.zeros(5, dtype=torch.long))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^primary_auxiliary_loss: present has the unknown"):
        primary_auxiliary_loss(
            logits,
            torch.zeros(5, dtype=torch.long),
            present={"inertial": torch.ones(5, dtype=torch.bool)},
        )


def test_roundtrip_and_repr() -> None:
    def make() -> PrimaryAuxiliaryHead:
        return PrimaryAuxiliaryHead(10, STREAMS, 3)

    fused, streams = _inputs()
    assert_roundtrip(make(), make, [fused, streams])
    assert repr(make()).splitlines()[1] == (
        "  in_features=10, auxiliary={'shared': 6, 'specific': 4}, num_classes=3, "
        "hidden_features=(128,), norm_layer=None, act_layer=ReLU, dropout=0.0"
    )


@pytest.mark.compile
def test_compiles_without_graph_breaks() -> None:
    head = PrimaryAuxiliaryHead(10, STREAMS, 3)
    fused, streams = _inputs()
    labels = torch.tensor([0, 1, 2, 0, 1])

    def loss(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        logits = head(f, {"shared": a, "specific": b})
        present = {"shared": torch.tensor([True, False, True, True, True])}
        return primary_auxiliary_loss(logits, labels, alpha=0.5, present=present)

    compiled_matches_eager(loss, [fused, streams["shared"], streams["specific"]])
