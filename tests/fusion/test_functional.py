from __future__ import annotations

import pytest
import torch

from mmcontrast.fusion.functional import (
    concat_features,
    guided_weights,
    hopkins_statistic,
    masked_softmax,
    pool_tokens,
    quality_prior,
    scale_features,
)
from tests.helpers import compiled_matches_eager


def test_masked_softmax_matches_softmax_on_the_support() -> None:
    scores = torch.randn(5, 4, dtype=torch.float64)
    support = torch.tensor([[1, 1, 1, 1], [1, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [1, 1, 0, 1]])
    support = support.bool()
    weights = masked_softmax(scores, support)
    for row in range(5):
        keep = support[row]
        expected = torch.zeros(4, dtype=torch.float64)
        if keep.any():
            expected[keep] = torch.softmax(scores[row, keep], dim=0)
        torch.testing.assert_close(weights[row], expected, rtol=1e-12, atol=0)
    assert torch.equal(weights[~support], torch.zeros_like(weights[~support]))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_masked_softmax_half_precision(dtype: torch.dtype) -> None:
    scores = (torch.randn(3, 2) * 100).to(dtype)
    weights = masked_softmax(scores, torch.tensor([[True, True], [True, False], [False, False]]))
    assert weights.dtype == dtype and torch.isfinite(weights).all()
    torch.testing.assert_close(weights.float().sum(1), torch.tensor([1.0, 1.0, 0.0]))


def test_guided_weights_cosmo_formula() -> None:
    scores = torch.randn(7, 2, dtype=torch.float64)
    quality = torch.tensor([0.3, 0.7], dtype=torch.float64)
    attention = torch.softmax(scores, dim=1)
    # Cosmo: w = L1-normalise((1 - lambda) * a + lambda * q)
    raw = 0.2 * attention + 0.8 * quality
    expected = raw / raw.sum(1, keepdim=True)
    torch.testing.assert_close(guided_weights(scores, quality, mix=0.8), expected)


def test_guided_weights_extremes_and_support() -> None:
    scores = torch.randn(4, 3, dtype=torch.float64)
    quality = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(guided_weights(scores, quality, mix=0.0), scores.softmax(1))
    torch.testing.assert_close(guided_weights(scores, quality, mix=1.0), (quality / 4).expand(4, 3))
    present = torch.tensor([[True, True, True], [True, False, True], [False] * 3, [True] * 3])
    zero_prior = torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64)
    weights = guided_weights(scores, zero_prior, mix=0.5, present=present)
    assert (weights >= 0).all()
    torch.testing.assert_close(
        weights.sum(1), torch.tensor([1.0, 1.0, 0.0, 1.0], dtype=torch.float64)
    )
    assert torch.equal(weights[:, 2], torch.zeros(4, dtype=torch.float64))
    assert torch.equal(weights[1], torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64))
    with pytest.raises(ValueError, match=r"^guided_weights: mix must be in \[0, 1\]"):
        guided_weights(scores, quality, mix=1.5)


def test_guided_weights_gradient_is_zero_off_support() -> None:
    scores = torch.randn(3, 3, requires_grad=True)
    present = torch.tensor([[True, False, True]] * 3)
    weights = guided_weights(scores, torch.ones(3), mix=0.3, present=present)
    (weights * torch.randn(3, 3)).sum().backward()
    assert scores.grad is not None
    assert torch.equal(scores.grad[:, 1], torch.zeros(3))


def test_pool_scale_concat() -> None:
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(pool_tokens(x), x.mean(1))
    scaled = scale_features({"a": x, "b": x[:, 0]}, torch.tensor([[0.5, 2.0], [1.0, 0.0]]), "ab")
    torch.testing.assert_close(scaled["a"][0], 0.5 * x[0])
    torch.testing.assert_close(scaled["b"][1], torch.zeros(3))
    with pytest.raises(ValueError, match='^scale_features: weights must have shape "b m" with m=3'):
        scale_features({"a": x}, torch.ones(2, 2), "abc")
    with pytest.raises(
        ValueError, match='^concat_features: axis="token" needs .*a: \\(2, 5, 3\\), b: \\(2, 4\\)'
    ):
        concat_features([x, torch.randn(2, 4)], axis="token", names="ab")
    with pytest.raises(ValueError, match="^concat_features: axis must be one of"):
        concat_features([x], axis="time")  # type: ignore[arg-type]


def test_hopkins_uniform_is_about_half_and_clusters_near_one() -> None:
    g = torch.Generator().manual_seed(0)
    uniform = torch.rand(2000, 2, generator=g)
    values = [hopkins_statistic(uniform, num_probes=200, generator=g) for _ in range(5)]
    assert abs(float(torch.stack(values).mean()) - 0.5) < 0.05
    centres = torch.tensor([[0.0, 0.0], [5.0, 5.0], [0.0, 5.0]])
    blobs = centres.repeat_interleave(200, 0) + 0.05 * torch.randn(600, 2, generator=g)
    assert float(hopkins_statistic(blobs, num_probes=60, generator=g)) > 0.9


def test_hopkins_ignores_masked_rows_and_degenerate_cases() -> None:
    x = torch.randn(40, 3)
    mask = torch.arange(40) % 3 != 0
    garbage_a, garbage_b = x.clone(), x.clone()
    garbage_a[~mask] = 1e6
    garbage_b[~mask] = float("nan")
    h_a = hopkins_statistic(
        garbage_a, num_probes=8, mask=mask, generator=torch.Generator().manual_seed(1)
    )
    h_b = hopkins_statistic(
        garbage_b, num_probes=8, mask=mask, generator=torch.Generator().manual_seed(1)
    )
    assert torch.equal(h_a, h_b) and 0 < float(h_a) < 1
    one_valid = torch.zeros(40, dtype=torch.bool)
    one_valid[3] = True
    assert float(hopkins_statistic(x, num_probes=8, mask=one_valid)) == 0.5
    assert float(hopkins_statistic(torch.ones(10, 2), num_probes=3)) == 0.5
    # more probes than valid rows: only the valid ones count
    few = torch.zeros(40, dtype=torch.bool)
    few[:4] = True
    assert 0 < float(hopkins_statistic(x, num_probes=10, mask=few)) < 1
    with pytest.raises(ValueError, match="^hopkins_statistic: num_probes must be <= n = 40"):
        hopkins_statistic(x, num_probes=41)
    with pytest.raises(ValueError, match='^hopkins_statistic: x must be .*"n d", got \\(40,\\)'):
        hopkins_statistic(x[:, 0], num_probes=4)


def test_hopkins_carries_no_gradient_and_keeps_dtype() -> None:
    x = torch.randn(20, 4, dtype=torch.float64, requires_grad=True)
    h = hopkins_statistic(x, num_probes=4)
    assert h.dtype == torch.float64 and not h.requires_grad
    assert hopkins_statistic(x.detach().half(), num_probes=4).dtype == torch.float16


def test_quality_prior_prefers_the_clustered_modality() -> None:
    g = torch.Generator().manual_seed(0)
    clustered = torch.cat(
        [torch.randn(60, 4, generator=g) * 0.1, torch.randn(60, 4, generator=g) * 0.1 + 3]
    )
    q = quality_prior(
        {"inertial": torch.rand(90, 4, generator=g), "skeleton": clustered}, generator=g
    )
    assert q.shape == (2,) and float(q.sum()) == pytest.approx(1.0)
    assert q[1] > q[0]
    with pytest.raises(ValueError, match=r"^quality_prior: probe_fraction must be in \(0, 1\]"):
        quality_prior({"inertial": clustered}, probe_fraction=0.0)
    with pytest.raises(
        ValueError, match=r"^quality_prior: embeddings\['inertial'\] must have shape"
    ):
        quality_prior({"inertial": clustered[0]})


@pytest.mark.compile
def test_guided_weights_compile() -> None:
    present = torch.tensor([[True, False, True], [True, True, True]])
    compiled_matches_eager(
        lambda s, q: guided_weights(s, q, mix=0.8, present=present),
        [torch.randn(2, 3), torch.tensor([0.2, 0.3, 0.5])],
    )
