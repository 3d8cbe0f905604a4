from __future__ import annotations

import numpy as np
import pytest
import torch

from mmcontrast.augment import Compose, NormalizeBoneLength, Recenter


def _skeleton(dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(8, 6, 20, 3, generator=torch.Generator().manual_seed(99), dtype=dtype)


def _reference_preprocessing(skeleton: np.ndarray) -> np.ndarray:
    """data.md section 7 on a raw ``(20, 3, T)`` array: recentre on joint 2 of frame 0, then
    divide by the frame-0 distance between joints 1 and 2."""
    centred = skeleton - skeleton[2:3, :, 0:1]
    return centred / np.linalg.norm(skeleton[1, :, 0] - skeleton[2, :, 0])


def test_normalisations_reproduce_the_reference_preprocessing() -> None:
    raw = np.random.default_rng(0).normal(size=(20, 3, 37)) * 0.3 + 2.0
    x = torch.from_numpy(raw).permute(2, 0, 1).unsqueeze(0)  # (1, T, J, 3)
    out = Compose([Recenter(joint=2), NormalizeBoneLength(joints=(1, 2))])(x)
    expected = torch.from_numpy(_reference_preprocessing(raw)).permute(2, 0, 1).unsqueeze(0)
    torch.testing.assert_close(out, expected)
    assert bool((out[:, 0, 2] == 0).all())
    degenerate = torch.zeros(1, 3, 20, 3)
    assert bool(NormalizeBoneLength()(degenerate).isfinite().all())


def test_normalisation_keeps_half_precision() -> None:
    x = _skeleton(torch.float16)
    out = NormalizeBoneLength()(x)
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), NormalizeBoneLength()(x.float()), rtol=2e-3, atol=2e-3)


def test_repr() -> None:
    assert repr(Recenter()) == "Recenter(joint=2)"
    assert repr(NormalizeBoneLength()) == "NormalizeBoneLength(joints=(1, 2), eps=1e-06)"


def test_bad_inputs() -> None:
    kinect = _skeleton(torch.float32)
    with pytest.raises(ValueError, match="^Recenter: joint 25 is not a joint"):
        Recenter(joint=25)(kinect)
    with pytest.raises(ValueError, match="^NormalizeBoneLength: joints must be two different"):
        NormalizeBoneLength(joints=(1, 1))
