from __future__ import annotations

import pickle

import pytest
import torch

from mmcontrast.fusion import QualityGuidedAttention
from tests.fusion.common import (
    DIMS,
    assert_bad_inputs,
    assert_bad_present,
    assert_every_parameter_gets_gradient,
    features,
    leaves,
)
from tests.helpers import assert_roundtrip, compiled_matches_eager

PRESENT = {"inertial": torch.tensor([True, False, True, True, False, True])}


@pytest.mark.parametrize(("tokens", "shape"), [((None, None), (6, 20)), ((5, 5), (6, 5, 20))])
def test_shapes_and_weights_on_the_simplex(
    tokens: tuple[int | None, int | None], shape: tuple[int, ...]
) -> None:
    x = features(tokens=tokens)
    fused, weights = QualityGuidedAttention(DIMS, hidden=16)(x)
    assert fused.shape == shape and weights.shape == (6, 2)
    assert (weights >= 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(6))
    broadcast = (6,) + (1,) * (len(shape) - 1)
    torch.testing.assert_close(fused[..., :12], weights[:, 0].reshape(broadcast) * x["inertial"])
    torch.testing.assert_close(fused[..., 12:], weights[:, 1].reshape(broadcast) * x["skeleton"])


def test_token_axis() -> None:
    attention = QualityGuidedAttention({"inertial": 4, "skeleton": 4}, hidden=8, axis="token")
    fused, weights = attention({"inertial": torch.randn(3, 4), "skeleton": torch.randn(3, 5, 4)})
    assert fused.shape == (3, 6, 4) and weights.shape == (3, 2)


def test_weights_follow_the_constructor_order() -> None:
    x = features()
    attention = QualityGuidedAttention(DIMS, hidden=16, quality={"inertial": 0.3, "skeleton": 0.7})
    out = attention(x)
    swapped = attention({"skeleton": x["skeleton"], "inertial": x["inertial"]})
    torch.testing.assert_close(swapped.weights, out.weights, rtol=0, atol=0)
    torch.testing.assert_close(swapped.fused, out.fused, rtol=0, atol=0)


def test_missing_modality_exactly_zero_weight_and_gradient() -> None:
    x = leaves(features(tokens=(4, 4)))
    x["inertial"].data[1] = float("nan")
    attention = QualityGuidedAttention(DIMS, hidden=16, quality={"inertial": 0.3, "skeleton": 0.7})
    fused, weights = attention(x, present=PRESENT)
    missing = ~PRESENT["inertial"]
    assert torch.equal(weights[missing], torch.tensor([[0.0, 1.0]] * 2))
    torch.testing.assert_close(weights.sum(1), torch.ones(6))
    assert torch.isfinite(fused).all()
    (fused.sum() + weights.square().sum()).backward()
    assert x["inertial"].grad is not None and torch.isfinite(x["inertial"].grad).all()
    assert torch.equal(x["inertial"].grad[missing], torch.zeros(2, 4, 12))
    assert x["inertial"].grad[~missing].abs().sum() > 0


def test_no_modality_gives_zeros() -> None:
    attention = QualityGuidedAttention(DIMS, hidden=16)
    none = torch.zeros(6, dtype=torch.bool)
    fused, weights = attention(features(), present={"inertial": none, "skeleton": none})
    assert torch.equal(weights, torch.zeros(6, 2)) and torch.equal(fused, torch.zeros(6, 20))


def test_zero_quality_removes_a_modality() -> None:
    x = leaves(features())
    attention = QualityGuidedAttention(DIMS, hidden=16, quality={"inertial": 0.0, "skeleton": 1.0})
    fused, weights = attention(x)
    assert torch.equal(weights, torch.tensor([[0.0, 1.0]] * 6))
    fused.sum().backward()
    assert x["inertial"].grad is not None and torch.equal(x["inertial"].grad, torch.zeros(6, 12))
    # the same as marking it missing everywhere
    other = QualityGuidedAttention(DIMS, hidden=16)
    other.load_state_dict(attention.state_dict())
    absent = other(x, present={"inertial": torch.zeros(6, dtype=torch.bool)})
    torch.testing.assert_close(absent.fused, fused, rtol=0, atol=0)


def test_mix_one_is_the_prior_and_zero_the_attention() -> None:
    x = features()
    prior_only = QualityGuidedAttention(
        DIMS, hidden=16, mix=1.0, quality={"inertial": 1, "skeleton": 3}
    )
    torch.testing.assert_close(prior_only(x).weights, torch.tensor([[0.25, 0.75]] * 6))
    attention_only = QualityGuidedAttention(DIMS, hidden=16, mix=0.0)
    pooled = torch.cat([x["inertial"], x["skeleton"]], dim=1)
    torch.testing.assert_close(attention_only(x).weights, attention_only.scorer(pooled).softmax(1))


def test_gradients_reach_every_parameter() -> None:
    attention = QualityGuidedAttention(DIMS, hidden=16, mix=0.5)
    fused, weights = attention(features(tokens=(3, 3)), present=PRESENT)
    assert_every_parameter_gets_gradient(attention, fused)


def test_batch_prior_trains_a_running_estimate_and_evaluates_with_it() -> None:
    g = torch.Generator().manual_seed(0)
    clustered = torch.cat(
        [torch.randn(16, 8, generator=g) * 0.05, torch.randn(16, 8, generator=g) * 0.05 + 4]
    )
    x = {"inertial": torch.rand(32, 12, generator=g), "skeleton": clustered}
    attention = QualityGuidedAttention(
        DIMS, hidden=16, prior="batch", mix=1.0, probe_fraction=0.25, momentum=0.5
    )
    torch.manual_seed(0)
    train_weights = attention(x).weights
    assert train_weights[0, 1] > train_weights[0, 0]  # the clustered modality has more quality
    torch.testing.assert_close(
        attention.quality, 0.5 * torch.full((2,), 0.5) + 0.5 * train_weights[0]
    )
    attention.eval()
    torch.testing.assert_close(attention(x).weights, attention.quality.expand(32, 2))
    torch.testing.assert_close(attention(x).weights, attention(x).weights, rtol=0, atol=0)


def test_batch_prior_uses_present_samples_only() -> None:
    x = features(batch=12)
    present = {"inertial": torch.arange(12) % 2 == 0}
    attention = QualityGuidedAttention(DIMS, hidden=16, prior="batch", probe_fraction=0.5)
    torch.manual_seed(3)
    first = attention(x, present=present).weights
    x["inertial"][~present["inertial"]] = 1e6
    torch.manual_seed(3)
    torch.testing.assert_close(attention(x, present=present).weights, first, rtol=0, atol=0)


def test_set_quality() -> None:
    attention = QualityGuidedAttention(DIMS, hidden=16)
    torch.testing.assert_close(attention.quality, torch.tensor([0.5, 0.5]))
    attention.set_quality(torch.tensor([1.0, 4.0]))
    torch.testing.assert_close(attention.quality, torch.tensor([0.2, 0.8]))
    with pytest.raises(ValueError, match="^QualityGuidedAttention: quality must not be all zero"):
        attention.set_quality({"inertial": 0.0, "skeleton": 0.0})
    with pytest.raises(
        ValueError, match=r"^QualityGuidedAttention: quality\['inertial'\] must be in"
    ):
        attention.set_quality({"inertial": -1.0, "skeleton": 1.0})
    with pytest.raises(ValueError, match=r"^QualityGuidedAttention: quality must name exactly"):
        attention.set_quality({"inertial": 1.0})
    with pytest.raises(ValueError, match="^QualityGuidedAttention: a quality tensor must have"):
        attention.set_quality(torch.ones(3))
    with pytest.raises(ValueError, match=r"^QualityGuidedAttention: quality\['skeleton'\] must"):
        attention.set_quality(torch.tensor([1.0, float("nan")]))


def test_bad_inputs_name_the_modality() -> None:
    attention = QualityGuidedAttention(DIMS, hidden=16)
    assert_bad_inputs(attention, "QualityGuidedAttention")
    assert_bad_present(attention, "QualityGuidedAttention")


def test_bad_hyperparameters() -> None:
    with pytest.raises(ValueError, match=r"^QualityGuidedAttention: mix must be in \[0, 1\]"):
        QualityGuidedAttention(DIMS, mix=-0.1)
    with pytest.raises(ValueError, match="^QualityGuidedAttention: prior must be one of"):
        QualityGuidedAttention(DIMS, prior="hopkins")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^QualityGuidedAttention: hidden must be an int"):
        QualityGuidedAttention(DIMS, hidden=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^QualityGuidedAttention: axis='token' needs"):
        QualityGuidedAttention(DIMS, axis="token")


def test_parameter_count_of_the_reference_configuration() -> None:
    # architectures.md 4.3(c): 256 -> 128 (Tanh) -> 2 is 33,154 parameters.
    attention = QualityGuidedAttention({"inertial": 128, "skeleton": 128})
    assert sum(p.numel() for p in attention.parameters()) == 33_154


def test_roundtrip_and_repr() -> None:
    def make() -> QualityGuidedAttention:
        return QualityGuidedAttention(DIMS, hidden=16, quality={"inertial": 0.3, "skeleton": 0.7})

    attention = make()
    assert_roundtrip(attention, lambda: QualityGuidedAttention(DIMS, hidden=16), [features()])
    batch = QualityGuidedAttention(DIMS, hidden=16, prior="batch")
    batch(features())  # training step moves the running prior
    clone = pickle.loads(pickle.dumps(batch))
    torch.testing.assert_close(clone.quality, batch.quality, rtol=0, atol=0)
    assert repr(attention).startswith(
        "QualityGuidedAttention(\n  dims={'inertial': 12, 'skeleton': 8}, hidden=16, "
        "prior='fixed', mix=0.8, axis='feature', probe_fraction=0.1, momentum=0.1\n"
    )


def test_float64_and_bfloat16() -> None:
    x64 = {k: v.double() for k, v in features().items()}
    attention = QualityGuidedAttention(DIMS, hidden=16, dtype=torch.float64)
    fused, weights = attention(x64)
    assert fused.dtype == weights.dtype == torch.float64
    attention16 = QualityGuidedAttention(DIMS, hidden=16, dtype=torch.bfloat16)
    fused16, weights16 = attention16(
        {k: v.bfloat16() for k, v in features().items()}, present=PRESENT
    )
    assert torch.isfinite(fused16).all() and weights16.dtype == torch.bfloat16


@pytest.mark.compile
@pytest.mark.parametrize("prior", ["fixed", "batch"])
def test_compiles_without_graph_breaks(prior: str) -> None:
    attention = QualityGuidedAttention(DIMS, hidden=16, prior=prior)  # type: ignore[arg-type]
    attention.eval()
    x = features(tokens=(3, 3))

    def fused_and_weights(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        fused, weights = attention({"inertial": a, "skeleton": b}, present=PRESENT)
        return fused.sum() + weights.square().sum()

    compiled_matches_eager(fused_and_weights, [x["inertial"], x["skeleton"]])
