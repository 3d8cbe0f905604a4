from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from mmcontrast.data import (
    UTD_MHAD_CLASSES,
    UTD_MHAD_JOINTS,
    UTD_MHAD_MISSING,
    PairedDataset,
    cross_subject_split,
    load_utd_mhad,
    parse_utd_mhad_name,
    read_utd_mhad,
)
from mmcontrast.losses import HardNegativeLoss
from tests.data.helpers import (
    full_grid,
    modality_accuracies,
    ridge_accuracy,
    utd_arrays,
    write_utd_mhad,
)

REPO = Path(__file__).resolve().parents[2]
REAL_ROOT = Path(
    os.environ.get("MMCONTRAST_UTD_MHAD", REPO.parent / "shared" / "data" / "utd_mhad")
)
needs_real_data = pytest.mark.skipif(
    not (REAL_ROOT / "Inertial").is_dir(),
    reason=f"the UTD-MHAD files are not at {REAL_ROOT} (set MMCONTRAST_UTD_MHAD)",
)
SMALL = [(1, 1, 1), (1, 2, 1), (2, 1, 2), (27, 8, 3)]


@pytest.fixture(scope="module")
def grid_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All 861 sequences of the official release, as tiny files in the real naming scheme."""
    return write_utd_mhad(tmp_path_factory.mktemp("utd_full"), full_grid(), steps=8, frames=4)


def test_constants() -> None:
    assert len(UTD_MHAD_CLASSES) == 27 and UTD_MHAD_CLASSES[21] == "jog"
    assert len(UTD_MHAD_JOINTS) == 20 and UTD_MHAD_JOINTS[2] == "spine"
    assert UTD_MHAD_JOINTS[10] == "right_wrist"
    assert UTD_MHAD_MISSING == ("a8_s1_t4", "a23_s6_t4", "a27_s8_t4")


def test_parse_names() -> None:
    assert parse_utd_mhad_name("a1_s1_t1_inertial.mat") == (1, 1, 1, "inertial")
    assert parse_utd_mhad_name("a27_s8_t4_skeleton.mat") == (27, 8, 4, "skeleton")
    with pytest.raises(ValueError, match="is not named a"):
        parse_utd_mhad_name("a1_s1_inertial.mat")
    with pytest.raises(ValueError, match=r"'a28_s1_t1_depth.mat' is not named"):
        parse_utd_mhad_name("a28_s1_t1_depth.mat")
    with pytest.raises(
        ValueError, match=r"out of range \(action 1..27, subject 1..8, trial 1..4\)"
    ):
        parse_utd_mhad_name("a28_s1_t1_inertial.mat")


def test_full_release_counts_and_protocol(grid_root: Path, tmp_path: Path) -> None:
    recordings = read_utd_mhad(grid_root, cache_dir=tmp_path)
    assert len(recordings) == 861
    assert dict(recordings.missing) == {
        name: "not in the official release" for name in UTD_MHAD_MISSING
    }
    split = cross_subject_split(recordings.subject)
    assert (split.train.size, split.test.size) == (431, 430)
    assert recordings.label.min() == 0 and recordings.label.max() == 26
    keys = list(zip(recordings.label + 1, recordings.subject, recordings.trial, strict=True))
    assert keys == sorted(keys) and recordings.names[0] == "a1_s1_t1"


def test_arrays_are_time_first_and_exact(tmp_path: Path) -> None:
    root = write_utd_mhad(tmp_path / "utd", SMALL)
    with pytest.warns(UserWarning, match=r"857 sequence\(s\) missing beyond the 3"):
        recordings = read_utd_mhad(root, cache=False)
    assert recordings.names == ("a1_s1_t1", "a1_s2_t1", "a2_s1_t2", "a27_s8_t3")
    assert recordings.label.tolist() == [0, 0, 1, 26]
    assert recordings.subject.tolist() == [1, 2, 1, 8] and recordings.trial.tolist() == [1, 1, 2, 3]
    inertial, skeleton = utd_arrays(2, 1, 2)
    np.testing.assert_array_equal(recordings.inertial[2], inertial)
    assert recordings.skeleton[2].shape == (12, 20, 3)
    np.testing.assert_array_equal(recordings.skeleton[2], skeleton.transpose(2, 0, 1))
    assert recordings.missing["a5_s5_t1"] == "inertial and skeleton file absent"
    assert recordings.missing["a8_s1_t4"] == "not in the official release"


def test_unpaired_and_unexpected_files_are_reported(tmp_path: Path) -> None:
    root = write_utd_mhad(tmp_path / "utd", SMALL)
    (root / "Skeleton" / "a2_s1_t2_skeleton.mat").unlink()
    (root / "Inertial" / "notes.mat").write_bytes(b"")
    (root / "Inertial" / "a30_s1_t1_inertial.mat").write_bytes(b"")
    with pytest.warns(UserWarning) as caught:
        recordings = read_utd_mhad(root, cache=False)
    messages = " ".join(str(w.message) for w in caught)
    assert "ignored 2 .mat file(s)" in messages and "notes.mat" in messages
    assert "a2_s1_t2 (skeleton file absent)" in messages
    assert len(recordings) == 3 and recordings.missing["a2_s1_t2"] == "skeleton file absent"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "cannot read .*a1_s2_t1_inertial.mat .corrupt or truncated"),
        ("garbage", "cannot read .*a1_s2_t1_inertial.mat .corrupt or truncated"),
        ("empty", "cannot read .*a1_s2_t1_inertial.mat"),
        (
            "transposed",
            r"a1_s2_t1_inertial.mat: d_iner must have shape \(T, 6\) with T >= 1, got \(6, 30\)",
        ),
        ("rename", r"a1_s2_t1_inertial.mat has no variable 'd_iner'; it holds \['data'\]"),
        ("nan", r"a1_s2_t1_inertial.mat: d_iner has 1 non-finite value"),
        ("complex", r"a1_s2_t1_inertial.mat: d_iner must be real numbers"),
    ],
)
def test_damaged_inertial_files_are_named(tmp_path: Path, damage: str, message: str) -> None:
    root = write_utd_mhad(tmp_path / "utd", SMALL)
    path = root / "Inertial" / "a1_s2_t1_inertial.mat"
    inertial, _ = utd_arrays(1, 2, 1)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"MATLAB? no" * 20)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "transposed":
        scipy.io.savemat(path, {"d_iner": inertial.T})
    elif damage == "rename":
        scipy.io.savemat(path, {"data": inertial})
    elif damage == "nan":
        inertial[3, 2] = np.nan
        scipy.io.savemat(path, {"d_iner": inertial})
    else:
        scipy.io.savemat(path, {"d_iner": inertial + 1j})
    with pytest.raises(ValueError, match=message):
        read_utd_mhad(root, cache=False)


def test_wrong_skeleton_shapes_are_named_and_one_frame_is_accepted(tmp_path: Path) -> None:
    root = write_utd_mhad(tmp_path / "utd", SMALL)
    path = root / "Skeleton" / "a27_s8_t3_skeleton.mat"
    scipy.io.savemat(path, {"d_skel": np.zeros((25, 3, 10))})
    with pytest.raises(
        ValueError, match=r"a27_s8_t3_skeleton.mat: d_skel must have shape \(20, 3, T\)"
    ):
        read_utd_mhad(root, cache=False)
    one_frame = np.ones((20, 3, 1))
    one_frame[1, 1] = 2.0
    scipy.io.savemat(path, {"d_skel": one_frame})  # MATLAB stores it as (20, 3)
    with pytest.warns(UserWarning):
        recordings = read_utd_mhad(root, cache=False)
    assert recordings.skeleton[3].shape == (1, 20, 3)


def test_missing_folders_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no Inertial/ folder in"):
        read_utd_mhad(tmp_path)
    (tmp_path / "Inertial").mkdir()
    (tmp_path / "Skeleton").mkdir()
    with pytest.raises(FileNotFoundError, match="no paired a"):
        read_utd_mhad(tmp_path, cache=False)


def test_cache_reuses_and_invalidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_utd_mhad(tmp_path / "utd", SMALL)
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning):
        first = read_utd_mhad(root, cache_dir=cache)
    with monkeypatch.context() as patch, pytest.warns(UserWarning, match="missing beyond"):
        patch.setattr(scipy.io, "loadmat", _fail)  # a cache hit never opens a .mat file
        second = read_utd_mhad(root, cache_dir=cache)  # and warns again
    np.testing.assert_array_equal(first.skeleton[3], second.skeleton[3])
    assert dict(second.missing) == dict(first.missing)
    changed = np.full((7, 6), 0.25)
    scipy.io.savemat(root / "Inertial" / "a1_s1_t1_inertial.mat", {"d_iner": changed})
    with pytest.warns(UserWarning):
        third = read_utd_mhad(root, cache_dir=cache)
    np.testing.assert_array_equal(third.inertial[0], changed)
    monkeypatch.setenv("MMCONTRAST_CACHE_DIR", str(tmp_path / "env-cache"))
    with pytest.warns(UserWarning):
        read_utd_mhad(root)
    assert list((tmp_path / "env-cache").glob("utd_mhad-*.npz"))


def _fail(*args: object, **kwargs: object) -> None:
    raise AssertionError("loadmat was called on a cache hit")


def test_load_preprocesses_like_the_references(tmp_path: Path) -> None:
    root = write_utd_mhad(tmp_path / "utd", SMALL)
    with pytest.warns(UserWarning):
        data = load_utd_mhad(root, cache_dir=tmp_path / "cache", resample="linear")
    assert data.inertial.shape == (4, 50, 6) and data.skeleton.shape == (4, 50, 20, 3)
    assert data.classes == UTD_MHAD_CLASSES and data.label.tolist() == [0, 0, 1, 26]
    _, skeleton = utd_arrays(1, 1, 1)
    raw = skeleton.transpose(2, 0, 1)
    expected = (raw[0] - raw[0, 2]) / np.linalg.norm(raw[0, 1] - raw[0, 2])
    np.testing.assert_allclose(data.skeleton[0, 0].numpy(), expected, rtol=1e-5, atol=1e-6)
    with pytest.warns(UserWarning):
        native = load_utd_mhad(root, length=None, cache_dir=tmp_path / "cache")
    assert native.inertial.shape == (4, 30, 6) and bool(native.inertial_mask.all())


def test_missing_scipy_gives_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_utd_mhad(tmp_path / "utd", SMALL[:1])
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(ImportError, match=r'pip install "mmcontrast\[data\]"'):
        read_utd_mhad(root, cache=False)


@pytest.mark.slow
@needs_real_data
def test_real_files_counts_shapes_and_labels(tmp_path: Path) -> None:
    recordings = read_utd_mhad(REAL_ROOT, cache_dir=tmp_path)
    assert len(recordings) == 861
    assert set(recordings.missing) == set(UTD_MHAD_MISSING)
    split = cross_subject_split(recordings.subject)
    assert (split.train.size, split.test.size) == (431, 430)
    assert set(recordings.label.tolist()) == set(range(27))
    assert set(recordings.subject.tolist()) == set(range(1, 9))
    assert all(x.shape[1:] == (6,) and np.isfinite(x).all() for x in recordings.inertial)
    assert all(x.shape[1:] == (20, 3) and np.isfinite(x).all() for x in recordings.skeleton)
    assert (recordings.inertial_lengths.min(), recordings.inertial_lengths.max()) == (107, 326)
    assert (recordings.skeleton_lengths.min(), recordings.skeleton_lengths.max()) == (41, 125)
    data = load_utd_mhad(REAL_ROOT, cache_dir=tmp_path)
    assert data.inertial.shape == (861, 50, 6) and data.skeleton.shape == (861, 50, 20, 3)
    assert bool(torch.isfinite(data.inertial).all() and torch.isfinite(data.skeleton).all())
    assert int(data.label.min()) == 0 and int(data.label.max()) == 26


@pytest.mark.slow
@needs_real_data
def test_real_data_is_learnable_by_a_simple_model(tmp_path: Path) -> None:
    data = load_utd_mhad(REAL_ROOT, cache_dir=tmp_path)
    train, _, test = data.split(cross_subject_split(data.subject))
    accuracy = modality_accuracies(train, test)
    # Chance is 1/27 = 0.037; a ridge classifier reaches about 0.69 / 0.8 / 0.83 here.
    assert accuracy["inertial"] > 0.45, accuracy
    assert accuracy["skeleton"] > 0.55, accuracy
    assert accuracy["both"] > 0.6, accuracy


def _pretrain_and_probe(train: PairedDataset, test: PairedDataset, *, epochs: int = 20) -> float:
    """Contrastive IMU-skeleton pre-training of two small MLPs, then a frozen ridge probe."""
    torch.manual_seed(0)
    encoders = [
        torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(width, 256),
            torch.nn.ReLU(),
            torch.nn.Linear(256, 128),
        )
        for width in (train.inertial[0].numel(), train.skeleton[0].numel())
    ]
    parameters = [p for encoder in encoders for p in encoder.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    criterion = HardNegativeLoss(temperature=0.1, beta=1.0, tau_plus=0.037)
    for _ in range(epochs):
        for batch in torch.utils.data.DataLoader(
            train, batch_size=64, shuffle=True, drop_last=True
        ):
            loss = criterion(encoders[0](batch["inertial"]), encoders[1](batch["skeleton"]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        features = [
            torch.cat([encoders[0](d.inertial), encoders[1](d.skeleton)], 1) for d in (train, test)
        ]
    return ridge_accuracy(features[0], train.label, features[1], test.label)


@pytest.mark.slow
@needs_real_data
def test_real_data_contrastive_pretraining_then_probe(tmp_path: Path) -> None:
    data = load_utd_mhad(REAL_ROOT, cache_dir=tmp_path)
    train, _, test = data.split(cross_subject_split(data.subject))
    accuracy = _pretrain_and_probe(train, test)
    assert accuracy > 0.3, accuracy  # chance: 0.037
