from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmcontrast.encoders import HCNEncoder
from tests.encoders._support import (
    assert_autocast_works,
    assert_checks_input_dtype,
    assert_every_parameter_gets_gradient,
    assert_factory_kwargs,
    num_parameters,
)
from tests.helpers import assert_roundtrip, compiled_matches_eager


def _randomise_norms(module: nn.Module) -> None:
    """Non-trivial BatchNorm statistics and affine terms, so eval mode tests them too."""
    g = torch.Generator().manual_seed(7)
    for norm in module.modules():
        if isinstance(norm, nn.BatchNorm2d):
            n = norm.num_features
            norm.running_mean = 0.1 * torch.randn(n, generator=g)
            norm.running_var = 0.5 + torch.rand(n, generator=g)
            with torch.no_grad():
                norm.weight.copy_(0.5 + torch.rand(n, generator=g))
                norm.bias.copy_(0.1 * torch.randn(n, generator=g))


def _reference_hcn(
    encoder: HCNEncoder, x: torch.Tensor, *, same: bool, fuse_dim: int
) -> torch.Tensor:
    """HCN written from architectures.md 2.4 with functional ops and the encoder's weights.

    Channel-first input ``(B, C, T, J)``; motion = frame difference with frame 0 zero; per
    stream conv1 -> BN -> ReLU, conv2 -> BN, permute (0, 3, 1, 2), conv3 -> BN -> pool,
    conv4 -> BN -> pool; concatenation on ``fuse_dim``; conv5/conv6 -> BN -> ReLU -> pool.
    """
    pad = 1 if same else 0

    def bn(z: torch.Tensor, norm: nn.Module) -> torch.Tensor:
        assert isinstance(norm, nn.BatchNorm2d)
        return F.batch_norm(
            z, norm.running_mean, norm.running_var, norm.weight, norm.bias, eps=norm.eps
        )

    def conv(z: torch.Tensor, layer: nn.Module, padding: int | tuple[int, int]) -> torch.Tensor:
        assert isinstance(layer, nn.Conv2d)
        return F.conv2d(z, layer.weight, layer.bias, padding=padding)

    def pool(z: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(z, 2, ceil_mode=same)

    def stream(z: torch.Tensor, s: nn.Sequential) -> torch.Tensor:
        z = F.relu(bn(conv(z, s[0], 0), s[1]))
        z = bn(conv(z, s[3], (pad, 0)), s[4])
        z = z.permute(0, 3, 1, 2)
        z = pool(bn(conv(z, s[6], pad), s[7]))
        return pool(bn(conv(z, s[9], pad), s[10]))

    position = x.permute(0, 3, 1, 2)
    motion = torch.zeros_like(position)
    motion[:, :, 1:] = position[:, :, 1:] - position[:, :, :-1]
    h = torch.cat(
        (stream(position, encoder.position_stream), stream(motion, encoder.motion_stream)),
        dim=fuse_dim,
    )
    trunk = encoder.trunk
    h = pool(F.relu(bn(conv(h, trunk[0], pad), trunk[1])))
    return pool(F.relu(bn(conv(h, trunk[5], pad), trunk[6])))


@pytest.mark.parametrize(
    ("overrides", "same", "fuse_dim"),
    [
        ({}, True, 1),
        ({"padding": "valid", "fusion": "height", "pooling": "flatten", "seq_len": 50}, False, 2),
    ],
)
def test_matches_a_functional_reconstruction(
    overrides: dict[str, object], same: bool, fuse_dim: int
) -> None:
    torch.manual_seed(0)
    encoder = HCNEncoder(**overrides).eval()  # type: ignore[arg-type]
    _randomise_norms(encoder)
    x = torch.randn(2, 50, 20, 3, generator=torch.Generator().manual_seed(1))
    want = _reference_hcn(encoder, x, same=same, fuse_dim=fuse_dim)
    got = encoder(x)
    if encoder.pooling == "flatten":
        torch.testing.assert_close(got, want.flatten(1))
    else:
        torch.testing.assert_close(got, want.mean(dim=(2, 3)))


def test_default_shapes_and_parameters() -> None:
    encoder = HCNEncoder()
    assert encoder.min_length == 1 and encoder.out_features == 256
    for t in (1, 2, 17, 50, 326):
        assert encoder(torch.randn(2, t, 20, 3)).shape == (2, 256)
    # streams 2 x 31,104 + conv5 (128 -> 128) 147,840 + conv6 295,680
    assert num_parameters(encoder) == 505_728
    assert HCNEncoder(pooling="max")(torch.randn(2, 9, 20, 3)).shape == (2, 256)


@pytest.mark.parametrize(("joints", "parameters"), [(25, 507_072), (20, 504_192)])
def test_paper_like_convolution_parameters(joints: int, parameters: int) -> None:
    # HCN-pytorch's convolutions (no BatchNorm, fused on channels): architectures.md 2.3.
    encoder = HCNEncoder(num_joints=joints, norm_layer=nn.Identity, dropout=0.5)
    assert num_parameters(encoder) == parameters


@pytest.mark.parametrize(
    ("seq_len", "out_features"), [(48, 256), (50, 256), (63, 256), (64, 512), (100, 1024)]
)
def test_valid_padding_output_sizes(seq_len: int, out_features: int) -> None:
    # architectures.md P2.1: T = 48..63 -> 256, 64 -> 512, 100 -> 1024; T < 48 fails.
    encoder = HCNEncoder(padding="valid", fusion="height", pooling="flatten", seq_len=seq_len)
    assert encoder.min_length == 48
    assert encoder.out_features == out_features
    assert encoder(torch.randn(1, seq_len, 20, 3)).shape == (1, out_features)


def test_valid_padding_with_global_pooling_takes_any_length_from_48() -> None:
    encoder = HCNEncoder(padding="valid", fusion="height")
    for t in (48, 64, 100):
        assert encoder(torch.randn(1, t, 20, 3)).shape == (1, 256)
    with pytest.raises(ValueError, match=r"t >= 48 .*got \(1, 47, 20, 3\)"):
        encoder(torch.randn(1, 47, 20, 3))


def test_motion_stream_sees_zero_first_difference() -> None:
    encoder = HCNEncoder().eval()
    x = torch.randn(1, 6, 20, 3)
    # A constant offset changes the position stream only: the motion input is unchanged.
    shifted = x + 3.0
    captured: list[torch.Tensor] = []
    handle = encoder.motion_stream.register_forward_pre_hook(
        lambda _, args: captured.append(args[0])
    )
    encoder(x)
    encoder(shifted)
    handle.remove()
    torch.testing.assert_close(captured[0], captured[1])
    assert (captured[0][:, :, 0] == 0).all()
    torch.testing.assert_close(captured[0][0, :, 1], (x[0, 1] - x[0, 0]).T)


def test_activation_placement() -> None:
    encoder = HCNEncoder()
    relus = [i for i, m in enumerate(encoder.position_stream) if isinstance(m, nn.ReLU)]
    assert relus == [2]  # after conv1 only; none after conv2, conv3, conv4
    assert [i for i, m in enumerate(encoder.trunk) if isinstance(m, nn.ReLU)] == [2, 7]
    gelu = HCNEncoder(act_layer=nn.GELU)
    assert sum(isinstance(m, nn.GELU) for m in gelu.modules()) == 4


def test_every_parameter_gets_a_gradient() -> None:
    assert_every_parameter_gets_gradient(HCNEncoder(dropout=0.2), torch.randn(3, 20, 20, 3))


def test_extra_repr_and_roundtrip() -> None:
    encoder = HCNEncoder(channels=(8, 4, 4, 8, 8, 16), num_joints=5)
    assert encoder.extra_repr() == (
        "in_channels=3, num_joints=5, channels=(8, 4, 4, 8, 8, 16), padding='same', "
        "fusion='channels', pooling='mean', seq_len=None, dropout=0.0, out_features=16"
    )
    assert_roundtrip(
        encoder,
        lambda: HCNEncoder(channels=(8, 4, 4, 8, 8, 16), num_joints=5),
        [torch.randn(2, 9, 5, 3)],
    )


def test_autocast_and_factory_kwargs() -> None:
    torch.manual_seed(0)
    assert_autocast_works(HCNEncoder(), torch.randn(2, 24, 20, 3))
    assert_factory_kwargs(
        lambda **factory: HCNEncoder(channels=(8, 4, 4, 8, 8, 16), num_joints=5, **factory),
        torch.randn(2, 9, 5, 3),
    )


@pytest.mark.compile
def test_compiles_without_graph_breaks() -> None:
    encoder = HCNEncoder(channels=(8, 4, 4, 8, 8, 16), num_joints=5, in_channels=2)
    compiled_matches_eager(encoder, [torch.randn(2, 9, 5, 2)])


def test_input_dtype_must_suit_the_parameters() -> None:
    assert_checks_input_dtype(
        lambda **factory: HCNEncoder(channels=(8, 4, 4, 8, 8, 16), num_joints=5, **factory),
        "HCNEncoder",
        torch.randn(2, 9, 5, 3),
    )


def test_bad_inputs() -> None:
    encoder = HCNEncoder()
    owner = "^HCNEncoder: "
    with pytest.raises(ValueError, match=owner + r'x must have shape "b t j c" \(4 dimensions\)'):
        encoder(torch.randn(2, 10, 60))
    with pytest.raises(ValueError, match=r"with j=20, c=3, got \(2, 10, 25, 3\)"):
        encoder(torch.randn(2, 10, 25, 3))
    with pytest.raises(ValueError, match=r"with j=20, c=3, got \(2, 10, 20, 2\)"):
        encoder(torch.randn(2, 10, 20, 2))
    flat = HCNEncoder(padding="valid", fusion="height", pooling="flatten", seq_len=50)
    with pytest.raises(
        ValueError, match=r"final map of width 1, but x of shape \(1, 64, 20, 3\) gives 2"
    ):
        flat(torch.randn(1, 64, 20, 3))


def test_bad_hyperparameters() -> None:
    owner = "^HCNEncoder: "
    with pytest.raises(ValueError, match=owner + "the feature axis .* is too small"):
        HCNEncoder(padding="valid", fusion="channels")  # 32 -> 15 -> 6 -> 2 -> 0
    with pytest.raises(ValueError, match=owner + "channels must have 6 entries"):
        HCNEncoder(channels=(64, 32, 32))
    with pytest.raises(ValueError, match=owner + "fusion must be one of"):
        HCNEncoder(fusion="time")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=owner + "padding must be one of"):
        HCNEncoder(padding=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=owner + 'pooling="flatten" needs seq_len'):
        HCNEncoder(pooling="flatten")
    with pytest.raises(ValueError, match=owner + "seq_len is only used"):
        HCNEncoder(seq_len=50)
    with pytest.raises(ValueError, match=owner + "seq_len must be >= 48, got 40"):
        HCNEncoder(padding="valid", fusion="height", pooling="flatten", seq_len=40)
    with pytest.raises(ValueError, match=owner + "num_joints must be >= 1"):
        HCNEncoder(num_joints=0)
