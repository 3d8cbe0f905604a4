from __future__ import annotations

import pytest
import torch

from mmcontrast.losses import DebiasedContrastiveLoss, HardNegativeLoss
from mmcontrast.losses.functional import debiased_loss
from tests.helpers import assert_roundtrip, compiled_matches_eager


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20, 6, generator=g)
    return a, a + 0.5 * torch.randn(20, 6, generator=g)


def test_module_equals_functional_and_beta_zero_hard_negative() -> None:
    a, b = _inputs()
    module = DebiasedContrastiveLoss(temperature=0.5, tau_plus=0.1, negatives="all")
    want = debiased_loss(a, b, temperature=0.5, tau_plus=0.1, negatives="all")
    torch.testing.assert_close(module(a, b), want)
    hnl = HardNegativeLoss(temperature=0.5, beta=0.0, tau_plus=0.1, negatives="all")
    torch.testing.assert_close(hnl(a, b), want)


def test_repr() -> None:
    assert repr(DebiasedContrastiveLoss()) == (
        "DebiasedContrastiveLoss(temperature=0.1, tau_plus=0.1, negatives='cross', clamp=True, "
        "symmetric=True, reduction='mean', label_mode='exclude', chunk_size=None, "
        "gather_distributed=False)"
    )


def test_roundtrip() -> None:
    assert_roundtrip(
        DebiasedContrastiveLoss(tau_plus=0.2),
        lambda: DebiasedContrastiveLoss(tau_plus=0.2),
        list(_inputs()),
    )


@pytest.mark.compile
def test_compiles_without_graph_breaks() -> None:
    compiled_matches_eager(DebiasedContrastiveLoss(chunk_size=7), list(_inputs()))


def test_bad_hyperparameters() -> None:
    with pytest.raises(ValueError, match=r"^DebiasedContrastiveLoss: tau_plus must be in \[0, 1\)"):
        DebiasedContrastiveLoss(tau_plus=1.0)
