from __future__ import annotations

import pytest
import torch

from mmcontrast.losses import HardNegativeLoss
from mmcontrast.losses.functional import hard_negative_loss
from tests.helpers import assert_roundtrip, compiled_matches_eager


def _inputs(batch: int = 16, dim: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(batch, dim, generator=g), torch.randn(batch, dim, generator=g)


def test_module_equals_functional() -> None:
    a, b = _inputs()
    labels = torch.arange(16) % 4
    kw = dict(temperature=0.2, beta=0.5, tau_plus=0.037, negatives="all", clamp=False)
    module = HardNegativeLoss(**kw, reduction="none")
    torch.testing.assert_close(
        module(a, b, labels=labels), hard_negative_loss(a, b, labels=labels, reduction="none", **kw)
    )
    terms = module.terms(a, b, labels=labels)
    torch.testing.assert_close(terms.loss, module(a, b, labels=labels))


def test_defaults_and_repr() -> None:
    loss = HardNegativeLoss()
    assert (loss.temperature, loss.beta, loss.tau_plus) == (0.1, 1.0, 0.1)
    assert repr(loss) == (
        "HardNegativeLoss(temperature=0.1, beta=1.0, tau_plus=0.1, negatives='cross', "
        "clamp=True, symmetric=True, reduction='mean', label_mode='exclude', chunk_size=None, "
        "gather_distributed=False)"
    )


def test_roundtrip() -> None:
    a, b = _inputs()
    kw = dict(temperature=0.3, beta=2.0, tau_plus=0.05, chunk_size=4)
    module = HardNegativeLoss(**kw)
    assert_roundtrip(module, lambda: HardNegativeLoss(**kw), [a, b])
    assert module.state_dict() == {}  # hyperparameters only, no tensors


@pytest.mark.compile
def test_module_compiles_without_graph_breaks() -> None:
    a, b = _inputs()
    compiled_matches_eager(HardNegativeLoss(tau_plus=0.037), [a, b])


def test_drop_in_training_step_reduces_the_loss() -> None:
    g = torch.Generator().manual_seed(1)
    encoder_a = torch.nn.Linear(10, 8)
    encoder_b = torch.nn.Linear(10, 8)
    x = torch.randn(32, 10, generator=g)
    criterion = HardNegativeLoss(temperature=0.5, beta=1.0, tau_plus=0.0)
    opt = torch.optim.SGD([*encoder_a.parameters(), *encoder_b.parameters()], lr=0.5)
    first = None
    for _ in range(30):
        loss = criterion(encoder_a(x), encoder_b(x + 0.1 * torch.randn(32, 10, generator=g)))
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first - 0.5


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"temperature": 0}, ValueError, "^HardNegativeLoss: temperature must be in"),
        ({"temperature": torch.tensor(0.1)}, TypeError, "temperature must be a float"),
        ({"beta": -0.5}, ValueError, r"^HardNegativeLoss: beta must be in \[0, inf\), got -0.5"),
        ({"tau_plus": 1.5}, ValueError, r"tau_plus must be in \[0, 1\), got 1.5"),
        ({"negatives": "intra"}, ValueError, "negatives must be one of"),
        ({"reduction": "max"}, ValueError, "reduction must be one of 'mean', 'sum', 'none'"),
        ({"clamp": "yes"}, TypeError, "clamp must be a bool"),
        ({"negatives": "all", "symmetric": False}, ValueError, "symmetric=False"),
        ({"chunk_size": -3}, ValueError, "chunk_size must be >= 1, got -3"),
    ],
)
def test_bad_hyperparameters(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        HardNegativeLoss(**kwargs)


def test_bad_inputs_name_the_module_and_shapes() -> None:
    loss = HardNegativeLoss()
    with pytest.raises(
        ValueError,
        match=r"^HardNegativeLoss: a and b must have the same shape "
        r"\(b, d\), got a: \(4, 3\) and b: \(4, 5\)",
    ):
        loss(torch.randn(4, 3), torch.randn(4, 5))
    with pytest.raises(ValueError, match=r'^HardNegativeLoss: labels must have shape "b" = \(4,\)'):
        loss(torch.randn(4, 3), torch.randn(4, 3), labels=torch.arange(5))
