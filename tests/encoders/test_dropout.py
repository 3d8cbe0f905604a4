"""FastDropout: the distribution of its masks, its gradient, and the in-place replacement."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mmcontrast.encoders import FastDropout, presets, use_fast_dropout


def drop_rate(y: torch.Tensor) -> float:
    return float((y == 0).double().mean())


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.9])
def test_drops_each_element_with_the_effective_probability(p: float) -> None:
    torch.manual_seed(0)
    n = 1 << 20
    y = FastDropout(p)(torch.ones(n))
    p_eff = FastDropout(p).effective_p
    assert abs(p_eff - p) <= 2**-17
    sigma = math.sqrt(p_eff * (1 - p_eff) / (n // 4))
    # each of the four 16-bit words of a draw on its own: a biased word (e.g. a sign bit
    # that is never set) would show here even when the overall rate looks right
    for word in range(4):
        assert abs(drop_rate(y[word::4]) - p_eff) < 5 * sigma, word
    kept = y[y != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / (1 - p_eff)))


def test_masks_of_the_words_of_one_draw_are_independent() -> None:
    torch.manual_seed(1)
    n, p = 1 << 20, 0.5
    dropped = (FastDropout(p)(torch.ones(n)) == 0).view(-1, 4).double()
    both = (dropped[:, 0] * dropped[:, 3]).mean()
    sigma = math.sqrt(0.25 * 0.75 / len(dropped))
    assert abs(float(both) - p * p) < 5 * sigma
    rows = (FastDropout(p)(torch.ones(n)) == 0).view(-1, 1024).double().mean(1)
    assert float(rows.std()) < 3 * math.sqrt(p * (1 - p) / 1024)


def test_expectation_is_the_input() -> None:
    torch.manual_seed(2)
    x = torch.randn(64)
    mean = torch.stack([FastDropout(0.3)(x) for _ in range(4000)]).mean(0)
    torch.testing.assert_close(mean, x, atol=0.06, rtol=0.0)


def test_reproducible_with_manual_seed_and_differs_between_calls() -> None:
    layer, x = FastDropout(0.5), torch.randn(1000)
    torch.manual_seed(3)
    a, b = layer(x), layer(x)
    torch.manual_seed(3)
    torch.testing.assert_close(layer(x), a, rtol=0, atol=0)
    assert not torch.equal(a, b)


def test_gradient_is_the_mask_times_the_scale() -> None:
    torch.manual_seed(4)
    x = torch.rand(3, 5, 7, dtype=torch.float64) + 0.5  # nonzero: kept <=> output nonzero
    x.requires_grad_(True)
    layer = FastDropout(0.2)
    y = layer(x)
    y.backward(torch.ones_like(y))
    assert x.grad is not None
    scale = 1 / (1 - layer.effective_p)
    torch.testing.assert_close(x.grad, (y != 0).double() * scale)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_keeps_dtype_shape_and_handles_odd_and_strided_inputs(dtype: torch.dtype) -> None:
    torch.manual_seed(5)
    x = torch.randn(7, 3, dtype=dtype).t()  # 21 elements, not a multiple of 4, strided
    y = FastDropout(0.5)(x)
    assert y.dtype == dtype and y.shape == x.shape
    kept = y != 0
    torch.testing.assert_close(y[kept], (x * 2)[kept])


def test_eval_mode_zero_and_one() -> None:
    x = torch.randn(10)
    assert FastDropout(0.5).eval()(x) is x
    assert FastDropout(0.0)(x) is x
    assert FastDropout(2**-18)(x) is x  # rounds to 0
    assert torch.equal(FastDropout(1.0)(x), torch.zeros(10))


@pytest.mark.parametrize(
    ("p", "error"),
    [
        (-0.1, ValueError),
        (1.5, ValueError),
        (float("nan"), ValueError),
        ("0.1", TypeError),
        (True, TypeError),
    ],
)
def test_rejects_a_bad_probability(p: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"FastDropout: p must be a number in \[0, 1\], got"):
        FastDropout(p)  # type: ignore[arg-type]


def test_is_a_dropout_and_prints_its_p() -> None:
    layer = FastDropout(0.1)
    assert isinstance(layer, nn.Dropout)
    assert repr(layer) == "FastDropout(p=0.1)"


def test_use_fast_dropout_replaces_exactly_the_plain_dropouts() -> None:
    torch.manual_seed(6)
    model = nn.Sequential(
        nn.TransformerEncoderLayer(d_model=16, nhead=2, dropout=0.2),
        nn.Dropout2d(0.3),
        nn.Dropout(0.4),
    )
    keys = list(model.state_dict())
    assert use_fast_dropout(model) == 4  # three in the layer, one at the end
    assert isinstance(model[1], nn.Dropout2d) and not isinstance(model[1], FastDropout)
    assert isinstance(model[0].dropout1, FastDropout) and model[0].dropout1.p == 0.2
    assert model[2].p == 0.4
    assert list(model.state_dict()) == keys
    assert use_fast_dropout(model) == 0  # already replaced


def test_use_fast_dropout_on_the_inertial_preset_keeps_eval_outputs() -> None:
    torch.manual_seed(7)
    encoder = presets.cmc_cmkm_inertial().eval()
    x = torch.randn(4, 50, 6)
    before = encoder(x)
    assert use_fast_dropout(encoder) == 7  # positions, and 3 in each of the 2 layers
    torch.testing.assert_close(encoder(x), before, rtol=0, atol=0)


def test_use_fast_dropout_rejects_a_non_module() -> None:
    with pytest.raises(TypeError, match="use_fast_dropout: module must be an nn.Module, got"):
        use_fast_dropout("model")  # type: ignore[arg-type]
