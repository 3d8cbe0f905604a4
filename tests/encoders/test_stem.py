from __future__ import annotations

import pytest
import torch
from torch import nn

from mmcontrast.encoders import CNNTransformerEncoder
from mmcontrast.encoders._stem import ConvStem


def _stem(kernel_size: int, padding: int, channels: tuple[int, ...] = (4, 5)) -> ConvStem:
    torch.manual_seed(0)
    return ConvStem(
        3,
        channels,
        kernel_size=kernel_size,
        padding=padding,
        act_layer=nn.ReLU,
        norm_layer=nn.BatchNorm1d,
    ).eval()


@pytest.mark.parametrize(
    ("kernel_size", "padding", "shift"), [(5, 2, 0), (5, 1, 2), (5, 0, 4), (3, 2, -2), (4, 2, -1)]
)
def test_valid_outputs_equal_the_unpadded_sample(
    kernel_size: int, padding: int, shift: int
) -> None:
    stem = _stem(kernel_size, padding)
    assert stem.shift == shift
    g = torch.Generator().manual_seed(0)
    lengths = [20, 13, 9]
    x = torch.randn(3, 3, 20, generator=g)
    mask = torch.arange(20) < torch.tensor(lengths).unsqueeze(1)
    x = x.masked_fill(~mask.unsqueeze(1), float("nan"))
    with torch.no_grad():
        out, out_mask = stem(x, mask)
        assert out_mask is not None
        assert out.shape[-1] == stem.output_length(20) == out_mask.shape[-1]
        assert torch.isfinite(out).all()
        for i, length in enumerate(lengths):
            alone, none = stem(x[i : i + 1, :, :length])
            assert none is None
            # The valid prefix of the padded row has exactly the unpadded output's length.
            assert out_mask[i].sum().item() == alone.shape[-1] == stem.output_length(length)
            assert out_mask[i, : alone.shape[-1]].all()
            torch.testing.assert_close(out[i : i + 1, :, : alone.shape[-1]], alone)
            assert (out[i, :, alone.shape[-1] :] == 0).all()  # padded outputs are zeroed


def test_min_length() -> None:
    assert _stem(5, 1, (4, 5, 6)).min_length == 7  # 7 -> 5 -> 3 -> 1
    assert _stem(5, 2).min_length == 1
    stem = _stem(5, 0, (4, 5, 6))
    assert stem.output_length(stem.min_length) == 1


def test_bad_hyperparameters() -> None:
    # The encoders check the stem's settings (ConvStem itself assumes checked input).
    def build(**overrides: object) -> CNNTransformerEncoder:
        kwargs: dict[str, object] = {"channels": (4,), "kernel_size": 3, "padding": 1}
        kwargs.update(overrides)
        return CNNTransformerEncoder(**kwargs)  # type: ignore[arg-type]

    name = "CNNTransformerEncoder"
    with pytest.raises(ValueError, match=rf"^{name}: channels must name at least one block"):
        build(channels=())
    with pytest.raises(TypeError, match=rf"^{name}: channels must be a sequence of ints, got int"):
        build(channels=4)
    with pytest.raises(ValueError, match=rf"^{name}: every entry of channels must be >= 1, got 0"):
        build(channels=(4, 0))
    with pytest.raises(ValueError, match=rf"^{name}: padding must be >= 0, got -1"):
        build(padding=-1)
    with pytest.raises(TypeError, match=rf"^{name}: kernel_size must be an int, got float"):
        build(kernel_size=3.0)
