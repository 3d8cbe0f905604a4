"""Shared helpers of the data tests: small UTD-MHAD-style files and a closed-form probe."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import scipy.io
import torch

from mmcontrast.data import PairedDataset


def utd_arrays(
    action: int, subject: int, trial: int, *, steps: int = 30, frames: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic (T, 6) inertial and (20, 3, T) skeleton array for one key."""
    rng = np.random.default_rng(1000 * action + 10 * subject + trial)
    inertial = rng.normal(size=(steps, 6)) * [0.5, 0.5, 0.5, 100.0, 100.0, 100.0]
    skeleton = rng.normal(size=(20, 3, frames)) * 0.1
    skeleton[1] += np.array([0.0, 0.34, 0.0])[:, None]  # shoulder_center above the spine
    skeleton[:, 2] += 3.0  # metres in front of the camera
    return inertial, skeleton


def write_utd_mhad(
    root: Path,
    keys: Iterable[tuple[int, int, int]],
    *,
    steps: int = 30,
    frames: int = 12,
) -> Path:
    """Write ``Inertial/`` and ``Skeleton/`` .mat files in UTD-MHAD's naming scheme."""
    (root / "Inertial").mkdir(parents=True, exist_ok=True)
    (root / "Skeleton").mkdir(parents=True, exist_ok=True)
    for action, subject, trial in keys:
        inertial, skeleton = utd_arrays(action, subject, trial, steps=steps, frames=frames)
        name = f"a{action}_s{subject}_t{trial}"
        scipy.io.savemat(root / "Inertial" / f"{name}_inertial.mat", {"d_iner": inertial})
        scipy.io.savemat(root / "Skeleton" / f"{name}_skeleton.mat", {"d_skel": skeleton})
    return root


def full_grid(actions: int = 27, subjects: int = 8, trials: int = 4) -> list[tuple[int, int, int]]:
    """Every (action, subject, trial) of a grid, without UTD-MHAD's three missing ones."""
    missing = {(8, 1, 4), (23, 6, 4), (27, 8, 4)}
    return [
        (a, s, t)
        for a in range(1, actions + 1)
        for s in range(1, subjects + 1)
        for t in range(1, trials + 1)
        if (a, s, t) not in missing
    ]


def ridge_accuracy(
    train: torch.Tensor,
    train_labels: torch.Tensor,
    test: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    ridge: float = 0.1,
) -> float:
    """Closed-form ridge classifier on standardised, flattened features; test accuracy."""
    x_train, x_test = train.flatten(1).double(), test.flatten(1).double()
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    targets = torch.nn.functional.one_hot(train_labels, int(train_labels.max()) + 1).double()
    count, width = x_train.shape
    if width > count:  # the dual form: the same solution from an n x n system
        kernel = x_train @ x_train.T + ridge * count * torch.eye(count).double()
        weights = x_train.T @ torch.linalg.solve(kernel, targets)
    else:
        gram = x_train.T @ x_train + ridge * count * torch.eye(width).double()
        weights = torch.linalg.solve(gram, x_train.T @ targets)
    return float(((x_test @ weights).argmax(1) == test_labels).double().mean())


def modality_accuracies(train: PairedDataset, test: PairedDataset) -> dict[str, float]:
    """Ridge accuracy on the inertial arrays, the skeleton arrays and both."""
    both = (
        torch.cat([train.inertial.flatten(1), train.skeleton.flatten(1)], 1),
        torch.cat([test.inertial.flatten(1), test.skeleton.flatten(1)], 1),
    )
    return {
        "inertial": ridge_accuracy(train.inertial, train.label, test.inertial, test.label),
        "skeleton": ridge_accuracy(train.skeleton, train.label, test.skeleton, test.label),
        "both": ridge_accuracy(both[0], train.label, both[1], test.label),
    }
