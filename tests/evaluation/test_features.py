from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from mmcontrast.evaluation import extract_features


def _encoder() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(12, 16), nn.BatchNorm1d(16), nn.Dropout(0.5), nn.Linear(16, 8)
    )


def _inputs(n: int = 37) -> Tensor:
    return torch.randn(n, 4, 3, generator=torch.Generator().manual_seed(1))


class _Probe(nn.Module):
    """Records the grad mode and the training flag it sees; raises on a chosen call."""

    def __init__(self, raise_on: int | None = None) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.raise_on = raise_on
        self.calls: list[tuple[bool, bool, int]] = []

    def forward(self, x: Tensor) -> Tensor:
        self.calls.append((torch.is_grad_enabled(), self.training, x.shape[0]))
        if self.raise_on is not None and len(self.calls) == self.raise_on:
            raise RuntimeError("boom")
        return self.linear(x)


def test_matches_one_eval_forward_at_any_batch_size() -> None:
    encoder, x = _encoder(), _inputs()
    running_mean = encoder[2].running_mean.clone()
    with torch.no_grad():
        expected = encoder.eval()(x)
    encoder.train()
    for batch_size in (1, 5, 37, 256):
        features = extract_features(encoder, x, batch_size=batch_size)
        torch.testing.assert_close(features, expected)
    assert torch.equal(encoder[2].running_mean, running_mean)  # eval: no statistics update


def test_no_grad_chunks_and_ordinary_tensors() -> None:
    probe = _Probe()
    features = extract_features(probe, torch.randn(10, 3), batch_size=4)
    assert probe.calls == [(False, False, 4), (False, False, 4), (False, False, 2)]
    assert not features.requires_grad and not features.is_inference()
    assert probe.linear.weight.grad is None
    assert probe.training  # restored


def test_every_submodule_mode_is_restored() -> None:
    encoder = _encoder().train()
    encoder[2].eval()  # a frozen BatchNorm inside a training model
    extract_features(encoder, _inputs())
    assert [m.training for m in encoder] == [True, True, False, True, True]
    encoder.eval()
    extract_features(encoder, _inputs())
    assert not any(m.training for m in encoder.modules())


def test_modes_restored_when_the_encoder_raises() -> None:
    probe = _Probe(raise_on=2)
    with pytest.raises(RuntimeError, match="boom"):
        extract_features(probe, torch.randn(10, 3), batch_size=4)
    assert probe.training and probe.linear.training and torch.is_grad_enabled()


def test_token_outputs_are_flattened() -> None:
    encoder = nn.Linear(3, 5)  # "b n c" -> "b n d"
    x = torch.randn(6, 4, 3)
    features = extract_features(encoder, x, batch_size=4)
    assert features.shape == (6, 20)
    with torch.no_grad():
        torch.testing.assert_close(features, encoder(x).reshape(6, 20))


@pytest.mark.parametrize("container", [dict, nn.ModuleDict])
def test_a_mapping_of_encoders(container: type) -> None:
    inertial, skeleton = _encoder(), nn.Flatten()
    encoders = container({"skeleton": skeleton, "inertial": inertial, "depth": nn.Identity()})
    x = {"inertial": _inputs(9), "skeleton": torch.randn(9, 5, 2, 3)}
    features = extract_features(encoders, x, batch_size=4)
    assert list(features) == ["inertial", "skeleton"]  # the order of the inputs
    torch.testing.assert_close(features["inertial"], extract_features(inertial, x["inertial"]))
    assert features["skeleton"].shape == (9, 30)


def test_chunks_go_to_the_encoder_device_and_back(device: torch.device) -> None:
    encoder = _encoder().to(device)
    features = extract_features(encoder, _inputs(), batch_size=8)
    assert features.device == torch.device("cpu")
    parameterless = extract_features(nn.Flatten(), _inputs().to(device))
    assert parameterless.device == _inputs().to(device).device


def test_bad_arguments() -> None:
    encoder, x = _encoder(), _inputs()
    with pytest.raises(ValueError, match="^extract_features: batch_size must be >= 1, got 0"):
        extract_features(encoder, x, batch_size=0)
    with pytest.raises(TypeError, match="^extract_features: batch_size must be an int"):
        extract_features(encoder, x, batch_size=2.0)  # type: ignore[call-overload]
    with pytest.raises(
        TypeError, match="^extract_features: encoder must be an nn.Module, got function"
    ):
        extract_features(lambda t: t, x)  # type: ignore[call-overload]
    with pytest.raises(
        TypeError, match="^extract_features: inputs must be a torch.Tensor, got list"
    ):
        extract_features(encoder, [1.0])  # type: ignore[call-overload]
    with pytest.raises(
        ValueError,
        match=r'^extract_features: inputs must have shape "b \.\.\." with at least one sample, '
        r"got \(0, 4, 3\)",
    ):
        extract_features(encoder, x[:0])
    with pytest.raises(
        TypeError, match="^extract_features: with a mapping of inputs, encoder must be a mapping"
    ):
        extract_features(encoder, {"inertial": x})  # type: ignore[call-overload]
    with pytest.raises(
        TypeError, match="^extract_features: with a mapping of encoders, inputs must be a mapping"
    ):
        extract_features({"inertial": encoder}, x)  # type: ignore[call-overload]
    with pytest.raises(
        ValueError,
        match="^extract_features: inputs has the modality 'skeleton' but encoder has no encoder "
        "for it; encoders are given for 'inertial'",
    ):
        extract_features({"inertial": encoder}, {"skeleton": x})
    with pytest.raises(
        ValueError,
        match="^extract_features: every modality of inputs must hold the same number of samples",
    ):
        extract_features(
            {"inertial": encoder, "skeleton": nn.Flatten()}, {"inertial": x, "skeleton": x[:5]}
        )
    with pytest.raises(
        ValueError, match="^extract_features: inputs must name at least one modality"
    ):
        extract_features({"inertial": encoder}, {})
    with pytest.raises(
        TypeError, match=r"^extract_features: encoder\['inertial'\] must be an nn.Module"
    ):
        extract_features({"inertial": "cnn"}, {"inertial": x})  # type: ignore[dict-item]


def test_bad_encoder_outputs() -> None:
    class Pair(nn.Module):
        def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
            return x, x

    with pytest.raises(
        TypeError, match="^extract_features: encoder must return a tensor, got tuple"
    ):
        extract_features(Pair(), torch.randn(4, 3))
    with pytest.raises(
        ValueError, match=r'^extract_features: encoder must return "b d" .* got \(4,\)'
    ):
        extract_features(nn.Flatten(0), torch.randn(4))
    with pytest.raises(ValueError, match=r"^extract_features: encoder\['inertial'\] must return"):
        extract_features({"inertial": nn.Flatten(0)}, {"inertial": torch.randn(4, 2)})
