from __future__ import annotations

import torch

from mmcontrast._ops import masked_mean, unsqueeze_as


def test_masked_mean_and_all_padding_row() -> None:
    x = torch.tensor([[[1.0], [3.0], [100.0]], [[5.0], [7.0], [9.0]], [[2.0], [2.0], [2.0]]])
    mask = torch.tensor([[True, True, False], [True, True, True], [False, False, False]])
    torch.testing.assert_close(masked_mean(x, mask, dim=1), torch.tensor([[2.0], [7.0], [0.0]]))
    torch.testing.assert_close(masked_mean(x, None, dim=1), x.mean(dim=1))
    x = x.masked_fill(~mask.unsqueeze(-1), float("nan"))  # padding never leaks, even NaN
    torch.testing.assert_close(masked_mean(x, mask, dim=1), torch.tensor([[2.0], [7.0], [0.0]]))


def test_masked_mean_gradient_is_zero_on_masked_entries() -> None:
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([True, False, True, False])
    masked_mean(x, mask, dim=0).sum().backward()
    assert x.grad is not None
    assert torch.equal(x.grad[1], torch.zeros(3, dtype=torch.float64))
    torch.testing.assert_close(x.grad[0], torch.full((3,), 0.5, dtype=torch.float64))


def test_unsqueeze_as_appends_axes() -> None:
    assert unsqueeze_as(torch.ones(4), torch.zeros(4, 5, 6)).shape == (4, 1, 1)
    assert unsqueeze_as(torch.ones(4, 5), torch.zeros(4, 5, 6)).shape == (4, 5, 1)
    assert unsqueeze_as(torch.ones(4), torch.zeros(4)).shape == (4,)
