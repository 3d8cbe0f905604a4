from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mmcontrast.encoders import CNNDiffTransformerEncoder, DifferentialTransformerLayer
from mmcontrast.encoders.diff_transformer import swiglu_hidden
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


def _small(**overrides: object) -> CNNDiffTransformerEncoder:
    kwargs: dict[str, object] = {"channels": (8, 16), "num_heads": 2, "num_layers": 2}
    kwargs.update(overrides)
    torch.manual_seed(0)
    return CNNDiffTransformerEncoder(**kwargs)  # type: ignore[arg-type]


def test_swiglu_hidden() -> None:
    assert swiglu_hidden(128) == 344
    assert swiglu_hidden(96) == 256
    assert swiglu_hidden(16) == 48


def test_layer_is_pre_norm_residual() -> None:
    torch.manual_seed(0)
    layer = DifferentialTransformerLayer(16, num_heads=2, depth=1, dtype=torch.float64)
    x = torch.randn(2, 5, 16, dtype=torch.float64)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])

    def rms(z: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return z / torch.sqrt(z.square().mean(-1, keepdim=True) + 1e-5) * weight

    h = x + layer.attn(rms(x, layer.attn_norm.weight), mask)
    gate, up = (rms(h, layer.ffn_norm.weight) @ layer.ffn.gate_up.weight.T).chunk(2, dim=-1)
    want = h + (F.silu(gate) * up) @ layer.ffn.down.weight.T
    torch.testing.assert_close(layer(x, mask), want, rtol=1e-12, atol=1e-12)
    assert layer.attn.depth == 1
    # 4 D^2 + 4e (attention) + 3 * D * 344 (SwiGLU) + 2 D (norms)
    assert num_parameters(DifferentialTransformerLayer(128, num_heads=4)) == 197_952


def test_layer_extra_repr_and_errors() -> None:
    layer = DifferentialTransformerLayer(16, num_heads=2, dropout=0.2)
    assert layer.extra_repr() == "hidden_dim=48, dropout=0.2"
    with pytest.raises(ValueError, match=r"^DifferentialTransformerLayer: hidden_dim must be >= 1"):
        DifferentialTransformerLayer(16, num_heads=2, hidden_dim=0)


def test_default_shapes_parameters_and_depths() -> None:
    encoder = CNNDiffTransformerEncoder()
    assert encoder.out_features == 128
    assert encoder(torch.randn(2, 333, 6)).shape == (2, 128)
    assert [layer.attn.depth for layer in encoder.layers] == [0, 1]
    # architectures.md 4.3(a): 448,928 with the affine sub-norm, minus 32 per layer without.
    assert num_parameters(encoder) == 448_864
    assert num_parameters(CNNDiffTransformerEncoder(norm_affine=True)) == 448_928
    assert num_parameters(CNNDiffTransformerEncoder(in_channels=60, norm_affine=True)) == 457_568
    assert num_parameters(CNNDiffTransformerEncoder(in_channels=120, norm_affine=True)) == 467_168
    assert num_parameters(CNNDiffTransformerEncoder(in_channels=60)) == 457_504


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"pooling": "cls"},
        {"positions": "rope"},
        {"positions": "rope", "pooling": "cls"},
        {"padding": 1},
    ],
)
def test_padded_batch_equals_each_sample_alone(overrides: dict[str, object]) -> None:
    assert_padded_equals_alone(_small(**overrides), [29, 22, 15, 8], channels=6)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_all_padding_row(pooling: str) -> None:
    encoder = _small(pooling=pooling).eval()
    x, mask = padded_batch([10, 4], 6, torch.Generator().manual_seed(0))
    x = torch.cat((x, torch.randn(2, 10, 6)))
    mask = torch.cat((mask, torch.zeros(2, 10, dtype=torch.bool)))
    out = encoder(x, mask)
    assert torch.isfinite(out).all()
    if pooling == "mean":
        assert (out[2:] == 0).all()
    else:
        torch.testing.assert_close(out[2], out[3])
    encoder.train()
    leaf = x.clone().requires_grad_()
    encoder(leaf, mask).sum().backward()
    assert leaf.grad is not None and torch.isfinite(leaf.grad).all()
    assert (leaf.grad[2:] == 0).all()


@pytest.mark.parametrize("overrides", [{}, {"pooling": "cls", "norm_affine": True}])
def test_every_parameter_gets_a_gradient(overrides: dict[str, object]) -> None:
    x, mask = padded_batch([20, 13], 6, torch.Generator().manual_seed(0))
    assert_every_parameter_gets_gradient(_small(**overrides), x, mask)


def test_flatten_pooling() -> None:
    encoder = _small(pooling="flatten", seq_len=30, padding=1)
    assert encoder.out_features == 16 * 26
    assert encoder(torch.randn(2, 30, 6)).shape == (2, 16 * 26)
    with pytest.raises(ValueError, match=r"t = seq_len = 30, got \(2, 31, 6\)"):
        encoder(torch.randn(2, 31, 6))


def test_extra_repr() -> None:
    assert _small().extra_repr() == (
        "in_channels=6, channels=(8, 16), kernel_size=5, padding=2, num_layers=2, dropout=0.1, "
        "positions='sinusoidal', pooling='mean', seq_len=None, out_features=16"
    )


def test_roundtrip() -> None:
    x, mask = padded_batch([10, 7], 6, torch.Generator().manual_seed(0))
    assert_roundtrip(_small(pooling="cls"), lambda: _small(pooling="cls"), [x, mask])


def test_autocast() -> None:
    x, mask = padded_batch([30, 21], 6, torch.Generator().manual_seed(0))
    assert_autocast_works(_small(positions="rope"), x, mask)


def test_factory_kwargs() -> None:
    assert_factory_kwargs(
        lambda **factory: _small(pooling="cls", norm_affine=True, **factory),
        torch.randn(2, 9, 6),
    )


@pytest.mark.compile
def test_compiles_without_graph_breaks() -> None:
    encoder = _small(dropout=0.0, num_layers=1, positions="rope", pooling="cls")
    x, mask = padded_batch([12, 8, 0], 6, torch.Generator().manual_seed(0), fill=0.0)
    compiled_matches_eager(encoder, [x, mask])


@pytest.mark.compile
def test_compiles_under_autocast_with_the_dtype_check() -> None:
    encoder = _small(dropout=0.0).eval()
    x, mask = padded_batch([12, 8], 6, torch.Generator().manual_seed(0), fill=0.0)
    torch._dynamo.reset()
    compiled = torch.compile(encoder, fullgraph=True, backend="aot_eager")
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for accepted in (x, x.bfloat16()):
            out = compiled(accepted, mask)
            assert out.dtype == torch.bfloat16
            torch.testing.assert_close(out, encoder(accepted, mask), rtol=2e-2, atol=2e-2)


def test_input_dtype_must_suit_the_parameters() -> None:
    x, mask = padded_batch([12, 9], 6, torch.Generator().manual_seed(0), fill=0.0)
    assert_checks_input_dtype(
        lambda **factory: _small(**factory), "CNNDiffTransformerEncoder", x, mask
    )
    assert_checks_input_dtype(
        lambda **factory: DifferentialTransformerLayer(16, num_heads=2, **factory),
        "DifferentialTransformerLayer",
        torch.randn(2, 5, 16),
    )
    with pytest.raises(
        ValueError, match=r'^DifferentialTransformerLayer: x must have shape "b t d"'
    ):
        DifferentialTransformerLayer(16, num_heads=2)(torch.randn(2, 5, 8))


def test_bad_inputs_and_hyperparameters() -> None:
    encoder = _small()
    owner = "^CNNDiffTransformerEncoder: "
    with pytest.raises(ValueError, match=owner + r'x must have shape "b t c" with c=6'):
        encoder(torch.randn(2, 10, 7))
    with pytest.raises(ValueError, match=owner + r"x must have shape"):
        encoder(torch.randn(2, 10, 6, 1))
    with pytest.raises(ValueError, match=r"mask: \(3, 10\) and x: \(2, 10, 6\)"):
        encoder(torch.randn(2, 10, 6), torch.ones(3, 10, dtype=torch.bool))
    with pytest.raises(ValueError, match=owner + "positions must be one of"):
        CNNDiffTransformerEncoder(positions="alibi")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=owner + r"2 \* num_heads = 6 must divide the model"):
        CNNDiffTransformerEncoder(num_heads=3)
    with pytest.raises(ValueError, match=owner + "seq_len is only used"):
        CNNDiffTransformerEncoder(seq_len=50)


def test_inputs_are_checked_once_at_the_public_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner layers and attention run unchecked: one dtype check per public call."""
    from mmcontrast.encoders import _common, diff_attention, diff_transformer, presets

    calls: list[torch.dtype] = []
    checked = _common.check_input_dtype

    def counting(x: torch.Tensor, parameter: torch.Tensor, **kw: str) -> torch.Tensor:
        calls.append(x.dtype)
        return checked(x, parameter, **kw)

    for module in (_common, diff_attention, diff_transformer, presets):
        monkeypatch.setattr(module, "check_input_dtype", counting)
    x, mask = padded_batch([10, 7], 6, torch.Generator().manual_seed(0), fill=0.0)
    _small()(x, mask)
    assert len(calls) == 1
    calls.clear()
    presets.clmm_style_skeleton()(torch.randn(2, 12, 20, 3), mask[:, :1].expand(2, 12))
    assert len(calls) == 1
    calls.clear()
    layer = DifferentialTransformerLayer(16, num_heads=2)
    layer(torch.randn(2, 5, 16))
    assert len(calls) == 1
    calls.clear()
    layer.attn(torch.randn(2, 5, 16))
    assert len(calls) == 1
    with pytest.raises(ValueError, match=r"^DifferentialTransformerLayer: mask must have shape"):
        layer(torch.randn(2, 5, 16), torch.ones(3, 5, dtype=torch.bool))  # still checked
