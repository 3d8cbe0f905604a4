from __future__ import annotations

import math

import pytest
import torch

from mmcontrast.augment import functional as AF


def _rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_axis_angle_is_a_rotation_about_the_axis() -> None:
    axis = torch.randn(64, 3, generator=_rng(), dtype=torch.float64)
    angle = (torch.rand(64, generator=_rng(1), dtype=torch.float64) * 2 - 1) * math.pi
    r = AF.axis_angle_to_matrix(axis, angle)
    eye = torch.eye(3, dtype=torch.float64).expand(64, 3, 3)
    torch.testing.assert_close(r @ r.transpose(1, 2), eye)
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(64, dtype=torch.float64))
    unit = axis / axis.norm(dim=1, keepdim=True)
    torch.testing.assert_close((r @ unit.unsqueeze(2)).squeeze(2), unit)  # the axis is fixed
    cos = (r.diagonal(dim1=1, dim2=2).sum(1) - 1) / 2
    torch.testing.assert_close(cos, angle.cos())
    zero_axis = AF.axis_angle_to_matrix(torch.zeros(1, 3), torch.tensor([1.0]))
    assert torch.equal(zero_axis, torch.eye(3).unsqueeze(0))


def test_euler_is_the_product_of_the_three_axis_rotations() -> None:
    a, b, c = 0.3, -0.7, 1.1
    rx = torch.tensor([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = torch.tensor([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rz = torch.tensor([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    expected = (rx @ ry @ rz).double()
    got = AF.euler_to_matrix(torch.tensor([[a, b, c]], dtype=torch.float64))[0]
    torch.testing.assert_close(got, expected)


def test_rotate_triads_turns_each_triad_by_the_same_matrix() -> None:
    x = torch.randn(3, 5, 9, generator=_rng(), dtype=torch.float64)
    r = AF.axis_angle_to_matrix(torch.randn(3, 3, dtype=torch.float64), torch.ones(3) * 0.5)
    out = AF.rotate_triads(x, r)
    for g in range(3):
        expected = torch.einsum("bij,btj->bti", r, x[:, :, 3 * g : 3 * g + 3])
        torch.testing.assert_close(out[:, :, 3 * g : 3 * g + 3], expected)


@pytest.mark.parametrize("pivot", [None, 0, 7])
def test_linear_about_a_pivot(pivot: int | None) -> None:
    x = torch.randn(2, 4, 8, 3, generator=_rng(), dtype=torch.float64)
    m = torch.randn(2, 3, 3, generator=_rng(1), dtype=torch.float64)
    origin = torch.zeros_like(x[:, :, :1]) if pivot is None else x[:, :, pivot : pivot + 1]
    expected = torch.einsum("bdc,btjc->btjd", m, x - origin) + origin
    torch.testing.assert_close(AF.linear_about(x, m, pivot=pivot), expected)


@pytest.mark.parametrize("pivot", [0, 5, -1])
def test_linear_about_with_a_pivot_matrix(pivot: int) -> None:
    x = torch.randn(3, 4, 8, 3, generator=_rng(), dtype=torch.float64)
    m = torch.randn(3, 3, 3, generator=_rng(1), dtype=torch.float64)
    k = torch.randn(3, 3, 3, generator=_rng(2), dtype=torch.float64)
    origin = x[:, :, pivot].unsqueeze(2)  # "b t 1 c"
    expected = torch.einsum("bdc,btjc->btjd", m, x) + torch.einsum("bdc,btjc->btjd", k, origin)
    out = AF.linear_about(x, m, pivot=pivot, pivot_matrix=k)
    torch.testing.assert_close(out, expected)
    eye = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(
        AF.linear_about(x, m, pivot=pivot, pivot_matrix=eye - m),
        AF.linear_about(x, m, pivot=pivot),
    )
    leaves = (x.clone().requires_grad_(True), m.requires_grad_(True), k.requires_grad_(True))
    assert torch.autograd.gradcheck(
        lambda a, b, c: AF.linear_about(a, b, pivot=pivot, pivot_matrix=c), leaves, fast_mode=True
    )


def test_linear_about_identity_is_exact_and_keeps_dtype() -> None:
    x = torch.randn(2, 5, 20, 3, generator=_rng()).half()
    eye = torch.eye(3).expand(2, 3, 3)
    for pivot in (None, 0):
        out = AF.linear_about(x, eye, pivot=pivot)
        assert out.dtype == torch.float16 and torch.equal(out, x)


def test_linear_about_bad_arguments() -> None:
    x, m = torch.randn(2, 3, 4, 3), torch.eye(3).expand(2, 3, 3)
    with pytest.raises(ValueError, match="^linear_about: pivot_matrix needs a pivot joint"):
        AF.linear_about(x, m, pivot_matrix=m)
    wrong = r"^linear_about: pivot_matrix must have shape \(2, 3, 3\), got \(2, 2, 2\)"
    with pytest.raises(ValueError, match=wrong):
        AF.linear_about(x, m, pivot=0, pivot_matrix=torch.eye(2).expand(2, 2, 2))
    flat = r'^linear_about: x must have shape "b t j c", got \(2, 3\)'
    with pytest.raises(ValueError, match=flat):
        AF.linear_about(torch.randn(2, 3), m)
