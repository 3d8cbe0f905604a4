from __future__ import annotations

import math

import pytest
import torch

from mmcontrast.losses import HardNegativeLoss, InfoNCE, LearnableTemperature
from mmcontrast.losses.functional import info_nce
from tests.helpers import assert_roundtrip, compiled_matches_eager


def test_initial_value_parameterisation_and_bounds() -> None:
    temp = LearnableTemperature(init=0.07)
    assert temp.log_scale.item() == pytest.approx(math.log(1 / 0.07))
    assert float(temp().detach()) == pytest.approx(0.07)
    with torch.no_grad():
        temp.log_scale.fill_(20.0)  # would be tau = 2e-9
    assert float(temp().detach()) == pytest.approx(0.01)
    with torch.no_grad():
        temp.log_scale.fill_(-5.0)
    assert float(temp().detach()) == pytest.approx(1.0)


def test_gradient_matches_the_functional_tensor_temperature() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(12, 6, generator=g), torch.randn(12, 6, generator=g)
    temp = LearnableTemperature(init=0.2)
    loss = InfoNCE(temperature=temp)(a, b)
    loss.backward()
    tau = torch.tensor(0.2, requires_grad=True)
    (d_tau,) = torch.autograd.grad(info_nce(a, b, temperature=tau), [tau])
    # d loss / d log_scale = d loss / d tau * d tau / d log_scale = d loss / d tau * (-tau)
    assert temp.log_scale.grad is not None
    torch.testing.assert_close(temp.log_scale.grad, -0.2 * d_tau, rtol=1e-5, atol=1e-6)


def test_gradient_is_zero_beyond_the_clamp() -> None:
    temp = LearnableTemperature(init=0.05, min_temperature=0.05)
    with torch.no_grad():
        temp.log_scale.add_(1.0)
    InfoNCE(temperature=temp)(torch.randn(8, 4), torch.randn(8, 4)).backward()
    assert temp.log_scale.grad is not None and temp.log_scale.grad.item() == 0.0


def test_learning_the_temperature_moves_it() -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.randn(32, 8, generator=g)
    criterion = HardNegativeLoss(temperature=LearnableTemperature(init=0.5), tau_plus=0.0)
    opt = torch.optim.SGD(criterion.parameters(), lr=1.0)
    for _ in range(20):
        loss = criterion(a, a + 0.05 * torch.randn(32, 8, generator=g))
        opt.zero_grad()
        loss.backward()
        opt.step()
    # Near-identical views: a lower temperature sharpens the softmax and lowers the loss.
    assert float(criterion.temperature().detach()) < 0.45


def test_roundtrip_compile_and_repr() -> None:
    a, b = torch.randn(10, 4), torch.randn(10, 4)
    module = InfoNCE(temperature=LearnableTemperature(init=0.3))
    assert "temperature='learnable'" in repr(module)
    assert "LearnableTemperature(temperature=0.3" in repr(module)
    assert_roundtrip(module, lambda: InfoNCE(temperature=LearnableTemperature(init=0.1)), [a, b])
    compiled_matches_eager(module, [a, b])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"init": 0.0}, "init must be in"),
        ({"init": 0.5, "max_temperature": 0.4}, "init must be in"),
        ({"init": 0.1, "min_temperature": -1.0}, "min_temperature"),
    ],
)
def test_bad_arguments(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LearnableTemperature(**kwargs)
