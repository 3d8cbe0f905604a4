from __future__ import annotations

import pytest
import torch

from mmcontrast.fusion import GatedMultimodalUnitFusion
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


@pytest.mark.parametrize("tokens", [(None, None), (4, 3)])
def test_shapes(tokens: tuple[int | None, int | None]) -> None:
    fusion = GatedMultimodalUnitFusion(DIMS, hidden=5)
    out = fusion(features(tokens=tokens))
    # two hidden-wide blocks, one per modality
    assert out.shape == (6, 10) == (6, fusion.out_features)
    assert fusion(features(tokens=tokens), present=PRESENT).shape == (6, 10)


def test_gmu_output_width_without_projection() -> None:
    fusion = GatedMultimodalUnitFusion(DIMS, project=False)
    assert fusion(features()).shape == (6, 20) and fusion.out_features == 20


def test_gmu_equations_for_two_modalities() -> None:
    x = features()
    fusion = GatedMultimodalUnitFusion(DIMS, hidden=5)
    out = fusion(x)
    h_a = fusion.projections["inertial"](x["inertial"])  # type: ignore[index]
    h_b = fusion.projections["skeleton"](x["skeleton"])  # type: ignore[index]
    g_a = torch.sigmoid(fusion.gates["inertial"](torch.cat([h_a, h_b], 1)))
    g_b = torch.sigmoid(fusion.gates["skeleton"](torch.cat([h_b, h_a], 1)))
    a = h_a + g_a * torch.tanh(fusion.messages["inertial"]["skeleton"](h_b))  # type: ignore[index]
    b = h_b + g_b * torch.tanh(fusion.messages["skeleton"]["inertial"](h_a))  # type: ignore[index]
    torch.testing.assert_close(out, torch.cat([a, b], 1))


def test_gmu_missing_modality() -> None:
    x = leaves(features(tokens=(4, None)))
    x["inertial"].data[1] = float("nan")
    fusion = GatedMultimodalUnitFusion(DIMS, hidden=5)
    out = fusion(x, present=PRESENT)
    assert torch.equal(out[1, :5], torch.zeros(5))
    h_b = fusion.projections["skeleton"](x["skeleton"][1])  # type: ignore[index]
    torch.testing.assert_close(out[1, 5:], h_b)  # no message from the missing modality
    out.sum().backward()
    assert x["inertial"].grad is not None
    assert torch.equal(x["inertial"].grad[[1, 4]], torch.zeros(2, 4, 12))


def test_three_modality_gmu_renormalises_messages() -> None:
    dims = {"a": 3, "b": 3, "c": 3}
    fusion = GatedMultimodalUnitFusion(dims, project=False)
    x = {m: torch.randn(2, 3) for m in dims}
    out = fusion(x, present={"c": torch.tensor([True, False])})
    h = x
    g_a = torch.sigmoid(fusion.gates["a"](torch.cat([h["a"][1], h["b"][1], torch.zeros(3)])))
    message = torch.tanh(fusion.messages["a"]["b"](h["b"][1]))  # type: ignore[index]
    torch.testing.assert_close(out[1, :3], h["a"][1] + g_a * message)
    assert torch.equal(out[1, 6:], torch.zeros(3))


def test_gradients_reach_every_parameter() -> None:
    fusion = GatedMultimodalUnitFusion(DIMS, hidden=5)
    assert_every_parameter_gets_gradient(fusion, fusion(features(tokens=(3, 2)), present=PRESENT))
    fusion.zero_grad()
    assert_every_parameter_gets_gradient(fusion, fusion(features(tokens=(3, 2))))


def test_reference_parameter_counts() -> None:
    # architectures.md 4.3(d): GMU at 128-d per modality.
    gmu = GatedMultimodalUnitFusion({"inertial": 128, "skeleton": 128}, project=False)
    assert sum(p.numel() for p in gmu.parameters()) == 98_816


def test_bad_inputs_name_the_modality() -> None:
    fusion = GatedMultimodalUnitFusion(DIMS, hidden=5)
    assert_bad_inputs(fusion, "GatedMultimodalUnitFusion")
    assert_bad_present(fusion, "GatedMultimodalUnitFusion")


def test_bad_hyperparameters() -> None:
    owner = "GatedMultimodalUnitFusion"
    with pytest.raises(ValueError, match=f"^{owner}: gates one modality with the others"):
        GatedMultimodalUnitFusion({"inertial": 3})
    with pytest.raises(TypeError, match=f"^{owner}: project must be a bool"):
        GatedMultimodalUnitFusion(DIMS, project=1)  # type: ignore[arg-type]


def test_roundtrip_and_repr() -> None:
    def make() -> GatedMultimodalUnitFusion:
        return GatedMultimodalUnitFusion(DIMS, hidden=5)

    assert_roundtrip(make(), make, [features(tokens=(3, 2))], present=PRESENT)
    assert repr(make()).splitlines()[1] == f"  dims={DIMS!r}, hidden=5, project=True"


@pytest.mark.compile
@pytest.mark.parametrize("masked", [False, True])
def test_compiles_without_graph_breaks(masked: bool) -> None:
    fusion = GatedMultimodalUnitFusion(DIMS, hidden=5)
    x = features(tokens=(3, 2))
    present = PRESENT if masked else None
    compiled_matches_eager(
        lambda a, b: fusion({"inertial": a, "skeleton": b}, present=present),
        [x["inertial"], x["skeleton"]],
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_dtypes(dtype: torch.dtype) -> None:
    fusion = GatedMultimodalUnitFusion(DIMS, hidden=5, dtype=dtype)
    x = {m: v.to(dtype) for m, v in features(tokens=(4, None)).items()}
    for present in (None, PRESENT):
        out = fusion(x, present=present)
        assert out.dtype == dtype and torch.isfinite(out).all()
