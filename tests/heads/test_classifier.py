from __future__ import annotations

import pytest
import torch
from torch import nn

from mmcontrast.heads import LinearClassifier, MultimodalClassifier
from tests.helpers import assert_roundtrip, compiled_matches_eager

DIMS = {"inertial": 12, "skeleton": 8}
PRESENT = {"skeleton": torch.tensor([True, True, False, True, False])}


def _features(batch: int = 5) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {m: torch.randn(batch, d, generator=g) for m, d in DIMS.items()}


def test_linear_classifier_is_a_linear_map() -> None:
    probe = LinearClassifier(6, 4)
    x = torch.randn(3, 6)
    torch.testing.assert_close(probe(x), x @ probe.weight.T + probe.bias)
    linear = nn.Linear(6, 4)
    probe.load_state_dict(linear.state_dict())
    torch.testing.assert_close(probe(x), linear(x))
    no_bias = LinearClassifier(6, 4, bias=False)
    assert no_bias.bias is None and repr(no_bias) == (
        "LinearClassifier(in_features=6, num_classes=4, bias=False)"
    )


def test_linear_classifier_bad_arguments() -> None:
    with pytest.raises(ValueError, match='^LinearClassifier: x must have shape "b d" with d=6'):
        LinearClassifier(6, 4)(torch.randn(3, 5))
    with pytest.raises(ValueError, match="^LinearClassifier: num_classes must be >= 1"):
        LinearClassifier(6, 0)
    with pytest.raises(TypeError, match="^LinearClassifier: bias must be a bool"):
        LinearClassifier(6, 2, bias="yes")  # type: ignore[arg-type]


def test_multimodal_classifier_matches_the_paper_definition() -> None:
    head = MultimodalClassifier(DIMS, 27, hidden=16).eval()
    x = _features()
    blocks = []
    for m in DIMS:
        linear, norm, relu = head.branches[m]  # type: ignore[index, misc]
        assert isinstance(linear, nn.Linear) and isinstance(norm, nn.BatchNorm1d)
        assert isinstance(relu, nn.ReLU)
        blocks.append(relu(norm(linear(x[m]))))
    torch.testing.assert_close(head(x), head.classifier(torch.cat(blocks, 1)))
    torch.testing.assert_close(
        head({"skeleton": x["skeleton"], "inertial": x["inertial"]}), head(x)
    )


def test_multimodal_classifier_paper_parameter_count() -> None:
    head = MultimodalClassifier({"inertial": 5632, "skeleton": 256}, 27)
    branches = (5632 * 256 + 256 + 512) + (256 * 256 + 256 + 512)
    assert sum(p.numel() for p in head.parameters()) == branches + 512 * 27 + 27


def test_linear_probe_on_concatenated_features() -> None:
    head = MultimodalClassifier(DIMS, 3, hidden=None)
    x = _features()
    torch.testing.assert_close(
        head(x), head.classifier(torch.cat([x["inertial"], x["skeleton"]], 1))
    )
    assert head.branches is None


def test_missing_modality() -> None:
    head = MultimodalClassifier(DIMS, 3, hidden=16).eval()
    x = {m: v.clone().requires_grad_(True) for m, v in _features().items()}
    x["skeleton"].data[2] = float("nan")
    logits = head(x, present=PRESENT)
    assert torch.isfinite(logits).all()
    imu_block = head.branches["inertial"](x["inertial"][2:3])  # type: ignore[index]
    expected = head.classifier(torch.cat([imu_block, torch.zeros(1, 16)], 1))
    torch.testing.assert_close(logits[2:3], expected)
    logits.sum().backward()
    assert x["skeleton"].grad is not None
    assert torch.equal(x["skeleton"].grad[[2, 4]], torch.zeros(2, 8))


def test_gradients_reach_every_parameter() -> None:
    head = MultimodalClassifier(DIMS, 3, hidden=16)
    head(_features(), present=PRESENT).square().sum().backward()
    for name, parameter in head.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_bad_inputs_name_the_modality() -> None:
    head = MultimodalClassifier(DIMS, 3)
    x = _features()
    with pytest.raises(
        ValueError, match="^MultimodalClassifier: features is missing the modality 'inertial'"
    ):
        head({"skeleton": x["skeleton"]})
    with pytest.raises(
        ValueError, match="^MultimodalClassifier: features has the unknown modality"
    ):
        head({**x, "depth": x["inertial"]})
    with pytest.raises(
        ValueError, match=r"^MultimodalClassifier: features\['skeleton'\] must have"
    ):
        head({"inertial": x["inertial"], "skeleton": torch.randn(5, 9)})
    with pytest.raises(ValueError, match="^MultimodalClassifier: every modality .* 'skeleton'"):
        head({"inertial": x["inertial"], "skeleton": torch.randn(4, 8)})
    with pytest.raises(
        ValueError,
        match=r"^MultimodalClassifier: features\['inertial'\] must have shape \"b d\" \(pool",
    ):
        head({"inertial": torch.randn(5, 3, 12), "skeleton": x["skeleton"]})
    with pytest.raises(
        ValueError, match=r"^MultimodalClassifier: present has the unknown modality"
    ):
        head(x, present={"depth": torch.ones(5, dtype=torch.bool)})
    with pytest.raises(ValueError, match=r"^MultimodalClassifier: hidden must be >= 1"):
        MultimodalClassifier(DIMS, 3, hidden=0)


def test_roundtrip_and_repr() -> None:
    def make() -> MultimodalClassifier:
        return MultimodalClassifier(DIMS, 3, hidden=16)

    head = make()
    head(_features(8))
    assert_roundtrip(head, make, [_features()], present=PRESENT)
    assert repr(head).splitlines()[1] == (
        "  dims={'inertial': 12, 'skeleton': 8}, num_classes=3, hidden=16, "
        "norm_layer=BatchNorm1d, act_layer=ReLU, dropout=0.0"
    )


@pytest.mark.compile
def test_compiles_without_graph_breaks() -> None:
    head = MultimodalClassifier(DIMS, 3, hidden=16).eval()
    x = _features()
    compiled_matches_eager(
        lambda a, b: head({"inertial": a, "skeleton": b}, present=PRESENT),
        [x["inertial"], x["skeleton"]],
    )
