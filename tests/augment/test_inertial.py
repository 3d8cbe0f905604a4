from __future__ import annotations

import math

import pytest
import torch

from mmcontrast.augment import (
    ChannelDropout,
    ChannelScale,
    ChannelShuffle,
    Compose,
    Jitter,
    MagnitudeWarp,
    RandomApply,
    TriadRotate,
)


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _x(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=_g(123))


def test_jitter_adds_noise_of_the_given_spread() -> None:
    x = _x(64, 50, 6)
    jitter = Jitter(sigma=0.3)
    params = jitter.sample(x, generator=_g())
    assert params.noise.shape == x.shape
    assert abs(params.noise.std().item() - 0.3) < 0.01 and abs(params.noise.mean().item()) < 0.01
    assert torch.equal(jitter.apply_params(x, params), x + params.noise)
    skeleton = _x(2, 5, 20, 3)
    assert Jitter().sample(skeleton).noise.shape == skeleton.shape  # any layout


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.float64])
def test_random_jitter_in_one_pass_equals_the_blend(dtype: torch.dtype) -> None:
    x = _x(64, 10, 6).to(dtype)
    jitter = Jitter(sigma=0.5)
    maybe = RandomApply(jitter, p=0.5)
    params = maybe.sample(x, generator=_g())
    assert 0 < int(params.applied.sum()) < 64
    blend = torch.where(params.applied[:, None, None], jitter.apply_params(x, params.inner), x)
    assert torch.equal(maybe.apply_params(x, params), blend)  # x + noise * mask: one kernel
    # through identity parameters (zeroed noise) when a container neutralises its steps
    nested = RandomApply(Compose([Jitter(sigma=0.5)]), p=0.5)
    nested_params = nested.sample(x, generator=_g(1))
    inner = nested_params.inner.steps[0]
    blend = torch.where(nested_params.applied[:, None, None], jitter.apply_params(x, inner), x)
    assert torch.equal(nested.apply_params(x, nested_params), blend)


def test_channel_scale_multiplies_whole_channels() -> None:
    x = _x(4000, 10, 6)
    scale = ChannelScale(sigma=0.2)
    params = scale.sample(x, generator=_g())
    assert params.factors.shape == (4000, 6)
    assert abs(params.factors.mean().item() - 1) < 0.01
    assert abs(params.factors.std().item() - 0.2) < 0.01
    torch.testing.assert_close(scale.apply_params(x, params), x * params.factors[:, None, :])


def test_magnitude_warp_is_a_smooth_curve_per_channel() -> None:
    warp = MagnitudeWarp(sigma=0.2, num_knots=4)
    ones = torch.ones(3, 101, 6)
    params = warp.sample(ones, generator=_g())
    assert params.knots.shape == (3, 6, 6)
    curve = warp.apply_params(ones, params)
    torch.testing.assert_close(curve[:, ::20], params.knots)  # through the 6 knots
    assert curve.diff(dim=1).abs().max() < 0.1  # no jumps between neighbouring samples


def test_channel_shuffle_permutes_channels_per_sample() -> None:
    x = torch.arange(6.0).expand(500, 4, 6)
    out = ChannelShuffle()(x, generator=_g())
    assert torch.equal(out.sort(dim=2).values, x)
    assert bool((out == out[:, :1]).all())  # the same permutation for every time step
    assert len({tuple(row.tolist()) for row in out[:, 0]}) > 300  # many different permutations


@pytest.mark.parametrize("max_degrees", [0.0, 10.0, 180.0])
def test_triad_rotation_preserves_norms_and_is_shared_by_triads(max_degrees: float) -> None:
    x = _x(256, 20, 9).double()
    rotate = TriadRotate(max_degrees=max_degrees)
    params = rotate.sample(x, generator=_g())
    out = rotate.apply_params(x, params)
    triads, turned = x.view(256, 20, 3, 3), out.view(256, 20, 3, 3)
    torch.testing.assert_close(turned.norm(dim=3), triads.norm(dim=3))
    expected = torch.einsum("bij,btgj->btgi", params.rotation, triads)
    torch.testing.assert_close(turned, expected)
    cos = (params.rotation.diagonal(dim1=1, dim2=2).sum(1) - 1) / 2
    angles = torch.rad2deg(torch.arccos(cos.clamp(-1, 1)))
    assert bool((angles <= max_degrees + 1e-3).all())
    if max_degrees:
        assert angles.max() > 0.8 * max_degrees


def test_channel_dropout_zeroes_whole_channels_at_the_rate() -> None:
    x = _x(3000, 8, 6) + 10
    dropout = ChannelDropout(rate=0.25)
    params = dropout.sample(x, generator=_g())
    assert abs(params.dropped.float().mean().item() - 0.25) < 0.015
    out = dropout.apply_params(x, params)
    assert torch.equal(out == 0, params.dropped.unsqueeze(1).expand_as(out))


def test_repr() -> None:
    assert repr(Jitter(sigma=1.0)) == "Jitter(sigma=1.0)"
    assert repr(TriadRotate(max_degrees=30)) == "TriadRotate(max_degrees=30.0)"
    assert repr(ChannelShuffle()) == "ChannelShuffle()"
    assert repr(MagnitudeWarp()) == "MagnitudeWarp(sigma=0.2, num_knots=4)"


def test_bad_inputs() -> None:
    with pytest.raises(
        ValueError, match=r'^TriadRotate: x must have shape "b t \(g 3\)".*\(2, 5, 4\)'
    ):
        TriadRotate()(torch.randn(2, 5, 4))
    with pytest.raises(
        ValueError, match=r'^ChannelScale: x must have shape "b t c" \(3 dimensions\), got \(2, 5\)'
    ):
        ChannelScale()(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r'^ChannelShuffle: x must have shape "b t c"'):
        ChannelShuffle()(torch.randn(2, 5, 20, 3))
    with pytest.raises(ValueError, match=r"^ChannelDropout: rate must be in \[0, 1\], got 1.5"):
        ChannelDropout(rate=1.5)
    with pytest.raises(ValueError, match=r"^TriadRotate: max_degrees must be in \[0, 180\]"):
        TriadRotate(max_degrees=200.0)
    with pytest.raises(ValueError, match="^Jitter: sigma must be in"):
        Jitter(sigma=-0.1)
    with pytest.raises(ValueError, match="^Jitter: sigma must be in"):
        Jitter(sigma=math.nan)
