from __future__ import annotations

import pytest
import torch
from torch import nn

from mmcontrast.heads import ProjectionHead
from tests.helpers import assert_roundtrip, compiled_matches_eager


@pytest.mark.parametrize(("in_features", "count"), [(5632, 1_475_456), (256, 99_200)])
def test_cmc_cmkm_parameter_counts(in_features: int, count: int) -> None:
    # architectures.md section 0: CMC-CMKM ProjectionMLP on the inertial / skeleton features.
    head = ProjectionHead(in_features)
    assert sum(p.numel() for p in head.parameters()) == count
    kinds = [type(layer) for layer in head.layers]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]


def test_equals_the_layer_by_layer_definition() -> None:
    head = ProjectionHead(10, hidden_features=(6,), out_features=4).eval()
    linear1, norm, _, linear2 = head.layers
    x = torch.randn(5, 10)
    expected = linear2(torch.relu(norm(linear1(x))))
    torch.testing.assert_close(head(x), expected)


def test_depth_widths_norm_activation_dropout() -> None:
    head = ProjectionHead(
        8,
        hidden_features=(16, 12),
        out_features=3,
        norm_layer=nn.LayerNorm,
        act_layer=nn.GELU,
        dropout=0.1,
    )
    kinds = [type(layer) for layer in head.layers]
    assert kinds == [nn.Linear, nn.LayerNorm, nn.GELU, nn.Dropout] * 2 + [nn.Linear]
    assert head(torch.randn(2, 8)).shape == (2, 3)
    linear = ProjectionHead(8, hidden_features=(), out_features=3, norm_layer=None)
    assert [type(layer) for layer in linear.layers] == [nn.Linear]
    csshar = ProjectionHead(8, hidden_features=(256,), out_features=256, norm_layer=None)
    assert [type(layer) for layer in csshar.layers] == [nn.Linear, nn.ReLU, nn.Linear]


def test_normalize_flag() -> None:
    x = torch.randn(6, 32)
    head = ProjectionHead(32, normalize=True).eval()
    z = head(x)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(6))
    plain = ProjectionHead(32, normalize=False).eval()
    plain.load_state_dict(head.state_dict())
    raw = plain(x)
    torch.testing.assert_close(z, raw / raw.norm(dim=1, keepdim=True))
    zero = ProjectionHead(4, hidden_features=(), normalize=True)
    nn.init.zeros_(zero.layers[0].weight)
    nn.init.zeros_(zero.layers[0].bias)
    x0 = torch.randn(2, 4, requires_grad=True)
    zero(x0).sum().backward()
    assert x0.grad is not None and torch.isfinite(x0.grad).all()


def test_gradients_reach_every_parameter() -> None:
    head = ProjectionHead(12, hidden_features=(8, 8), out_features=4, normalize=True)
    head(torch.randn(5, 12)).square().sum().backward()
    for name, parameter in head.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r'^ProjectionHead: x must have shape "b d" with d=12'):
        ProjectionHead(12)(torch.randn(3, 11))
    with pytest.raises(ValueError, match=r'^ProjectionHead: x must have shape "b d"'):
        ProjectionHead(12)(torch.randn(3, 2, 12))
    with pytest.raises(ValueError, match=r"^ProjectionHead: hidden_features\[1\] must be >= 1"):
        ProjectionHead(12, hidden_features=(4, 0))
    with pytest.raises(TypeError, match="^ProjectionHead: hidden_features must be a sequence"):
        ProjectionHead(12, hidden_features=256)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^ProjectionHead: norm_layer must be a module class"):
        ProjectionHead(12, norm_layer="batch")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^ProjectionHead: act_layer must be a module class"):
        ProjectionHead(12, act_layer="relu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^ProjectionHead: dropout must be in \[0, 1\)"):
        ProjectionHead(12, dropout=1.0)
    with pytest.raises(TypeError, match="^ProjectionHead: normalize must be a bool"):
        ProjectionHead(12, normalize=1)  # type: ignore[arg-type]


def test_roundtrip_and_repr() -> None:
    def make() -> ProjectionHead:
        return ProjectionHead(12, hidden_features=(8,), out_features=4, normalize=True)

    head = make()
    head.train()
    head(torch.randn(16, 12))  # move the BatchNorm running statistics
    assert_roundtrip(head, make, [torch.randn(5, 12)])
    assert repr(head).splitlines()[1] == (
        "  in_features=12, hidden_features=(8,), out_features=4, norm_layer=BatchNorm1d, "
        "act_layer=ReLU, dropout=0.0, normalize=True"
    )


def test_device_and_dtype() -> None:
    head = ProjectionHead(6, out_features=3, dtype=torch.float64, device="cpu")
    assert all(p.dtype == torch.float64 for p in head.parameters())
    assert head(torch.randn(4, 6, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.compile
def test_compiles_without_graph_breaks() -> None:
    head = ProjectionHead(12, hidden_features=(8,), out_features=4, normalize=True).eval()
    compiled_matches_eager(head, [torch.randn(5, 12)])
