"""Synthetic paired IMU + skeleton batches and stand-in encoders for the recipe tests."""

from __future__ import annotations

import torch
from torch import Tensor, nn

CLASSES = 3
IMU_SHAPE = (10, 3)  # "t c"
SKELETON_SHAPE = (10, 4, 3)  # "t j c"


def synthetic(n: int, *, seed: int) -> tuple[dict[str, Tensor], Tensor]:
    """Both modalities are noisy linear views of one class-dependent latent."""
    mixing = torch.Generator().manual_seed(123)  # the same "physics" for every split
    to_imu = torch.randn(CLASSES, 30, generator=mixing)
    to_skeleton = torch.randn(CLASSES, 120, generator=mixing)
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % CLASSES
    latent = 2.0 * nn.functional.one_hot(labels, CLASSES).float()
    latent = latent + 0.5 * torch.randn(n, CLASSES, generator=g)
    imu = latent @ to_imu + 0.3 * torch.randn(n, 30, generator=g)
    skeleton = latent @ to_skeleton + 0.3 * torch.randn(n, 120, generator=g)
    inputs = {
        "inertial": imu.reshape(n, *IMU_SHAPE),
        "skeleton": skeleton.reshape(n, *SKELETON_SHAPE),
    }
    return inputs, labels


def encoders(width: int = 16, *, seed: int = 0) -> dict[str, nn.Module]:
    """Stand-ins for the real encoders: any module mapping "b ..." to "b d" fits."""
    torch.manual_seed(seed)
    return {
        "inertial": nn.Sequential(nn.Flatten(), nn.Linear(30, width)),
        "skeleton": nn.Sequential(nn.Flatten(), nn.Linear(120, width), nn.BatchNorm1d(width)),
    }
