"""The fast training path: prepare_fast_training and the pre-trainers' autocast_dtype."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mmcontrast.encoders import FastDropout, presets
from mmcontrast.heads import ProjectionHead
from mmcontrast.losses import HardNegativeLoss, InfoNCE
from mmcontrast.recipes import (
    ContrastivePretrainer,
    SimCLRPretrainer,
    prepare_fast_training,
    pretrain_step,
)


def small_encoders() -> dict[str, nn.Module]:
    return {
        "inertial": nn.Sequential(nn.Flatten(), nn.Linear(50 * 6, 32), nn.Dropout(0.1)),
        "skeleton": nn.Sequential(
            nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        ),
    }


def batch(b: int = 16) -> dict[str, torch.Tensor]:
    return {
        "inertial": torch.randn(b, 50, 6),
        "skeleton": torch.randn(b, 3, 50, 20),
    }


def pretrainer(autocast_dtype: torch.dtype | None = None) -> ContrastivePretrainer:
    encoders = small_encoders()
    projections = {"inertial": ProjectionHead(32), "skeleton": ProjectionHead(8)}
    return ContrastivePretrainer(
        encoders, projections, HardNegativeLoss(), autocast_dtype=autocast_dtype
    )


def test_prepare_fast_training_keeps_the_eval_function_of_the_hcn() -> None:
    torch.manual_seed(0)
    encoder = presets.cmc_cmkm_skeleton().eval()
    x = torch.randn(4, 50, 20, 3)
    before = encoder(x)
    keys = list(encoder.state_dict())
    assert prepare_fast_training(encoder) is encoder
    four_d = [p for p in encoder.parameters() if p.ndim == 4]
    assert four_d and all(p.is_contiguous(memory_format=torch.channels_last) for p in four_d)
    assert list(encoder.state_dict()) == keys and not encoder.training
    torch.testing.assert_close(encoder(x), before, rtol=1e-4, atol=1e-5)


def test_prepare_fast_training_replaces_dropout_and_respects_its_flags() -> None:
    model = small_encoders()["inertial"]
    prepare_fast_training(model, channels_last=False)
    assert isinstance(model[2], FastDropout)
    skeleton = small_encoders()["skeleton"]
    prepare_fast_training(skeleton, channels_last=False, fast_dropout=False)
    assert skeleton[0].weight.is_contiguous()  # still the default layout


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"module": "encoder"}, TypeError, "prepare_fast_training: module must be an nn.Module"),
        (
            {"module": nn.Linear(2, 2), "channels_last": 1},
            TypeError,
            "prepare_fast_training: channels_last must be a bool, got int",
        ),
        (
            {"module": nn.Linear(2, 2), "fast_dropout": None},
            TypeError,
            "prepare_fast_training: fast_dropout must be a bool, got NoneType",
        ),
    ],
)
def test_prepare_fast_training_rejects_bad_arguments(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        prepare_fast_training(**kwargs)  # type: ignore[arg-type]


def test_autocast_embeddings_are_float32_and_close_to_float32_ones() -> None:
    torch.manual_seed(1)
    fast = pretrainer(torch.bfloat16).eval()
    plain = pretrainer().eval()
    plain.load_state_dict(fast.state_dict())
    inputs = batch()
    z_fast, z_plain = fast.embed(inputs), plain.embed(inputs)
    for m in inputs:
        assert z_fast[m].dtype == torch.float32
        torch.testing.assert_close(z_fast[m], z_plain[m], rtol=0.05, atol=0.05)
        assert not torch.equal(z_fast[m], z_plain[m])  # autocast did run in bfloat16


def test_autocast_training_step_keeps_float32_parameters_and_gradients() -> None:
    torch.manual_seed(2)
    model = pretrainer(torch.bfloat16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = pretrain_step(model, batch(), optimizer)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    for p in model.parameters():
        assert p.dtype == torch.float32
        assert p.grad is not None and p.grad.dtype == torch.float32


def test_without_autocast_nothing_changes() -> None:
    torch.manual_seed(3)
    a = pretrainer()
    b = pretrainer(None)
    b.load_state_dict(a.state_dict())
    inputs = batch()
    torch.manual_seed(4)
    loss_a = a(inputs)
    torch.manual_seed(4)
    torch.testing.assert_close(b(inputs), loss_a, rtol=0, atol=0)
    assert "autocast" not in repr(a)


def test_simclr_autocast() -> None:
    torch.manual_seed(5)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(50 * 6, 32), nn.BatchNorm1d(32))
    model = SimCLRPretrainer(
        encoder, ProjectionHead(32), InfoNCE(negatives="all"), autocast_dtype=torch.bfloat16
    )
    x = torch.randn(8, 50, 6)
    assert model.embed(x).dtype == torch.float32
    loss = model(x, x + 0.1)
    loss.backward()
    assert encoder[1].weight.grad is not None
    assert "autocast_dtype=torch.bfloat16" in repr(model)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, "bfloat16", torch.int8])
def test_bad_autocast_dtype_is_rejected(dtype: object) -> None:
    with pytest.raises(ValueError, match="ContrastivePretrainer: autocast_dtype must be None"):
        pretrainer(dtype)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="SimCLRPretrainer: autocast_dtype must be None"):
        SimCLRPretrainer(nn.Linear(2, 2), nn.Identity(), autocast_dtype=dtype)  # type: ignore[arg-type]


@pytest.mark.compile
def test_fast_path_presets_trace_without_graph_breaks_in_train_mode() -> None:
    torch._dynamo.reset()
    cases = (
        (presets.cmc_cmkm_inertial(), torch.randn(4, 50, 6)),
        (presets.cmc_cmkm_skeleton(), torch.randn(4, 50, 20, 3)),
    )
    for encoder, x in cases:
        prepare_fast_training(encoder.train())
        compiled = torch.compile(encoder, fullgraph=True, backend="eager")
        with torch.autocast("cpu", dtype=torch.bfloat16):
            torch.manual_seed(8)
            expected = encoder(x)
            torch.manual_seed(8)
            got = compiled(x)  # the same random draws: Dynamo's graph, run eagerly
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
