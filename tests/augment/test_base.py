"""The sample / apply_params / forward contract, checked on every augmentation of the catalogue."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from mmcontrast.augment import Augmentation, Jitter, NoParams, RandomApply, SkeletonFlip, TimeWarp
from mmcontrast.augment._base import Draw, compute_dtype, map_params
from tests.augment.catalogue import CASES, Case
from tests.helpers import assert_roundtrip, compiled_matches_eager

RANDOM = [case for case in CASES if case.random]
ZERO = [case for case in CASES if case.zero is not None]


def _ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


def _leaves(params: Any) -> list[torch.Tensor]:
    found: list[torch.Tensor] = []
    map_params(lambda t: found.append(t) or t, params)
    return found


@pytest.mark.parametrize("case", ZERO, ids=_ids(ZERO))
def test_zero_strength_is_the_identity(case: Case) -> None:
    assert case.zero is not None
    x = case.input()
    assert torch.equal(case.zero()(x, generator=torch.Generator().manual_seed(3)), x)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_p0_is_the_identity_and_p1_always_applies(case: Case) -> None:
    x = case.input()
    never = RandomApply(case.make(), p=0.0)
    assert torch.equal(never(x, generator=torch.Generator().manual_seed(1)), x)
    always = RandomApply(case.make(), p=1.0)
    params = always.sample(x, generator=torch.Generator().manual_seed(1))
    assert bool(params.applied.all())
    expected = always.transform.apply_params(x, params.inner)
    assert torch.equal(always.apply_params(x, params), expected)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_application_rate_matches_p_and_skipped_rows_are_untouched(case: Case) -> None:
    batch, p = 2000, 0.3
    x = torch.randn(batch, *case.shape[1:], generator=torch.Generator().manual_seed(0))
    maybe = RandomApply(case.make(), p=p)
    params = maybe.sample(x, generator=torch.Generator().manual_seed(2))
    rate = params.applied.double().mean().item()
    assert abs(rate - p) < 4 * math.sqrt(p * (1 - p) / batch)  # 4 standard errors
    out = maybe.apply_params(x, params)
    skipped = ~params.applied
    assert torch.equal(out[skipped], x[skipped])
    expected = maybe.transform.apply_params(x, params.inner)
    torch.testing.assert_close(out[params.applied], expected[params.applied])


@pytest.mark.parametrize("case", RANDOM, ids=_ids(RANDOM))
def test_seeds_reproduce_and_differ(case: Case) -> None:
    x = case.input()
    transform = case.make()
    first = transform(x, generator=torch.Generator().manual_seed(7))
    again = transform(x, generator=torch.Generator().manual_seed(7))
    other = transform(x, generator=torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_replaying_params_reproduces_the_output(case: Case) -> None:
    x = case.input()
    transform = case.make()
    params = transform.sample(x, generator=torch.Generator().manual_seed(4))
    out = transform.apply_params(x, params)
    assert torch.equal(transform.apply_params(x, params), out)
    assert torch.equal(transform(x, params), out)
    assert torch.equal(transform(x, generator=torch.Generator().manual_seed(4)), out)
    for leaf in _leaves(params):
        assert leaf.shape[0] == x.shape[0]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_keeps_dtype_and_device(case: Case, dtype: torch.dtype, device: torch.device) -> None:
    x = case.input().to(device=device, dtype=dtype)
    transform = case.make().to(device)
    out = transform(x, generator=torch.Generator(device=device).manual_seed(5))
    assert out.dtype == dtype and out.device == x.device and out.shape == x.shape
    assert bool(out.isfinite().all())
    if dtype in (torch.float16, torch.bfloat16):  # the same float32 draw as a float32 batch
        reference = transform(x.float(), generator=torch.Generator(device=device).manual_seed(5))
        tolerance = 2e-2 if dtype == torch.float16 else 1e-1
        torch.testing.assert_close(out.float(), reference, rtol=tolerance, atol=tolerance)


def test_generator_on_another_device_than_x_is_honoured() -> None:
    x = torch.randn(4, 10, 6, dtype=torch.float64)
    draw = Draw(x, torch.Generator(device="cpu").manual_seed(0))
    assert draw.source == torch.device("cpu") and draw.dtype == torch.float64
    assert compute_dtype(torch.float16) == torch.float32


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_apply_is_differentiable(case: Case) -> None:
    x = case.input(dtype=torch.float64).requires_grad_(True)
    transform = case.make()
    params = transform.sample(x, generator=torch.Generator().manual_seed(6))
    out = transform.apply_params(x, params)
    (grad,) = torch.autograd.grad((out * torch.randn_like(out)).sum(), x)
    assert grad.shape == x.shape and bool(grad.isfinite().all())


@pytest.mark.compile
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_apply_compiles_without_graph_breaks(case: Case) -> None:
    x = case.input()
    transform = case.make()
    params = transform.sample(x, generator=torch.Generator().manual_seed(9))
    compiled_matches_eager(lambda v: transform.apply_params(v, params), [x])


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_roundtrip_and_repr(case: Case) -> None:
    x = case.input()
    transform = case.make()
    params = transform.sample(x, generator=torch.Generator().manual_seed(10))
    assert_roundtrip(transform, case.make, [x], params=params)
    assert repr(transform).startswith(type(transform).__name__ + "(")


def test_same_on_batch_shares_one_draw() -> None:
    x = torch.randn(5, 8, 6)
    params = Jitter(sigma=1.0, same_on_batch=True).sample(x)
    assert torch.equal(params.noise, params.noise[:1].expand_as(params.noise))
    warp = TimeWarp(same_on_batch=True).sample(x)
    assert torch.equal(warp.knots, warp.knots[:1].expand_as(warp.knots))
    decisions = RandomApply(Jitter(), p=0.5, same_on_batch=True).sample(torch.randn(64, 4, 3))
    assert decisions.applied.all() or not decisions.applied.any()
    assert "same_on_batch=True" in repr(Jitter(same_on_batch=True))


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_apply_is_module_apply(case: Case) -> None:
    transform = case.make()
    assert type(transform).apply is nn.Module.apply
    seen: list[nn.Module] = []
    assert transform.apply(seen.append) is transform
    assert seen[-1] is transform and len(seen) == len(list(transform.modules()))


def test_module_apply_and_to_still_work() -> None:
    model = nn.Sequential(RandomApply(Jitter(), p=0.5), SkeletonFlip(), nn.Linear(3, 3))
    seen: list[str] = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen.count("Jitter") == 1 and seen.count("SkeletonFlip") == 1
    model.to(torch.float64)
    assert model[1].mirror.dtype == torch.int64  # index buffers keep their integer dtype


def test_deterministic_transforms_draw_nothing() -> None:
    assert SkeletonFlip().sample(torch.randn(2, 3, 20, 3)) == NoParams()


def test_bad_calls() -> None:
    jitter = Jitter()
    x = torch.randn(4, 8, 6)
    params = jitter.sample(x)
    with pytest.raises(
        ValueError, match=r"^Jitter: params were drawn for another batch: x has shape \(3, 8, 6\)"
    ):
        jitter.apply_params(x[:3], params)
    with pytest.raises(TypeError, match="^Jitter: apply_params needs params"):
        jitter.apply_params(x, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^Jitter: generator must be a torch.Generator"):
        jitter.sample(x, generator=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^Jitter: x must be a torch.Tensor, got list"):
        jitter.sample([1.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^Jitter: x must be a floating-point tensor"):
        jitter(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r'^TimeWarp: x must have shape "b t \.\.\." \(at least 2'):
        TimeWarp()(torch.randn(4))
    with pytest.raises(TypeError, match="^Jitter: same_on_batch must be a bool"):
        Jitter(same_on_batch=1)  # type: ignore[arg-type]


def test_an_augmentation_must_define_its_hooks() -> None:
    class Incomplete(Augmentation[NoParams]):
        pass

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()  # type: ignore[abstract]
