from __future__ import annotations

import pytest
import torch

from mmcontrast.data import Standardizer
from tests.helpers import assert_close, assert_roundtrip, compiled_matches_eager


def _imu(generator: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    scale = torch.tensor([0.5, 0.6, 0.7, 100.0, 110.0, 120.0])
    return (torch.randn(5, 30, 6, generator=generator) * scale + 2).to(dtype)


def test_fit_matches_float64_statistics_over_batch_and_time(generator: torch.Generator) -> None:
    x = _imu(generator)
    scaler = Standardizer.fit(x)
    flat = x.double().reshape(-1, 6)
    assert_close(scaler.mean, flat.mean(0).float())
    assert_close(scaler.std, flat.std(0, unbiased=False).float())
    assert scaler.mean.dtype == torch.float32 and scaler.channel_shape == (6,)
    z = scaler(x)
    assert_close(z.double().mean((0, 1)), torch.zeros(6, dtype=torch.float64), atol=1e-5)
    assert_close(z.double().std((0, 1), unbiased=False), torch.ones(6).double(), atol=1e-5)
    assert_close(scaler.inverse_transform(z), x, rtol=1e-5, atol=1e-4)


def test_masked_fit_ignores_padding_and_transform_keeps_it_zero(
    generator: torch.Generator,
) -> None:
    x = _imu(generator)
    mask = torch.arange(30)[None] < torch.tensor([30, 12, 5, 30, 1])[:, None]
    scaler = Standardizer.fit(x, mask=mask)
    real = x[mask].double()
    assert_close(scaler.mean, real.mean(0).float())
    assert_close(scaler.std, real.std(0, unbiased=False).float())
    z = scaler(x, mask)
    assert bool((z[~mask] == 0).all())
    assert_close(z[mask], (x[mask] - scaler.mean) / scaler.std)
    back = scaler.inverse_transform(z, mask)
    assert bool((back[~mask] == 0).all())
    assert_close(back[mask], x[mask], rtol=1e-5, atol=1e-4)


def test_skeleton_per_coordinate_or_per_joint(generator: torch.Generator) -> None:
    x = torch.randn(4, 10, 20, 3, generator=generator) * torch.tensor([1.0, 2.0, 3.0]) + 5
    mask = torch.ones(4, 10, dtype=torch.bool)
    mask[0, 5:] = False
    pooled = Standardizer.fit(x, mask=mask)
    real = x[mask].double()  # "steps j c"
    assert pooled.channel_shape == (3,)
    assert_close(pooled.mean, real.reshape(-1, 3).mean(0).float())
    assert_close(pooled.std, real.reshape(-1, 3).std(0, unbiased=False).float())
    per_joint = Standardizer.fit(x, mask=mask, channel_dims=2)
    assert per_joint.channel_shape == (20, 3)
    assert_close(per_joint.mean, real.mean(0).float())
    assert_close(per_joint.std, real.std(0, unbiased=False).float())
    assert per_joint(x, mask).shape == x.shape


def test_constant_channels_keep_a_scale_of_one() -> None:
    x = torch.randn(3, 7, 4, dtype=torch.float64)
    x[..., 1] = 0.1  # a float64 std of ~7e-17 without the guard
    x[..., 2] = 0.0
    scaler = Standardizer.fit(x)
    assert scaler.std[1] == 1 and scaler.std[2] == 1
    assert bool(scaler(x)[..., 1:3].abs().max() < 1e-15)


def test_half_precision_input_gets_statistics_in_its_dtype(generator: torch.Generator) -> None:
    x = _imu(generator, torch.float16)
    scaler = Standardizer.fit(x)
    assert scaler.mean.dtype == torch.float16
    assert scaler(x).dtype == torch.float16
    assert torch.isfinite(scaler(x)).all()


def test_roundtrip_repr_and_module_behaviour(generator: torch.Generator) -> None:
    x = _imu(generator)
    scaler = Standardizer.fit(x)
    assert_roundtrip(scaler, lambda: Standardizer(torch.zeros(6), torch.ones(6)), [x])
    assert repr(scaler) == "Standardizer(channels=(6,))"
    assert sorted(scaler.state_dict()) == ["mean", "std"]
    assert list(scaler.parameters()) == []
    assert scaler.double().mean.dtype == torch.float64  # buffers follow .to()
    assert_close(scaler(x[0].double()), (x[0].double() - scaler.mean) / scaler.std)


@pytest.mark.compile
def test_compiles_without_graph_breaks(generator: torch.Generator) -> None:
    x = _imu(generator)
    scaler = Standardizer.fit(x)
    mask = torch.rand(5, 30, generator=generator) > 0.2
    compiled_matches_eager(lambda value: scaler(value, mask), [x])


def test_validation_messages() -> None:
    x = torch.randn(2, 5, 6)
    with pytest.raises(ValueError, match=r"the same channel shape .* mean: \(6,\) and std: \(5,\)"):
        Standardizer(torch.zeros(6), torch.ones(5))
    with pytest.raises(ValueError, match="std must be positive"):
        Standardizer(torch.zeros(2), torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="mean and std must be finite"):
        Standardizer(torch.tensor([float("nan")]), torch.ones(1))
    with pytest.raises(TypeError, match="mean must be a floating-point tensor"):
        Standardizer(torch.zeros(2, dtype=torch.long), torch.ones(2))
    with pytest.raises(ValueError, match="at least one real step, got x: \\(2, 5, 6\\) with 0"):
        Standardizer.fit(x, mask=torch.zeros(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask must have the leading shape of x .* \(2, 4\)"):
        Standardizer.fit(x, mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(TypeError, match="mask must be a bool tensor, got torch.float32"):
        Standardizer.fit(x, mask=torch.ones(2, 5))
    with pytest.raises(ValueError, match="at least one axis to reduce besides its 2 channel"):
        Standardizer.fit(torch.randn(4, 3), channel_dims=2)
    with pytest.raises(ValueError, match="x must be finite, got 1 non-finite"):
        Standardizer.fit(torch.tensor([[1.0], [float("inf")]]))
    scaler = Standardizer.fit(x)
    with pytest.raises(ValueError, match=r"end with the channel shape \(6,\) .* got \(2, 5, 3\)"):
        scaler(torch.randn(2, 5, 3))
    with pytest.raises(TypeError, match="x must be a floating-point torch.Tensor"):
        scaler(torch.ones(2, 5, 6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"mask must have the leading shape of x"):
        scaler(x, torch.ones(5, 2, dtype=torch.bool))
