"""Inputs and checks shared by the fusion tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
import torch
from torch import Tensor, nn

DIMS = {"inertial": 12, "skeleton": 8}


def features(
    *, tokens: tuple[int | None, int | None] = (None, None), batch: int = 6, seed: int = 0
) -> dict[str, Tensor]:
    """Random features: ``"b d"`` where a token count is None, ``"b t d"`` otherwise."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for (name, d), t in zip(DIMS.items(), tokens, strict=True):
        shape = (batch, d) if t is None else (batch, t, d)
        out[name] = torch.randn(shape, generator=g)
    return out


def leaves(inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().clone().requires_grad_(True) for k, v in inputs.items()}


def first(output: Tensor | tuple[Tensor, ...]) -> Tensor:
    return output if isinstance(output, Tensor) else output[0]


def assert_bad_inputs(call: Callable[[Mapping[str, Tensor]], object], owner: str) -> None:
    """Unknown / missing keys, batch and dimension mismatches name the modality."""
    good = features()
    with pytest.raises(ValueError, match=rf"^{owner}: features has the unknown modality 'depth'"):
        call({**good, "depth": torch.randn(6, 3)})
    with pytest.raises(ValueError, match=rf"^{owner}: features is missing the modality 'skeleton'"):
        call({"inertial": good["inertial"]})
    with pytest.raises(ValueError, match=rf"^{owner}: every modality .* 'skeleton' differs"):
        call({"inertial": good["inertial"], "skeleton": torch.randn(5, 8)})
    with pytest.raises(
        ValueError, match=rf"^{owner}: features\['skeleton'\] must have shape .*d=8"
    ):
        call({"inertial": good["inertial"], "skeleton": torch.randn(6, 9)})
    with pytest.raises(ValueError, match=rf"^{owner}: features\['inertial'\] must have shape"):
        call({"inertial": torch.randn(6, 2, 3, 12), "skeleton": good["skeleton"]})
    with pytest.raises(
        TypeError, match=rf"^{owner}: features\['inertial'\] must be a torch.Tensor"
    ):
        call({"inertial": [1.0], "skeleton": good["skeleton"]})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match=rf"^{owner}: features must be a mapping"):
        call(torch.randn(6, 12))  # type: ignore[arg-type]


def assert_bad_present(call: Callable[..., object], owner: str) -> None:
    good = features()
    with pytest.raises(ValueError, match=rf"^{owner}: present has the unknown modality 'depth'"):
        call(good, present={"depth": torch.ones(6, dtype=torch.bool)})
    with pytest.raises(TypeError, match=rf"^{owner}: present\['inertial'\] must be a bool tensor"):
        call(good, present={"inertial": torch.ones(6)})
    with pytest.raises(ValueError, match=rf"^{owner}: present\['inertial'\] must have shape"):
        call(good, present={"inertial": torch.ones(5, dtype=torch.bool)})


def assert_every_parameter_gets_gradient(module: nn.Module, output: Tensor) -> None:
    output.float().square().sum().backward()
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None, name
        assert parameter.grad.abs().sum() > 0, name
