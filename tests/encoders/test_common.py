from __future__ import annotations

import math

import pytest
import torch

from mmcontrast._checks import check_mask, checking
from mmcontrast.encoders import CNNTransformerEncoder
from mmcontrast.encoders._common import (
    attention_key_mask,
    rms_norm,
    sinusoidal_positions,
)


def test_sinusoidal_positions_follow_the_formula() -> None:
    table = sinusoidal_positions(7, 6, device=torch.device("cpu"), dtype=torch.float64)
    for t in range(7):
        for i in range(3):
            angle = t / 10000 ** (2 * i / 6)
            assert table[t, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-12)
            assert table[t, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-12)


def test_sinusoidal_positions_any_length_and_odd_width() -> None:
    long = sinusoidal_positions(500, 5, device=torch.device("cpu"), dtype=torch.float32)
    assert long.shape == (500, 5)
    short = sinusoidal_positions(50, 5, device=torch.device("cpu"), dtype=torch.float32)
    torch.testing.assert_close(long[:50], short)  # a prefix: same table for every length


def test_attention_key_mask_opens_only_empty_rows() -> None:
    mask = torch.tensor([[True, False], [False, False]])
    assert attention_key_mask(mask).tolist() == [[True, False], [True, True]]


def test_check_mask_errors() -> None:
    x = torch.zeros(2, 5, 6)
    assert check_mask(None, x) is None
    with pytest.raises(TypeError, match=r"^Enc: mask must be a torch.bool tensor"), checking("Enc"):
        check_mask(torch.ones(2, 5), x)
    with pytest.raises(TypeError, match=r"^mask must be a torch.Tensor or None, got list"):
        check_mask([[True]], x)
    with pytest.raises(ValueError, match=r"mask: \(2, 4\) and x: \(2, 5, 6\)"):
        check_mask(torch.ones(2, 4, dtype=torch.bool), x)
    with pytest.raises(ValueError, match=r'"b t" = \(2, 5\)'):
        check_mask(torch.ones(2, 5, 1, dtype=torch.bool), x)


def test_sequence_input_errors() -> None:
    encoder = CNNTransformerEncoder(in_channels=6, channels=(4,), kernel_size=7, padding=0)
    name = "CNNTransformerEncoder"
    with pytest.raises(ValueError, match=rf'^{name}: x must have shape "b t c" \(3 dimensions\)'):
        encoder(torch.zeros(5, 6))
    with pytest.raises(ValueError, match=r"with c=6, got \(2, 5, 3\)"):
        encoder(torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match=r"t >= 7 .* got \(2, 5, 6\)"):
        encoder(torch.zeros(2, 5, 6))
    with pytest.raises(TypeError, match="floating-point"):
        encoder(torch.zeros(2, 5, 6, dtype=torch.long))


def test_seq_len_errors() -> None:
    def build(pooling: str, seq_len: int | None) -> CNNTransformerEncoder:
        return CNNTransformerEncoder(
            channels=(4,),
            kernel_size=7,
            padding=0,
            pooling=pooling,
            seq_len=seq_len,  # type: ignore[arg-type]
        )

    assert build("mean", None).seq_len is None
    assert build("flatten", 50).seq_len == 50
    with pytest.raises(ValueError, match="^CNNTransformerEncoder: pooling=.flatten. needs seq_len"):
        build("flatten", None)
    with pytest.raises(ValueError, match="only used with pooling"):
        build("cls", 50)
    with pytest.raises(ValueError, match="seq_len must be >= 7, got 5"):
        build("flatten", 5)


def test_rms_norm_keeps_the_input_dtype() -> None:
    norm = torch.nn.RMSNorm(4)
    x = torch.randn(3, 4, dtype=torch.float16)
    out = rms_norm(norm, x)
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), norm(x.float()), rtol=1e-3, atol=1e-3)


def test_rms_norm_half_parameters_compute_in_float32() -> None:
    norm = torch.nn.RMSNorm(4, dtype=torch.bfloat16)
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([0.5, 1.0, 1.5, 2.0]))
    x = torch.randn(3, 4, dtype=torch.bfloat16)
    want = x.float() / x.float().square().mean(-1, keepdim=True).add(1e-6).sqrt()
    want = want * norm.weight.float()
    out = rms_norm(norm, x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), want, rtol=1e-2, atol=1e-2)
