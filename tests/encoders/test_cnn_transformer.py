from __future__ import annotations

import pytest
import torch
from torch import nn

from mmcontrast.encoders import CNNTransformerEncoder
from tests.encoders._support import (
    assert_autocast_works,
    assert_checks_input_dtype,
    assert_every_parameter_gets_gradient,
    assert_factory_kwargs,
    assert_padded_equals_alone,
    num_parameters,
    padded_batch,
)
from tests.helpers import assert_roundtrip, compiled_matches_eager


def _small(**overrides: object) -> CNNTransformerEncoder:
    kwargs: dict[str, object] = {"channels": (8, 16), "num_heads": 2, "num_layers": 1}
    kwargs.update(overrides)
    torch.manual_seed(0)
    return CNNTransformerEncoder(**kwargs)  # type: ignore[arg-type]


def test_default_shapes_and_parameters() -> None:
    encoder = CNNTransformerEncoder()
    assert encoder.out_features == 128
    assert encoder(torch.randn(3, 77, 6)).shape == (3, 128)
    assert encoder(torch.randn(2, 1, 6)).shape == (2, 128)  # any length, even one step
    # stem 52,832 + 2 x (attention 66,048 + feed-forward 131,712 + norms 512) + final norm 256
    assert num_parameters(encoder) == 449_632
    assert num_parameters(CNNTransformerEncoder(pooling="cls")) == 449_632 + 128


@pytest.mark.parametrize(
    ("overrides", "parameters", "out_features"),
    [
        # architectures.md section 0: CMC-CMKM with the default kernel 3 (flatten 128 x 50).
        (
            {"kernel_size": 3, "padding": 1, "pooling": "flatten", "seq_len": 50},
            1_218_016,
            6400,
        ),
        # CSSHAR UCI: k = 3, 8 heads, 8 layers, the used count (no template layer).
        ({"kernel_size": 3, "num_heads": 8, "num_layers": 8}, 4_776_160, 128),
    ],
)
def test_reference_parameter_counts(
    overrides: dict[str, object], parameters: int, out_features: int
) -> None:
    encoder = CNNTransformerEncoder(
        dim_feedforward=2048,
        norm_first=False,
        ff_act_layer=nn.ReLU,
        **overrides,  # type: ignore[arg-type]
    )
    assert num_parameters(encoder) == parameters
    assert encoder.out_features == out_features


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"pooling": "cls"},
        {"norm_first": False, "ff_act_layer": nn.ReLU},
        {"kernel_size": 5, "padding": 1},  # the shrinking CMC-CMKM stem, with a mask
    ],
)
def test_padded_batch_equals_each_sample_alone(overrides: dict[str, object]) -> None:
    encoder = _small(**overrides)
    assert_padded_equals_alone(encoder, [31, 24, 17, 9], channels=6)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_all_padding_row(pooling: str) -> None:
    encoder = _small(pooling=pooling).eval()
    x, mask = padded_batch([12, 5], 6, torch.Generator().manual_seed(0))
    x = torch.cat((x, torch.randn(2, 12, 6)))
    mask = torch.cat((mask, torch.zeros(2, 12, dtype=torch.bool)))
    out = encoder(x, mask)
    assert torch.isfinite(out).all()
    if pooling == "mean":
        assert (out[2:] == 0).all()  # documented: an empty row gives zero features
    else:
        torch.testing.assert_close(out[2], out[3])  # the CLS token alone: input-independent
    # gradients stay finite in train mode, and an empty row sends none to its input
    encoder.train()
    leaf = x.clone().requires_grad_()
    encoder(leaf, mask).sum().backward()
    assert leaf.grad is not None and torch.isfinite(leaf.grad).all()
    assert (leaf.grad[2:] == 0).all()


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_every_parameter_gets_a_gradient(pooling: str) -> None:
    x, mask = padded_batch([20, 14], 6, torch.Generator().manual_seed(0))
    assert_every_parameter_gets_gradient(CNNTransformerEncoder(pooling=pooling), x, mask)


def test_injected_layers() -> None:
    encoder = _small(act_layer=nn.GELU, norm_layer=nn.Identity, ff_act_layer=nn.ReLU)
    assert isinstance(encoder.stem.blocks[0][2], nn.GELU)
    assert isinstance(encoder.stem.blocks[0][1], nn.Identity)
    assert isinstance(encoder.layers[0].activation, nn.ReLU)
    assert encoder.layers[0].activation_relu_or_gelu == 1  # PyTorch's fused fast path
    assert isinstance(_small().layers[0].activation, nn.GELU)
    assert num_parameters(encoder) == num_parameters(_small()) - 2 * (8 + 16)
    assert encoder(torch.randn(2, 10, 6)).shape == (2, 16)


def test_ff_act_layer_default_equals_the_gelu_string() -> None:
    torch.manual_seed(0)
    encoder = _small().eval()
    reference = [
        nn.TransformerEncoderLayer(
            16, 2, dim_feedforward=64, activation="gelu", batch_first=True, norm_first=True
        ).eval()
        for _ in encoder.layers
    ]
    x = torch.randn(2, 10, 16)
    for mine, theirs in zip(encoder.layers, reference, strict=True):
        theirs.load_state_dict(mine.state_dict())
        torch.testing.assert_close(mine(x), theirs(x))


def test_extra_repr() -> None:
    assert _small().extra_repr() == (
        "in_channels=6, channels=(8, 16), kernel_size=5, padding=2, num_heads=2, num_layers=1, "
        "dim_feedforward=64, dropout=0.1, norm_first=True, pooling='mean', seq_len=None, "
        "out_features=16"
    )


def test_roundtrip() -> None:
    x, mask = padded_batch([10, 7], 6, torch.Generator().manual_seed(0))
    assert_roundtrip(_small(pooling="cls"), lambda: _small(pooling="cls"), [x, mask])


def test_autocast() -> None:
    x, mask = padded_batch([30, 21], 6, torch.Generator().manual_seed(0))
    assert_autocast_works(_small(), x, mask)


def test_factory_kwargs() -> None:
    assert_factory_kwargs(lambda **factory: _small(pooling="cls", **factory), torch.randn(2, 9, 6))


@pytest.mark.compile
@pytest.mark.parametrize("masked", [False, True])
def test_compiles_without_graph_breaks(masked: bool) -> None:
    encoder = _small(dropout=0.0, pooling="cls" if masked else "mean")
    x, mask = padded_batch([12, 8, 0], 6, torch.Generator().manual_seed(0), fill=0.0)
    compiled_matches_eager(encoder, [x, mask] if masked else [x])


def test_input_dtype_must_suit_the_parameters() -> None:
    x, mask = padded_batch([12, 9], 6, torch.Generator().manual_seed(0), fill=0.0)
    assert_checks_input_dtype(lambda **factory: _small(**factory), "CNNTransformerEncoder", x, mask)


@pytest.mark.compile
def test_compiles_under_autocast_with_the_dtype_check() -> None:
    encoder = _small(dropout=0.0).eval()
    x = torch.randn(2, 12, 6)
    torch._dynamo.reset()
    # The dtype check traces without graph breaks. (Dynamo's graph, run eagerly: with
    # aot_eager, PyTorch 2.13's CPU autocast fails inside nn.TransformerEncoderLayer with or
    # without the check.)
    compiled = torch.compile(encoder, fullgraph=True, backend="eager")
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for accepted in (x, x.bfloat16()):
            torch.testing.assert_close(compiled(accepted), encoder(accepted), rtol=0, atol=0)


def test_bad_inputs() -> None:
    encoder = _small()
    with pytest.raises(ValueError, match=r'^CNNTransformerEncoder: x must have shape "b t c"'):
        encoder(torch.randn(10, 6))
    with pytest.raises(ValueError, match=r"with c=6, got \(2, 10, 3\)"):
        encoder(torch.randn(2, 10, 3))
    with pytest.raises(ValueError, match=r"mask: \(2, 9\) and x: \(2, 10, 6\)"):
        encoder(torch.randn(2, 10, 6), torch.ones(2, 9, dtype=torch.bool))
    with pytest.raises(TypeError, match="mask must be a torch.bool tensor"):
        encoder(torch.randn(2, 10, 6), torch.ones(2, 10))
    shrinking = _small(padding=0)
    assert shrinking.min_length == 9
    with pytest.raises(ValueError, match=r"t >= 9 .*got \(2, 8, 6\)"):
        shrinking(torch.randn(2, 8, 6))
    flat = _small(pooling="flatten", seq_len=20)
    assert flat.out_features == 16 * 20
    with pytest.raises(ValueError, match=r"t = seq_len = 20, got \(2, 21, 6\)"):
        flat(torch.randn(2, 21, 6))
    with pytest.raises(ValueError, match="takes no mask"):
        flat(torch.randn(2, 20, 6), torch.ones(2, 20, dtype=torch.bool))


def test_bad_hyperparameters() -> None:
    owner = "^CNNTransformerEncoder: "
    with pytest.raises(ValueError, match=owner + "num_heads must divide the model width"):
        CNNTransformerEncoder(num_heads=3)
    with pytest.raises(ValueError, match=owner + "pooling must be one of"):
        CNNTransformerEncoder(pooling="max")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=owner + "ff_act_layer must be a module class"):
        CNNTransformerEncoder(ff_act_layer="gelu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=owner + 'pooling="flatten" needs seq_len'):
        CNNTransformerEncoder(pooling="flatten")
    with pytest.raises(ValueError, match=owner + "seq_len is only used"):
        CNNTransformerEncoder(seq_len=50)
    with pytest.raises(ValueError, match=owner + r"dropout must be in \[0, 1\)"):
        CNNTransformerEncoder(dropout=1.0)
    with pytest.raises(TypeError, match=owner + "norm_first must be a bool"):
        CNNTransformerEncoder(norm_first=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=owner + "num_layers must be >= 1"):
        CNNTransformerEncoder(num_layers=0)
    with pytest.raises(ValueError, match=owner + "in_channels must be >= 1"):
        CNNTransformerEncoder(in_channels=0)
