from __future__ import annotations

import pytest
import torch
from torch import nn

from mmcontrast.fusion import BidirectionalGRUFusion, masked_bigru
from mmcontrast.fusion.gru import BiGRUWeights
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
CONFIGS = [
    {"tokens": "modality", "readout": "last"},
    {"tokens": "modality", "readout": "mean"},
    {"tokens": "time", "readout": "last"},
    {"tokens": "time", "readout": "mean"},
]


def _reference_gru(hidden: int, weights: BiGRUWeights) -> nn.GRU:
    gru = nn.GRU(weights.input_size, hidden, batch_first=True, bidirectional=True)
    gru.load_state_dict(weights.state_dict())
    return gru.double() if weights.weight_ih_l0.dtype == torch.float64 else gru


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("tokens", [(None, None), (4, 3)])
def test_shapes(config: dict[str, str], tokens: tuple[int | None, int | None]) -> None:
    fusion = BidirectionalGRUFusion(DIMS, hidden=5, **config)  # type: ignore[arg-type]
    out = fusion(features(tokens=tokens))
    # the GRU reads out 2 * hidden
    assert out.shape == (6, 10) == (6, fusion.out_features)
    assert fusion(features(tokens=tokens), present=PRESENT).shape == (6, 10)


def test_masked_bigru_equals_gru_on_the_valid_tokens() -> None:
    g = torch.Generator().manual_seed(0)
    weights = BiGRUWeights(3, 4, dtype=torch.float64)
    reference = _reference_gru(4, weights)
    seq = torch.randn(4, 6, 3, generator=g, dtype=torch.float64)
    valid = torch.tensor(
        [[1, 1, 1, 1, 1, 1], [1, 0, 1, 1, 0, 1], [0, 0, 0, 1, 0, 0], [0, 1, 1, 0, 1, 0]]
    ).bool()
    out, last = masked_bigru(seq, valid, weights.weights)
    for row in range(4):
        ref_out, ref_last = reference(seq[row : row + 1, valid[row]])
        torch.testing.assert_close(last[row], torch.cat([ref_last[0, 0], ref_last[1, 0]]))
        torch.testing.assert_close(out[row, valid[row]], ref_out[0])
    fast_out, fast_last = masked_bigru(seq, None, weights.weights)
    all_out, all_last = masked_bigru(seq, torch.ones(4, 6, dtype=torch.bool), weights.weights)
    torch.testing.assert_close(all_out, fast_out)
    torch.testing.assert_close(all_last, fast_last)
    ref_out, _ = reference(seq)
    torch.testing.assert_close(fast_out, ref_out)


def test_masked_bigru_gradients_match_the_fused_kernel() -> None:
    weights = BiGRUWeights(3, 4, dtype=torch.float64)
    seq = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    grads = []
    for valid in (None, torch.ones(2, 5, dtype=torch.bool)):
        out, last = masked_bigru(seq, valid, weights.weights)
        grads.append(
            torch.autograd.grad((out.sin().sum() + last.cos().sum()), [seq, *weights.parameters()])
        )
    for fused, looped in zip(*grads, strict=True):
        torch.testing.assert_close(looped, fused)


def test_masked_bigru_gradients_match_gru_on_the_valid_tokens() -> None:
    g = torch.Generator().manual_seed(2)
    weights = BiGRUWeights(3, 4, dtype=torch.float64)
    reference = _reference_gru(4, weights)
    seq = torch.randn(3, 6, 3, generator=g, dtype=torch.float64)
    valid = torch.tensor([[1, 0, 1, 1, 0, 1], [0, 0, 0, 0, 0, 0], [0, 1, 1, 0, 0, 0]]).bool()
    seq[~valid] = float("nan")  # placeholders never reach a value or a gradient
    leaf = seq.clone().requires_grad_(True)
    out, last = masked_bigru(leaf, valid, weights.weights)
    loss = (out * valid.unsqueeze(-1)).sin().sum() + last.cos().sum()
    got = torch.autograd.grad(loss, [leaf, *weights.parameters()])
    assert torch.equal(last[1], torch.zeros(8, dtype=torch.float64))
    assert torch.equal(got[0][~valid], torch.zeros_like(got[0][~valid]))
    ref_loss = last.new_zeros(())
    ref_leaf = seq.clone().requires_grad_(True)
    for row in (0, 2):
        keep = valid[row]
        ref_out, ref_last = reference(ref_leaf[row : row + 1, keep])
        ref_loss = ref_loss + ref_out.sin().sum()
        ref_loss = ref_loss + torch.cat([ref_last[0, 0], ref_last[1, 0]]).cos().sum()
    ref_loss = ref_loss + 8 * 1.0  # row 1 has no valid token: cos(0) for each of its 8 states
    torch.testing.assert_close(loss, ref_loss)
    expected = torch.autograd.grad(ref_loss, [ref_leaf, *reference.parameters()])
    torch.testing.assert_close(got[0][valid], expected[0][valid])
    for mine, theirs in zip(got[1:], expected[1:], strict=True):
        torch.testing.assert_close(mine, theirs)


def test_masked_bigru_outputs_at_skipped_tokens() -> None:
    weights = BiGRUWeights(2, 3, dtype=torch.float64)
    seq = torch.randn(1, 5, 2, dtype=torch.float64)
    valid = torch.tensor([[False, True, False, True, False]])
    out, _ = masked_bigru(seq, valid, weights.weights)
    forward, backward = out[0, :, :3], out[0, :, 3:]
    assert torch.equal(forward[0], torch.zeros(3, dtype=torch.float64))  # nothing read yet
    torch.testing.assert_close(forward[2], forward[1])
    torch.testing.assert_close(forward[4], forward[3])
    assert torch.equal(backward[4], torch.zeros(3, dtype=torch.float64))
    torch.testing.assert_close(backward[2], backward[3])
    torch.testing.assert_close(backward[0], backward[1])


def test_bigru_weights_are_interchangeable_with_nn_gru() -> None:
    weights = BiGRUWeights(3, 4)
    gru = nn.GRU(3, 4, batch_first=True, bidirectional=True)
    weights.load_state_dict(gru.state_dict())
    assert list(weights.state_dict()) == list(gru.state_dict())
    assert repr(weights) == "BiGRUWeights(input_size=3, hidden_size=4)"
    bound = 4**-0.5
    assert all(p.abs().max() <= bound for p in BiGRUWeights(3, 4).parameters())


def test_gru_missing_modality_leaves_no_trace() -> None:
    x = leaves(features(tokens=(4, 3)))
    x["inertial"].data[1] = float("nan")
    for tokens in ("modality", "time"):
        fusion = BidirectionalGRUFusion(DIMS, hidden=5, tokens=tokens)  # type: ignore[arg-type]
        out = fusion(x, present=PRESENT)
        assert torch.isfinite(out).all()
        # a sample without IMU equals the GRU over the skeleton tokens only
        skeleton = fusion.projections["skeleton"](x["skeleton"])  # type: ignore[index]
        seq = skeleton.mean(1, keepdim=True) if tokens == "modality" else skeleton
        _, ref_last = _reference_gru(5, fusion.gru)(seq[1:2])
        torch.testing.assert_close(out[1], torch.cat([ref_last[0, 0], ref_last[1, 0]]))
        x["inertial"].grad = None
        out.sum().backward()
        assert x["inertial"].grad is not None
        assert torch.equal(x["inertial"].grad[[1, 4]], torch.zeros(2, 4, 12))
        assert torch.isfinite(x["inertial"].grad).all() and x["inertial"].grad[0].abs().sum() > 0


def test_gru_mean_readout_averages_valid_tokens() -> None:
    x = features(tokens=(4, 3))
    fusion = BidirectionalGRUFusion(DIMS, hidden=5, tokens="time", readout="mean")
    out = fusion(x, present=PRESENT)
    skeleton = fusion.projections["skeleton"](x["skeleton"])  # type: ignore[index]
    ref_out, _ = _reference_gru(5, fusion.gru)(skeleton[1:2])
    torch.testing.assert_close(out[1], ref_out[0].mean(0))
    torch.testing.assert_close(out[0], fusion(x)[0])


@pytest.mark.parametrize("config", CONFIGS)
def test_gradients_reach_every_parameter(config: dict[str, str]) -> None:
    fusion = BidirectionalGRUFusion(DIMS, hidden=5, **config)  # type: ignore[arg-type]
    assert_every_parameter_gets_gradient(fusion, fusion(features(tokens=(3, 2)), present=PRESENT))
    fusion.zero_grad()
    assert_every_parameter_gets_gradient(fusion, fusion(features(tokens=(3, 2))))


def test_reference_parameter_counts() -> None:
    # architectures.md 4.3(d): Bi-GRU hidden 128 on 256-d tokens.
    gru = BidirectionalGRUFusion({"inertial": 256, "skeleton": 256}, project=False)
    assert sum(p.numel() for p in gru.parameters()) == 296_448


def test_bad_inputs_name_the_modality() -> None:
    fusion = BidirectionalGRUFusion(DIMS, hidden=5)
    assert_bad_inputs(fusion, "BidirectionalGRUFusion")
    assert_bad_present(fusion, "BidirectionalGRUFusion")


def test_bad_hyperparameters() -> None:
    owner = "BidirectionalGRUFusion"
    with pytest.raises(ValueError, match=f"^{owner}: project=False needs every modality"):
        BidirectionalGRUFusion(DIMS, project=False)
    with pytest.raises(ValueError, match=f"^{owner}: tokens must be one of 'modality', 'time'"):
        BidirectionalGRUFusion(DIMS, tokens="steps")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=f"^{owner}: project must be a bool"):
        BidirectionalGRUFusion(DIMS, project=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[3]])
def test_roundtrip_and_repr(config: dict[str, str]) -> None:
    def make() -> BidirectionalGRUFusion:
        return BidirectionalGRUFusion(DIMS, hidden=5, **config)  # type: ignore[arg-type]

    assert_roundtrip(make(), make, [features(tokens=(3, 2))], present=PRESENT)
    text = repr(make()).splitlines()[1]
    assert text == (
        f"  dims={DIMS!r}, hidden=5, tokens={config['tokens']!r}, "
        f"readout={config['readout']!r}, project=True"
    )


@pytest.mark.compile
@pytest.mark.parametrize("config", [CONFIGS[2]])
@pytest.mark.parametrize("masked", [False, True])
def test_compiles_without_graph_breaks(config: dict[str, str], masked: bool) -> None:
    fusion = BidirectionalGRUFusion(DIMS, hidden=5, **config)  # type: ignore[arg-type]
    x = features(tokens=(3, 2))
    present = PRESENT if masked else None
    compiled_matches_eager(
        lambda a, b: fusion({"inertial": a, "skeleton": b}, present=present),
        [x["inertial"], x["skeleton"]],
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_dtypes(dtype: torch.dtype) -> None:
    fusion = BidirectionalGRUFusion(DIMS, hidden=5, dtype=dtype)
    x = {m: v.to(dtype) for m, v in features(tokens=(4, None)).items()}
    for present in (None, PRESENT):
        out = fusion(x, present=present)
        assert out.dtype == dtype and torch.isfinite(out).all()
