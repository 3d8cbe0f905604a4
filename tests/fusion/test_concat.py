from __future__ import annotations

import pytest
import torch

from mmcontrast.fusion import ConcatFusion
from tests.fusion.common import DIMS, assert_bad_inputs, assert_bad_present, features, leaves
from tests.helpers import assert_roundtrip, compiled_matches_eager


@pytest.mark.parametrize(("tokens", "shape"), [((None, None), (6, 20)), ((5, 5), (6, 5, 20))])
def test_feature_axis_shapes(tokens: tuple[int | None, int | None], shape: tuple[int, ...]) -> None:
    x = features(tokens=tokens)
    fused = ConcatFusion(DIMS)(x)
    assert fused.shape == shape
    torch.testing.assert_close(fused[..., :12], x["inertial"], rtol=0, atol=0)
    torch.testing.assert_close(fused[..., 12:], x["skeleton"], rtol=0, atol=0)


def test_token_axis_packs_b_d_and_b_t_d() -> None:
    fusion = ConcatFusion({"inertial": 4, "skeleton": 4}, axis="token")
    imu, skeleton = torch.randn(3, 4), torch.randn(3, 7, 4)
    fused = fusion({"skeleton": skeleton, "inertial": imu})
    assert fused.shape == (3, 8, 4)
    torch.testing.assert_close(fused[:, 0], imu, rtol=0, atol=0)
    torch.testing.assert_close(fused[:, 1:], skeleton, rtol=0, atol=0)
    assert fusion.out_features == 4


def test_order_follows_the_constructor_not_the_mapping() -> None:
    x = features()
    fusion = ConcatFusion(DIMS)
    reordered = {"skeleton": x["skeleton"], "inertial": x["inertial"]}
    torch.testing.assert_close(fusion(reordered), fusion(x), rtol=0, atol=0)


def test_missing_modality_is_exactly_zero_with_zero_gradient() -> None:
    x = leaves(features())
    x["inertial"].data[1] = float("nan")  # a placeholder for a missing sample may hold anything
    present = {"inertial": torch.tensor([True, False, True, True, False, True])}
    fused = ConcatFusion(DIMS)(x, present=present)
    assert torch.equal(fused[1, :12], torch.zeros(12))
    assert torch.equal(fused[4, :12], torch.zeros(12))
    fused.sum().backward()
    assert x["inertial"].grad is not None
    assert torch.equal(x["inertial"].grad[[1, 4]], torch.zeros(2, 12))
    assert torch.equal(x["inertial"].grad[[0, 2]], torch.ones(2, 12))


def test_renormalize_scales_present_modalities() -> None:
    x = features()
    present = {"inertial": torch.tensor([True, False, True, True, False, True])}
    fused = ConcatFusion(DIMS, renormalize=True)(x, present=present)
    torch.testing.assert_close(fused[1, 12:], 2 * x["skeleton"][1])
    torch.testing.assert_close(fused[0], torch.cat([x["inertial"][0], x["skeleton"][0]]))


def test_mixed_ranks_need_the_token_axis() -> None:
    with pytest.raises(
        ValueError, match='^ConcatFusion: axis="feature" needs .*inertial: \\(6, 12\\)'
    ):
        ConcatFusion(DIMS)(features(tokens=(None, 4)))
    with pytest.raises(ValueError, match="^ConcatFusion: axis='token' needs every modality"):
        ConcatFusion(DIMS, axis="token")


def test_bad_inputs_name_the_modality() -> None:
    fusion = ConcatFusion(DIMS)
    assert_bad_inputs(fusion, "ConcatFusion")
    assert_bad_present(fusion, "ConcatFusion")


def test_bad_hyperparameters() -> None:
    with pytest.raises(ValueError, match="^ConcatFusion: modality names in dims"):
        ConcatFusion({"a.b": 3})
    with pytest.raises(ValueError, match="^ConcatFusion: modality names in dims"):
        ConcatFusion({"keys": 3})
    with pytest.raises(ValueError, match=r"^ConcatFusion: dims\['inertial'\] must be >= 1"):
        ConcatFusion({"inertial": 0})
    with pytest.raises(ValueError, match="^ConcatFusion: dims must name at least one"):
        ConcatFusion({})
    with pytest.raises(ValueError, match="^ConcatFusion: axis must be one of"):
        ConcatFusion(DIMS, axis="time")  # type: ignore[arg-type]


def test_roundtrip_and_repr() -> None:
    fusion = ConcatFusion(DIMS, renormalize=True)
    assert_roundtrip(fusion, lambda: ConcatFusion(DIMS, renormalize=True), [features()])
    assert repr(fusion) == (
        "ConcatFusion(dims={'inertial': 12, 'skeleton': 8}, axis='feature', renormalize=True)"
    )


@pytest.mark.compile
def test_compiles_without_graph_breaks() -> None:
    fusion = ConcatFusion(DIMS, renormalize=True)
    present = {"inertial": torch.tensor([True, False, True, True, False, True])}
    x = features(tokens=(3, 3))
    compiled_matches_eager(
        lambda a, b: fusion({"inertial": a, "skeleton": b}, present=present),
        [x["inertial"], x["skeleton"]],
    )
