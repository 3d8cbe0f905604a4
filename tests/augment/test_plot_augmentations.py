"""The docs figure script: its real-data path on small .mat files, its synthetic fallback."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from tests.helpers import load_script

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "scripts" / "plot_augmentations.py"
UTD_MHAD = Path(os.environ.get("MMCONTRAST_UTD_MHAD", ROOT.parent / "shared" / "data" / "utd_mhad"))


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script(SCRIPT, "plot_augmentations")


def _check(trace: object) -> None:
    inertial, skeleton = trace.inertial, trace.skeleton  # type: ignore[attr-defined]
    assert inertial.shape == (1, 50, 6) and skeleton.shape == (1, 50, 20, 3)
    assert bool(inertial.isfinite().all() and skeleton.isfinite().all())
    torch.testing.assert_close(skeleton[0, 0, 2], torch.zeros(3), atol=1e-5, rtol=0)
    bone = (skeleton[0, 0, 1] - skeleton[0, 0, 2]).norm()
    torch.testing.assert_close(bone, torch.tensor(1.0), atol=1e-4, rtol=0)


def test_synthetic_trace_is_labelled(script: ModuleType) -> None:
    trace = script.synthetic()
    _check(trace)
    assert trace.source.startswith("SYNTHETIC")


def test_real_path_reads_utd_mhad_mat_files(script: ModuleType, tmp_path: Path) -> None:
    savemat = pytest.importorskip("scipy.io").savemat
    rng = np.random.default_rng(0)
    (tmp_path / "Inertial").mkdir()
    (tmp_path / "Skeleton").mkdir()
    skeleton = rng.normal(size=(20, 3, 67)) * 0.1 + np.array([0.0, 0.0, 2.5])[None, :, None]
    savemat(tmp_path / "Inertial" / "a9_s1_t1_inertial.mat", {"d_iner": rng.normal(size=(177, 6))})
    savemat(tmp_path / "Skeleton" / "a9_s1_t1_skeleton.mat", {"d_skel": skeleton})
    trace = script.load_real(tmp_path, "a9_s1_t1")
    _check(trace)
    assert trace.source.startswith("UTD-MHAD a9_s1_t1")
    assert script.load_real(tmp_path, "a1_s1_t1") is None


def test_draws_one_figure_per_transform(script: ModuleType, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    written = script.draw_all(script.synthetic(), tmp_path)
    expected = (
        len(script.imu_figures()) + len(script.temporal_figures()) + len(script.skeleton_figures())
    )
    assert len(written) == expected + 1  # + the normalisation figure
    assert all(path.stat().st_size > 1000 for path in written)
    assert (tmp_path / "source.txt").read_text().startswith("SYNTHETIC")


@pytest.mark.slow
def test_real_recording_when_present(script: ModuleType) -> None:
    if not UTD_MHAD.is_dir():
        pytest.skip(f"UTD-MHAD not found at {UTD_MHAD}")
    pytest.importorskip("scipy")
    _check(script.load_real(UTD_MHAD, "a9_s1_t1"))
