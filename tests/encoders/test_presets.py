from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mmcontrast.encoders import CNNDiffTransformerEncoder, CNNTransformerEncoder, HCNEncoder
from mmcontrast.encoders.presets import (
    clmm_style_inertial,
    clmm_style_skeleton,
    cmc_cmkm_inertial,
    cmc_cmkm_skeleton,
)
from tests.encoders._support import (
    assert_checks_input_dtype,
    assert_every_parameter_gets_gradient,
    assert_factory_kwargs,
    assert_padded_equals_alone,
    num_parameters,
    padded_batch,
)
from tests.helpers import assert_roundtrip, compiled_matches_eager


class _SpecInertial(nn.Module):
    """architectures.md 1.2, channel-first and sequence-first as in the reference description.

    The template layer is registered, as in the released code, and deep-copied by
    ``nn.TransformerEncoder``: 593,024 parameters that never receive a gradient.
    """

    def __init__(self) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        for c_in, c_out in ((6, 32), (32, 64), (64, 128)):
            blocks += [nn.Conv1d(c_in, c_out, 5, padding=1), nn.BatchNorm1d(c_out), nn.ReLU()]
        self.cnn = nn.Sequential(*blocks)
        position = torch.arange(50).unsqueeze(1)
        div = torch.exp(torch.arange(0, 128, 2) * (-math.log(10000.0) / 128))
        pe = torch.zeros(50, 1, 128)
        pe[:, 0, 0::2] = torch.sin(position * div)
        pe[:, 0, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe)
        self.encoder_layer = nn.TransformerEncoderLayer(d_model=128, nhead=2)
        self.transformer = nn.TransformerEncoder(
            self.encoder_layer, num_layers=2, enable_nested_tensor=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 6, 50)
        h = self.cnn(x).permute(2, 0, 1)  # (T', B, 128)
        h = h + self.pe[: h.shape[0]]
        h = self.transformer(h).permute(1, 2, 0)  # (B, 128, T')
        return torch.flatten(h, 1)


def _load_into_spec(encoder: CNNTransformerEncoder, spec: _SpecInertial) -> None:
    state = {}
    for key, value in encoder.state_dict().items():
        parts = key.split(".")
        if parts[0] == "stem":  # stem.blocks.{i}.{j}.* -> cnn.{3i + j}.*
            key = ".".join(["cnn", str(3 * int(parts[2]) + int(parts[3])), *parts[4:]])
        elif parts[0] == "layers":
            key = "transformer." + key
        state[key] = value
    missing, unexpected = spec.load_state_dict(state, strict=False)
    assert not unexpected
    # only the dead template and the fixed position table
    assert all(key.startswith("encoder_layer.") or key == "pe" for key in missing)


def test_cmc_cmkm_inertial_counts_and_shape() -> None:
    encoder = cmc_cmkm_inertial()
    assert num_parameters(encoder) == 1_238_880
    assert num_parameters(_SpecInertial()) == 1_238_880 + 593_024  # the released registered count
    assert encoder.out_features == 5632
    assert encoder(torch.randn(3, 50, 6)).shape == (3, 5632)
    assert not any(
        "template" in name or "encoder_layer" in name for name, _ in encoder.named_parameters()
    )


def test_cmc_cmkm_inertial_equals_the_reference_layer_by_layer() -> None:
    torch.manual_seed(0)
    encoder = cmc_cmkm_inertial()
    x = torch.randn(4, 50, 6)
    encoder.train()
    encoder(x)  # move the BatchNorm running statistics away from their initial values
    spec = _SpecInertial()
    _load_into_spec(encoder, spec)
    encoder.eval()
    spec.eval()
    with torch.no_grad():
        torch.testing.assert_close(encoder(x), spec(x.transpose(1, 2)), rtol=1e-5, atol=1e-5)


def test_cmc_cmkm_inertial_has_no_dead_parameters() -> None:
    assert_every_parameter_gets_gradient(cmc_cmkm_inertial(), torch.randn(2, 50, 6))


def test_cmc_cmkm_inertial_rejects_other_lengths_and_masks() -> None:
    encoder = cmc_cmkm_inertial()
    with pytest.raises(ValueError, match=r"t = seq_len = 50, got \(2, 60, 6\)"):
        encoder(torch.randn(2, 60, 6))
    with pytest.raises(ValueError, match=r"t >= 7 .*got \(2, 6, 6\)"):
        encoder(torch.randn(2, 6, 6))
    with pytest.raises(ValueError, match="takes no mask"):
        encoder(torch.randn(2, 50, 6), torch.ones(2, 50, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"with c=6, got \(2, 50, 3\)"):
        encoder(torch.randn(2, 50, 3))


def test_cmc_cmkm_skeleton_counts_shape_and_lengths() -> None:
    encoder = cmc_cmkm_skeleton()
    assert num_parameters(encoder) == 432_000
    assert (
        num_parameters(encoder.position_stream) == num_parameters(encoder.motion_stream) == 31_104
    )
    assert num_parameters(encoder.trunk) == 74_112 + 295_680
    assert encoder.out_features == 256
    for t in (48, 50, 63):
        assert encoder(torch.randn(2, t, 20, 3)).shape == (2, 256)
    with pytest.raises(ValueError, match=r"t >= 48 .*got \(2, 47, 20, 3\)"):
        encoder(torch.randn(2, 47, 20, 3))
    with pytest.raises(ValueError, match="resample to t = 50"):
        encoder(torch.randn(2, 64, 20, 3))
    with pytest.raises(ValueError, match=r"with j=20, c=3, got \(2, 50, 17, 2\)"):
        encoder(torch.randn(2, 50, 17, 2))


def test_cmc_cmkm_skeleton_configuration() -> None:
    encoder = cmc_cmkm_skeleton()
    assert isinstance(encoder, HCNEncoder)
    assert (encoder.padding, encoder.fusion, encoder.pooling) == ("valid", "height", "flatten")
    assert encoder.channels == (64, 32, 32, 64, 128, 256)
    assert not any(isinstance(m, nn.Dropout2d) and m.p > 0 for m in encoder.modules())
    assert_every_parameter_gets_gradient(encoder, torch.randn(2, 50, 20, 3))


def test_clmm_style_inertial() -> None:
    encoder = clmm_style_inertial()
    assert isinstance(encoder, CNNDiffTransformerEncoder)
    assert num_parameters(encoder) == 448_864
    assert encoder.out_features == 128
    assert "Not from the CLMM paper" in (clmm_style_inertial.__doc__ or "")
    assert_padded_equals_alone(encoder, [64, 41, 20], channels=6)


def test_clmm_style_inertial_for_other_channel_counts() -> None:
    encoder = clmm_style_inertial(in_channels=9)  # e.g. with a magnetometer
    assert encoder(torch.randn(2, 50, 9)).shape == (2, 128)
    with pytest.raises(ValueError, match="in_channels"):
        clmm_style_inertial(in_channels=0)


def test_clmm_style_skeleton_is_the_inertial_design_on_flattened_joints() -> None:
    torch.manual_seed(0)
    encoder = clmm_style_skeleton()
    assert num_parameters(encoder) == 457_504 == num_parameters(clmm_style_inertial(in_channels=60))
    assert encoder.out_features == 128 and encoder.encoder.in_channels == 60
    x = torch.randn(2, 37, 20, 3)
    assert encoder(x).shape == (2, 128)
    flat = clmm_style_inertial(in_channels=60).eval()
    flat.load_state_dict(encoder.encoder.state_dict())  # the same layers, joint-major channels
    torch.testing.assert_close(encoder.eval()(x), flat(x.reshape(2, 37, 60)), rtol=0, atol=0)
    assert "num_joints=20, in_channels=3" in repr(encoder)
    assert "Not from the CLMM paper" in (clmm_style_inertial.__doc__ or "")
    other = clmm_style_skeleton(num_joints=25, in_channels=2)
    assert other.encoder.in_channels == 50 and other(torch.randn(2, 30, 25, 2)).shape == (2, 128)


def test_clmm_style_skeleton_masks_padding() -> None:
    x, mask = padded_batch([30, 21, 12], 60, torch.Generator().manual_seed(0))
    encoder = clmm_style_skeleton().eval()
    with torch.no_grad():
        batched = encoder(x.view(3, 30, 20, 3), mask)
        for i, length in enumerate([30, 21, 12]):
            alone = encoder(x[i : i + 1, :length].view(1, length, 20, 3))
            torch.testing.assert_close(batched[i : i + 1], alone, rtol=1e-5, atol=1e-5)


def test_clmm_style_skeleton_roundtrip_and_errors() -> None:
    x = torch.randn(2, 20, 20, 3)
    assert_roundtrip(clmm_style_skeleton(), clmm_style_skeleton, [x])
    owner = "^clmm_style_skeleton: "
    with pytest.raises(ValueError, match=owner + r'x must have shape "b t j c" with j=20, c=3'):
        clmm_style_skeleton()(torch.randn(2, 20, 25, 3))
    with pytest.raises(ValueError, match=owner + r'x must have shape "b t j c" \(4 dimensions\)'):
        clmm_style_skeleton()(torch.randn(2, 20, 60))
    with pytest.raises(ValueError, match=owner + "num_joints must be >= 1"):
        clmm_style_skeleton(num_joints=0)
    with pytest.raises(TypeError, match=owner + "in_channels"):
        clmm_style_skeleton(in_channels=3.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "preset", [cmc_cmkm_inertial, cmc_cmkm_skeleton, clmm_style_inertial, clmm_style_skeleton]
)
def test_factory_kwargs(preset: object) -> None:
    skeleton = preset in (cmc_cmkm_skeleton, clmm_style_skeleton)
    shape = (2, 50, 20, 3) if skeleton else (2, 50, 6)
    assert_factory_kwargs(preset, torch.randn(*shape))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("preset", "owner", "shape"),
    [
        (cmc_cmkm_inertial, "CNNTransformerEncoder", (2, 50, 6)),
        (cmc_cmkm_skeleton, "HCNEncoder", (2, 50, 20, 3)),
        (clmm_style_inertial, "CNNDiffTransformerEncoder", (2, 30, 6)),
        (clmm_style_skeleton, "clmm_style_skeleton", (2, 30, 20, 3)),
    ],
)
def test_input_dtype_must_suit_the_parameters(
    preset: object, owner: str, shape: tuple[int, ...]
) -> None:
    torch.manual_seed(0)
    assert_checks_input_dtype(preset, owner, torch.randn(*shape))  # type: ignore[arg-type]


@pytest.mark.compile
def test_presets_compile_without_graph_breaks() -> None:
    torch.manual_seed(0)
    inertial = cmc_cmkm_inertial().eval()  # no dropout; gradients still flow
    compiled_matches_eager(inertial, [torch.randn(2, 50, 6)], rtol=1e-4, atol=1e-5)
    compiled_matches_eager(cmc_cmkm_skeleton(), [torch.randn(2, 50, 20, 3)], rtol=1e-4, atol=1e-5)
    x, mask = padded_batch([24, 17], 60, torch.Generator().manual_seed(0), fill=0.0)
    skeleton = clmm_style_skeleton().eval()
    compiled_matches_eager(skeleton, [x.view(2, 24, 20, 3), mask], rtol=1e-4, atol=1e-5)
