from __future__ import annotations

import math

import pytest
import torch

from mmcontrast.encoders import DifferentialAttention, lambda_init_for_depth
from tests.encoders._support import (
    assert_autocast_works,
    assert_checks_input_dtype,
    assert_every_parameter_gets_gradient,
    assert_factory_kwargs,
    num_parameters,
)
from tests.helpers import assert_roundtrip, compiled_matches_eager


def _reference_differential_attention(
    module: DifferentialAttention,
    x: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    rope: bool = False,
) -> torch.Tensor:
    """Naive float64 operator from the paper, with the two softmax maps built explicitly.

    Layout as in the authors' naive module: Q and K are viewed as 2H heads of size e (head h
    owns heads 2h and 2h + 1), V as H heads of size 2e.
    """
    b, t, dim = x.shape
    heads, e = module.num_heads, dim // (2 * module.num_heads)
    w_q, w_k, w_v = module.qkv_proj.weight.double().split(dim)
    q = (x @ w_q.T).view(b, t, 2 * heads, e).transpose(1, 2)
    k = (x @ w_k.T).view(b, t, 2 * heads, e).transpose(1, 2)
    v = (x @ w_v.T).view(b, t, heads, 2 * e).transpose(1, 2)
    if rope:  # rotate pairs (2i, 2i + 1) as complex numbers by position * 10000^(-2i/e)
        freq = 10000.0 ** (-torch.arange(0, e, 2, dtype=torch.float64) / e)
        rotation = torch.polar(
            torch.ones(t, e // 2, dtype=torch.float64),
            torch.outer(torch.arange(t, dtype=torch.float64), freq),
        )
        q = torch.view_as_real(
            torch.view_as_complex(q.reshape(b, 2 * heads, t, e // 2, 2)) * rotation
        ).flatten(-2)
        k = torch.view_as_real(
            torch.view_as_complex(k.reshape(b, 2 * heads, t, e // 2, 2)) * rotation
        ).flatten(-2)
    logits = q @ k.transpose(-1, -2) / math.sqrt(e)
    if mask is not None:
        logits = logits.masked_fill(~mask[:, None, None, :], float("-inf"))
    maps = torch.softmax(logits, dim=-1).view(b, heads, 2, t, t)
    lambda_init = 0.8 - 0.6 * math.exp(-0.3 * module.depth)
    lam = (
        torch.exp((module.lambda_q1.double() * module.lambda_k1.double()).sum())
        - torch.exp((module.lambda_q2.double() * module.lambda_k2.double()).sum())
        + lambda_init
    )
    out = (maps[:, :, 0] - lam * maps[:, :, 1]) @ v
    out = out / torch.sqrt(out.square().mean(dim=-1, keepdim=True) + 1e-5)
    if module.sub_norm.weight is not None:
        out = out * module.sub_norm.weight.double()
    out = out * (1 - lambda_init)
    out = out.transpose(1, 2).reshape(b, t, dim)
    return out @ module.out_proj.weight.double().T


def _module(**overrides: object) -> DifferentialAttention:
    kwargs: dict[str, object] = {"num_heads": 2, "depth": 3, "dtype": torch.float64}
    kwargs.update(overrides)
    torch.manual_seed(0)
    module = DifferentialAttention(16, **kwargs)  # type: ignore[arg-type]
    with torch.no_grad():  # make lambda and the gain non-trivial
        for p in (module.lambda_q1, module.lambda_k1, module.lambda_q2, module.lambda_k2):
            p.normal_(0.0, 0.5)
        if module.sub_norm.weight is not None:
            module.sub_norm.weight.uniform_(0.5, 1.5)
    return module


def _mask(lengths: list[int], t: int) -> torch.Tensor:
    return torch.arange(t) < torch.tensor(lengths).unsqueeze(1)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("norm_affine", [False, True])
def test_matches_the_naive_float64_operator(masked: bool, norm_affine: bool) -> None:
    module = _module(norm_affine=norm_affine)
    x = torch.randn(3, 9, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    mask = _mask([9, 6, 2], 9) if masked else None
    got = module(x, mask)
    want = _reference_differential_attention(module, x, mask)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("masked", [False, True])
def test_rope_matches_the_naive_operator(masked: bool) -> None:
    x = torch.randn(2, 7, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    mask = _mask([7, 4], 7) if masked else None
    module = _module(rope=True)
    want = _reference_differential_attention(module, x, mask, rope=True)
    torch.testing.assert_close(module(x, mask), want, rtol=1e-10, atol=1e-10)


def test_rope_scores_depend_on_relative_positions_only() -> None:
    module = _module(rope=True, num_heads=1)
    x = torch.randn(1, 6, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    # The same tokens shifted right by 3 steps (zeros in front, masked out as keys).
    shifted = torch.cat((torch.zeros(1, 3, 16, dtype=torch.float64), x), dim=1)
    mask = torch.tensor([[False] * 3 + [True] * 6])
    torch.testing.assert_close(module(shifted, mask)[:, 3:], module(x), rtol=1e-10, atol=1e-10)


def test_all_padding_row_attends_to_every_key() -> None:
    module = _module()
    x = torch.randn(2, 5, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    mask = torch.tensor([[True, True, False, False, False], [False] * 5])
    out = module(x, mask)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[1], module(x[1:])[0], rtol=1e-10, atol=1e-10)


def test_padded_keys_do_not_change_valid_rows() -> None:
    module = _module()
    x = torch.randn(1, 8, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    mask = _mask([5], 8)
    torch.testing.assert_close(module(x, mask)[:, :5], module(x[:, :5]), rtol=1e-10, atol=1e-10)


def test_gradcheck() -> None:
    module = _module(num_heads=1, norm_affine=True)
    x = torch.randn(2, 4, 16, dtype=torch.float64, requires_grad=True)
    mask = _mask([4, 3], 4)
    assert torch.autograd.gradcheck(lambda x: module(x, mask), (x,), fast_mode=True)


def test_lambda_init_by_zero_based_depth() -> None:
    table = [0.2000, 0.3555, 0.4707, 0.5561, 0.6193, 0.6661, 0.7008, 0.7265]
    for depth, expected in enumerate(table):
        assert lambda_init_for_depth(depth) == pytest.approx(expected, abs=5e-5)
        assert DifferentialAttention(16, num_heads=2, depth=depth).lambda_init == pytest.approx(
            expected, abs=5e-5
        )
    with pytest.raises(ValueError, match="depth must be >= 0"):
        lambda_init_for_depth(-1)


def test_lambda_reparameterisation_and_init() -> None:
    torch.manual_seed(0)
    module = DifferentialAttention(128, num_heads=4, depth=2)
    vectors = [module.lambda_q1, module.lambda_k1, module.lambda_q2, module.lambda_k2]
    assert all(v.shape == (16,) for v in vectors)
    std = torch.cat([v.detach() for v in vectors]).std().item()
    assert 0.07 < std < 0.13  # N(0, 0.1^2)
    q1, k1, q2, k2 = (v.detach() for v in vectors)
    expected = torch.exp(q1 @ k1) - torch.exp(q2 @ k2) + lambda_init_for_depth(2)
    torch.testing.assert_close(module.compute_lambda(), expected)
    assert module.compute_lambda().dtype == torch.float32
    half = DifferentialAttention(16, num_heads=2, dtype=torch.bfloat16)
    assert half.compute_lambda().dtype == torch.float32  # computed in float32


@pytest.mark.parametrize(
    ("num_heads", "norm_affine", "parameters"),
    [(4, False, 65_600), (4, True, 65_632), (1, False, 65_792), (1, True, 65_920)],
)
def test_parameter_counts(num_heads: int, norm_affine: bool, parameters: int) -> None:
    module = DifferentialAttention(128, num_heads=num_heads, norm_affine=norm_affine)
    assert num_parameters(module) == parameters  # 4 D^2 + 4e (+ 2e affine)


def test_every_parameter_gets_a_gradient() -> None:
    module = DifferentialAttention(16, num_heads=2, norm_affine=True)
    assert_every_parameter_gets_gradient(module, torch.randn(2, 5, 16), _mask([5, 3], 5))


def test_no_dropout_on_the_maps_train_equals_eval() -> None:
    module = DifferentialAttention(16, num_heads=2)
    x = torch.randn(2, 5, 16)
    torch.testing.assert_close(module.train()(x), module.eval()(x))


def test_extra_repr_and_roundtrip() -> None:
    module = DifferentialAttention(16, num_heads=2, depth=1)
    assert module.extra_repr() == (
        "dim=16, num_heads=2, depth=1, lambda_init=0.3555, norm_affine=False, rope=False"
    )
    x = torch.randn(2, 5, 16)
    assert_roundtrip(module, lambda: DifferentialAttention(16, num_heads=2, depth=1), [x])


def test_autocast_and_factory_kwargs() -> None:
    torch.manual_seed(0)
    assert_autocast_works(
        DifferentialAttention(32, num_heads=2, norm_affine=True), torch.randn(2, 7, 32)
    )
    assert_factory_kwargs(
        lambda **factory: DifferentialAttention(16, num_heads=2, norm_affine=True, **factory),
        torch.randn(2, 5, 16),
    )


@pytest.mark.compile
@pytest.mark.parametrize("rope", [False, True])
def test_compiles_without_graph_breaks(rope: bool) -> None:
    module = DifferentialAttention(16, num_heads=2, rope=rope)
    compiled_matches_eager(module, [torch.randn(3, 6, 16), _mask([6, 2, 0], 6)])


def test_input_dtype_must_suit_the_parameters() -> None:
    assert_checks_input_dtype(
        lambda **factory: DifferentialAttention(16, num_heads=2, **factory),
        "DifferentialAttention",
        torch.randn(3, 6, 16),
        _mask([6, 2, 0], 6),
    )


def test_bad_arguments() -> None:
    owner = "^DifferentialAttention: "
    with pytest.raises(ValueError, match=owner + r"dim must be divisible by 2 \* num_heads = 6"):
        DifferentialAttention(16, num_heads=3)
    with pytest.raises(ValueError, match=owner + "rope needs an even sub-head size"):
        DifferentialAttention(12, num_heads=2, rope=True)
    with pytest.raises(TypeError, match=owner + "norm_affine must be a bool"):
        DifferentialAttention(16, num_heads=2, norm_affine="yes")  # type: ignore[arg-type]
    module = DifferentialAttention(16, num_heads=2)
    with pytest.raises(
        ValueError, match=owner + r'x must have shape "b t d" with d=16, got \(2, 5, 8\)'
    ):
        module(torch.randn(2, 5, 8))
    with pytest.raises(ValueError, match=r"mask: \(2, 4\) and x: \(2, 5, 16\)"):
        module(torch.randn(2, 5, 16), torch.ones(2, 4, dtype=torch.bool))
