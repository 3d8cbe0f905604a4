from __future__ import annotations

import pytest
import torch

from mmcontrast.losses import HardPositiveWeighting, dclw_weights, hard_positive_weights
from mmcontrast.losses.functional import info_nce
from mmcontrast.losses.weighting import linear_warmup


def _pairs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(16, 8, generator=g, dtype=torch.float64)
    return a, a + torch.linspace(0.1, 3.0, 16, dtype=torch.float64)[:, None] * torch.randn(
        16, 8, generator=g, dtype=torch.float64
    )


def _reference_dclw(a: torch.Tensor, b: torch.Tensor, sigma: float) -> torch.Tensor:
    cos = torch.nn.functional.cosine_similarity(a, b, dim=1)
    return 2 - len(a) * torch.exp(cos / sigma) / torch.exp(cos / sigma).sum()


def test_dclw_matches_the_published_formula() -> None:
    a, b = _pairs()
    torch.testing.assert_close(dclw_weights(a, b, sigma=0.5), _reference_dclw(a, b, 0.5))
    assert dclw_weights(a, b).mean().item() == pytest.approx(1.0)


def test_hard_positive_weights_rank_pairs_by_hardness() -> None:
    a, b = _pairs()
    w = hard_positive_weights(a, b, beta=2.0, min_weight=0.0, max_weight=100.0)
    cos = torch.nn.functional.cosine_similarity(a, b, dim=1)
    assert w.mean().item() == pytest.approx(1.0)
    assert torch.equal(w.argsort(), (-cos).argsort())  # harder (lower cosine) -> larger weight
    torch.testing.assert_close(w, 16 * torch.softmax(-2.0 * cos, dim=0))
    assert torch.allclose(hard_positive_weights(a, b, beta=0.0), torch.ones(16, dtype=a.dtype))


def test_clamp_and_renormalise() -> None:
    a, b = _pairs()
    cos = torch.nn.functional.cosine_similarity(a, b, dim=1)
    raw = 16 * torch.softmax(-50.0 * cos, dim=0)
    assert raw.max() > 5.0 and raw.min() < 0.1  # the clamp has work to do
    w = hard_positive_weights(a, b, beta=50.0, min_weight=0.1, max_weight=5.0)
    clamped = raw.clamp(0.1, 5.0)
    torch.testing.assert_close(w, clamped / clamped.mean())
    assert w.mean().item() == pytest.approx(1.0)


def test_all_zero_weights_fall_back_to_ones() -> None:
    a = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    w = hard_positive_weights(a, a.clone(), kind="focal", min_weight=0.0, temperature=0.01)
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w, torch.ones(8))


def test_focal_weights() -> None:
    a, b = _pairs()
    w = hard_positive_weights(a, b, kind="focal", gamma=1.0, temperature=0.1, min_weight=0.0,
                              max_weight=1e9)  # fmt: skip
    logits = torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T
    logits = logits / 0.1
    p = 0.5 * (logits.softmax(1).diagonal() + logits.softmax(0).diagonal())
    torch.testing.assert_close(w, (1 - p) / (1 - p).mean())


def test_weights_are_detached_and_compose_with_a_loss() -> None:
    a, b = _pairs()
    a.requires_grad_()
    w = HardPositiveWeighting(beta=2.0)(a, b)
    assert not w.requires_grad
    loss = info_nce(a, b, weights=w)
    terms = info_nce(a, b, reduction="none")
    torch.testing.assert_close(loss, (terms * w.repeat(2)).mean())


def test_linear_warmup_and_module_schedule() -> None:
    weighting = HardPositiveWeighting(beta=2.0)
    weighting.beta = linear_warmup(2.0, progress=0.0)
    a, b = _pairs()
    torch.testing.assert_close(weighting(a, b), torch.ones(16, dtype=a.dtype))
    assert linear_warmup(2.0, 0.05) == pytest.approx(1.0)
    assert "beta=0.0" in repr(weighting)


def test_bad_arguments() -> None:
    a, b = _pairs()
    with pytest.raises(ValueError, match="sigma"):
        dclw_weights(a, b, sigma=0.0)
    with pytest.raises(ValueError, match="kind must be one of 'softmax', 'focal'"):
        HardPositiveWeighting(kind="linear")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_weight"):
        hard_positive_weights(a, b, min_weight=2.0, max_weight=1.0)
    with pytest.raises(ValueError, match="max_weight must be > 0"):
        hard_positive_weights(a, b, min_weight=0.0, max_weight=0.0)
    with pytest.raises(ValueError, match=r"a and b must have the same shape"):
        dclw_weights(a, b[:, :3])
